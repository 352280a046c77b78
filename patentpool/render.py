"""Output at the edge: tables (rich) on a terminal, JSON or CSV for machines, progress bars on stderr.

Data goes to stdout (or -o FILE), messages and progress to stderr; colour only on a terminal, never with
NO_COLOR.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TextIO

from patentpool import jsonout
from patentpool.errors import PoolError


def default_format(to_file: bool = False) -> str:
    """A table for a person at a terminal; JSON when piped or written to a file (`-o`)."""
    return "table" if not to_file and sys.stdout.isatty() else "json"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    # Spelled as in the JSON output, so a CSV reader sees one spelling whatever the format (Python's str()
    # would give True/False).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# OWASP "CSV Injection": a cell that begins with one of these is read as a formula (or, with a tab or CR,
# pushes a formula into view) by spreadsheet programs.
FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number (an amount, units, a seq, a percentage): a spreadsheet reads it as that number and
# it is left as is, so -12.50 stays a number a spreadsheet can add up.
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")
# The base64 of a SHA-256 hash or an Ed25519 signature (proofs, roots), which may start with + or /: it
# holds no parenthesis, quote, pipe or bang, so a spreadsheet can make no function call or DDE link of it,
# and it must stay byte for byte what the JSON output says.
_DIGEST_RE = re.compile(r"[A-Za-z0-9+/]{43}=|[A-Za-z0-9+/]{86}==")


def safe_cell(value: Any) -> Any:
    """A CSV or spreadsheet cell that a spreadsheet shows as text rather than runs as a formula: text that
    starts with =, +, -, @, a tab or a carriage return gets a leading apostrophe (OWASP's advice), unless it
    is a plain number such as -12.50 or the base64 of a hash or signature. Anything that is not text is
    returned as is."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_LEAD)
        and not _NUMBER_RE.fullmatch(value)
        and not _DIGEST_RE.fullmatch(value)
    ):
        return "'" + value
    return value


def write_utf8(out: IO[Any], data: bytes) -> None:
    """Write UTF-8 bytes to a text stream through its binary buffer when it has one (stdout, a file): a
    statement's megabytes of JSON are not decoded only to be encoded again."""
    buffer = getattr(out, "buffer", None)
    if buffer is None or (getattr(out, "encoding", None) or "").lower().replace("-", "") != "utf8":
        out.write(data.decode("utf-8"))
        return
    out.flush()
    buffer.write(data)
    buffer.flush()


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    write_csv(buffer, rows, columns)
    return buffer.getvalue()


