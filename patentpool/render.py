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
from typing import IO, Any, TextIO


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


def to_json(data: Any) -> str:
    # Indented for people when small; compact (the C encoder: indenting goes through pure Python) when large,
    # such as the statement of a member with tens of thousands of lines.
    text = json.dumps(data, ensure_ascii=False)
    if len(text) < 1 << 20:
        text = json.dumps(data, indent=2, ensure_ascii=False)
    return text + "\n"


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
    for column in columns:
        table.add_column(Text(column), overflow="fold")
    for row in rows:
        table.add_row(*[Text(_cell(row.get(c))) for c in columns])
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=_width())
    console.print(table)
    return buffer.getvalue()


def _width() -> int:
    try:
        return max(os.get_terminal_size().columns, 80)
    except OSError:
        return 120


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
        out.write(to_json(data))
        return
    table_rows = list(rows if rows is not None else data)
    cols = list(columns or (table_rows[0].keys() if table_rows else []))
    if fmt == "csv":
        out.write(to_csv(table_rows, cols))
        return
    if first is not None and first[1]:
        out.write(to_table(first[1], list(first[1][0].keys()), first[0], use_color(out)))
    out.write(to_table(table_rows, cols, title, use_color(out)))


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
