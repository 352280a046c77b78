"""CSV imports (spec section 8): streamed, validated in full, then appended as one batch, or not at all.

Every row is checked against the state as it would be after the rows before it, so the error list is
complete (up to MAX_ERRORS) and names file, line and column. Re-importing a file appends nothing; a row
already recorded with the same facts is skipped; with other facts it is an error (reports: unless
`--correct`).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from patentpool import bodies, fields, rules
from patentpool.fields import FieldError
from patentpool.service import Batch, PoolError

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

    def summary(self, what: str) -> str:
        if self.already:
            return (
                f"{self.file} was already imported (seq {self.already[0]}-{self.already[-1]}); "
                "nothing appended"
            )
        parts = [f"{self.appended} {what} entr{'y' if self.appended == 1 else 'ies'} appended"]
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


def read_rows(
    path: Path, columns: tuple[tuple[str, ...], tuple[str, ...]]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Stream a CSV's rows as (line number, {column: cell}); header problems raise ImportFailed."""
    required, optional = columns
    name = str(path)
    try:
        # Undecodable bytes become lone surrogates, so that the row and column holding them can be named.
        handle = path.open(newline="", encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise PoolError(f"{name}: cannot read: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ImportFailed([RowError(name, 1, None, "empty file: no header row")], False) from None
        if any(_undecodable(h) for h in header):
            raise ImportFailed([RowError(name, 1, None, "not UTF-8")], False)
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        errors = [RowError(name, 1, h, "unknown column") for h in header if h not in required + optional]
        errors += [RowError(name, 1, c, "required column missing") for c in required if c not in header]
        dupes = {h for h in header if header.count(h) > 1}
        errors += [RowError(name, 1, h, "column appears twice") for h in sorted(dupes)]
        if errors:
            raise ImportFailed(errors, False)
        end = reader.line_num
        try:
            for row in reader:
                # A quoted cell may span lines: name the line where the row starts.
                line, end = end + 1, reader.line_num
                if not "".join(row).strip():
                    continue
                if len(row) != len(header):
                    yield line, {"__error__": f"{len(row)} cells, the header has {len(header)}"}
                    continue
                bad = [h for h, cell in zip(header, row, strict=True) if _undecodable(cell)]
                if bad:
                    yield line, {"__error__": f"{bad[0]}: not UTF-8"}
                    continue
                yield line, dict(zip(header, row, strict=True))
        except csv.Error as exc:
            raise ImportFailed(
                [RowError(name, reader.line_num, None, f"malformed CSV: {exc}")], False
            ) from None


def _undecodable(cell: str) -> bool:
    # surrogateescape turns each undecodable byte into U+DC80..U+DCFF; an ASCII cell (most) has none.
    return not cell.isascii() and any("\udc80" <= c <= "\udcff" for c in cell)


Tick = Callable[[int], None] | None


def _each_row(
    path: Path,
    columns: tuple[tuple[str, ...], tuple[str, ...]],
    result: ImportResult,
    errors: _Collector,
    tick: Tick,
) -> Iterator[tuple[int, dict[str, str]]]:
    """The well-formed rows of a file; counts every row and collects the malformed ones as errors."""
    for line, row in read_rows(path, columns):
        result.rows += 1
        if tick:
            tick(1)
        if "__error__" in row:
            errors.add(line, row["__error__"])
            continue
        yield line, row


class _Collector:
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


def _already(batch: Batch, sha: str, result: ImportResult) -> bool:
    seqs = batch.state.sources.get(sha)
    if seqs is not None:
        result.already = list(seqs)
        return True
    return False


def import_members(batch: Batch, path: Path, tick: Tick = None) -> ImportResult:
    result = ImportResult(str(path), file_sha256(path))
    if _already(batch, result.sha256, result):
        return result
    errors = _Collector(str(path))
    seen: set[str] = set()
    for line, row in _each_row(path, MEMBER_COLUMNS, result, errors, tick):
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
            if not errors.errors:
                batch.add("member.add", body)
            else:
                rules.validate(batch.state, "member.add", body)
            result.appended += 1
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


def import_patents(batch: Batch, path: Path, tick: Tick = None) -> ImportResult:
    result = ImportResult(str(path), file_sha256(path))
    if _already(batch, result.sha256, result):
        return result
    errors = _Collector(str(path))
    seen: dict[tuple[str, str], int] = {}
    for line, row in _each_row(path, PATENT_COLUMNS, result, errors, tick):
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
            _add_or_check(batch, errors, "patent.add", body)
            result.appended += 1
        except FieldError as exc:
            errors.add(line, exc)
    errors.raise_if_any()
    return result


def _add_or_check(batch: Batch, errors: _Collector, kind: str, body: dict[str, Any]) -> None:
    # After the first error nothing will be written: keep validating, but stop signing entries.
    if errors.errors:
        rules.validate(batch.state, kind, body)
        if kind == "patent.add":
            # Later rows must see this row (duplicates, EP countries), as they would after a real append.
            rules.KINDS[kind].apply(batch.state, _FakeEntry(body), (0, "0" * 64))  # type: ignore[arg-type]
    else:
        batch.add(kind, body)


@dataclass(frozen=True)
class _FakeEntry:
    body: Mapping[str, Any]
    seq: int = 0
    kind: str = "patent.add"


def import_reports(batch: Batch, path: Path, correct: bool, tick: Tick = None) -> ImportResult:
    result = ImportResult(str(path), file_sha256(path))
    if _already(batch, result.sha256, result):
        return result
    errors = _Collector(str(path))
    groups: dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]] = {}
    seen: dict[tuple[str, str, str, str, str], int] = {}
    totals: dict[tuple[str, str, str], int] = {}  # units of each licensee, program and period after the file
    state = batch.state
    for line, row in _each_row(path, REPORT_COLUMNS, result, errors, tick):
        try:
            licensee = fields.identifier(row["licensee"], "licensee")
            program = fields.identifier(row["program"], "program")
            period = bodies.period(row["period"])
            item = bodies.report_line(
                row["manufacture_country"], row["sale_country"], row["units"], row["net_sales"]
            )
            key = (licensee, program, period, item["manufacture"], item["sale"])
            if key in seen:
                raise FieldError(
                    "sale_country", f"the same licensee, period and countries as line {seen[key]}"
                )
            seen[key] = line
            rules.report_header(state, {"licensee": licensee, "program": program, "period": period})
            current = state.reports.get(key)
            group = (licensee, program, period)
            total = totals.get(group)
            if total is None:
                total = state.reports.units_total(licensee, program, period)
            # Bounded here, naming the line that passes the bound, so an allocation can always run.
            total += item["units"] - (current.units if current is not None else 0)
            fields.check_period_units(total, f"{licensee}'s {program} {period} reports")
            totals[group] = total
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
    for (licensee, program, period), bucket in groups.items():
        header = {"licensee": licensee, "program": program, "period": period}
        if bucket["add"]:
            batch.add("report.add", {**header, "lines": bucket["add"], "source": result.sha256})
            result.appended += 1
        if bucket["correct"]:
            batch.add("report.correct", {**header, "lines": bucket["correct"], "source": result.sha256})
            result.appended += 1
            result.corrected += len(bucket["correct"])
    return result


def import_payments(batch: Batch, path: Path, tick: Tick = None) -> ImportResult:
    result = ImportResult(str(path), file_sha256(path))
    if _already(batch, result.sha256, result):
        return result
    errors = _Collector(str(path))
    for line, row in _each_row(path, PAYMENT_COLUMNS, result, errors, tick):
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
            if errors.errors:
                rules.validate(batch.state, "payment.add", body)
            else:
                batch.add("payment.add", body)
            result.appended += 1
        except FieldError as exc:
            errors.add(line, exc)
    errors.raise_if_any()
    return result
