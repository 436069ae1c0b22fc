"""Hold back what native code prints to stderr during a call that may fail.

deltalake 1.6.6 (object_store 0.13.2) panics in a tokio worker thread when a write fails on a
full disk: ``BufWriter`` is written again after its failed shutdown (upstream
apache/arrow-rs-object-store#810, open; fix proposed in #856). Rust's panic hook prints
``thread 'tokio-rt-worker' panicked at .../buffered.rs:369:41: Already shut down`` to file
descriptor 2 before the call returns the real error (ENOSPC), so a CLI could never fail with one
line. Around such a call, fd 2 goes to an in-memory file: on success its content is replayed to
the real stderr (nothing is lost), on failure it becomes a note on the exception (shown with a
traceback, e.g. ``--debug``). ``tests/faults`` holds a canary that fails once upstream stops
panicking, so this can go.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO


@contextmanager
def held_native_stderr() -> Iterator[None]:
    """Run the block with fd 2 captured; replay it after success, attach it to a failure."""
    sys.stderr.flush()
    saved = os.dup(2)
    with _capture_file() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException as exc:
            text = _restore(saved, capture).decode("utf-8", "replace").strip()
            if text:
                exc.add_note(f"native stderr during the call:\n{text}")
            raise
        printed = _restore(saved, capture)
    view = memoryview(printed)
    while view:
        view = view[os.write(2, view) :]


def _capture_file() -> BinaryIO:
    """An anonymous file in memory where possible (a full disk must not break the capture)."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("native-stderr"), "w+b")
    return tempfile.TemporaryFile()


def _restore(saved: int, capture: BinaryIO) -> bytes:
    """Put the real stderr back on fd 2; return what was captured."""
    os.dup2(saved, 2)
    os.close(saved)
    capture.seek(0)
    return capture.read()
