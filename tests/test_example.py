"""The worked example of ../shared/examples/pool-2025q1 reproduced to the cent, on both backends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE, Pool, shared_or_skip

# The figures of ../shared/examples/pool-2025q1/expected.json, worked by hand in its README.
EXPECTED = {
    "program": "XR",
    "period": "2025Q1",
    "currency": "USD",
    "members": {
        "A": {"gross": "150.00", "admin_fee": "15.00", "net": "135.00"},
        "B": {"gross": "598.38", "admin_fee": "59.84", "net": "538.54"},
        "C": {"gross": "697.07", "admin_fee": "69.71", "net": "627.36"},
    },
    "invoices": {
        "L1": {"royalty": "900.00", "credit": "150.00", "due": "750.00"},
        "C": {"royalty": "850.00", "credit": "154.55", "due": "695.45"},
    },
    "admin_fee": "144.55",
    "total": "1445.45",
    "open_license_fees": [
        {"licensee": "L1", "patent": "CN205123456U", "owner": "A", "currency": "CNY", "amount": "700.00"}
    ],
}


def test_example_allocation_to_the_cent(example_pool: Pool) -> None:
    got = example_pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    assert got == EXPECTED


def test_rerun_appends_nothing_and_prints_the_same(example_pool: Pool) -> None:
    first = example_pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    size = example_pool.size_and_root()
    second = example_pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    assert first == second
    assert example_pool.size_and_root() == size


def test_statement_lines_of_member_c(example_pool: Pool) -> None:
    example_pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    data = example_pool.json("statement", "--member", "C", "--period", "2025Q1")
    lines = {(ln["licensee"], ln["country"]): (ln["patents"], ln["gross"]) for ln in data["lines"]}
    assert lines == {
        ("C", "CN"): (["CN110123456B"], "77.27"),
        ("C", "US"): (["US11234567B1"], "309.09"),
        ("L1", "CN"): (["CN110123456B"], "150.00"),
        ("L1", "US"): (["US11234567B1"], "160.71"),
    }
    assert (data["gross"], data["admin_fee"], data["net"]) == ("697.07", "69.71", "627.36")
    assert data["checkpoint"].startswith("pool.example/test\n")


def test_invoice_of_l1_with_memo_fee(example_pool: Pool) -> None:
    example_pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    data = example_pool.json("invoice", "--licensee", "L1", "--period", "2025Q1")
    assert (data["royalty"], data["credit"], data["due"]) == ("900.00", "150.00", "750.00")
    assert data["open_license_fees"] == EXPECTED["open_license_fees"]


def test_run_sh_through_the_installed_cli(tmp_path: Path) -> None:
    """../shared/examples/pool-2025q1/run.sh, as the brief runs it, checked by check-example.py."""
    run_sh = shared_or_skip(EXAMPLE / "run.sh")
    checker = shared_or_skip(EXAMPLE.parent.parent / "tools" / "check-example.py")
    bindir = Path(sys.executable).parent
    assert shutil.which("patentpool", path=str(bindir)), "patentpool is not installed beside this Python"
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(
        ["bash", str(run_sh), str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout[out.stdout.index("{") :]) == EXPECTED
    check = subprocess.run([sys.executable, str(checker)], input=out.stdout, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_coowned_run_sh_through_the_installed_cli(tmp_path: Path) -> None:
    """../shared/examples/pool-2025q1-coown/run.sh (co-owners, a voided payment, cash-basis payouts),
    checked by its check-example-coown.py against expected.json figure by figure."""
    coown = EXAMPLE.parent / "pool-2025q1-coown"
    run_sh = shared_or_skip(coown / "run.sh")
    checker = shared_or_skip(EXAMPLE.parent.parent / "tools" / "check-example-coown.py")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(
        ["bash", str(run_sh), str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    check = subprocess.run([sys.executable, str(checker)], input=out.stdout, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert "co-owned example matches expected.json" in check.stdout
