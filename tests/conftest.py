"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL tests create and drop their own database on the server at PATENTPOOL_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/test). Without a reachable server they skip with the reason, except
under CI (CI=true), where a missing server is a failure.
"""

from __future__ import annotations

import functools
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli import main

PG_ADMIN = os.environ.get("PATENTPOOL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SHARED = Path(__file__).resolve().parents[2] / "shared"
EXAMPLE = SHARED / "examples" / "pool-2025q1"
PASSPHRASE = "test-passphrase"
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# `pytest -m "not slow"` (CONTRIBUTING.md) leaves out, by these rules rather than by hand in each file:
# - every test on PostgreSQL (also marked `postgres`): a test that takes a `postgresql` parameter (the
#   `db_url` fixture, or a module's shared pool) or needs `postgres_available`;
# - every test that takes the `pool` fixture (commands run end to end through the CLI against a database: each
#   writing command unlocks the scrypt-protected key), and the modules in SLOW_MODULES (such pools shared by a
#   module, very large entries, racing processes).
# What stays is every rule test in memory, the ledger's and the licences' unit tests, and the SQLite halves of
# the storage and tamper tests.
SLOW_MODULES = frozenset(
    {
        "test_allocation_scenarios",
        "test_books",
        "test_bundles",
        "test_cash_and_staleness",
        "test_cli_admin",
        "test_cli_edges",
        "test_cli_errors",
        "test_cli_formats",
        "test_cli_ledger",
        "test_coowners",
        "test_example",
        "test_import_kinds",
        "test_imports",
        "test_imports_xlsx",
        "test_large_entries",
        "test_ledger_concurrency",
        "test_statement_reads",
        "test_upgrade",
        "test_verify_recompute",
    }
)


@pytest.fixture(autouse=True, scope="session")
def _one_scrypt_per_key_file() -> Iterator[None]:
    """Every writing command unlocks the pool key with scrypt, slow by design (N=2^17: 0.4-0.8 s on the
    machines the suite has run on), and the suite runs thousands of commands in this process against few key
    files: a derivation is remembered for the session, so each key file costs one. A cache returns what the
    derivation would; the key files' own tests (test_ledger_keys) still see wrong passphrases refused."""
    from ledger import keys

    original = keys._derive
    keys._derive = functools.cache(original)  # type: ignore[assignment]
    try:
        yield
    finally:
        keys._derive = original  # type: ignore[assignment]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        if "postgres_available" in getattr(item, "fixturenames", ()) or any(
            isinstance(p, str) and p == "postgresql" for p in params
        ):
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.slow)
        elif (item.module is not None and item.module.__name__ in SLOW_MODULES) or "pool" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.slow)


