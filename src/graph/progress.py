"""A one-line progress bar on stderr: files done / total and the rate."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Redraws at most every ``interval`` seconds; ``close`` prints the final state."""

    def __init__(self, total: int, *, stream: TextIO | None = None, interval: float = 0.2) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.interval = interval
        self.done = 0
        self.started = time.perf_counter()
        self._drawn = 0.0

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more files as done."""
        self.done += count
        now = time.perf_counter()
        if now - self._drawn >= self.interval:
            self._draw(now)

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw(time.perf_counter())
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, now: float) -> None:
        self._drawn = now
        width = 30
        filled = width * self.done // self.total if self.total else width
        rate = self.done / max(now - self.started, 1e-9)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} files, {rate:.1f} files/s")
        self.stream.flush()