def write_csv(out: IO[str], rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """The one place CSV rows are written: every cell goes through `safe_cell`."""
    writer = csv.writer(out, lineterminator="\n")
    # Python's writer quotes a cell holding the line terminator ("\n") but not a bare carriage return,
    # which readers take as the end of a row: a row with one is written with every cell quoted.
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for cells in itertools.chain(
        [[safe_cell(c) for c in columns]], ([safe_cell(_cell(row.get(c))) for c in columns] for row in rows)
    ):
        (quoted if any("\r" in c for c in cells) else writer).writerow(cells)


# An amount or a count as the views spell it: written to a workbook as a number cell.
_XLSX_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?")


# A sheet's rows, header included, as Excel and LibreOffice open them.
XLSX_MAX_ROWS = 1_048_576


class TooManyRows(PoolError):
    """More rows than a spreadsheet opens: the user should choose CSV or JSON."""


# Amounts (two decimals) show their cents and a thousands separator; the cell holds the exact number.
MONEY_FORMAT = "#,##0.00"


def write_xlsx(
    target: IO[bytes] | Path,
    sheets: Sequence[tuple[str, Sequence[dict[str, Any]], Sequence[str]]],
) -> None:
    """A workbook with one sheet per (title, rows, columns): a bold, frozen header row; amounts and counts
    as numbers (a Decimal is written as its own digits, never through a float); text cells neutralised by
    `safe_cell`."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    for title, rows, _columns in sheets:
        if len(rows) >= XLSX_MAX_ROWS:
            raise TooManyRows(
                f"-f xlsx: {title} has {len(rows):,} rows, more than a spreadsheet opens "
                f"({XLSX_MAX_ROWS - 1:,}); use -f csv or -f json"
            )
    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    used: set[str] = set()
    for title, rows, columns in sheets:
        ws = book.create_sheet(_sheet_title(title, used))
        ws.append(list(columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        widths = [len(c) for c in columns]
        for row in rows:
            values = [_xlsx_value(row.get(c)) for c in columns]
            ws.append(values)
            for cell, value in zip(ws[ws.max_row], values, strict=True):
                if isinstance(value, Decimal) and value.as_tuple().exponent == -2:
                    cell.number_format = MONEY_FORMAT  # 42.50 shows as 42.50, not 42.5
            widths = [
                max(w, min(len(str(v)) if v is not None else 0, 60))
                for w, v in zip(widths, values, strict=True)
            ]
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[_column_letter(index)].width = width + 2
    book.save(target)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return _cell(value) or None
    if isinstance(value, int | Decimal):
        return value
    text = _cell(value)
    if _XLSX_NUMBER.fullmatch(text) and ("." in text or len(text.lstrip("-")) < 16):
        # An amount ("1445.45") or a count: a number a spreadsheet can sum, spelled exactly.
        return Decimal(text) if "." in text else int(text)
    return safe_cell(text) if text else None


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


def _sheet_title(title: str, used: set[str]) -> str:
    # Excel's rules: at most 31 characters, none of []:*?/\ and unique in the workbook.
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        name = f"{base[: 31 - len(str(n)) - 1]} {n}"
    used.add(name.lower())
    return name


def write_json_array(out: IO[str], items: Iterable[str]) -> None:
    """A JSON array of items already spelled as JSON, one per line, written as they come."""
    first = True
    for item in items:
        out.write("[\n" if first else ",\n")
        out.write(item)
        first = False
    out.write("[]\n" if first else "\n]\n")


def to_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None, color: bool) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text objects, never strings: rich reads markup in strings, and stored text (a member's name, a
    # reference) must show as typed: `[link=...]` literally, and `x [/] y` without a MarkupError.
    table = Table(title=Text(title) if title is not None else None, show_lines=False)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    for index, column in enumerate(columns):
        # Wrap a long cell at its spaces, never inside a word (a patent number, a date) while it fits.
        longest = max((len(word) for line in cells for word in line[index].split()), default=0)
        table.add_column(Text(column), overflow="fold", min_width=min(max(longest, len(column)), 24))
    for line in cells:
        table.add_row(*[Text(cell) for cell in line])
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=_width())
    console.print(table)
    return buffer.getvalue()


def _width() -> int:
    try:
        return max(os.get_terminal_size().columns, 80)
    except OSError:
        return 160  # a file or a pipe: wide enough for the widest table (patents) without breaking words


def use_color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def emit(
    data: Any,
    fmt: str,
    out: TextIO,
    rows: Sequence[dict[str, Any]] | None = None,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    first: tuple[str, Sequence[dict[str, Any]]] | None = None,
) -> None:
    """Write `data` as JSON, or `rows` (defaulting to data) as a table or CSV; `first` (a title and its
    rows) is a table shown above the main one, in the table format only."""
    if fmt == "json":
        write_utf8(out, jsonout.dumps_bytes(data) + b"\n")
        return
    table_rows, cols = _rows_and_columns(data, rows, columns)
    if fmt == "csv":
        out.write(to_csv(table_rows, cols))
        return
    if first is not None and first[1]:
        out.write(to_table(first[1], list(first[1][0].keys()), first[0], use_color(out)))
    out.write(to_table(table_rows, cols, title, use_color(out)))


def _rows_and_columns(
    data: Any, rows: Sequence[dict[str, Any]] | None, columns: Sequence[str] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    table_rows = list(rows if rows is not None else data)
    return table_rows, list(columns or (table_rows[0].keys() if table_rows else []))


def emit_xlsx(
    data: Any,
    target: IO[bytes] | Path,
    rows: Sequence[dict[str, Any]] | None = None,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    first: tuple[str, Sequence[dict[str, Any]]] | None = None,
) -> None:
    """`emit` for -f xlsx: the table's rows in a sheet named by its title, and `first`, if any, in a sheet
    of its own before it."""
    table_rows, cols = _rows_and_columns(data, rows, columns)
    sheets: list[tuple[str, Sequence[dict[str, Any]], Sequence[str]]] = []
    if first is not None and first[1]:
        sheets.append((first[0], first[1], list(first[1][0].keys())))
    sheets.append((title or "Data", table_rows, cols))
    write_xlsx(target, sheets)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal; silent when piped."""
    if not sys.stderr.isatty():
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True, no_color="NO_COLOR" in os.environ)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        from rich.markup import escape

        task = bar.add_task(escape(description), total=total)
        yield lambda n: bar.advance(task, n)


def message(text: str) -> None:
    sys.stderr.write(text + "\n")
