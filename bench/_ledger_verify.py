"""`ledger.verify.verify_store` alone on a database: every check of the generic signed log (form, chain,
keys, signatures, Merkle root against every checkpoint, stored nodes and index columns) and none of the
pool's (no rule replay, no allocation recomputed). Run by bench/run.py as information beside `verify`, to
show how the 0.80 target's budget divides between the ledger and the pool's audit. Prints JSON.

    python bench/_ledger_verify.py URL JOBS
"""

from __future__ import annotations

import json
import sys

from ledger.memory import paused_gc
from ledger.store import Store
from ledger.verify import verify_store


def main() -> None:
    url, jobs = sys.argv[1], int(sys.argv[2])
    store = Store(url)
    with store.reader() as conn, paused_gc():
        report = verify_store(store, conn, jobs=jobs)
    problems = [str(p) for p in report.problems]
    print(json.dumps({"entries": report.size, "ok": report.ok, "problems": problems}))


if __name__ == "__main__":
    main()
