"""Imports (spec section 8): CSV or xlsx, streamed, validated in full, then appended as one batch, or not
at all; with `--dry-run` (a `DryRun` sink) checked in full and not appended.

Every row is checked against the state as it would be after the rows before it, so the error list is
complete (up to MAX_ERRORS) and names file, line and column. Re-importing a file appends nothing; a row
already recorded with the same facts is skipped; with other facts it is an error (reports: unless
`--correct`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from ledger.entry import Entry, check_value
from ledger.log import utc_now
from patentpool import bodies, fields, rules, sheets, staleness
from patentpool.fields import FieldError
from patentpool.service import PoolError
from patentpool.sheets import ReadOptions
from patentpool.state import PoolState, ReportLine

PLAIN = ReadOptions()

MAX_ERRORS = 50

MEMBER_COLUMNS = (("id", "name", "role"), ())
# `owner` (one) or `owners` (co-owners with parts, `A:60;B:40`, spec 6a): one of the two on every row.
PATENT_COLUMNS = (
    ("number", "country", "type", "filed"),
    ("owner", "owners", "granted", "expires", "program", "title", "weight"),
)
REPORT_COLUMNS = (
    ("licensee", "program", "period", "manufacture_country", "sale_country", "units", "net_sales"),
    (),
)
PAYMENT_COLUMNS = (("licensee", "date", "amount", "currency", "reference"), ())


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class ImportFailed(PoolError):
    def __init__(self, errors: list[RowError], more: bool) -> None:
        self.errors = errors
        self.more = more
        super().__init__(str(errors[0]) if errors else "import failed")


@dataclass
class ImportResult:
    file: str
    sha256: str
    rows: int = 0
    appended: int = 0
    skipped: int = 0
    corrected: int = 0
    already: list[int] = field(default_factory=list)  # seqs, when the whole file was imported before
    dry_run: bool = False
    seqs: list[int] = field(default_factory=list)  # of the entries appended (or, dry, that would be)
    notes: list[str] = field(default_factory=list)  # lines said after the summary

    def add(self, sink: Sink, kind: str, body: Mapping[str, Any]) -> None:
        """Append (or check) one entry of this import and count it."""
        entry = sink.add(kind, body)
        self.appended += 1
        if entry is not None:
            self.seqs.append(entry.seq)
        elif isinstance(sink, DryRun) and self.dry_run:
            self.seqs.append(sink.seqs[-1])

    def summary(self, what: str) -> str:
        if self.already:
            return (
                f"{self.file} was already imported (seq {self.already[0]}-{self.already[-1]}); "
                "nothing appended"
            )
        entries = f"{self.appended} {what} entr{'y' if self.appended == 1 else 'ies'}"
        if self.dry_run:
            where = f" (seq {self.seqs[0]}-{self.seqs[-1]})" if self.seqs else ""
            parts = [f"dry run, nothing appended: would append {entries}{where}"]
        else:
            parts = [f"{entries} appended"]
        if self.corrected:
            parts.append(f"{self.corrected} line(s) corrected")
        if self.skipped:
            parts.append(f"{self.skipped} row(s) already recorded, skipped")
        return f"{self.file}: {self.rows} row(s): " + ", ".join(parts)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


Tick = Callable[[int], None] | None


def each_row(
    path: Path,
    columns: tuple[tuple[str, ...], tuple[str, ...]],
    result: ImportResult,
    errors: Collector,
    tick: Tick,
    options: ReadOptions,
) -> Iterator[tuple[int, dict[str, str]]]:
    """The well-formed rows of a CSV or xlsx file as {column: text}; counts every row and collects the
    malformed ones as errors. A file that cannot be read as a table raises ImportFailed at once."""
    name = str(path)
    try:
        for line, row in sheets.read_rows(path, columns, options):
            result.rows += 1
            if tick:
                tick(1)
            if sheets.ROW_ERROR in row:
                errors.add(line, row[sheets.ROW_ERROR])
                continue
            yield line, row
    except sheets.HeaderProblems as exc:
        raise ImportFailed([RowError(name, 1, col, msg) for col, msg in exc.problems], False) from None
    except sheets.BadFile as exc:
        raise ImportFailed([RowError(name, exc.line, exc.column, exc.message)], False) from None


class Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[RowError] = []
        self.more = False

    def add(self, line: int, exc: FieldError | str) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.more = True
            return
        if isinstance(exc, FieldError):
            self.errors.append(RowError(self.file, line, exc.field, exc.message))
        else:
            self.errors.append(RowError(self.file, line, None, exc))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ImportFailed(self.errors, self.more)


class Sink(Protocol):
    """Where an import's entries go: a real batch (signed and appended) or a dry run."""

    @property
    def state(self) -> PoolState: ...

    def add(self, kind: str, body: Mapping[str, Any]) -> Any: ...


