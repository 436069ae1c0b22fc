"""Swap two folders atomically: ``renameat2(RENAME_EXCHANGE)`` on Linux, two renames elsewhere."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@cache
def _renameat2() -> Callable[..., Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    function = getattr(libc, "renameat2", None)
    if function is None:
        return None
    function.argtypes = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def exchange_folders(first: Path, second: Path) -> None:
    """Afterwards ``first`` holds what ``second`` held and the other way round.

    Atomic where the OS can exchange two names; otherwise ``second`` is missing for the moment
    between two renames (a kill then leaves its old content at ``first`` and the new one under a
    ``.swap`` name).
    """
    function = _renameat2()
    if function is not None:
        result = function(
            _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
        )
        if result == 0:
            return
        code = ctypes.get_errno()
        if code not in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: fall back to two renames
            raise OSError(code, os.strerror(code), str(second))
    parked = first.with_name(first.name + ".swap")
    second.rename(parked)
    first.rename(second)
    parked.rename(first)
