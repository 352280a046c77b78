"""Child-process bodies for tests/test_ledger_concurrency.py (importable by 'spawn' and 'forkserver' children,
so this module imports only the ledger)."""

from __future__ import annotations

from typing import Any

from ledger.keys import SigningKey
from ledger.log import Ledger

KIND = "test.note"


def append_worker(
    url: str, origin: str, private: bytes, worker: int, count: int, batch: int, start: Any
) -> None:
    """Append `count` entries {"n": i, "worker": worker} in transactions of `batch` entries."""
    key = SigningKey.from_private_bytes(origin, private)
    ledger = Ledger.open(url)
    start.wait()  # all workers begin together
    try:
        for first in range(0, count, batch):
            with ledger.append(key) as appender:
                for n in range(first, min(first + batch, count)):
                    appender.append(KIND, {"n": n, "worker": worker})
    finally:
        ledger.store.close()


def crash_worker(
    url: str, origin: str, private: bytes, run: int, batch: int, ready: Any, committed: Any
) -> None:
    """Append batches of `batch` entries {"run", "batch", "i"} until killed; `committed` counts the batches
    whose
    transaction returned."""
    key = SigningKey.from_private_bytes(origin, private)
    ledger = Ledger.open(url)
    ready.set()
    number = 0
    while True:
        with ledger.append(key) as appender:
            for i in range(batch):
                appender.append(KIND, {"run": run, "batch": number, "i": i})
        number += 1
        committed.value = number
