"""Memory policy for long runs: pausing the cyclic garbage collector, handing freed heap back to the system.

Pausing: a replay or an allocation creates millions of lists, tuples and dicts that live on; each
generation-2 collection walks every one of them again, which slowed allocations and `verify` on a large
state by a large factor (bench/README.md). Reference counting
still frees everything at once; only cycles wait, and the collector runs when the loop ends.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any


@contextmanager
def paused_gc() -> Iterator[None]:
    if not gc.isenabled():  # nested, or the caller has its own policy
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@cache
def _libc_function(name: str) -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return getattr(libc, name)
    except (OSError, AttributeError):  # not glibc
        return None


def trim_heap() -> None:
    """Return freed heap memory to the system (glibc's malloc_trim; a no-op elsewhere).

    After a large entry is parsed and dropped, its hundreds of megabytes of small objects are free but stay
    in the process's heap; `verify` calls this after each one so its footprint follows what it holds."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)


_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3


def return_large_blocks() -> bool:
    """Make glibc hand large freed blocks back to the system at once, for the rest of the process (and the
    processes it forks); a no-op elsewhere.

    By default glibc raises its mmap threshold to the size of the largest block freed (up to 32 MB) and lets
    twice that stay free at the top of the heap: after a large allocation entry has come and gone, that much
    freed heap stays in `verify`'s footprint through the million entries that follow. Fixed thresholds
    (blocks of 1 MiB and more mapped on their own, the heap trimmed past 4 MiB free) stop that. Returns
    whether glibc took them."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 1 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 4 << 20))
