"""Run one patentpool command inside this process after its imports are done, and time only the command:
the "work beyond start-up". Used by bench/run.py; prints `BENCH_INPROC {json}` on stderr.

    python bench/_inproc.py [--profile FILE.prof] -- --db URL statement --member M001 ...
"""

from __future__ import annotations

import importlib
import json
import sys
import time

# What the timed commands import lazily; importing them first leaves only the command's own work.
PREIMPORT = (
    "cli",
    "sqlalchemy",
    "sqlalchemy.dialects.sqlite",
    "psycopg",
    "sqlalchemy.dialects.postgresql",
    "ledger.log",
    "ledger.store",
    "ledger.verify",
    "patentpool.service",
    "patentpool.books",
    "patentpool.bundles",
    "patentpool.views",
    "patentpool.render",
    "patentpool.allocation",
    "patentpool.rules",
    "patentpool.periods",
    "patentpool.state",
    "rich.console",
    "rich.table",
)


def main() -> None:
    argv = sys.argv[1:]
    profile = None
    if argv[:1] == ["--profile"]:
        profile, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    for name in PREIMPORT:
        importlib.import_module(name)
    import cli

    code = 0
    start = time.perf_counter()
    try:
        if profile:
            import cProfile

            cProfile.runctx(
                "cli.main(argv, standalone_mode=False)",
                globals(),
                {"cli": cli, "argv": argv},
                filename=profile,
            )
        else:
            cli.main(argv, standalone_mode=False)
    except SystemExit as exc:
        code = int(exc.code or 0)
    seconds = time.perf_counter() - start
    print("BENCH_INPROC " + json.dumps({"seconds": seconds, "code": code}), file=sys.stderr, flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