@dataclass
class DryRun:
    """A sink that checks each entry as `Batch.add` would (its one validator, the ledger's value rules),
    and applies it to the state so later rows see it, but signs and appends nothing. `--dry-run` imports
    into one; a real import turns into one at its first error, to go on listing errors without signing."""

    state: PoolState
    seqs: list[int] = field(default_factory=list)

    def add(self, kind: str, body: Mapping[str, Any]) -> None:
        check_value(dict(body))
        seq = self.state.size + 1
        # Stamped now, as the appender would: the rules judge "not in the future" by the entry's day.
        entry = Entry(seq, utc_now(), kind, "", "", body, "")
        rules.apply(self.state, entry, "0" * 64, check=True)
        self.seqs.append(seq)


def sink_for(batch: Sink, errors: Collector) -> Sink:
    # After the first error nothing will be written: keep validating, but stop signing entries.
    return DryRun(batch.state) if errors.errors and not isinstance(batch, DryRun) else batch


def begin(
    batch: Sink, path: Path, options: ReadOptions = PLAIN
) -> tuple[ImportResult, Collector] | ImportResult:
    """The import's result and error list, or the result alone if the whole file (for a workbook: the
    sheet) was imported before."""
    sheets.check_options(path, options)
    digest = sheets.source_digest(path, file_sha256(path), options)
    result = ImportResult(str(path), digest, dry_run=isinstance(batch, DryRun))
    seqs = batch.state.sources.get(result.sha256)
    if seqs is not None:
        result.already = list(seqs)
        return result
    return result, Collector(str(path))


def import_members(
    batch: Sink, path: Path, tick: Tick = None, *, options: ReadOptions = PLAIN
) -> ImportResult:
    begun = begin(batch, path, options)
    if isinstance(begun, ImportResult):
        return begun
    result, errors = begun
    seen: set[str] = set()
    for line, row in each_row(path, MEMBER_COLUMNS, result, errors, tick, options):
        try:
            body = bodies.member(row["id"], row["name"], row["role"])
            existing = batch.state.members.get(body["id"])
            if body["id"] in seen:
                raise FieldError("id", f"member {body['id']!r} appears twice in this file")
            seen.add(body["id"])
            if existing is not None and existing.name == body["name"] and existing.role == body["role"]:
                result.skipped += 1
                continue
            if existing is not None:
                raise FieldError("id", f"member {body['id']!r} exists with other data: use `member update`")
            body["source"] = result.sha256
            result.add(sink_for(batch, errors), "member.add", body)
        except FieldError as exc:
            errors.add(line, exc)
    errors.raise_if_any()
    return result


def _owner_cell(row: dict[str, str]) -> str:
    one, several = (row.get("owner") or "").strip(), (row.get("owners") or "").strip()
    if one and several:
        raise FieldError("owners", "give owner or owners, not both")
    if not one and not several:
        raise FieldError("owners" if "owners" in row else "owner", "missing")
    if one and ":" in one:
        raise FieldError("owner", f"{one!r}: co-owners with parts go in the owners column")
    return one or several


def import_patents(
    batch: Sink, path: Path, tick: Tick = None, *, options: ReadOptions = PLAIN
) -> ImportResult:
    begun = begin(batch, path, options)
    if isinstance(begun, ImportResult):
        return begun
    result, errors = begun
    seen: dict[tuple[str, str], int] = {}
    for line, row in each_row(path, PATENT_COLUMNS, result, errors, tick, options):
        try:
            body = bodies.patent(
                row["number"],
                _owner_cell(row),
                row["country"],
                row["type"],
                row["filed"],
                row.get("granted"),
                row.get("expires"),
                row.get("program"),
                row.get("title"),
                row.get("weight"),
            )
            key = (body["number"], body["country"])
            if key in seen:
                raise FieldError("number", f"{key[0]} in {key[1]} is also on line {seen[key]} of this file")
            seen[key] = line
            if key in batch.state.patents:
                # The state does not keep whether the expiry was typed or computed: the date is the fact.
                facts = {k: v for k, v in body.items() if k != "expires_given"}
                if batch.state.patents.same_as_added(key, facts):
                    result.skipped += 1
                    continue
                raise FieldError("number", f"{key[0]} is already in the pool for {key[1]} with other data")
            body["source"] = result.sha256
            result.add(sink_for(batch, errors), "patent.add", body)
        except FieldError as exc:
            errors.add(line, exc)
    errors.raise_if_any()
    return result


