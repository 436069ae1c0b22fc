"""The worklist solution of reaching definitions against brute-force path enumeration.

The oracle spells the semantics out on an instruction-level graph, independently of the bit
vectors: a vertex per block start and per event; an event follows its predecessor in the block,
a block's last vertex leads to its successors' starts, and an exception edge leaves from the
block's start and from every event but one at the block's very last instruction
(``tail_event``). Definition ``d`` of ``v`` reaches use ``u`` of ``v`` iff some simple path from
``d``'s vertex to ``u``'s passes no other definition of ``v``; entry definitions sit before
block 0's start. Every such path is enumerated, so graphs are kept small.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from graph.extract.reaching_defs import FlowGraph, reaching_definitions

Vertex = tuple[str, int, int]


def oracle(graph: FlowGraph) -> list[list[int]]:
    """Reaching definitions by enumerating def-clear simple paths from every definition."""
    succ: dict[Vertex, list[Vertex]] = {}
    defs: list[tuple[Vertex, int]] = []
    uses: list[tuple[Vertex, int]] = []
    what: dict[Vertex, tuple[int, bool]] = {}
    start = [("start", b, 0) for b in range(len(graph.blocks))]
    for k, var in enumerate(graph.entry):
        vertex = ("entry", k, 0)
        defs.append((vertex, var))
        what[vertex] = (var, True)
        succ[vertex] = [start[0]] if graph.blocks else []
    for b, events in enumerate(graph.blocks):
        chain = [start[b]] + [("event", b, i) for i in range(len(events))]
        for i, (var, is_def) in enumerate(events):
            vertex = chain[i + 1]
            what[vertex] = (var, is_def)
            (defs if is_def else uses).append((vertex, var))
        for here, after in itertools.pairwise(chain):
            succ.setdefault(here, []).append(after)
        succ.setdefault(chain[-1], []).extend(start[s] for s in graph.successors[b])
        raising = chain if not graph.tail_event[b] or not events else chain[:-1]
        for vertex in raising:
            succ.setdefault(vertex, []).extend(start[h] for h in graph.handlers[b])
    reached: dict[Vertex, set[int]] = {vertex: set() for vertex, _ in uses}

    def walk(vertex: Vertex, var: int, number: int, path: set[Vertex]) -> None:
        for nxt in succ.get(vertex, []):
            if nxt in path:
                continue
            kind = what.get(nxt)
            if kind is not None and kind[0] == var:
                if not kind[1]:
                    reached[nxt].add(number)
                    # a use is no definition: the path may go on through it
                else:
                    continue
            path.add(nxt)
            walk(nxt, var, number, path)
            path.remove(nxt)

    for number, (vertex, var) in enumerate(defs):
        walk(vertex, var, number, {vertex})
    return [sorted(reached[vertex]) for vertex, _ in uses]


@st.composite
def flow_graphs(draw: st.DrawFn) -> FlowGraph:
    count = draw(st.integers(1, 5))
    block = st.integers(0, count - 1)
    events = st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=3)
    blocks = [draw(events) for _ in range(count)]
    successors = [sorted(set(draw(st.lists(block, max_size=2)))) for _ in range(count)]
    handlers = [sorted(set(draw(st.lists(block, max_size=1)))) for _ in range(count)]
    entry = draw(st.lists(st.integers(0, 2), unique=True, max_size=2))
    tail = [draw(st.booleans()) for _ in range(count)]
    return FlowGraph(blocks, successors, handlers, entry, tail)


@settings(max_examples=400, deadline=None)
@given(flow_graphs())
def test_worklist_equals_path_enumeration(graph: FlowGraph) -> None:
    assert reaching_definitions(graph) == oracle(graph)


def test_a_loop_carries_its_own_definition_back() -> None:
    # b0: x = ... ; b1: use x, x = ... ; b1 -> b1 (loop), b1 -> b2 ; b2: use x
    graph = FlowGraph(
        blocks=[[(0, True)], [(0, False), (0, True)], [(0, False)]],
        successors=[[1], [1, 2], []],
        handlers=[[], [], []],
        entry=[],
        tail_event=[False, False, False],
    )
    assert reaching_definitions(graph) == [[0, 1], [1]]


def test_an_exception_leaves_before_the_last_instruction_but_after_the_others() -> None:
    # b0 (protected by b1): x = 1 (d1), x = 2 (d2, at the block's last instruction); b1: use x
    protected = [[(0, True), (0, True)], [(0, False)]]
    tail = FlowGraph(protected, [[], []], [[1], []], [0], [True, False])
    assert reaching_definitions(tail) == [[0, 1]]  # parameter or d1, never d2
    inner = FlowGraph(protected, [[], []], [[1], []], [0], [False, False])
    assert reaching_definitions(inner) == [[0, 1, 2]]


def test_entry_definitions_survive_a_loop_back_to_the_entry_block() -> None:
    graph = FlowGraph([[(0, False), (0, True)]], [[0]], [[]], [0], [False])
    assert reaching_definitions(graph) == [[0, 1]]
