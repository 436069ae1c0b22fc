"""Reaching definitions over a control-flow graph of basic blocks: the classic worklist algorithm.

Knows nothing of bytecode or the CPG: a ``FlowGraph`` is blocks of ``(variable, is_def)`` events
in execution order, normal successors, exception handlers and the variables defined on entry
(parameters). Definitions are numbered in order (entry definitions first, then block by block),
uses likewise; ``reaching_definitions`` says which definitions reach each use.

Semantics (a may-analysis: "some path"):

- a definition of ``v`` kills every other definition of ``v``; a deletion is a definition too (a
  use it reaches may find the name unbound);
- entry definitions hold before the entry block (block 0), so a loop back to block 0 does not
  kill what reaches it;
- an exception edge leaves a block before any of its instructions (a raising instruction has no
  effect): the handler receives what reaches the block's start and every definition made inside
  it, except one made by the block's very last instruction (``FlowGraph.tail_event``): no
  instruction of the block is left to raise after it. Not just ``OUT[b]``.

Sets are Python ints used as bit vectors (bit ``d`` = definition ``d``); the worklist holds each
block at most once and starts in block order (offset order, nearly a topological order of the
forward edges), so most graphs settle in one or two passes.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

Event = tuple[int, bool]
"""``(variable, is_def)``: a use (``False``) or definition (``True``) of a variable."""


class FlowGraph(NamedTuple):
    """One code unit's CFG, reduced to what reaching definitions needs."""

    blocks: list[list[Event]]
    successors: list[list[int]]
    handlers: list[list[int]]
    entry: list[int]
    """Distinct variables defined on entry, in order (definitions ``0 .. len(entry) - 1``)."""
    tail_event: list[bool]
    """Per block: its last event is its last instruction (see the module doc)."""


def reaching_definitions(graph: FlowGraph) -> list[list[int]]:
    """For each use, in order, the definitions reaching it (ascending, numbered as in the
    module doc)."""
    blocks, entry = graph.blocks, graph.entry
    count = len(blocks)
    def_var: list[int] = list(entry)
    for events in blocks:
        def_var.extend(var for var, is_def in events if is_def)
    var_mask: dict[int, int] = {}
    for index, var in enumerate(def_var):
        var_mask[var] = var_mask.get(var, 0) | (1 << index)
    gen = [0] * count
    kill = [0] * count
    raising = [0] * count  # definitions made in the block that an exception may carry out
    number = len(entry)
    for b, events in enumerate(blocks):
        g = k = a = bit = 0
        for var, is_def in events:
            if is_def:
                bit = 1 << number
                number += 1
                mask = var_mask[var]
                g = (g & ~mask) | bit
                k |= mask
                a |= bit
        if graph.tail_event[b] and events and events[-1][1]:
            a &= ~bit  # the block's last instruction defined it: nothing raises after
        gen[b], kill[b], raising[b] = g, k, a
    reach_in = _solve(graph, gen, kill, raising, (1 << len(entry)) - 1)
    result: list[list[int]] = []
    number = len(entry)
    for b, events in enumerate(blocks):
        current = reach_in[b]
        for var, is_def in events:
            mask = var_mask.get(var, 0)
            if is_def:
                current = (current & ~mask) | (1 << number)
                number += 1
            else:
                result.append(_bits(current & mask))
    return result


def _solve(
    graph: FlowGraph, gen: list[int], kill: list[int], raising: list[int], entry_bits: int
) -> list[int]:
    """``IN`` of every block at the fixed point."""
    count = len(gen)
    normal_preds: list[list[int]] = [[] for _ in range(count)]
    exc_preds: list[list[int]] = [[] for _ in range(count)]
    for b in range(count):
        for s in graph.successors[b]:
            normal_preds[s].append(b)
        for h in graph.handlers[b]:
            exc_preds[h].append(b)
    reach_in = [0] * count
    out = list(gen)
    exc_out = list(raising)
    work = deque(range(count))
    queued = [True] * count
    while work:
        b = work.popleft()
        queued[b] = False
        inn = entry_bits if b == 0 else 0
        for p in normal_preds[b]:
            inn |= out[p]
        for p in exc_preds[b]:
            inn |= exc_out[p]
        reach_in[b] = inn
        new_out = gen[b] | (inn & ~kill[b])
        new_exc = inn | raising[b]
        if new_out != out[b] or new_exc != exc_out[b]:
            out[b], exc_out[b] = new_out, new_exc
            for s in (*graph.successors[b], *graph.handlers[b]):
                if not queued[s]:
                    queued[s] = True
                    work.append(s)
    return reach_in


def _bits(value: int) -> list[int]:
    """The set bits of ``value``, ascending."""
    found: list[int] = []
    while value:
        low = value & -value
        found.append(low.bit_length() - 1)
        value ^= low
    return found
