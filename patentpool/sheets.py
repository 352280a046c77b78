"""Reading import files: CSV (any encoding) and Excel workbooks, as the same rows of text cells.

Every importer validates `{column: cell}` dicts of strings, so one validator serves both file types: an xlsx
cell is spelled as a person would have typed it into a CSV (a date cell as `YYYY-MM-DD`, a whole number
without `.0`, a decimal as its shortest spelling), and each row carries the line number a person finds it at
(the header is line 1; an xlsx row number is its spreadsheet row).

CSV is read with the standard library's streaming reader rather than pandas: it names the line a quoted cell
spanning several lines starts on, and reports a row with too many or too few cells instead of padding it
(pandas' C parser does neither), and it streams a million-row report without holding it. Workbooks are read
through pandas with openpyxl, the maintained engine for .xlsx.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from patentpool.errors import PoolError

# What a row that cannot be read is turned into: the importer reports it as that row's error.
ROW_ERROR = "__error__"

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class ReadOptions:
    """How to read an import file: the CSV's text encoding (None: UTF-8, with or without a BOM) and the
    workbook's sheet (None: the first)."""

    encoding: str | None = None
    sheet: str | None = None


class BadFile(PoolError):
    """The file cannot be read as a table at all (another encoding, no header): one message, no rows."""

    def __init__(self, line: int, column: str | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


Columns = tuple[tuple[str, ...], tuple[str, ...]]


def check_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise PoolError(f"--encoding: unknown encoding {name!r} (e.g. utf-8, gb18030, cp1252)") from None


def is_workbook(path: Path) -> bool:
    return path.suffix.lower() in EXCEL_SUFFIXES


def check_options(path: Path, options: ReadOptions) -> None:
    """Refuse options that do not apply to this file, before anything else is said about it."""
    if is_workbook(path):
        if options.encoding is not None:
            raise PoolError("--encoding: an .xlsx workbook holds Unicode text; --encoding is for CSV files")
    elif path.suffix.lower() == ".xls":
        raise PoolError(f"{path}: the old .xls format is not read: save it as .xlsx or CSV")
    elif options.sheet is not None:
        raise PoolError("--sheet: only an .xlsx workbook has sheets")


def sheet_name(path: Path, sheet: str | None) -> str:
    """The name of the sheet an import reads: `sheet`, which must exist, or the first."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except OSError as exc:
        raise PoolError(f"{path}: cannot read: {exc.strerror}") from exc
    except Exception as exc:  # openpyxl raises zipfile and XML errors of many kinds for a damaged file
        raise PoolError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        names = [str(n) for n in book.sheetnames]
    finally:
        book.close()
    if sheet is not None and sheet not in names:
        raise PoolError(f"--sheet: {path} has no sheet {sheet!r} (sheets: {', '.join(names)})")
    return sheet if sheet is not None else names[0]


def source_digest(path: Path, file_sha256: str, options: ReadOptions) -> str:
    """What an import records as its source (spec 3, idempotency): the file's SHA-256; for a workbook, a
    SHA-256 of the file's digest and the sheet read, so that one workbook's Members and Patents sheets are
    two sources, and the same sheet imported again is recognised."""
    if not is_workbook(path):
        return file_sha256
    import hashlib

    sheet = sheet_name(path, options.sheet)
    return hashlib.sha256(f"patentpool/sheet\n{file_sha256}\n{sheet}".encode()).hexdigest()


def read_rows(path: Path, columns: Columns, options: ReadOptions) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) for each non-blank row; a row that cannot be read is {ROW_ERROR: message}.
    Raises BadFile for a file that cannot be read as this kind of table, PoolError if it cannot be opened."""
    check_options(path, options)
    if is_workbook(path):
        return _excel_rows(path, columns, options.sheet)
    return _csv_rows(path, columns, options.encoding)


def _header(header: Sequence[str], columns: Columns) -> list[tuple[str | None, str]]:
    """The header's problems as (column, message); none for a good header."""
    required, optional = columns
    problems: list[tuple[str | None, str]] = [
        (h, "unknown column") for h in header if h not in required + optional
    ]
    problems += [(c, "required column missing") for c in required if c not in header]
    dupes = {h for h in header if header.count(h) > 1}
    problems += [(h, "column appears twice") for h in sorted(dupes)]
    return problems


class HeaderProblems(PoolError):
    """The header's problems, every one of them, as (column, message)."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


def _clean(cell: str) -> str:
    # Surrounding blanks (a stray CR of a line ending among them) never carry meaning: a blank optional cell
    # means "not given" however the file's lines end.
    return cell.strip()


# --- CSV -------------------------------------------------------------------------------------------------
def _csv_rows(path: Path, columns: Columns, encoding: str | None) -> Iterator[tuple[int, dict[str, str]]]:
    codec = "utf-8" if encoding is None else check_encoding(encoding)
    try:
        # Undecodable bytes become lone surrogates, so that the line holding the first of them can be named.
        handle = path.open(newline="", encoding=codec, errors="surrogateescape")
    except OSError as exc:
        raise PoolError(f"{path}: cannot read: {exc.strerror}") from exc
    return _csv_stream(path, handle, columns, codec, encoding is None)


def _csv_stream(
    path: Path, handle: Any, columns: Columns, codec: str, default: bool
) -> Iterator[tuple[int, dict[str, str]]]:
    with handle:
        reader = csv.reader(handle)
        try:
            header = [_clean(h) for h in next(reader)]
        except StopIteration:
            raise BadFile(1, None, "empty file: no header row") from None
        except csv.Error as exc:
            raise BadFile(1, None, f"malformed CSV: {exc}") from None
        if any(_undecodable(h) for h in header):
            raise BadFile(1, None, _not_decodable(path, codec, default))
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        problems = _header(header, columns)
        if problems:
            raise HeaderProblems(problems)
        end = reader.line_num
        try:
            for row in reader:
                # A quoted cell may span lines: name the line where the row starts.
                line, end = end + 1, reader.line_num
                if not "".join(row).strip():
                    continue
                if len(row) != len(header):
                    yield line, {ROW_ERROR: f"{len(row)} cells, the header has {len(header)}"}
                    continue
                bad = [h for h, cell in zip(header, row, strict=True) if _undecodable(cell)]
                if bad:
                    # Once, not on every row: a file in another encoding is wrong as a whole.
                    raise BadFile(line, bad[0], _not_decodable(path, codec, default))
                yield line, {h: _clean(cell) for h, cell in zip(header, row, strict=True)}
        except csv.Error as exc:
            raise BadFile(reader.line_num, None, f"malformed CSV: {exc}") from None


def _undecodable(cell: str) -> bool:
    # surrogateescape turns each undecodable byte into U+DC80..U+DCFF; an ASCII cell (most) has none.
    return not cell.isascii() and any("\udc80" <= c <= "\udcff" for c in cell)


def _not_decodable(path: Path, codec: str, default: bool) -> str:
    if not default:
        return f"not {codec}: give the file's encoding with --encoding"
    return f"not UTF-8; try --encoding {guess_encoding(path)}"


_HIGH_RUN = re.compile(rb"[\x80-\xff]+")


def guess_encoding(path: Path) -> str:
    """The encoding to suggest for a CSV that is not UTF-8: gb18030 (what Excel writes on Chinese Windows)
    when its non-ASCII bytes come in runs (Chinese text, two bytes a character), else cp1252 (Excel on
    Western Windows: an accented letter here and there, one byte each). A hint, never applied silently."""
    with path.open("rb") as handle:
        sample = handle.read(1 << 20)
    runs = _HIGH_RUN.findall(sample)
    if runs and sum(len(r) >= 2 for r in runs) * 2 >= len(runs):
        try:
            sample.decode("gb18030")
            return "gb18030"
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 4:  # a character cut by the sample's end does not count
                return "cp1252"
            return "gb18030"
    return "cp1252"


# --- Excel -----------------------------------------------------------------------------------------------
def _excel_rows(path: Path, columns: Columns, sheet: str | None) -> Iterator[tuple[int, dict[str, str]]]:
    import pandas as pd

    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except OSError as exc:
        raise PoolError(f"{path}: cannot read: {exc.strerror}") from exc
    except Exception as exc:  # openpyxl raises zipfile and XML errors of many kinds for a damaged file
        raise PoolError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    with book:
        names = [str(n) for n in book.sheet_names]
        if sheet is not None and sheet not in names:
            raise PoolError(f"--sheet: {path} has no sheet {sheet!r} (sheets: {', '.join(names)})")
        # Every cell as the object openpyxl read (no type guessing by pandas), no header: rows keep their
        # spreadsheet positions, blank rows included, so a row's index + 1 is its spreadsheet row number.
        frame = pd.read_excel(
            book,
            sheet_name=sheet if sheet is not None else 0,
            header=None,
            dtype=object,
            keep_default_na=False,
        )
    rows = frame.to_numpy().tolist()
    if not rows:
        raise BadFile(1, None, "empty sheet: no header row")
    header = [_excel_cell(c) for c in rows[0]]
    while header and not header[-1]:
        header.pop()  # formatted but empty columns at the right
    problems = _header(header, columns)
    if problems:
        raise HeaderProblems(problems)
    width = len(header)
    return _excel_data(rows, header, width)


def _excel_data(rows: list[list[Any]], header: list[str], width: int) -> Iterator[tuple[int, dict[str, str]]]:
    for index, raw in enumerate(rows[1:], start=2):
        cells = [_excel_cell(c) for c in raw]
        if not "".join(cells).strip():
            continue
        extra = [c for c in cells[width:] if c]
        if extra:
            yield index, {ROW_ERROR: f"a cell beyond the header's {width} columns"}
            continue
        cells += [""] * (width - len(cells))
        yield index, dict(zip(header, cells[:width], strict=True))


def _excel_cell(value: Any) -> str:
    """A cell as the text a CSV would hold for it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):  # pandas' Timestamp is a datetime too
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")  # refused as "not a date" by a date column, as a CSV's would be
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN: pandas' spelling of an empty cell
            return ""
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        # The shortest decimal that reads back as this double: what Excel shows for 12.5 or 0.1, never a
        # binary expansion such as 0.1000000000000000055511151231257827.
        return format(Decimal(repr(value)), "f")
    return _clean(str(value))
