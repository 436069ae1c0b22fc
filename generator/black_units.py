"""Which units of a module black would leave as they are, asking black about as few as possible.

A unit is a node of the module's outline (``generator.outline``): an atomic statement or item
with the blank lines before it, or the head and tail of a split one. black's output for a unit
depends only on its context: the enclosing heads and tails, the statement before it (for the
blank lines between them; items of a bracket depend on no neighbour), and for a split node its
first and last child and whether its bracket is long. A unit's **key** hashes exactly that, so a
key seen stable once (in the file on disk, which black wrote, or in the cache) is stable again.
Units whose key is new are checked in a reduced module that keeps each one with its context
(the module's first statement, the enclosing heads and tails, the first and last child of every
bracket kept, enough items to keep a long bracket long): black's output for that module is
cut along the same outline and each new unit must come back unchanged.

A unit's **shape key** is its key computed over shapes (``generator.shapes``, line by line; a
line seen once is not shaped again, and a line that starts or ends inside a multi-line string
is kept as it is): units that differ only in names or plain strings share it, and black is
asked about one of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from generator.outline import Node, NoOutlineError, Outline, parse, walk
from generator.shapes import shape

LINE_LENGTH = 100
LONG = 2 * LINE_LENGTH
"""A bracket whose content, joined on one line, is longer than this is long (black's choices
for it then do not depend on which items it holds); a reduced one is kept at least this long."""
BATCH_LINES = 4000
"""At most about this many lines of new units go into one reduced module (bounds black's
memory)."""


def _hash(*parts: bytes) -> bytes:
    return hashlib.blake2b(b"\x00".join(parts), digest_size=16).digest()


@dataclass
class UnitKeys:
    """Keys of an outline's units (``shaped``: over shapes), computed on demand."""

    outline: Outline
    salt: bytes
    shaped: bool = False
    _digests: dict[int, bytes] = field(default_factory=dict)
    _contexts: dict[int, bytes] = field(default_factory=dict)
    _shapes: dict[str, str] = field(default_factory=dict)

    def _text(self, start: int, end: int) -> bytes:
        if not self.shaped:
            return self.outline.text(start, end).encode()
        shapes = self._shapes
        lines, in_string = self.outline.lines, self.outline.in_string
        shaped = []
        for index in range(start, end):
            line = lines[index]
            found = line if in_string[index] else shapes.get(line)
            if found is None:
                found = shapes[line] = shape(line)
            shaped.append(found)
        return "".join(shaped).encode()

    def digest(self, node: Node) -> bytes:
        """A hash of the node's whole text (lead comments included, blank lines before not)."""
        found = self._digests.get(id(node))
        if found is not None:
            return found
        if node.children is None:
            digest = _hash(b"a", self._text(node.start, node.end))
        else:
            parts = [b"s", self._text(node.start, node.head_end)]
            for child in node.children:
                parts.append(self.outline.text(child.sep, child.start).encode())
                parts.append(self.digest(child))
            parts.append(self._text(node.tail_start, node.end))
            digest = _hash(*parts)
        self._digests[id(node)] = digest
        return digest

    def context(self, parent: Node | None) -> bytes:
        """A hash of the enclosing heads and tails of ``parent``'s children."""
        if parent is None:
            return _hash(self.salt, b"shape" if self.shaped else b"exact")
        found = self._contexts.get(id(parent))
        if found is None:
            found = _hash(
                self.context(parent.parent),
                b"items" if parent.items else b"block",
                self._text(parent.start, parent.head_end),
                self._text(parent.tail_start, parent.end),
            )
            self._contexts[id(parent)] = found
        return found

    def key(self, node: Node) -> bytes:
        """The key of ``node``'s unit: what black's verdict on it depends on."""
        siblings = self.outline.roots if node.parent is None else node.parent.children
        assert siblings is not None
        before = b"-"
        if node.index > 0 and not (node.parent is not None and node.parent.items):
            before = self.digest(siblings[node.index - 1])
        separator = self.outline.text(node.sep, node.start).encode()
        parts = [self.context(node.parent), before, separator]
        if node.children is None:
            parts += [b"A", self.digest(node)]
        else:
            parts += [
                b"S",
                self._text(node.start, node.head_end),
                self._text(node.tail_start, node.end),
                self.digest(node.children[0]),
                self.digest(node.children[-1]),
                b"%d/%d" % (len(node.children) == 1, _long(self.outline, node)),
            ]
        return _hash(*parts)


