"""Several writers at once, and writers killed at random moments, on both backends: the ledger stays one
unbroken, verifiable chain, and each transaction is in it wholly or not at all."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter

from ledger_workers import KIND, append_worker, crash_worker

from ledger.entry import ZERO_HASH, Entry, entry_hash
from ledger.keys import SigningKey
from ledger.log import Ledger
from ledger.store import Store
from ledger.verify import Report, verify_store

ORIGIN = "pool.example/concurrent"
GENESIS = {"name": "t", "currency": "USD", "admin_fee": "0"}


def _read_all(url: str) -> tuple[Report, list[Entry], int]:
    """verify_store's report, the verified entries in seq order, and the number of stored checkpoints."""
    entries: list[Entry] = []

    def collect(entry: Entry, _hash: bytes) -> list[str]:
        entries.append(entry)
        return []

    store = Store(url)
    try:
        with store.reader() as conn:
            report = verify_store(store, conn, on_entry=collect)
            checkpoints = len(store.all_checkpoints(conn))
    finally:
        store.close()
    return report, entries, checkpoints


def _assert_one_chain(entries: list[Entry]) -> None:
    prev = ZERO_HASH
    for seq, entry in enumerate(entries, 1):
        assert entry.seq == seq and entry.prev == prev
        prev = entry_hash(entry.encode()).hex()


WORKERS = 4
PER_WORKER = 250
BATCHES = (10, 25, 40, 50)  # entries per transaction, one size per worker


def test_four_processes_append_at_once(db_url: str) -> None:
    key = SigningKey.generate(ORIGIN)
    Ledger.open(db_url).create(key, GENESIS)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WORKERS, timeout=60)
    procs = [
        ctx.Process(
            target=append_worker, args=(db_url, ORIGIN, key.private_bytes(), w, PER_WORKER, BATCHES[w], start)
        )
        for w in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=180)
    assert [proc.exitcode for proc in procs] == [0] * WORKERS

    report, entries, checkpoints = _read_all(db_url)
    assert report.ok, report.problems[:5]
    assert report.size == len(entries) == WORKERS * PER_WORKER + 1
    transactions = sum(-(-PER_WORKER // b) for b in BATCHES)
    assert (
        checkpoints == report.checkpoints == transactions + 1
    )  # one checkpoint per transaction, all verified
    _assert_one_chain(entries)

    notes = [e for e in entries if e.kind == KIND]
    seen = Counter((e.body["worker"], e.body["n"]) for e in notes)
    assert seen == Counter({(w, n): 1 for w in range(WORKERS) for n in range(PER_WORKER)})
    for w in range(WORKERS):
        mine = [(e.seq, e.body["n"]) for e in notes if e.body["worker"] == w]
        # Each worker's entries are in its own order, and each of its transactions is one contiguous run of
        # seqs:
        # the writers were serialised, never interleaved inside a transaction.
        assert [n for _seq, n in mine] == list(range(PER_WORKER))
        for first in range(0, PER_WORKER, BATCHES[w]):
            seqs = [seq for seq, n in mine if first <= n < first + BATCHES[w]]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    # Times never decrease along the log, whichever process wrote them.
    times = [e.time for e in entries]
    assert times == sorted(times)


KILLS = 20
CRASH_BATCH = 10


def test_sigkill_at_random_moments_leaves_whole_batches(db_url: str) -> None:
    key = SigningKey.generate(ORIGIN)
    Ledger.open(db_url).create(key, GENESIS)
    ctx = multiprocessing.get_context("forkserver")
    # Children fork from a server that imported the ledger (and pytest, the parent's __main__) once. Python
    # 3.11's
    # forkserver does not use the parent's sys.path for preloading, so preload installed modules only.
    ctx.set_forkserver_preload(["ledger.log", "ledger.verify", "pytest"])
    rng = random.Random(20260131)
    total = 0
    for run in range(KILLS):
        ready = ctx.Event()
        # No lock: the writer is killed at random moments, maybe holding it, and a read would wait forever.
        committed = ctx.Value("i", 0, lock=False)
        proc = ctx.Process(
            target=crash_worker,
            args=(db_url, ORIGIN, key.private_bytes(), run, CRASH_BATCH, ready, committed),
        )
        proc.start()
        assert ready.wait(60), "the writer did not start"
        time.sleep(rng.uniform(0.05, 0.5))
        assert proc.pid is not None and proc.exitcode is None, "the writer stopped before it was killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL

        # The killed writer's transaction may still be ending on the server (PostgreSQL finishes a COMMIT it
        # received, or rolls back when it sees the connection gone): the writer lock waits for that.
        store = Store(db_url)
        with store.writer():
            pass
        store.close()

        report, entries, _checkpoints = _read_all(db_url)
        assert report.ok, (run, report.problems[:5])
        batches = Counter((e.body["run"], e.body["batch"]) for e in entries if e.kind == KIND)
        assert all(count == CRASH_BATCH for count in batches.values()), (run, batches)
        for earlier in range(run + 1):
            numbers = sorted(b for r, b in batches if r == earlier)
            assert numbers == list(range(len(numbers))), (earlier, numbers)
        this_run = sum(1 for r, _b in batches if r == run)
        # Every batch the writer saw committed is there; at most one more (killed after COMMIT returned).
        assert committed.value <= this_run <= committed.value + 1, (run, committed.value, this_run)
        assert report.size == 1 + len(batches) * CRASH_BATCH
        total = len(batches)
    assert total > 0
