"""The CLI's edges a user meets (issue 19's smaller frictions), and -f xlsx on the read commands (spec 7, 9,
10): a number without its kind code, title search, reconcile's role column, the invoice's due date, a bare
--db path, "did you mean" for countries and currencies (and verify keeping old codes), the demo's commands
and the top-level help whole, spreadsheets out with formulas neutralised and totals marked.

On SQLite only: these are the CLI's edges, not storage.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PASSPHRASE, Pool, build_example

from cli import main
from patentpool import fields, render


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    workdir = tmp_path_factory.mktemp("frictions")
    pool = Pool(f"sqlite:///{workdir / 'pool.db'}", workdir / "pool.key", workdir)
    pool.run("init", "--name", "Test Pool", "--origin", "pool.example/test", "--currency", "USD")
    build_example(pool)
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    yield pool


# --- patents: kind codes and titles -------------------------------------------------------------------------
def test_patent_show_finds_a_number_without_its_kind_code(example: Pool) -> None:
    shown = example.json("patent", "show", "cn 102345678")
    assert shown["number"] == "CN102345678B"
    assert shown["countries"][0]["title"] == "Optical waveguide display"
    table = example.run("patent", "show", "CN102345678", "-f", "table").stdout
    assert "Optical waveguide display" in table
    missing = example.run("patent", "show", "CN109999999", expect=1).stderr
    assert missing.startswith("Error: number: patent number 'CN109999999': kind code missing")


def test_a_number_without_kind_code_naming_several_patents_lists_them(
    pool_factory: Any, tmp_path: Path
) -> None:
    pool: Pool = pool_factory(f"sqlite:///{tmp_path / 'kinds.db'}")
    pool.run("member", "add", "A", "--name", "Aurora", "--role", "licensor")
    for kind in ("A", "B"):
        pool.run("patent", "add", f"CN112640904{kind}", "--owner", "A", "--country", "CN", "--type",
                 "invention", "--filed", "2019-01-02")  # fmt: skip
    result = pool.run("patent", "show", "CN112640904", expect=1)
    assert result.stderr == (
        "Error: number: CN112640904 names 2 patents: CN112640904A, CN112640904B; give the kind code\n"
    )
    assert pool.json("patent", "show", "CN112640904B")["number"] == "CN112640904B"


def test_patent_list_searches_titles(example: Pool) -> None:
    rows = example.json("patent", "list", "--search", "DISPLAY")
    assert sorted((r["number"], r["title"]) for r in rows) == [
        ("CN102345678B", "Optical waveguide display"),
        ("US10123456B2", "Low-latency display pipeline"),
    ]
    # Every word must be found; a number matches too; full-width letters fold to ASCII.
    assert [r["number"] for r in example.json("patent", "list", "--search", "waveguide display")] == [
        "CN102345678B"
    ]
    assert [r["number"] for r in example.json("patent", "list", "--search", "ＥＹＥ")] == ["CN103456789B"]
    assert [r["number"] for r in example.json("patent", "list", "--search", "us11234567")] == ["US11234567B1"]
    assert example.json("patent", "list", "--search", "teleport") == []
    assert {r["title"] for r in example.json("patent", "list")} >= {
        "Hand tracking model",
        "Spatial audio codec",
    }


# --- books --------------------------------------------------------------------------------------------------
def test_reconcile_names_the_role_of_each_row(example: Pool) -> None:
    out = example.run("reconcile", "--period", "2025Q1", "--as-of", "2025-06-30", "-f", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    # C is a member that also licenses: its two rows differ by role.
    assert sorted(r["role"] for r in rows if r["party"] == "C") == ["licensee", "licensor (also licensee)"]
    assert {r["role"] for r in rows if r["party"] == "L1"} == {"licensee"}
    assert [r["row"] for r in rows][-1] == "check"
    table = example.run("reconcile", "--period", "2025Q1", "--as-of", "2025-06-30", "-f", "table").stdout
    assert "role" in table and "licensee" in table


def test_the_invoice_table_shows_its_due_date(example: Pool) -> None:
    table = example.run("invoice", "--licensee", "L1", "--period", "2025Q1", "-f", "table").stdout
    assert "due_date" in table and "2025-04-30" in table  # 31 March + 30 days
    rows = list(csv.DictReader(io.StringIO(
        example.run("invoice", "--licensee", "L1", "--period", "2025Q1", "-f", "csv").stdout
    )))  # fmt: skip
    due = [r for r in rows if r["item"] == "due"]
    assert [(r["row"], r["amount"], r["due_date"]) for r in due] == [("total", "750.00", "2025-04-30")]


def test_csv_totals_are_rows_of_their_own_marked_total(example: Pool) -> None:
    out = example.run("allocate", "--program", "XR", "--period", "2025Q1", "-f", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert next(iter(rows[0])) == "row"
    lines = [r for r in rows if r["row"] == "line" and r["role"] == "member"]
    total = [r for r in rows if r["row"] == "total"]
    assert len(total) == 1 and total[0]["gross"] == "1445.45"
    assert sum(Decimal(r["gross"]) for r in lines) == Decimal("1445.45")
    assert {r["row"] for r in rows} == {"line", "total", "memo"}


# --- bad input: --db, countries, currencies -----------------------------------------------------------------
def test_a_bare_db_path_gets_the_url_it_means(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--db", "pool.db", "member", "list"])
    assert result.exit_code == 1
    assert result.stderr == "Error: --db: not a database URL; did you mean sqlite:///pool.db?\n"
    assert "Traceback" not in result.output


def test_countries_and_currencies_say_what_was_meant(example: Pool) -> None:
    result = example.run("patent", "add", "EP2345678B1", "--owner", "B", "--country", "UK", "--type",
                         "invention", "--filed", "2009-09-15", expect=1)  # fmt: skip
    assert result.stderr == "Error: country: 'UK' is not an ISO 3166 country code; did you mean GB?\n"
    said = example.run("program", "add", "VR", "--currency", "RMB", "--tiers", "*:0.1", expect=1).stderr
    assert said == "Error: currency: 'RMB' is not an ISO 4217 currency code; did you mean CNY?\n"
    for text, meant in (("DEU", ["DE"]), ("Germany", ["DE"]), ("EL", ["GR"]), ("XX", [])):
        assert fields.suggest_country(text) == meant, text
    for text, meant in (("UDS", ["USD"]), ("Euro", ["EUR"]), ("yuan", ["CNY"]), ("HRK", []), ("ZZZ", [])):
        assert fields.suggest_currency(text) == meant, text


def test_verify_keeps_accepting_codes_a_later_iso_release_withdraws(
    example: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data release without DE and USD (both in the ledger): new input is refused, verify passes."""
    monkeypatch.setattr(fields, "current_countries", lambda: fields.LEDGER_COUNTRIES - {"DE"})
    monkeypatch.setattr(fields, "current_currencies", lambda: fields.LEDGER_CURRENCIES - {"USD"})
    assert example.json("verify")["result"] == "ok"
    with pytest.raises(fields.FieldError, match="'DE' is not an ISO 3166 country code"):
        fields.country("DE", "country")
    assert fields.ledger_country("DE", "country") == "DE"
    assert fields.ledger_currency("USD", "currency") == "USD"


