"""Read a source file for extraction: a regular file only, and never more than a size cap.

Extraction memory grows with the code in a file, not its bytes: measured here, dense generated
code (``x_N = N`` lines) costs 1.1-1.9 GB of worker memory and ~10 s per MB, a module that is one
big literal 0.01 GB per MB. The cap keeps a generated monster (20 MB: past 15 GB, never done)
from being read at all; it becomes a DIAG with the file's size and hash.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

DEFAULT_MAX_FILE_BYTES = 8 << 20
"""The largest ``.py`` files found on this machine are 4.7 MB (moto's IAM policies, one
literal: 0.2 GB, 0.6 s) and 0.4-0.8 MB of dense code (0.4-0.8 GB); 8 MiB admits them all."""


class FileTooLargeError(Exception):
    """A file over the size cap; it was hashed, not read into memory."""

    def __init__(self, size: int, sha256: str) -> None:
        super().__init__(f"{size} bytes")
        self.size = size
        self.sha256 = sha256


def read_source(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` bytes.

    Anything else (FIFO, device, socket) is an ``OSError``; checked on the opened descriptor,
    so a file swapped for a FIFO after the scan cannot block. A larger file raises
    ``FileTooLargeError`` with its size and SHA-256, hashed in chunks.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        data = stream.read(max_bytes + 1)  # a file can grow after any stat: read, then judge
        if len(data) > max_bytes:
            raise _too_large(data, stream)
        return data


def source_digest(path: Path, max_bytes: int) -> tuple[int, str] | None:
    """``(size, sha256)`` of a file read with ``read_source``; None when it cannot be read."""
    try:
        data = read_source(path, max_bytes)
    except FileTooLargeError as exc:
        return exc.size, exc.sha256
    except OSError:
        return None
    return len(data), hashlib.sha256(data).hexdigest()


def _too_large(head: bytes, rest: BinaryIO) -> FileTooLargeError:
    digest = hashlib.sha256(head)
    size = len(head)
    while chunk := rest.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return FileTooLargeError(size, digest.hexdigest())
