"""Pausing Python's cyclic garbage collector around long loops that build many objects but no cycles.

A replay or an allocation creates millions of lists, tuples and dicts that live on; each generation-2
collection walks every one of them again, which made an allocation twice as slow on a large state (and
the shares list of a 1,000,000-entry ledger's verify a quarter of its time). Reference counting still frees
everything at once; only cycles wait, and the collector runs when the loop ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
