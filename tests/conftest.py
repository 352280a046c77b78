"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL tests create and drop their own database on the server at PATENTPOOL_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/test). Without a reachable server they skip with the reason, except
under CI (CI=true), where a missing server is a failure.
"""

from __future__ import annotations

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
    pool.run(
        "openlicense",
        "declare",
        "CN205123456U",
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
    pool.run("openlicense", "take", "CN205123456U", "--licensee", "L1", "--notice-date", "2025-01-15")
    pool.run("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-01-01")
    pool.run("license", "grant", "--licensee", "C", "--program", "XR", "--from", "2025-01-01")
    pool.run("report", "import", str(data / "reports.csv"))
    if payments:
        pool.run("payment", "import", str(data / "payments.csv"))


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
