"""`patentpool demo`: a sample pool in a new SQLite file, walked end to end, so a newcomer sees the tool.

It builds the pool through the same service, imports and allocation code as the CLI, then allocates a
quarter, prints a member's statement, writes and checks that member's statement bundle offline, and
verifies the whole ledger. Nothing here is precomputed: every figure comes from the ledger.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.keys import SigningKey, save_key
from patentpool import bodies, books, bundles, imports, staleness, verification
from patentpool.outputs import check_new_directory
from patentpool.periods import Period
from patentpool.service import PoolService, open_ledger

if TYPE_CHECKING:
    from rich.console import Console

PASSPHRASE = "demo-only-passphrase"
ORIGIN = "demo.patentpool.example/xr"

MEMBERS = """id,name,role
A,Aurora Optics Co.,licensor
B,Beacon Semiconductor Ltd.,licensor
C,Cobalt Devices Inc.,both
L1,Lumen Headsets Co.,licensee
"""
PATENTS = """number,owner,country,type,filed,granted,expires,program,title,weight
CN102345678B,A,CN,invention,2010-03-01,2013-05-08,,XR,Optical waveguide display,
US7654321B2,A,US,invention,2005-02-10,2010-02-02,,XR,Head pose estimation,
CN205123456U,A,CN,utility,2016-05-10,2016-10-12,,XR,Headset strap tensioner,
US10123456B2,B,US,invention,2011-06-01,2018-11-13,,XR,Low-latency display pipeline,
EP2345678B1,B,DE,invention,2009-09-15,2014-03-05,,XR,Foveated rendering,
EP2345678B1,B,FR,invention,2009-09-15,2014-03-05,,XR,Foveated rendering,
CN103456789B,B,CN,invention,2013-04-01,2016-08-17,,XR,Eye tracking sensor,
US11234567B1,C,US,invention,2019-08-01,2022-01-25,,XR,Hand tracking model,2
CN110123456B,C,CN,invention,2015-06-01,2019-09-10,,XR,Spatial audio codec,
"""
REPORTS = """licensee,program,period,manufacture_country,sale_country,units,net_sales
L1,XR,2025Q1,CN,CN,3000,540000.00
L1,XR,2025Q1,CN,US,2500,525000.00
L1,XR,2025Q1,CN,DE,1000,210000.00
L1,XR,2025Q1,CN,FR,700,140000.00
L1,XR,2025Q1,CN,JP,500,100000.00
C,XR,2025Q1,US,US,4000,1200000.00
C,XR,2025Q1,CN,CN,1500,330000.00
C,XR,2025Q1,BR,BR,300,60000.00
"""
PAYMENTS = """licensee,date,amount,currency,reference
L1,2025-04-28,500.00,USD,L1-2025Q1-a
"""


def _print(title: str, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title))
    for column in rows[0] if rows else []:
        table.add_column(Text(column))
    for row in rows:
        table.add_row(*[Text(", ".join(v) if isinstance(v, list) else str(v)) for v in row.values()])
    Console(no_color="NO_COLOR" in os.environ).print(table)


CROSS_LICENCE: dict[str, Any] = {
    "members": ["A", "C"],
    "patents": "all",
    "territory": "all",
    "from": "2024-01-01",
    "to": None,
    "terms": "royalty-free",
}
OPEN_LICENCE: dict[str, Any] = {
    "number": "CN205123456U",
    "country": "CN",
    "fee": "0.1/unit",
    "currency": "CNY",
    "from": "2025-01-01",
    "to": "2026-05-09",
    "evaluation_report": "CNIPA-PER-2024-0815",
}


def run(directory: Path | None) -> int:
    """Build the demo pool in `directory` (new, or a temporary one), walk it end to end; 0 if all checks."""
    from rich.console import Console

    # Only the title line uses markup: every other line holds paths and ledger text, shown as is.
    console = Console(no_color="NO_COLOR" in os.environ, markup=False)
    work = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="patentpool-demo-"))
    key, url = _create_pool(console, work)
    service = PoolService(url, work / "demo.key")
    console.print(f"built the pool: {_fill_pool(service, work)} signed entries")

    period = Period.parse("2025Q1")
    with service.write() as batch:
        result = staleness.run(batch.state, "XR", period, batch.add_ref)[0].result
    _print("Allocation XR 2025Q1 (members)", [{"member": m, **f} for m, f in result["members"].items()])
    _print("Invoices", [{"licensee": lic, **f} for lic, f in result["invoices"].items()])
    bundle_path, bundle_ok = _member_c(console, service, key, work, period)
    report = verification.verify_database(url, 1, lambda _n: None)
    console.print(
        f"verify: {report['entries']} entries, {report['checkpoints']} checkpoints, "
        f"{report['allocations_recomputed']} allocation(s) recomputed: {report['result']}"
    )
    _print_commands(console, url, work / "demo.key", key, bundle_path)
    return 0 if bundle_ok and not report["problems"] else 1


def _create_pool(console: Console, work: Path) -> tuple[SigningKey, str]:
    """A new pool's key file, genesis and CSVs in `work`, which must be new or empty: its key and URL."""
    from rich.markup import escape

    # The demo writes its CSVs, database, key and bundle here: a directory with anything in it could be
    # someone's pool, so only a new or empty one is used.
    check_new_directory(work)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PATENTPOOL_PASSPHRASE", PASSPHRASE)
    title = f"[bold]patentpool demo[/bold] in {escape(str(work))} (SQLite demo.db, key demo.key)"
    console.print(title, markup=True)
    key = SigningKey.generate(ORIGIN)
    save_key(work / "demo.key", key, os.environ["PATENTPOOL_PASSPHRASE"])
    url = f"sqlite:///{work / 'demo.db'}"
    open_ledger(url).create(key, {"name": "XR Demo Pool", "currency": "USD", "admin_fee": "10"})
    for name, text in (
        ("members.csv", MEMBERS),
        ("patents.csv", PATENTS),
        ("reports.csv", REPORTS),
        ("payments.csv", PAYMENTS),
    ):
        (work / name).write_text(text, encoding="utf-8")
    return key, url


