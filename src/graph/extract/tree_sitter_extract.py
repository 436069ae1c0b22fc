"""Tree-sitter rows: TS_NODE, TS_ERROR, TS_MISSING and TS_PARENT_OF from ``tree-sitter-python``.

Tree-sitter recovers from syntax errors, so this layer runs on every file it can be given bytes
for, including files ``ast`` rejects: ERROR nodes cover the text the grammar could not place and
MISSING nodes (zero width) mark tokens the parser assumed, so both point at the broken spans.

Which nodes: the *named* nodes (the grammar's syntax tree, what ``node.named_children`` and
tree-sitter queries see), plus every MISSING node, named or not (a missing ``)`` is anonymous).
Anonymous tokens (punctuation, keywords) are left out: their text and position follow from their
parent's type and span, and they are a third of all nodes (stdlib: 893k nodes, 628k named).
Children of a node that is left out hang off its nearest emitted ancestor. ``has_error`` is set
only where it is true (absent means the subtree is clean); ``is_named`` is not stored (every
TS_NODE is named). TS_PARENT_OF carries the child's grammar ``field`` where it has one; sibling
order is the order of the children's spans (siblings never overlap).

Byte offsets: tree-sitter reports offsets into the buffer it parsed. UTF-8 files (with or without
a BOM, which tree-sitter skips itself) and files that cannot be decoded are parsed as stored, so
offsets are file offsets as they come. A file whose PEP 263 cookie names another encoding is
parsed as its UTF-8 transcoding (raw Shift-JIS or GBK bytes would otherwise break strings, as their
second bytes can be ``\\`` or a quote), and each offset is mapped back to the file's bytes.

Ids: ``stable_id(kind, file_id, ts_type, bstart, bend[, n])``, ``n`` counting earlier nodes of the
same kind, type and span in pre-order (a zero-width MISSING node may repeat one).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from functools import cache
from itertools import accumulate

import tree_sitter
import tree_sitter_python

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.ids import SEP, joined_id
from graph.extract.provenance import edge_row
from graph.extract.rows import EDGE, NODE, FileFacts, NodeRow

TS_NODE = NodeKind.TS_NODE.value
TS_ERROR = NodeKind.TS_ERROR.value
TS_MISSING = NodeKind.TS_MISSING.value
TS_PARENT_OF = EdgeKind.TS_PARENT_OF.value

_UTF8_NAMES = frozenset({"utf-8", "utf-8-sig"})
_new = tuple.__new__


@cache
def python_parser() -> tree_sitter.Parser:
    """This process's parser for Python (a parser holds state: one per process, not shared)."""
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))


def parse_input(
    data: bytes, text: str | None, encoding: str | None
) -> tuple[bytes, Callable[[int], int] | None]:
    """The buffer to parse and the map from its offsets to file offsets (None: the same).

    ``text``/``encoding`` are the decoded file and its encoding, or None when it did not decode.
    """
    if text is None or encoding is None or codecs.lookup(encoding).name in _UTF8_NAMES:
        return data, None
    utf8 = text.encode("utf-8")
    if utf8 == data:  # an ASCII file with a cookie
        return data, None
    encoder = codecs.getincrementalencoder(encoding)()
    utf8_ends = accumulate((len(ch.encode("utf-8")) for ch in text), initial=0)
    file_ends = accumulate((len(encoder.encode(ch)) for ch in text), initial=0)
    offsets = dict(zip(utf8_ends, file_ends, strict=True))
    return utf8, offsets.__getitem__


def extract_ts_tables(
    data: bytes, *, path: str, file_id: str, text: str | None, encoding: str | None
) -> FileFacts:
    """Rows of the tree-sitter tree of one file (``data`` as stored; see the module docstring)."""
    buffer, to_file = parse_input(data, text, encoding)
    tree = python_parser().parse(buffer)
    facts = FileFacts()
    append_node = facts.nodes.append
    append_edge = facts.edges.append
    type_col = facts.column(NODE, "ts_type")
    has_error_col = facts.column(NODE, "has_error")
    is_error_col = facts.column(NODE, "is_error")
    is_missing_col = facts.column(NODE, "is_missing")
    field_col = facts.column(EDGE, "field")
    seen: dict[tuple[str, str, int, int], int] = {}
    owner: list[str | None] = []
    """``owner[d]``: id of the nearest emitted node at depth <= d on the cursor's path."""
    cursor = tree.walk()
    depth = 0
    while True:
        node = cursor.node
        assert node is not None
        parent_id = owner[depth - 1] if depth else None
        if node.is_named or node.is_missing:
            ts_type = node.type
            kind = TS_MISSING if node.is_missing else TS_ERROR if node.is_error else TS_NODE
            bstart, bend = node.start_byte, node.end_byte
            if to_file is not None:
                bstart, bend = to_file(bstart), to_file(bend)
            key = (kind, ts_type, bstart, bend)
            dup = seen.get(key, 0)
            seen[key] = dup + 1
            joined = f"{file_id}{SEP}{ts_type}{SEP}{bstart}{SEP}{bend}"
            node_id = joined_id(kind, joined if dup == 0 else f"{joined}{SEP}{dup}")
            append_node(_new(NodeRow, (node_id, kind, path, file_id, bstart, bend)))
            type_col.ids.append(node_id)
            type_col.values.append(ts_type)
            if kind == TS_MISSING:
                is_missing_col.ids.append(node_id)
                is_missing_col.values.append(True)
            else:
                if kind == TS_ERROR:
                    is_error_col.ids.append(node_id)
                    is_error_col.values.append(True)
                if node.has_error:
                    has_error_col.ids.append(node_id)
                    has_error_col.values.append(True)
            if parent_id is not None:
                row = edge_row(
                    TS_PARENT_OF, parent_id, node_id, path=path, file_id=file_id, method="tree"
                )
                append_edge(row)
                field = cursor.field_name
                if field is not None:
                    field_col.ids.append(row[0])
                    field_col.values.append(field)
            current: str | None = node_id
        else:
            current = parent_id
        if depth < len(owner):
            owner[depth] = current
        else:
            owner.append(current)
        if cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return facts
            depth -= 1
