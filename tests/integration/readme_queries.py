"""Queries shown in the documentation, run by the tests as written there.

A query is a fenced ``python`` block whose first line is ``# query: TITLE``, in ``README.md`` or
any ``docs/*.md``; ``readme_query(TITLE)`` executes the block and returns its namespace, so a
test calls exactly what a reader copies.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```python\n(# query: (?P<title>[^\n]+)\n.*?)^```$", re.M | re.S)


def readme_query(title: str) -> dict[str, object]:
    """The namespace of the documented query block titled ``title``."""
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for document in documents:
        if not document.is_file():
            continue
        for match in _BLOCK.finditer(document.read_text(encoding="utf-8")):
            if match["title"].strip() == title:
                namespace: dict[str, object] = {"__name__": f"query:{title}"}
                exec(compile(match[1], f"{document.name}: {title}", "exec"), namespace)
                return namespace
    raise AssertionError(f"no `# query: {title}` block in README.md or docs/*.md")