def _fill_pool(service: PoolService, work: Path) -> int:
    """Members, program, patents, licences, reports and payments, in one batch: how many entries."""
    with service.write() as batch:
        imports.import_members(batch, work / "members.csv")
        batch.add(
            "program.add", bodies.program("XR", "USD", "1000:0,5000:0.20,*:0.10", "900.00", "10", "quarter")
        )
        imports.import_patents(batch, work / "patents.csv")
        batch.add(
            "patent.status",
            {"number": "CN103456789B", "country": "CN", "status": "invalidated", "effective": "2025-02-15"},
        )
        batch.add("crosslicense.add", dict(CROSS_LICENCE))
        decl = batch.add("openlicense.declare", dict(OPEN_LICENCE))
        batch.add(
            "openlicense.take",
            {
                "number": "CN205123456U",
                "country": "CN",
                "licensee": "L1",
                "notice_date": "2025-01-15",
                "declaration": decl.seq,
            },
        )
        for licensee in ("L1", "C"):
            batch.add("license.grant", {"licensee": licensee, "program": "XR", "from": "2025-01-01"})
        imports.import_reports(batch, work / "reports.csv", correct=False)
        imports.import_payments(batch, work / "payments.csv")
    return len(batch.entries)


def _member_c(
    console: Console, service: PoolService, key: SigningKey, work: Path, period: Period
) -> tuple[Path, bool]:
    """Member C's statement, its bundle written and checked offline, and the reconciliation: the bundle's
    path and whether its offline check passed."""
    with service.read() as (state, reader):
        statement = books.statement(state, "C", period, None, reader.checkpoint().note)
        bundle = bundles.member_bundle(state, reader, statement, period, None, None)
        reconcile = books.reconcile(state, period, None, period.end.replace(month=6, day=30))
    _print("Statement of member C", statement["lines"])
    console.print(
        f"gross {statement['gross']}, admin fee {statement['admin_fee']}, net {statement['net']} USD"
    )
    bundle_path = work / "statement-C-2025Q1.json"
    bundles.write_bundle(bundle_path, bundle)
    verdict = bundles.verify_bundle_file(bundle_path, str(key.verifier()), None)
    console.print(f"offline check of {bundle_path.name} with the pool key: {verdict.lines[-1]}")
    _print(
        "Reconciliation as of 2025-06-30",
        [
            {k: r[k] for k in ("licensee", "invoiced", "paid", "balance", "days_late")}
            for r in reconcile["licensees"]
        ],
    )
    return bundle_path, verdict.ok


def _print_commands(console: Console, url: str, key_path: Path, key: SigningKey, bundle_path: Path) -> None:
    """Commands to copy: one line each, never wrapped (rich wraps at 80 columns when piped, which cut the
    verifier key in two), quoted for the shell."""
    q = shlex.quote
    console.print(
        "\nTry it yourself:\n"
        f"  export PATENTPOOL_DB={q(url)} PATENTPOOL_KEY={q(str(key_path))} "
        f"PATENTPOOL_PASSPHRASE={q(os.environ['PATENTPOOL_PASSPHRASE'])}\n"
        "  patentpool patent show EP2345678B1\n"
        "  patentpool statement --member B --period 2025Q1\n"
        f"  patentpool verify-statement {q(str(bundle_path))} --vkey {q(str(key.verifier()))}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
