"""The shape of a piece of code: its text with names and plain strings replaced by stand-ins of
the same width, so units that differ only in the names they carry share one black verdict.

black (stable style, ``.py`` files) decides by token types, tree structure and widths: it
compares leaf values only with keywords and punctuation, and inspects a string's content only
for its quotes, escapes, prefix and surrounding whitespace (docstrings). So renaming identifiers
and rewriting plain strings letter for letter, width for width, cannot change what black does.
What could matter is kept as it is: keywords and soft keywords, non-ASCII names, numbers,
comments, prefixed strings, and strings holding quotes, backslashes, line breaks, characters
that are not printable ASCII, or spaces at either end.
"""

from __future__ import annotations

import keyword
import re
from functools import cache

_KEEP = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
_TOKEN = re.compile(
    r'(?P<string>[A-Za-z]{0,2}(?:"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'))"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<other>\#[^\n]*|\.?\d(?:[\w.]|(?<=[eE])[+-])*)"
)
_QUOTES = ('"""', "'''", '"', "'")
_PLAIN_CONTENT = re.compile(r"(?:[!#-&(-\[\]-~](?:[ !#-&(-\[\]-~]*[!#-&(-\[\]-~])?)?")
"""Printable ASCII without quotes or backslashes, and no space at either end (or empty)."""


def shape(text: str) -> str:
    """``text`` with each distinct ASCII name replaced by its own stand-in of the same length
    (numbered in order of first appearance) and each plain string's content by ``x``s.

    ``text`` must not start or end inside a string that spans lines (it would be read as
    code)."""
    names: dict[str, str] = {}
    per_length: dict[int, int] = {}

    def replace(match: re.Match[str]) -> str:
        found = match.group()
        kind = match.lastgroup
        if kind == "string":
            quote = next(q for q in _QUOTES if found.endswith(q))
            inner = len(found) - 2 * len(quote)
            if not found.startswith(quote) or inner < 0:  # a prefix, or '''' read as a quote
                return found
            if not _PLAIN_CONTENT.fullmatch(found, len(quote), len(quote) + inner):
                return found
            return quote + "x" * inner + quote
        if kind == "name" and found.isascii() and found not in _KEEP:
            stand_in = names.get(found)
            if stand_in is None:
                number = per_length.get(len(found), 0)
                per_length[len(found)] = number + 1
                stand_in = _stand_in(len(found), number) or found
                names[found] = stand_in
            return stand_in
        return found

    return _TOKEN.sub(replace, text)


@cache
def _stand_in(length: int, number: int) -> str | None:
    """The ``number``-th lowercase name of ``length`` letters, keywords skipped (None: none
    left). Distinct numbers give distinct names."""
    value = number
    for taken in sorted(_index(word) for word in _KEEP if len(word) == length and word.isalpha()):
        if taken > value:
            break
        value += 1
    if value >= 26**length:
        return None
    letters = []
    for _ in range(length):
        value, digit = divmod(value, 26)
        letters.append(chr(ord("a") + digit))
    return "".join(reversed(letters))


def _index(word: str) -> int:
    value = 0
    for letter in word:
        value = value * 26 + ord(letter.lower()) - ord("a")
    return value
