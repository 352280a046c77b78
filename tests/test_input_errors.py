"""Hostile inputs around the ledger each give one clear `Error:` line (exit 1; 2 for a malformed command-line
value, a usage error), never a generic "(run with --verbose)" error: a non-UTF-8 checkpoint file, numbers
thousands of digits long, a damaged SQLite file, control bytes in an imported file, and report units so
large that an allocation could not be recorded (bounded at import)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import CN_A, Pool, build_pool

from patentpool.fields import MAX_PERIOD_UNITS


@pytest.fixture
def pool(tmp_path: Path, pool_factory: Any) -> Pool:
    made: Pool = pool_factory(f"sqlite:///{tmp_path / 'pool.db'}")
    return made


def one_error(result: Result, code: int, *phrases: str) -> str:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "--verbose" not in result.stderr and "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    return errors[0]


def test_a_non_utf8_checkpoint_file_is_one_line(pool: Pool) -> None:
    bad = pool.workdir / "bad.cp"
    bad.write_bytes(b"pool.example/test\n\xff\xfe\n")
    export = pool.workdir / "ledger.jsonl"
    pool.run("export", "-o", str(export))
    one_error(pool.run("verify", "--checkpoint", str(bad), expect=None), 1, "not UTF-8")
    args = ["verify", "--from-export", str(export), "--checkpoint", str(bad)]
    one_error(pool.run(*args, expect=None), 1, "not UTF-8")
    one_error(pool.run("load", str(export), "--checkpoint", str(bad), expect=None), 1, "not UTF-8")


@pytest.mark.parametrize("digits", [25, 4000, 5000])
def test_a_seq_thousands_of_digits_long_is_a_short_usage_error(pool: Pool, digits: int) -> None:
    huge = "9" * digits
    for args in (
        ("prove", "inclusion", huge),
        ("prove", "consistency", "1", huge),
        ("checkpoint", "--size", huge),
        ("log", "--since", huge),
    ):
        line = one_error(pool.run(*args, expect=None), 2, "is not a whole number from")
        assert len(line) < 200, line


def test_a_huge_tree_size_in_a_checkpoint_file_is_one_line(pool: Pool) -> None:
    note = pool.write("huge.cp", "pool.example/test\n" + "9" * 5000 + "\nAAAA\n\n— pool.example/test AAAA\n")
    one_error(pool.run("verify", "--checkpoint", str(note), expect=None), 1, "not a checkpoint this pool")


def test_a_damaged_sqlite_file_is_one_line(tmp_path: Path, pool_factory: Any) -> None:
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(range(256)) * 16)
    pool: Pool = pool_factory(f"sqlite:///{damaged}", init=False)
    for args in (("member", "list"), ("verify",), ("log",)):
        one_error(pool.run(*args, expect=None), 1, "file is not a database")
    working: Pool = pool_factory(f"sqlite:///{tmp_path / 'fine.db'}")  # a writer, with a key file
    working.env["PATENTPOOL_DB"] = f"sqlite:///{damaged}"
    args = ("member", "add", "A", "--name", "A", "--role", "both")
    one_error(working.run(*args, expect=None), 1, "file is not a database")


def test_control_bytes_in_an_import_are_escaped_in_errors(pool: Pool) -> None:
    csv = pool.workdir / "members.csv"
    csv.write_bytes(b"id,name,role\nA1,Aurora,both\nB\x00\x1b[31m,Beacon,both\nC1,Co\x07balt,nobody\n")
    result = pool.run("member", "import", str(csv), expect=1)
    assert "\x00" not in result.stderr and "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x00" in result.stderr and "\\x1b" in result.stderr
    assert pool.size_and_root()[0] == 1  # nothing written


# --- units bounded so that an allocation can always run ---------------------------------------------------
HEADER = "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"


def licensed_pool(pool: Pool) -> None:
    build_pool(
        pool,
        members_=("A,Aurora,licensor", "L,Lumen,licensee"),
        tiers="*:0.01",
        patents_=(f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,Waveguide,",),
        licensees=("L",),
        start="2024-01-01",
    )


def test_units_past_the_bound_are_refused_at_import(pool: Pool) -> None:
    licensed_pool(pool)
    half = MAX_PERIOD_UNITS // 2 + 1
    rows = (
        f"L,XR,2025Q1,CN,CN,{half},1.00\nL,XR,2025Q1,CN,US,{half},1.00\nL,XR,2025Q1,US,US,{'9' * 30},1.00\n"
    )
    result = pool.run("report", "import", str(pool.write("r.csv", HEADER + rows)), expect=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert "r.csv:3: units: L's XR 2025Q1 reports would total" in errors[0]
    assert "r.csv:4: units:" in errors[1] and len(errors) == 2
    size = pool.size_and_root()[0]
    # A correction that would pass the bound is refused too.
    pool.run("report", "import", str(pool.write("ok.csv", HEADER + f"L,XR,2025Q1,CN,CN,{half},1.00\n")))
    more = HEADER + f"L,XR,2025Q1,CN,CN,{MAX_PERIOD_UNITS + 1},1.00\n"
    one_error(
        pool.run("report", "import", "--correct", str(pool.write("c.csv", more)), expect=None), 1, "units"
    )
    assert pool.size_and_root()[0] == size + 1


def test_an_allocation_runs_with_every_period_at_the_bound(pool: Pool) -> None:
    licensed_pool(pool)
    rows = "".join(
        f"L,XR,{period},CN,CN,{MAX_PERIOD_UNITS},1.00\n"
        for period in ("2024Q2", "2024Q3", "2024Q4", "2025Q1")
    )
    pool.run("report", "import", str(pool.write("r.csv", HEADER + rows)))
    result = pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    assert result["invoices"]["L"]
    pool.run("verify")
