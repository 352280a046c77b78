"""Output at the edge: tables (rich) on a terminal, JSON or CSV for machines, progress bars on stderr.

Data goes to stdout (or -o FILE), messages and progress to stderr; colour only on a terminal, never with
NO_COLOR.
"""

from __future__ import annotations

import csv
import io
import json
import os
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
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])


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

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
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
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def message(text: str) -> None:
    sys.stderr.write(text + "\n")
