"""Issue 19, spec 8: every import reads .csv and .xlsx (first sheet or --sheet; date cells are dates), a CSV
in another encoding with --encoding (and an error that says so once and suggests it), CRLF and LF alike, and
--dry-run checks everything and appends nothing.

These are reading-layer tests: they run on SQLite only (the storage tests cover both backends).
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import DATA, Pool

from patentpool import sheets

XR = ("XR", "--currency", "USD", "--tiers", "1000:0,5000:0.20,*:0.10", "--annual-cap", "900.00")


def typed(cell: str) -> Any:
    """A CSV cell as a spreadsheet holds it: dates as dates, whole numbers as integers, decimals as the
    doubles Excel stores, blanks as empty cells."""
    if cell == "":
        return None
    if re.fullmatch(r"\d{4}-\d\d-\d\d", cell):
        return date.fromisoformat(cell)
    if re.fullmatch(r"[1-9]\d*|0", cell):
        return int(cell)
    if re.fullmatch(r"\d+\.\d+", cell):
        return float(cell)
    return cell


def csv_to_xlsx(source: Path, target: Path, sheet: str = "Sheet1", before: str | None = None) -> Path:
    """The CSV's rows in a workbook's sheet (after a sheet `before`, if given: then it is not the first)."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    if before is not None:
        first.title = before
        first.append(["nothing", "to", "see"])
        ws = book.create_sheet(sheet)
    else:
        first.title = sheet
        ws = first
    with source.open(encoding="utf-8", newline="") as handle:
        for i, row in enumerate(csv.reader(handle)):
            ws.append(row if i == 0 else [typed(c) for c in row])
    book.save(target)
    return target


def sqlite_pool(pool_factory: Any, tmp_path: Path, name: str) -> Pool:
    pool: Pool = pool_factory(f"sqlite:///{tmp_path / name}.db")
    return pool


def facts(pool: Pool, kind: str) -> list[dict[str, Any]]:
    """The bodies of one kind without the import's file digest (which differs between a CSV and an xlsx)."""
    return [{k: v for k, v in e["body"].items() if k != "source"} for e in pool.json("log", "--kind", kind)]


def build(pool: Pool, files: dict[str, Path]) -> None:
    pool.run("member", "import", str(files["members"]))
    pool.run("program", "add", *XR)
    pool.run("patent", "import", str(files["patents"]))
    pool.run("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-01-01")
    pool.run("license", "grant", "--licensee", "C", "--program", "XR", "--from", "2025-01-01")
    pool.run("report", "import", str(files["reports"]))
    pool.run("payment", "import", str(files["payments"]))


def test_an_xlsx_file_gives_the_entries_of_its_csv(pool_factory: Any, tmp_path: Path) -> None:
    names = ("members", "patents", "reports", "payments")
    from_csv = sqlite_pool(pool_factory, tmp_path, "csv")
    build(from_csv, {n: DATA / f"{n}.csv" for n in names})
    from_xlsx = sqlite_pool(pool_factory, tmp_path, "xlsx")
    books = {n: csv_to_xlsx(DATA / f"{n}.csv", tmp_path / f"{n}.xlsx") for n in names}
    build(from_xlsx, books)
    for kind in ("member.add", "patent.add", "report.add", "payment.add"):
        assert facts(from_xlsx, kind) == facts(from_csv, kind), kind
    # The workbook's date cells became the dates, its doubles the amounts they show, with no float residue.
    patent = facts(from_xlsx, "patent.add")[0]
    assert (patent["filed"], patent["granted"]) == ("2010-03-01", "2013-05-08")
    assert [p["amount"] for p in facts(from_xlsx, "payment.add")] == ["750.00", "695.45"]
    assert facts(from_xlsx, "report.add")[0]["lines"][0] == {
        "manufacture": "CN",
        "sale": "CN",
        "units": 3000,
        "net_sales": "540000.00",
    }
    # The same workbook again appends nothing: the file's digest is recorded as for a CSV.
    size = from_xlsx.size_and_root()
    said = from_xlsx.run("patent", "import", str(books["patents"])).stderr
    assert "was already imported" in said and from_xlsx.size_and_root() == size
    assert from_xlsx.json("allocate", "--program", "XR", "--period", "2025Q1") == from_csv.json(
        "allocate", "--program", "XR", "--period", "2025Q1"
    )