def import_reports(
    batch: Sink, path: Path, correct: bool, tick: Tick = None, *, options: ReadOptions = PLAIN
) -> ImportResult:
    begun = begin(batch, path, options)
    if isinstance(begun, ImportResult):
        return begun
    result, errors = begun
    groups: dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]] = {}
    seen: dict[tuple[str, str, str, str, str], int] = {}
    totals: dict[tuple[str, str, str], int] = {}  # units of each licensee, program and period after the file
    state = batch.state
    for line, row in each_row(path, REPORT_COLUMNS, result, errors, tick, options):
        try:
            licensee, program, period, item = _report_row(row)
            key = (licensee, program, period, item["manufacture"], item["sale"])
            if key in seen:
                raise FieldError(
                    "sale_country", f"the same licensee, period and countries as line {seen[key]}"
                )
            seen[key] = line
            rules.report_header(state, {"licensee": licensee, "program": program, "period": period})
            current = state.reports.get(key)
            group = (licensee, program, period)
            totals[group] = _units_after(state, totals.get(group), group, item, current)
            bucket = groups.setdefault(group, {"add": [], "correct": []})
            if current is None:
                bucket["add"].append(item)
            elif current.units == item["units"] and current.net_sales == Decimal(item["net_sales"]):
                result.skipped += 1
            elif not correct:
                raise FieldError(
                    "units",
                    f"{licensee} {period} {key[3]}/{key[4]} was reported as {current.units} units, "
                    f"{current.net_sales} (seq {current.ref[0]}); use --correct to supersede it",
                )
            else:
                bucket["correct"].append({**item, "supersedes": current.ref[0]})
        except FieldError as exc:
            errors.add(line, exc)
    errors.raise_if_any()
    _add_report_groups(batch, result, groups)
    appended: dict[str, set[str]] = {}
    for (_licensee, program, period), bucket in groups.items():
        if bucket["add"] or bucket["correct"]:
            appended.setdefault(program, set()).add(period)
    for program, periods in sorted(appended.items()):
        hint = staleness.reports_hint(state, program, periods)
        if hint is not None:
            result.notes.append(hint)
    return result


def _report_row(row: Mapping[str, str]) -> tuple[str, str, str, dict[str, Any]]:
    """A report row's licensee, program, period and line, in their ledger spelling."""
    licensee = fields.identifier(row["licensee"], "licensee")
    program = fields.identifier(row["program"], "program")
    period = bodies.period(row["period"])
    item = bodies.report_line(row["manufacture_country"], row["sale_country"], row["units"], row["net_sales"])
    return licensee, program, period, item


def _units_after(
    state: PoolState,
    total: int | None,
    group: tuple[str, str, str],
    item: Mapping[str, Any],
    current: ReportLine | None,
) -> int:
    """A licensee's units in a program and period once this line replaces the one stored (`current`)."""
    licensee, program, period = group
    if total is None:
        total = state.reports.units_total(licensee, program, period)
    # Bounded here, naming the line that passes the bound, so an allocation can always run.
    total += item["units"] - (current.units if current is not None else 0)
    fields.check_period_units(total, f"{licensee}'s {program} {period} reports")
    return total


def _add_report_groups(
    batch: Sink,
    result: ImportResult,
    groups: Mapping[tuple[str, str, str], Mapping[str, list[dict[str, Any]]]],
) -> None:
    """One report.add and one report.correct entry per licensee, program and period, as needed."""
    for (licensee, program, period), bucket in groups.items():
        header = {"licensee": licensee, "program": program, "period": period}
        if bucket["add"]:
            result.add(batch, "report.add", {**header, "lines": bucket["add"], "source": result.sha256})
        if bucket["correct"]:
            body = {**header, "lines": bucket["correct"], "source": result.sha256}
            result.add(batch, "report.correct", body)
            result.corrected += len(bucket["correct"])


def import_payments(
    batch: Sink, path: Path, tick: Tick = None, *, options: ReadOptions = PLAIN
) -> ImportResult:
    begun = begin(batch, path, options)
    if isinstance(begun, ImportResult):
        return begun
    result, errors = begun
    for line, row in each_row(path, PAYMENT_COLUMNS, result, errors, tick, options):
        try:
            body = bodies.payment(
                row["licensee"], row["date"], row["amount"], row["currency"], row["reference"]
            )
            existing = batch.state.payment_refs.get((body["licensee"], body["reference"]))
            if existing is not None:
                same = (existing.amount, existing.date.isoformat(), existing.currency) == (
                    Decimal(body["amount"]),
                    body["date"],
                    body["currency"],
                )
                if same:
                    result.skipped += 1
                    continue
                raise FieldError(
                    "reference",
                    f"payment {body['reference']!r} of {body['licensee']} exists "
                    f"with other figures (seq {existing.ref[0]})",
                )
            body["source"] = result.sha256
            result.add(sink_for(batch, errors), "payment.add", body)
        except FieldError as exc:
            errors.add(line, exc)
    errors.raise_if_any()
    return result