# --- the demo and the help ----------------------------------------------------------------------------------
def test_demo_commands_are_whole_lines_when_piped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTPOOL_PASSPHRASE", PASSPHRASE)
    result = CliRunner().invoke(main, ["demo", str(tmp_path / "demo dir")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("Try it yourself:")
    commands = lines[start + 1 :]
    assert (
        commands[0].startswith("  export PATENTPOOL_DB='sqlite:///")
        and "PATENTPOOL_PASSPHRASE=" in commands[0]
    )
    verify = commands[-1]
    assert verify.startswith("  patentpool verify-statement '") and "--vkey 'pool.example" not in verify
    vkey = verify.split("--vkey ")[1].strip("'")
    assert vkey.count("+") >= 2 and len(vkey) > 60  # the whole verifier key string, on the same line
    assert all(line.startswith("  ") for line in commands)


def test_top_level_help_is_never_cut_mid_sentence() -> None:
    text = CliRunner().invoke(main, ["--help"], terminal_width=100).stdout
    assert "Open licences (China Patent Law art. 50-52): declare, take, withdraw." in text
    commands = text[text.index("Commands:") :]
    assert "..." not in commands
    patent_help = CliRunner().invoke(main, ["patent", "--help"], terminal_width=100).stdout
    assert "import-owners" in patent_help and "..." not in patent_help.split("Commands:")[1]


# --- -f xlsx ------------------------------------------------------------------------------------------------
def test_read_commands_write_xlsx(example: Pool) -> None:
    target = example.workdir / "statement.xlsx"
    example.run("statement", "--member", "A", "--period", "2025Q1", "-f", "xlsx", "-o", str(target))
    book = openpyxl.load_workbook(target)
    ws = book[book.sheetnames[-1]]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = rows[0]
    assert header[:2] == ["row", "program"]
    by_row = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    net = next(r for r in by_row if r["licensee"] == "net")
    assert net["row"] == "total" and net["gross"] == 135  # a number a spreadsheet sums, not text
    # Shown with its cents (135.00, not 135); counts and other numbers keep the General format.
    gross_column = header.index("gross") + 1
    formats = {ws.cell(row=i, column=gross_column).number_format for i in range(2, ws.max_row + 1)}
    assert "#,##0.00" in formats
    assert sum(Decimal(str(r["gross"])) for r in by_row if r["row"] == "line") == Decimal("150.00")
    # Piped, the workbook goes to stdout; patent show puts the countries on a sheet of their own.
    piped = example.run("patent", "show", "CN102345678B", "-f", "xlsx")
    assert piped.stdout_bytes.startswith(b"PK")
    shown = openpyxl.load_workbook(io.BytesIO(piped.stdout_bytes))
    assert len(shown.sheetnames) == 2
    for args in (("member", "list"), ("log",), ("verify",), ("checkpoint",), ("patent", "list")):
        path = example.workdir / f"{'-'.join(args)}.xlsx"
        example.run(*args, "-f", "xlsx", "-o", str(path))
        assert openpyxl.load_workbook(path).active is not None


def test_xlsx_is_never_written_to_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import cli

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with (
        pytest.raises(cli.Fail, match="-f xlsx writes a binary workbook: give -o FILE"),
        cli.xlsx_output(None),
    ):
        pass


def test_text_cells_are_neutralised_for_formulas(pool_factory: Any, tmp_path: Path) -> None:
    pool: Pool = pool_factory(f"sqlite:///{tmp_path / 'formula.db'}")
    pool.run("member", "add", "X", "--name", '=HYPERLINK("http://evil","x")', "--role", "licensor")
    pool.run("member", "add", "Y", "--name", "+1-555 call", "--role", "licensor")
    rows = list(csv.DictReader(io.StringIO(pool.run("member", "list", "-f", "csv").stdout)))
    assert [r["name"] for r in rows] == ['\'=HYPERLINK("http://evil","x")', "'+1-555 call"]
    path = tmp_path / "members.xlsx"
    pool.run("member", "list", "-f", "xlsx", "-o", str(path))
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    cells = [ws.cell(row=r, column=2) for r in (2, 3)]
    assert [c.value for c in cells] == ['\'=HYPERLINK("http://evil","x")', "'+1-555 call"]
    assert all(c.data_type == "s" for c in cells)  # text, not a formula
    # Plain numbers, negative amounts and base64 hashes are left as they are.
    for plain in ("-12.50", "1445.45", "+JwD+Op6uQeRaNbJsELMJNTIfh3Ce71mG7N+KS+TQjQ=", "CN102345678B"):
        assert render.safe_cell(plain) == plain
    for text in ("=1+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "+x"):
        assert render.safe_cell(text) == "'" + text


def test_an_unknown_id_close_to_a_known_one_says_which(pool_factory: Any, tmp_path: Path) -> None:
    pool: Pool = pool_factory(f"sqlite:///{tmp_path / 'ids.db'}")
    pool.run("member", "add", "ACME-CN", "--name", "Acme China", "--role", "licensee")
    pool.run("program", "add", "XR-2025", "--currency", "USD", "--tiers", "*:0.1")
    grant = ("license", "grant", "--program", "XR-2025", "--from", "2025-01-01", "--licensee")
    assert pool.run(*grant, "acme-cn", expect=1).stderr == (
        "Error: licensee: unknown member 'acme-cn'; did you mean ACME-CN?\n"
    )
    assert "did you mean ACME-CN?" in pool.run(*grant, "ACME_CN", expect=1).stderr
    assert pool.run(*grant, "L1", expect=1).stderr == "Error: licensee: unknown member 'L1'\n"
    wrong = pool.run(
        "license", "grant", "--licensee", "ACME-CN", "--program", "XR2025", "--from", "2025-01-01", expect=1
    )
    assert wrong.stderr == "Error: program: unknown program 'XR2025'; did you mean XR-2025?\n"


def test_commands_and_files_take_a_number_without_its_kind_code(pool_factory: Any, tmp_path: Path) -> None:
    pool: Pool = pool_factory(f"sqlite:///{tmp_path / 'nokind.db'}")
    data = Path(__file__).parent / "data" / "pool-2025q1"
    pool.run("member", "import", str(data / "members.csv"))
    pool.run(
        "patent", "import", str(Path(__file__).parent / "data" / "pool-2025q1" / "patents.csv"), expect=1
    )
    pool.run("program", "add", "XR", "--currency", "USD", "--tiers", "*:0.1")
    pool.run("patent", "import", str(data / "patents.csv"))
    pool.run("patent", "status", "CN103456789", "invalidated", "--effective", "2025-02-15")
    statuses = pool.write("s.csv", "number,status,effective\nus 7654321,lapsed,2024-12-01\n")
    pool.run("patent", "import-statuses", str(statuses))
    bodies = [e["body"] for e in pool.json("log", "--kind", "patent.status")]
    assert [(b["number"], b["status"]) for b in bodies] == [
        ("CN103456789B", "invalidated"),
        ("US7654321B2", "lapsed"),
    ]
    wrong = pool.run("patent", "transfer", "US11234567", "--to", "A", "--effective", "2025-01-01",
                     "--country", "UK", expect=1)  # fmt: skip
    assert wrong.stderr == "Error: country: 'UK' is not an ISO 3166 country code; did you mean GB?\n"


def test_xlsx_refuses_more_rows_than_a_spreadsheet_opens(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(render, "XLSX_MAX_ROWS", 3)
    rows = [{"n": i} for i in range(3)]
    with pytest.raises(render.TooManyRows, match="-f xlsx: Data has 3 rows, more than a spreadsheet opens"):
        render.emit_xlsx(rows, tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()
    render.emit_xlsx(rows[:2], tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx").active
    assert ws is not None and [c.value for c in ws["A"]] == ["n", 0, 1]


def test_titles_follow_amendments_and_voids(pool_factory: Any, tmp_path: Path) -> None:
    pool: Pool = pool_factory(f"sqlite:///{tmp_path / 'titles.db'}")
    pool.run("member", "add", "A", "--name", "Aurora", "--role", "licensor")
    pool.run("patent", "add", "CN102345678B", "--owner", "A", "--country", "CN", "--type", "invention",
             "--filed", "2010-03-01", "--title", "Optical wavegide display")  # fmt: skip
    pool.run("patent", "amend", "CN102345678B", "--title", "Optical waveguide display", "--reason", "typo")
    assert pool.json("patent", "list", "--search", "waveguide")[0]["title"] == "Optical waveguide display"
    assert pool.json("patent", "list", "--search", "wavegide") == []
    amend = pool.json("log", "--kind", "patent.amend")[0]["seq"]
    pool.run("void", str(amend), "--reason", "the first spelling was the applicant's")
    assert pool.json("patent", "show", "CN102345678")["countries"][0]["title"] == "Optical wavegide display"


def test_xlsx_output_is_guarded_as_every_output(example: Pool) -> None:
    """-f xlsx -o goes through the same guard: an existing file needs --force, the database never."""
    target = example.workdir / "members-guarded.xlsx"
    example.run("member", "list", "-f", "xlsx", "-o", str(target))
    refused = example.run("member", "list", "-f", "xlsx", "-o", str(target), expect=1)
    assert refused.stderr.startswith("Error:") and "--force" in refused.stderr
    example.run("member", "list", "-f", "xlsx", "-o", str(target), "--force")
    assert openpyxl.load_workbook(target).active is not None
    database = example.db.removeprefix("sqlite:///")
    size = Path(database).stat().st_size
    example.run("member", "list", "-f", "xlsx", "-o", database, "--force", expect=1)
    assert Path(database).stat().st_size == size


@pytest.mark.parametrize(
    ("typed", "known", "hint"),
    [
        ("L9", ["L1", "L2", "A"], "; did you mean L1 or L2?"),  # one character off, both named
        ("L11", ["L1", "L2"], "; did you mean L1?"),  # one character too many
        ("l1", ["L1"], "; did you mean L1?"),  # case only
        ("X", ["A", "B"], ""),  # one-character ids: every other is one edit away, no hint in that
        ("M9", ["M1", "M2", "M3", "M4"], ""),  # more than three near misses: none is telling
        ("ACME_CN", ["ACME-CN"], "; did you mean ACME-CN?"),
    ],
)
def test_unknown_ids_get_near_misses_named(typed: str, known: list[str], hint: str) -> None:
    from patentpool.fields import did_you_mean

    assert did_you_mean(typed, known) == hint
