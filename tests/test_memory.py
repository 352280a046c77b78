"""`paused_gc` pauses the cyclic collector for a block and always restores the caller's setting."""

from __future__ import annotations

import gc

import pytest

from ledger.memory import paused_gc, trim_heap


def test_pauses_and_restores_even_on_error() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested: stays paused, and the outer block re-enables
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_trim_heap_is_harmless() -> None:
    # A no-op where glibc is absent; on Linux it only returns free pages, so live data is untouched.
    data = [bytes(1000) for _ in range(1000)]
    trim_heap()
    assert len(data) == 1000 and data[-1] == bytes(1000)