def _long(outline: Outline, node: Node) -> bool:
    return _joined(outline, node.start, node.end) > LONG


def _joined(outline: Outline, start: int, end: int) -> int:
    """The length of lines ``[start, end)`` joined on one line, counted up to just past
    ``LONG``."""
    length = 0
    lines = outline.lines
    for index in range(start, end):
        length += len(lines[index].strip()) + 1
        if length > LONG:
            break
    return length


class _Reduction:
    """The units kept in a reduced module: what must be checked and the context it needs."""

    def __init__(self, outline: Outline) -> None:
        self.outline = outline
        self.kept: set[int] = set()
        self.checked: set[int] = set()
        self.lines = 0

    def check(self, node: Node) -> None:
        self.checked.add(id(node))
        if node.children is None:
            self.lines += node.end - node.start
        else:
            self.lines += node.head_end - node.start + node.end - node.tail_start
        self._keep(node)
        if node.index > 0 and not (node.parent is not None and node.parent.items):
            siblings = self.outline.roots if node.parent is None else node.parent.children
            assert siblings is not None
            self._keep(siblings[node.index - 1])
        ancestor = node.parent
        while ancestor is not None and id(ancestor) not in self.kept:
            self.kept.add(id(ancestor))
            self._skeleton(ancestor)
            ancestor = ancestor.parent
        self._keep(self.outline.roots[0])

    def _keep(self, node: Node) -> None:
        if id(node) in self.kept:
            return
        self.kept.add(id(node))
        if node.children is not None:
            self._skeleton(node)

    def _skeleton(self, node: Node) -> None:
        """A split node's first and last child and, for a long bracket, enough items in order
        to keep it long (all of them when it is short)."""
        children = node.children
        assert children is not None
        self._keep(children[0])
        self._keep(children[-1])
        if not node.items:
            return
        long = _long(self.outline, node)
        length = 0
        for child in children:
            if id(child) in self.kept:
                length += _joined(self.outline, child.start, child.end)
                if length > LONG:
                    break
        for child in children:
            if long and length > LONG:
                break
            if id(child) not in self.kept:
                self._keep(child)
                length += _joined(self.outline, child.start, child.end)

    def text(self) -> str:
        parts: list[str] = []
        self._emit(self.outline.roots, parts)
        return "".join(parts)

    def _emit(self, nodes: list[Node], parts: list[str]) -> None:
        text = self.outline.text
        for node in nodes:
            if id(node) not in self.kept:
                continue
            parts.append(text(node.sep, node.start))
            if node.children is None:
                parts.append(text(node.start, node.end))
            else:
                parts.append(text(node.start, node.head_end))
                self._emit(node.children, parts)
                parts.append(text(node.tail_start, node.end))

    def unchanged(self, formatted: str) -> bool:
        """Whether every checked unit comes back from black as it went in."""
        try:
            result = parse(formatted, split_lines=0)
        except NoOutlineError:
            return False
        return self._same(self.outline.roots, result, result.roots)

    def _same(self, nodes: list[Node], result: Outline, out: list[Node]) -> bool:
        text = self.outline.text
        kept = [node for node in nodes if id(node) in self.kept]
        if len(kept) != len(out):
            return False
        for node, other in zip(kept, out, strict=True):
            if id(node) in self.checked:
                if text(node.sep, node.start) != result.text(other.sep, other.start):
                    return False
                if node.children is None:
                    if text(node.start, node.end) != result.text(other.start, other.end):
                        return False
                elif other.children is None or (
                    text(node.start, node.head_end) != result.text(other.start, other.head_end)
                    or text(node.tail_start, node.end) != result.text(other.tail_start, other.end)
                ):
                    return False
            if node.children is None or not any(id(c) in self.kept for c in node.children):
                continue
            if other.children is None or not self._same(node.children, result, other.children):
                return False
        return True


def stable(outline: Outline, nodes: Iterable[Node], black: Callable[[str], str]) -> bool:
    """Whether black leaves every unit of ``nodes`` as it is in ``outline`` (checked in reduced
    modules of at most about ``BATCH_LINES`` lines of units each)."""
    batch = _Reduction(outline)
    for node in nodes:
        batch.check(node)
        if batch.lines >= BATCH_LINES:
            if not batch.unchanged(black(batch.text())):
                return False
            batch = _Reduction(outline)
    return not batch.checked or batch.unchanged(black(batch.text()))


def units(outline: Outline) -> list[Node]:
    """Every unit of ``outline``, parents first."""
    return walk(outline.roots)
