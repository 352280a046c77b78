"""`paused_gc` pauses the cyclic collector for a block and always restores the caller's setting."""

from __future__ import annotations

import gc
import subprocess
import sys

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


_SCRIPT = """
import os, sys
from ledger.memory import return_large_blocks

def rss_kb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

def kept_after_free():
    before = rss_kb()
    blocks = [b"\\x01" * (2 << 20) for _ in range(16)]  # written, so resident
    del blocks
    return rss_kb() - before

big = b"\\x01" * (24 << 20)
del big  # a large block freed: glibc raises its mmap threshold past 2 MB
default = kept_after_free()
applied = return_large_blocks()
print(default, applied, kept_after_free())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_large_blocks_go_back_to_the_system_when_freed() -> None:
    # In a fresh process: the thresholds are process-wide and cannot be put back.
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True).stdout
    default, applied, fixed = out.split()
    assert applied == "True"
    assert int(default) > 16_000  # glibc's default kept the freed 32 MB of 2 MB blocks in the heap
    assert int(fixed) < 4_000  # with the fixed thresholds they went back at once