def test_xlsx_sheet_choice_and_row_numbers_are_the_spreadsheets(pool_factory: Any, tmp_path: Path) -> None:
    pool = sqlite_pool(pool_factory, tmp_path, "rows")
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Members"
    ws.append(["id", "name", "role"])
    ws.append(["A", "Aurora", "licensor"])
    ws.append([])  # a blank row: skipped, and the rows below keep their spreadsheet numbers
    ws.append(["B", "Beacon", "owner"])
    ws.append(["C", datetime(2025, 1, 2, 10, 30), "both"])
    ws.append(["D", "Dynamo", "both", "stray"])
    path = tmp_path / "members.xlsx"
    book.save(path)
    result = pool.run("member", "import", str(path), expect=1)
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: {path}:4: role: 'owner' is not licensor, licensee or both"
    assert lines[1] == f"Error: {path}:6: a cell beyond the header's 3 columns"
    assert lines[-1] == "2 problems: nothing was written"
    assert pool.json("member", "list") == []

    # --sheet picks a sheet by name; the first sheet is the default.
    csv_path = pool.write("m.csv", "id,name,role\nA,Aurora,licensor\nL1,Lumen,licensee\n")
    two = csv_to_xlsx(csv_path, tmp_path / "two.xlsx", sheet="Members", before="Notes")
    first = pool.run("member", "import", str(two), expect=1)
    assert "Error:" in first.stderr and ":1: nothing: unknown column" in first.stderr
    missing = pool.run("member", "import", str(two), "--sheet", "Nope", expect=1)
    assert missing.stderr.strip() == f"Error: --sheet: {two} has no sheet 'Nope' (sheets: Notes, Members)"
    said = pool.run("member", "import", str(two), "--sheet", "Members").stderr
    assert "2 member entries appended" in said
    assert [m["id"] for m in pool.json("member", "list")] == ["A", "L1"]
    # --sheet on a CSV and --encoding on a workbook are mistakes, said as such.
    assert (
        "only an .xlsx workbook has sheets"
        in pool.run("member", "import", str(csv_path), "--sheet", "X", expect=1).stderr
    )
    assert (
        "--encoding is for CSV files"
        in pool.run("member", "import", str(two), "--encoding", "gb18030", expect=1).stderr
    )


def test_a_gbk_csv_is_refused_once_with_the_encoding_to_try(pool_factory: Any, tmp_path: Path) -> None:
    pool = sqlite_pool(pool_factory, tmp_path, "gbk")
    rows = "".join(f"M{i},北京光学{i}有限公司,licensor\r\n" for i in range(60))
    path = tmp_path / "members-gbk.csv"
    path.write_bytes(("id,name,role\r\n" + rows).encode("gb18030"))
    result = pool.run("member", "import", str(path), expect=1)
    # One line, not one per row, naming file, line and column, with the encoding Excel uses on Chinese
    # Windows.
    assert result.stderr.splitlines() == [
        f"Error: {path}:2: name: not UTF-8; try --encoding gb18030; nothing was written"
    ]
    said = pool.run("member", "import", str(path), "--encoding", "gb18030").stderr
    assert "60 member entries appended" in said
    assert pool.json("member", "list")[7]["name"] == "北京光学7有限公司"
    # A wrong --encoding or an unknown one is said once too.
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,name,role\nD,Clément,both\n".encode("cp1252"))
    assert "not UTF-8; try --encoding cp1252" in pool.run("member", "import", str(latin), expect=1).stderr
    assert (
        "unknown encoding 'klingon'"
        in pool.run("member", "import", str(latin), "--encoding", "klingon", expect=1).stderr
    )
    assert (
        "1 member entry appended" in pool.run("member", "import", str(latin), "--encoding", "cp1252").stderr
    )
    assert pool.json("member", "list")[-1]["name"] == "Clément"


def test_guess_encoding(tmp_path: Path) -> None:
    chinese = tmp_path / "zh.csv"
    chinese.write_bytes("名称,角色\n北京,许可方\n".encode("gb18030"))
    western = tmp_path / "fr.csv"
    western.write_bytes("name\nMüller,Clément,José\n".encode("cp1252"))
    assert (sheets.guess_encoding(chinese), sheets.guess_encoding(western)) == ("gb18030", "cp1252")


