"""Memory policy for long runs: pausing the cyclic garbage collector, handing freed heap back to the system.

Pausing: a replay or an allocation creates millions of lists, tuples and dicts that live on; each
generation-2 collection walks every one of them again, which made an allocation twice as slow on a large
state (and the shares list of a 1,000,000-entry ledger's verify a quarter of its time). Reference counting
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
def _malloc_trim() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def trim_heap() -> None:
    """Return freed heap memory to the system (glibc's malloc_trim; a no-op elsewhere).

    After a large entry is parsed and dropped, its hundreds of megabytes of small objects are free but stay
    in the process's heap; `verify` calls this after each one so its footprint follows what it holds."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)  # type: ignore[operator]
