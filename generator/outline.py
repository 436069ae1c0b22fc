"""The outline of a black-formatted module: statements and exploded brackets as a tree of units.

black formats a module one logical line at a time: each statement of a block (the module, a
class body) is formatted on its own, and only the blank lines before it depend on the statement
before it; each item of a bracket that black explodes one item per line (a magic trailing comma)
is formatted on its own. The outline cuts a module along exactly those seams, so
``generator.black_units`` can ask black about a few units in their context instead of the
whole file.

The parser reads lines as black writes them (an exploded bracket opens at the end of a line and
closes at the start of a line at the same indentation). Whatever it does not recognise stays one
unit: the worst a surprise costs is a bigger unit, never a wrong seam (a cut in the wrong place
makes a module black cannot parse, and the caller then formats the whole file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OPENERS = "([{"
CLOSERS = ")]}"
SPLIT_LINES = 32
"""A node shorter than this stays one unit: black is cheap on it, and fewer units are cheaper."""
CLAUSES = ("else:", "elif ", "except", "finally:")
"""How a line continuing a compound statement at the same indentation starts."""

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_QUOTE_OR_COMMENT = re.compile(r"\"\"\"|'''|[\"'#]")
_TRIPLE_END = {
    '"""': re.compile(r'(?:[^\\"]|\\.|"(?!""))*"""'),
    "'''": re.compile(r"(?:[^\\']|\\.|'(?!''))*'''"),
}


class NoOutlineError(ValueError):
    """A module the outline does not follow (tabs, backslash continuations, a bad string)."""


@dataclass(eq=False)
class Node:
    """A unit: lines ``[start, end)``, after its blank lines ``[sep, start)``.

    A split node has ``children``: a head ``[start, head_end)``, the children, and a tail
    ``[tail_start, end)``. ``items`` says whether the children are the items of an exploded
    bracket (else they are the statements of a class body).
    """

    sep: int
    start: int
    end: int
    head_end: int = -1
    tail_start: int = -1
    children: list[Node] | None = None
    items: bool = False
    parent: Node | None = field(default=None, repr=False)
    index: int = 0


@dataclass
class Outline:
    """A module's lines (each ending in a newline), its top-level units, and which lines start
    or end inside a multi-line string."""

    lines: list[str]
    roots: list[Node]
    in_string: list[bool]

    def text(self, start: int, end: int) -> str:
        return "".join(self.lines[start:end])


@dataclass
class _Lines:
    """What the parser needs of each line: indentation (-1: blank), bracket balance, how it
    starts and ends, and whether it starts or ends inside a multi-line string."""

    indent: list[int]
    net: list[int]
    lead_close: list[int]
    last: list[str]
    head: list[str]
    in_string: list[bool]
    ends_in_string: list[bool]


def parse(text: str, *, split_lines: int = SPLIT_LINES) -> Outline:
    """The outline of ``text``; one unit for the whole module if its top level is not clear.
    Nodes shorter than ``split_lines`` lines are not split.

    Raises ``NoOutlineError`` for text no outline can follow (the caller formats it whole).
    """
    if not text.endswith("\n") or "\r" in text or "\t" in text or "\f" in text:
        raise NoOutlineError("not plain newline-terminated lines")
    lines = [line + "\n" for line in text[:-1].split("\n")]
    info = _scan(lines)
    parser = _Parser(lines, info, split_lines)
    roots = parser.block(0, len(lines), 0)
    if roots is None:
        roots = [Node(0, 0, len(lines))]
    for index, node in enumerate(roots):
        node.index = index
    in_string = [a or b for a, b in zip(info.in_string, info.ends_in_string, strict=True)]
    return Outline(lines, roots, in_string)


def _scan(lines: list[str]) -> _Lines:
    rows: list[tuple[int, int, int, str, str, bool, bool]] = []
    seen: dict[str, tuple[int, int, int, str, str, bool, bool]] = {}
    open_quote: str | None = None
    for line in lines:
        row = seen.get(line) if open_quote is None else None
        if row is None:
            row, open_quote = _facts(line[:-1], open_quote)
            if not row[6] and not row[5]:  # a line that neither starts nor ends in a string
                seen[line] = row
        rows.append(row)
    if open_quote is not None:
        raise NoOutlineError("unterminated multi-line string")
    if not rows:
        return _Lines([], [], [], [], [], [], [])
    columns = list(zip(*rows, strict=True))
    return _Lines(*(list(column) for column in columns))


def _facts(
    body: str, open_quote: str | None
) -> tuple[tuple[int, int, int, str, str, bool, bool], str | None]:
    """What the parser needs of one line, and the quote of a string still open after it."""
    starts_in_string = open_quote is not None
    if starts_in_string or '"""' in body or "'''" in body:
        code, open_quote = _string_line(body, open_quote)
        if code is None:
            return (0 if body.strip() else -1, 0, 0, "", "", True, True), open_quote
    elif "'" in body or '"' in body:
        code = _STRING.sub('""', body)
        if "#" in code:
            code = code[: code.index("#")]
        if code.count('"') % 2 or "'" in code:
            raise NoOutlineError("a string that does not close on its line")
    else:
        code = body
    if "#" in code:
        code = code[: code.index("#")]
    stripped = code.strip(" ")
    ends_in_string = open_quote is not None
    head = body.lstrip(" ")
    if not stripped and not starts_in_string:
        if head:  # a comment line
            return (len(body) - len(head), 0, 0, "", head, False, ends_in_string), open_quote
        return (-1, 0, 0, "", "", False, False), open_quote
    if stripped.endswith("\\"):
        raise NoOutlineError("backslash continuation")
    net = (
        code.count("(")
        + code.count("[")
        + code.count("{")
        - code.count(")")
        - code.count("]")
        - code.count("}")
    )
    return (
        0 if starts_in_string else len(body) - len(head),
        net,
        0 if starts_in_string else len(stripped) - len(stripped.lstrip(CLOSERS)),
        "" if ends_in_string or not stripped else stripped[-1],
        head,
        starts_in_string,
        ends_in_string,
    ), open_quote


def _string_line(body: str, open_quote: str | None) -> tuple[str | None, str | None]:
    """The code of a line that holds (part of) a triple-quoted string, strings blanked and
    comment cut, or None if the whole line is inside a string; and the quote left open."""
    kept: list[str] = []
    position = 0
    if open_quote is not None:
        closing = _TRIPLE_END[open_quote].match(body)
        if closing is None:
            return None, open_quote
        kept.append('""')
        position = closing.end()
    while True:
        found = _QUOTE_OR_COMMENT.search(body, position)
        if found is None:
            kept.append(body[position:])
            return "".join(kept), None
        mark = found.group()
        kept.append(body[position : found.start()])
        if mark == "#":
            return "".join(kept), None
        if len(mark) == 3:
            closing = _TRIPLE_END[mark].match(body, found.end())
            if closing is None:
                return "".join(kept), mark
            kept.append('""')
            position = closing.end()
            continue
        string = _STRING.match(body, found.start())
        if string is None:
            raise NoOutlineError("a string that does not close on its line")
        kept.append('""')
        position = string.end()


class _Parser:
    def __init__(self, lines: list[str], info: _Lines, split_lines: int) -> None:
        self.lines = lines
        self.info = info
        self.split_lines = split_lines

    def _blank(self, line: int) -> bool:
        return self.info.indent[line] < 0 and not self.info.in_string[line]

    def _logical_end(self, line: int, stop: int) -> int | None:
        """One past the last line of the logical line starting at ``line`` (None: unclear)."""
        info = self.info
        depth = 0
        while line < stop:
            if self._blank(line):
                return None
            depth += info.net[line]
            if depth < 0:
                return None
            line += 1
            if depth == 0 and not info.ends_in_string[line - 1]:
                return line
        return None

    def block(self, start: int, stop: int, indent: int) -> list[Node] | None:
        """The statements of lines ``[start, stop)`` at ``indent`` (None: not clear)."""
        info = self.info
        nodes: list[Node] = []
        line = start
        while line < stop:
            sep = line
            while line < stop and self._blank(line):
                line += 1
            if line == stop:
                return None  # trailing blank lines: black removes them
            first = line
            while line < stop and info.head[line].startswith("#") and not info.in_string[line]:
                if info.indent[line] != indent:
                    return None
                line += 1
            while line < stop and info.head[line].startswith("@") and not info.in_string[line]:
                end = self._logical_end(line, stop) if info.indent[line] == indent else None
                if end is None:
                    return None
                line = end
            if line == stop or info.indent[line] != indent or info.in_string[line]:
                return None
            code = line
            end = self._logical_end(line, stop)
            if end is None:
                return None
            node = self._statement(sep, first, code, end, stop, indent)
            if node is None:
                return None
            nodes.append(node)
            line = node.end
        return nodes

    def _statement(
        self, sep: int, first: int, code: int, end: int, stop: int, indent: int
    ) -> Node | None:
        info = self.info
        if info.last[end - 1] != ":":
            return self._bracketed(Node(sep, first, end), code, indent)
        body_end = first_body_end = self._body_end(end, stop, indent)
        if body_end is None:
            return None
        clause = body_end
        while clause < stop and info.indent[clause] == indent and not info.in_string[clause]:
            if not info.head[clause].startswith(CLAUSES):
                break
            clause_end = self._logical_end(clause, stop)
            if clause_end is None or info.last[clause_end - 1] != ":":
                return None
            body_end = self._body_end(clause_end, stop, indent)
            if body_end is None:
                return None
            clause = body_end
        node = Node(sep, first, body_end)
        if (
            body_end == first_body_end
            and body_end - first >= self.split_lines
            and info.head[code].startswith("class ")
        ):
            children = self.block(end, body_end, indent + 4)
            if children is not None:
                _adopt(node, children, head_end=end, tail_start=body_end, items=False)
        return node

    def _body_end(self, line: int, stop: int, indent: int) -> int | None:
        """One past the last line of the indented block starting at ``line``."""
        info = self.info
        last = None
        while line < stop and (
            self._blank(line) or info.in_string[line] or info.indent[line] > indent
        ):
            if not self._blank(line):
                last = line
            line += 1
        return None if last is None else last + 1

    def _bracketed(self, node: Node, code: int, indent: int) -> Node:
        """``node`` split into head, items and tail if its code is one exploded bracket."""
        info = self.info
        close = node.end - 1
        if (
            node.end - node.start < self.split_lines
            or info.net[code] != 1
            or not info.last[code]
            or info.last[code] not in OPENERS
            or info.lead_close[close] != 1
            or info.net[close] != -1
            or info.indent[close] != indent
        ):
            return node
        children = self._items(code + 1, close, indent + 4)
        if children is not None:
            _adopt(node, children, head_end=code + 1, tail_start=close, items=True)
        return node

    def _items(self, start: int, stop: int, indent: int) -> list[Node] | None:
        """The items of an exploded bracket: lines ``[start, stop)`` at ``indent``."""
        info = self.info
        nodes: list[Node] = []
        line = start
        while line < stop:
            sep = line
            while line < stop and self._blank(line):
                line += 1
            first = line
            while line < stop and info.head[line].startswith("#") and not info.in_string[line]:
                line += 1
            if line == stop or info.indent[line] != indent or info.lead_close[line]:
                return None
            end = self._logical_end(line, stop)
            if end is None or (end < stop and info.last[end - 1] != ","):
                return None
            nodes.append(self._bracketed(Node(sep, first, end), line, indent))
            line = end
        return nodes or None


def _adopt(
    node: Node, children: list[Node], *, head_end: int, tail_start: int, items: bool
) -> None:
    node.children = children
    node.head_end = head_end
    node.tail_start = tail_start
    node.items = items
    for index, child in enumerate(children):
        child.parent = node
        child.index = index


def walk(nodes: list[Node]) -> list[Node]:
    """Every node of ``nodes`` and their descendants, parents first."""
    found: list[Node] = []
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        found.append(node)
        if node.children:
            stack.extend(reversed(node.children))
    return found