def test_crlf_and_lf_read_the_same(pool_factory: Any, tmp_path: Path) -> None:
    text = (DATA / "patents.csv").read_text(encoding="utf-8")
    lf = tmp_path / "lf.csv"
    lf.write_bytes(text.replace("\r\n", "\n").encode())
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())
    for path in (lf, crlf):
        assert list(
            sheets.read_rows(
                path,
                (
                    ("number", "owner", "country", "type", "filed"),
                    ("granted", "expires", "program", "title", "weight"),
                ),
                sheets.ReadOptions(),
            )
        ) == list(
            sheets.read_rows(
                lf,
                (
                    ("number", "owner", "country", "type", "filed"),
                    ("granted", "expires", "program", "title", "weight"),
                ),
                sheets.ReadOptions(),
            )
        )
    # The reported bug: a CRLF declarations file whose last column (the evaluation report) is blank for
    # inventions. The blank cell, stray CR or not, means "not given" for an invention and is required for
    # a utility model.
    pool = sqlite_pool(pool_factory, tmp_path, "crlf")
    pool.run("member", "import", str(DATA / "members.csv"))
    pool.run("program", "add", *XR)
    pool.run("patent", "import", str(crlf))
    declarations = tmp_path / "declarations.csv"
    declarations.write_bytes(
        b"number,fee,currency,from,to,evaluation_report\r\n"
        b"CN102345678B,0.10/unit,CNY,2025-01-01,2026-12-31,\r\n"
        b"CN205123456U,3%,CNY,2025-01-01,2026-05-09, \r\n"
    )
    refused = pool.run("openlicense", "import-declarations", str(declarations), expect=1)
    assert refused.stderr.splitlines() == [
        f"Error: {declarations}:3: evaluation_report: a utility needs a patent evaluation report reference; "
        "nothing was written"
    ]
    declarations.write_bytes(declarations.read_bytes().replace(b", \r\n", b",PER-1\r\n"))
    assert (
        "2 open-licence declaration entries appended"
        in pool.run("openlicense", "import-declarations", str(declarations)).stderr
    )
    bodies = facts(pool, "openlicense.declare")
    assert [b["evaluation_report"] for b in bodies] == [None, "PER-1"]
    # And the command itself: an --evaluation-report of blanks (a CR from a shell loop over a CRLF file) is
    # not given, rather than "missing".
    pool.run(
        "patent",
        "add",
        "CN102345679B",
        "--owner",
        "A",
        "--country",
        "CN",
        "--type",
        "invention",
        "--filed",
        "2010-03-01",
        "--granted",
        "2013-05-08",
    )
    pool.run(
        "openlicense",
        "declare",
        "CN102345679B",
        "--fee",
        "0.10/unit",
        "--currency",
        "CNY",
        "--from",
        "2025-01-01",
        "--to",
        "2026-12-31",
        "--evaluation-report",
        "\r",
    )
    assert facts(pool, "openlicense.declare")[-1]["evaluation_report"] is None


def test_dry_run_checks_everything_and_appends_nothing(pool_factory: Any, tmp_path: Path) -> None:
    pool = sqlite_pool(pool_factory, tmp_path, "dry")
    before = pool.size_and_root()
    said = pool.run("member", "import", str(DATA / "members.csv"), "--dry-run").stderr
    assert said.strip() == (
        f"{DATA / 'members.csv'}: 4 row(s): dry run, nothing appended: "
        "would append 4 member entries (seq 2-5)"
    )
    assert pool.size_and_root() == before
    assert pool.json("member", "list") == []
    # Errors are found as by a real import, and the same file then imports for real.
    bad = pool.write("bad.csv", "id,name,role\nA,Aurora,licensor\nA,Again,licensor\nB,Beacon,king\n")
    refused = pool.run("member", "import", str(bad), "--dry-run", expect=1)
    assert refused.stderr.splitlines() == [
        f"Error: {bad}:3: id: member 'A' appears twice in this file",
        f"Error: {bad}:4: role: 'king' is not licensor, licensee or both",
        "2 problems: nothing was written",
    ]
    pool.run("member", "import", str(DATA / "members.csv"))
    pool.run("program", "add", *XR)
    size = pool.size_and_root()
    for command, name in (("patent", "patents"), ("payment", "payments"), ("report", "reports")):
        path = DATA / f"{name}.csv"
        result = pool.run(command, "import", str(path), "--dry-run", expect=None)
        if command == "patent":
            assert "would append 8 patent entries (seq 7-14)" in result.stderr, result.stderr
        else:  # no licence granted yet: the rules of a real import apply
            assert result.exit_code == 1 and "holds no" in result.stderr, result.stderr
        assert pool.size_and_root() == size
    # A dry run of a file already imported says so too.
    pool.run("patent", "import", str(DATA / "patents.csv"))
    again = pool.run("patent", "import", str(DATA / "patents.csv"), "--dry-run").stderr
    assert "was already imported" in again


@pytest.mark.parametrize("suffix", [".xls"])
def test_old_excel_format_is_named(pool_factory: Any, tmp_path: Path, suffix: str) -> None:
    pool = sqlite_pool(pool_factory, tmp_path, "xls")
    path = tmp_path / f"members{suffix}"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    assert "save it as .xlsx or CSV" in pool.run("member", "import", str(path), expect=1).stderr


def test_one_workbook_two_sheets_two_imports(pool_factory: Any, tmp_path: Path) -> None:
    """A workbook's sheets are separate sources: importing the Patents sheet after the Members sheet of
    the same file is not "already imported", and each sheet again is."""
    pool = sqlite_pool(pool_factory, tmp_path, "sheets")
    book = openpyxl.Workbook()
    for index, name in enumerate(("members", "patents")):
        ws = book.active if index == 0 else book.create_sheet()
        assert ws is not None
        ws.title = name.capitalize()
        with (DATA / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            for i, row in enumerate(csv.reader(handle)):
                ws.append(row if i == 0 else [typed(c) for c in row])
    path = tmp_path / "pool.xlsx"
    book.save(path)
    assert "4 member entries appended" in pool.run("member", "import", str(path)).stderr
    pool.run("program", "add", *XR)
    said = pool.run("patent", "import", str(path), "--sheet", "Patents").stderr
    assert "8 patent entries appended" in said
    assert "already imported" in pool.run("patent", "import", str(path), "--sheet", "Patents").stderr
    assert "already imported" in pool.run("member", "import", str(path), "--sheet", "Members").stderr