def shared_or_skip(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared lies only beside the project's own checkout")
    return path


_PG_REASON: list[str | None] = []


def pg_unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None if they can."""
    if not _PG_REASON:
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN, connect_timeout=3):
                _PG_REASON.append(None)
        except Exception as exc:  # any failure to connect means no usable server
            _PG_REASON.append(f"no PostgreSQL server at {PG_ADMIN}: {exc}")
    return _PG_REASON[0]


def _admin_url(database: str) -> str:
    base, _sep, _db = PG_ADMIN.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def postgres_available() -> None:
    reason = pg_unavailable()
    if reason:
        if ON_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def create_pg_database() -> str:
    import psycopg

    name = f"pp_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pool.db'}"
        return
    request.getfixturevalue("postgres_available")
    name = create_pg_database()
    try:
        yield _admin_url(name)
    finally:
        drop_pg_database(name)


@dataclass
class Pool:
    """Runs the CLI in-process against one database and key, as a user would."""

    db: str
    key: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            "PATENTPOOL_DB": self.db,
            "PATENTPOOL_KEY": str(self.key),
            "PATENTPOOL_PASSPHRASE": PASSPHRASE,
            "NO_COLOR": "1",
        }

    def run(self, *args: str, expect: int | None = 0, input: str | None = None) -> Result:
        runner = CliRunner()
        result = runner.invoke(main, list(args), env=self.env, input=input, catch_exceptions=True)
        if expect is not None and result.exit_code != expect:
            raise AssertionError(
                f"patentpool {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\nexception: {result.exception!r}"
            )
        return result

    def json(self, *args: str) -> Any:
        import json

        return json.loads(self.run(*args, "--format", "json").stdout)

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text, encoding="utf-8")
        return path

    def size_and_root(self) -> tuple[int, str]:
        note = self.run("checkpoint").stdout.splitlines()
        return int(note[1]), note[2]


@contextmanager
def shared_pool(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    label: str,
    build: Callable[[Pool], None],
) -> Iterator[Pool]:
    """For a module-scoped fixture parametrised by backend: one initialised pool, built once by `build`,
    its PostgreSQL database dropped afterwards."""
    workdir = tmp_path_factory.mktemp(f"{label}-{request.param}")
    database = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'pool.db'}"
    else:
        request.getfixturevalue("postgres_available")
        database = create_pg_database()
        url = _admin_url(database)
    try:
        pool = Pool(url, workdir / "pool.key", workdir)
        pool.run(
            "init",
            "--name",
            "Test Pool",
            "--origin",
            "pool.example/test",
            "--currency",
            "USD",
            "--admin-fee",
            "10",
        )
        build(pool)
        yield pool
    finally:
        if database is not None:
            drop_pg_database(database)


@pytest.fixture
def pool_factory(tmp_path: Path) -> Any:
    def make(db: str, origin: str = "pool.example/test", init: bool = True, **kw: str) -> Pool:
        key = tmp_path / f"{uuid.uuid4().hex[:6]}.key"
        pool = Pool(db, key, tmp_path)
        if init:
            args = [
                "init",
                "--name",
                kw.get("name", "Test Pool"),
                "--origin",
                origin,
                "--currency",
                kw.get("currency", "USD"),
                "--admin-fee",
                kw.get("admin_fee", "10"),
            ]
            pool.run(*args)
        return pool

    return make


@pytest.fixture
def pool(db_url: str, pool_factory: Any) -> Pool:
    """An initialised, empty pool on each backend."""
    result: Pool = pool_factory(db_url)
    return result


DATA = Path(__file__).resolve().parent / "data" / "pool-2025q1"


def open_licence(pool: Pool, number: str = "CN205123456U") -> None:
    """The worked example's open licence on its utility model: declared at 0.10 CNY a unit from 2025-01-01 to
    2026-05-09 with its evaluation report, and taken by L1 on 2025-01-15."""
    pool.run(
        "openlicense",
        "declare",
        number,
        "--fee",
        "0.10/unit",
        "--currency",
        "CNY",
        "--from",
        "2025-01-01",
        "--to",
        "2026-05-09",
        "--evaluation-report",
        "CNIPA-PER-2024-0815",
    )
    pool.run("openlicense", "take", number, "--licensee", "L1", "--notice-date", "2025-01-15")


def build_example(pool: Pool, data: Path = DATA, payments: bool = True) -> None:
    """The worked example of ../shared/examples/pool-2025q1 through the CLI (CSVs copied to tests/data)."""
    pool.run("member", "import", str(data / "members.csv"))
    pool.run(
        "program",
        "add",
        "XR",
        "--currency",
        "USD",
        "--tiers",
        "1000:0,5000:0.20,*:0.10",
        "--annual-cap",
        "900.00",
        "--admin-fee",
        "10",
        "--period",
        "quarter",
    )
    pool.run("patent", "import", str(data / "patents.csv"))
    pool.run("patent", "status", "CN103456789B", "invalidated", "--effective", "2025-02-15")
    pool.run(
        "crosslicense",
        "add",
        "--members",
        "A,C",
        "--patents",
        "all",
        "--territory",
        "all",
        "--from",
        "2024-01-01",
    )
    open_licence(pool)
    pool.run("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-01-01")
    pool.run("license", "grant", "--licensee", "C", "--program", "XR", "--from", "2025-01-01")
    pool.run("report", "import", str(data / "reports.csv"))
    if payments:
        pool.run("payment", "import", str(data / "payments.csv"))


# --- pools built piece by piece through the CLI, as a user would: a CSV import or one command a piece -------
# Patent numbers the pools use (all valid and normalised): CN inventions, a CN utility model, US, EP-in-DE.
CN_A, CN_B, CN_C = "CN102345678B", "CN103456789B", "CN110123456B"
CN_UM = "CN205123456U"
US_A, US_B = "US10123456B2", "US11234567B1"
EP_DE = "EP2345678B1"

PATENT_HEADER = "number,owner,country,type,filed,granted,expires,program,title,weight"
REPORT_HEADER = "licensee,program,period,manufacture_country,sale_country,units,net_sales"
_csv_files = itertools.count(1)


def csv_import(pool: Pool, what: str, header: str, rows: list[str], *extra: str, expect: int = 0) -> Result:
    """Write `rows` under `header` to a new CSV beside the pool and run `WHAT import` on it."""
    path = pool.write(f"{what}-{next(_csv_files)}.csv", header + "\n" + "\n".join(rows) + "\n")
    return pool.run(what, "import", str(path), *extra, expect=expect)


def members(pool: Pool, *rows: str) -> None:
    """Rows "ID,ROLE" (named "ID Co.") or "ID,NAME,ROLE"."""
    lines = []
    for row in rows:
        cells = row.split(",")
        lines.append(row if len(cells) == 3 else f"{cells[0]},{cells[0]} Co.,{cells[1]}")
    csv_import(pool, "member", "id,name,role", lines)


def patents(pool: Pool, *rows: str) -> None:
    """Rows in PATENT_HEADER's columns."""
    csv_import(pool, "patent", PATENT_HEADER, list(rows))


def reports(pool: Pool, *rows: str, correct: bool = False, expect: int = 0) -> Result:
    """Rows in REPORT_HEADER's columns; `correct` imports them with --correct."""
    return csv_import(
        pool, "report", REPORT_HEADER, list(rows), *(["--correct"] if correct else []), expect=expect
    )


def program(
    pool: Pool,
    tiers: str,
    cap: str | None = None,
    fee: str = "10",
    period: str = "quarter",
    name: str = "XR",
    currency: str = "USD",
) -> None:
    args = ["program", "add", name, "--currency", currency, "--tiers", tiers, "--admin-fee", fee]
    args += ["--period", period]
    if cap is not None:
        args += ["--annual-cap", cap]
    pool.run(*args)


def grant(pool: Pool, *licensees: str, program_name: str = "XR", start: str = "2025-01-01") -> None:
    for licensee in licensees:
        pool.run("license", "grant", "--licensee", licensee, "--program", program_name, "--from", start)


def build_pool(
    pool: Pool,
    members_: tuple[str, ...] = ("A,Aurora,licensor", "B,Beacon,licensor", "L1,Lumen,licensee"),
    tiers: str = "1000:0,5000:0.20,*:0.10",
    patents_: tuple[str, ...] = (
        f"{CN_A},A,CN,invention,2015-06-01,2019-09-10,,XR,,",
        f"{CN_C},B,CN,invention,2015-06-01,2019-09-10,,XR,,",
    ),
    licensees: tuple[str, ...] = ("L1",),
    fee: str = "10",
    cap: str | None = None,
    start: str = "2025-01-01",
) -> Pool:
    """The small pool CLI tests start from, built in this order: the members (as `members` takes them),
    program XR (tiers, admin fee, annual cap), the patents (rows in PATENT_HEADER's columns, if any), and a
    pool licence of XR from `start` for each licensee. By default licensors A (Aurora) and B (Beacon) with one
    counting CN invention each (weights 1:1) and licensee L1 (Lumen); tiers 1000:0,5000:0.20,*:0.10, fee
    10%."""
    members(pool, *members_)
    program(pool, tiers, cap=cap, fee=fee)
    if patents_:
        patents(pool, *patents_)
    grant(pool, *licensees, start=start)
    return pool


@pytest.fixture
def example_pool(pool: Pool) -> Pool:
    build_example(pool)
    return pool


@pytest.fixture(params=[False, True], ids=["parsed", "lazy"])
def lazy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Runs a test twice: as is, and with every entry body "large" (`ledger.entry.LAZY_BODY` 0), so the
    paths that keep a large body as bytes (verify's byte comparison, a statement's member view) run on small
    pools."""
    if request.param:
        import ledger.entry

        monkeypatch.setattr(ledger.entry, "LAZY_BODY", 0)
    return bool(request.param)


# --- the same pools in memory: entries applied through patentpool.rules, no CLI, no database ---------------
class MemoryPool:
    """A pool state built the way replay builds it: each entry body (in its ledger spelling, from
    patentpool.bodies where a command would use it) validated and applied by `patentpool.rules.apply`.
    Nothing is signed or stored, so rule tests run in milliseconds; a refused entry raises the validator's
    FieldError, exactly what the command would report."""

    TIME = "2026-06-30T00:00:00.000000Z"  # after every fact the tests record (spec 9 refuses a later one)
    SIG = "A" * 86 + "=="

    def __init__(
        self,
        name: str = "Test Pool",
        currency: str = "USD",
        admin_fee: str = "10",
        origin: str = "pool.example/test",
    ) -> None:
        from patentpool.state import PoolState

        self.state = PoolState()
        self.seq = 0
        self.author = f"{origin}+00000000"
        self.add(
            "pool.genesis", {"name": name, "origin": origin, "currency": currency, "admin_fee": admin_fee}
        )

    def add(self, kind: str, body: dict[str, Any]) -> int:
        """Validate and apply one entry; returns its seq."""
        from ledger.entry import Entry
        from patentpool import rules

        seq = self.seq + 1
        entry = Entry(seq, self.TIME, kind, self.author, f"{self.seq:064x}", body, self.SIG)
        rules.apply(self.state, entry, f"{seq:064x}")
        self.seq = seq
        return seq

    def try_add(self, kind: str, body: dict[str, Any]) -> int | None:
        """`add`, but an entry the validator refuses is left out (None), as the CLI would refuse it."""
        from patentpool.fields import FieldError

        try:
            return self.add(kind, body)
        except FieldError:
            return None

    # The CSV files of an import, row by row, through the same body builders the imports use.
    def members(self, path: Path) -> None:
        from patentpool import bodies

        for row in _csv_rows(path):
            self.add("member.add", bodies.member(row["id"], row["name"], row["role"]))

    def patents(self, path: Path) -> None:
        from patentpool import bodies

        for r in _csv_rows(path):
            body = bodies.patent(
                r["number"],
                r["owner"],
                r["country"],
                r["type"],
                r["filed"],
                r["granted"],
                r["expires"],
                r["program"],
                r["title"],
                r["weight"],
            )
            self.add("patent.add", body)

    def reports(self, path: Path) -> None:
        """One report.add per (licensee, program, period), as `report import` groups them."""
        from patentpool import bodies

        grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for r in _csv_rows(path):
            line = bodies.report_line(r["manufacture_country"], r["sale_country"], r["units"], r["net_sales"])
            grouped.setdefault((r["licensee"], r["program"], bodies.period(r["period"])), []).append(line)
        for (licensee, program, period), lines in grouped.items():
            self.add(
                "report.add", {"licensee": licensee, "program": program, "period": period, "lines": lines}
            )

    def program(
        self,
        name: str,
        tiers: str,
        cap: str | None = None,
        fee: str = "10",
        period: str = "quarter",
        currency: str = "USD",
    ) -> int:
        from patentpool import bodies

        return self.add("program.add", bodies.program(name, currency, tiers, cap, fee, period))

    def grant(self, licensee: str, program: str = "XR", start: str = "2025-01-01") -> int:
        return self.add("license.grant", {"licensee": licensee, "program": program, "from": start})

    def allocate(self, program: str, period: str) -> dict[str, Any]:
        """The allocation.run body `allocate` would append (not applied)."""
        from patentpool.allocation import allocate
        from patentpool.periods import Period

        return allocate(self.state, program, Period.parse(period))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def build_example_state(data: Path = DATA, payments: bool = True) -> MemoryPool:
    """`build_example`'s pool (the worked example of ../shared/examples/pool-2025q1), in memory: the same
    CSVs and the same facts, in the same order."""
    from patentpool import bodies

    pool = MemoryPool()
    pool.members(data / "members.csv")
    pool.program("XR", "1000:0,5000:0.20,*:0.10", cap="900.00", fee="10")
    pool.patents(data / "patents.csv")
    pool.add(
        "patent.status",
        {"number": "CN103456789B", "country": "CN", "status": "invalidated", "effective": "2025-02-15"},
    )
    pool.add(
        "crosslicense.add",
        {
            "members": ["A", "C"],
            "patents": "all",
            "territory": "all",
            "from": "2024-01-01",
            "to": None,
            "terms": "royalty-free",
        },
    )
    declaration = pool.add(
        "openlicense.declare",
        {
            "number": "CN205123456U",
            "country": "CN",
            "fee": bodies.fee("0.10/unit"),
            "currency": "CNY",
            "from": "2025-01-01",
            "to": "2026-05-09",
            "evaluation_report": "CNIPA-PER-2024-0815",
        },
    )
    pool.add(
        "openlicense.take",
        {
            "number": "CN205123456U",
            "country": "CN",
            "licensee": "L1",
            "notice_date": "2025-01-15",
            "declaration": declaration,
        },
    )
    pool.grant("L1")
    pool.grant("C")
    pool.reports(data / "reports.csv")
    if payments:
        for r in _csv_rows(data / "payments.csv"):
            pool.add(
                "payment.add",
                bodies.payment(r["licensee"], r["date"], r["amount"], r["currency"], r["reference"]),
            )
    return pool
