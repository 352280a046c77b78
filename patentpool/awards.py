"""Inventor awards (spec section 11): each patent's net licence income, as verified statement bundles give
it (rule 6b), split into the awards a university or institute owes the patent's inventors.

Member side and offline: no database, no ledger write. The inventors file (natural persons' names) stays
with the member; nothing here sends or records it anywhere.

The rule, per patent (number, country) and period:
  award = net x rate / 100, rounded half-up to the cent (halves away from zero, so a negative net after an
  adjustment gives the exact mirror of the positive award), split over the patent's inventors by their
  shares with the largest-remainder method, ties to the lower inventor name (compared as strings).
Awards are computed period by period and then summed, never on a year's summed net: a period's awards are
what was owed when its statement came, and a later negative one is set against them.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from licenses.errors import TermError
from licenses.money import (
    cents_of,
    format_cents,
    format_rate,
    largest_remainder,
    parse_rate,
    round_half_up_cents,
    to_cents,
)
from patentpool import bodies, fields
from patentpool.errors import PoolError
from patentpool.fields import FieldError
from patentpool.periods import Period

COLUMNS = ("patent", "country", "inventor", "share", "rate")
# The statutory default of China's Law on Promoting the Transformation of Scientific and Technological
# Achievements, art. 45 (at least 50% of the net income); a lower rate needs the institution's own rule.
STATUTORY_MIN_RATE = Decimal(50)
MAX_NAME = 200


class AwardsError(PoolError):
    """Bad input to `awards`: one line naming the file (and line and field) or the bundle."""


# --- the inventors file ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inventor:
    name: str  # as the member wrote it (trimmed, NFC)
    share: Decimal


@dataclass(frozen=True)
class PatentInventors:
    """One patent's award terms from the inventors file: its rate and its inventors in name order (the
    order of the largest-remainder tie rule)."""

    patent: str
    country: str
    rate: Decimal
    inventors: tuple[Inventor, ...]


def name_key(name: str) -> str:
    """What makes two spellings the same inventor: case and runs of blanks do not count ("Li  Wei" and
    "li wei" are one person on one patent, and one payee across patents)."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


def _share(value: str) -> Decimal:
    try:
        share = parse_rate(value, field="share")
    except TermError as exc:
        raise FieldError("share", str(exc).removeprefix("share: ")) from exc
    if share <= 0:
        raise FieldError("share", f"{value.strip()!r} must be a positive number (shares count by ratio)")
    return share


def _rate(value: str) -> Decimal:
    text = value.strip()
    text = text[:-1].rstrip() if text.endswith("%") else text
    try:
        rate = parse_rate(text, field="rate")
    except TermError as exc:
        raise FieldError("rate", str(exc).removeprefix("rate: ")) from exc
    if rate > 100:
        raise FieldError("rate", f"{format_rate(rate)}% is more than 100% of the patent's net")
    return rate


def parse_inventors(
    source: str, rows: Iterable[tuple[int, Mapping[str, str]]]
) -> dict[tuple[str, str], PatentInventors]:
    """The award terms of each patent from the file's rows (line number, {column: cell}); the first bad
    cell raises AwardsError `source:line: field: message`."""
    rates: dict[tuple[str, str], tuple[Decimal, int]] = {}
    named: dict[tuple[str, str], dict[str, tuple[Inventor, int]]] = defaultdict(dict)
    for line, row in rows:
        try:
            patent = bodies.number(row.get("patent", ""), "patent")
            country = fields.country(row.get("country", ""), "country")
            name = fields.text(row.get("inventor", ""), "inventor", max_len=MAX_NAME)
            share = _share(row.get("share", ""))
            rate = _rate(row.get("rate", ""))
        except FieldError as exc:
            raise AwardsError(f"{source}:{line}: {exc.field}: {exc.message}") from None
        key = (patent, country)
        if key in rates and rates[key][0] != rate:
            first, at = rates[key]
            raise AwardsError(
                f"{source}:{line}: rate: {format_rate(rate)}% for {patent} ({country}), but line {at} gives "
                f"{format_rate(first)}%: one patent has one rate"
            )
        rates.setdefault(key, (rate, line))
        seen = named[key].get(name_key(name))
        if seen is not None:
            raise AwardsError(
                f"{source}:{line}: inventor: {name!r} is listed for {patent} ({country}) already on line "
                f"{seen[1]}: give one row per inventor, with the whole share"
            )
        named[key][name_key(name)] = (Inventor(name, share), line)
    if not rates:
        raise AwardsError(f"{source}: no inventors listed (a header row and no rows)")
    return {
        key: PatentInventors(
            key[0],
            key[1],
            rates[key][0],
            tuple(sorted((inv for inv, _line in named[key].values()), key=lambda i: i.name)),
        )
        for key in sorted(rates)
    }


def read_inventors(path: Path, encoding: str = "utf-8") -> dict[tuple[str, str], PatentInventors]:
    """The inventors file, `.csv` (UTF-8 unless `encoding`) or `.xlsx` (first sheet)."""
    if path.suffix.lower() == ".xlsx":
        return parse_inventors(str(path), _xlsx_rows(path))
    return parse_inventors(str(path), _csv_rows(path, encoding))


def _check_header(source: str, header: list[str]) -> None:
    for column in header:
        if column not in COLUMNS:
            raise AwardsError(
                f"{source}:1: {column or '(blank)'}: unknown column (the columns are {','.join(COLUMNS)})"
            )
    for column in COLUMNS:
        if column not in header:
            raise AwardsError(f"{source}:1: {column}: required column missing")
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise AwardsError(f"{source}:1: {dupes[0]}: column appears twice")


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, str]]]:
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AwardsError(f"{source}: cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise AwardsError(
            f"{source}:{line}: not {encoding}; save the file as UTF-8, or give its encoding "
            "(--encoding gb18030 for what Excel writes on Chinese Windows)"
        ) from None
    except LookupError:
        raise AwardsError(f"--encoding: {encoding!r} is not an encoding Python knows") from None
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise AwardsError(f"{source}:1: empty file: no header row") from None
    _check_header(source, header)
    end = reader.line_num
    try:
        for row in reader:
            line, end = end + 1, reader.line_num  # a quoted cell may span lines: name where the row starts
            if not "".join(row).strip():
                continue
            if len(row) != len(header):
                raise AwardsError(f"{source}:{line}: {len(row)} cells, the header has {len(header)}")
            yield line, dict(zip(header, row, strict=True))
    except csv.Error as exc:
        raise AwardsError(f"{source}:{reader.line_num}: malformed CSV: {exc}") from None


def _xlsx_cell(value: Any, number_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        # repr gives the shortest decimal that is the float (0.7, not 0.69999...); a cell formatted as a
        # percentage holds 0.7 for 70%, which must not become a 0.7% rate.
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if "%" in number_format:
            number *= 100
        return format(number.normalize(), "f") if number == number.to_integral() else format(number, "f")
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    source = str(path)
    try:
        import openpyxl  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise AwardsError(
            f"{source}: reading .xlsx needs openpyxl (pip install openpyxl); or save the sheet as CSV"
        ) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise AwardsError(f"{source}: cannot read: {exc.strerror}") from exc
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise AwardsError(f"{source}: not an .xlsx workbook: {exc}") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows()
        try:
            header = [_xlsx_cell(c.value, "").strip() for c in next(rows)]
        except StopIteration:
            raise AwardsError(f"{source}:1: empty sheet: no header row") from None
        while header and not header[-1]:  # Excel keeps formatted but empty cells at the right
            header.pop()
        _check_header(source, header)
        for line, cells in enumerate(rows, start=2):
            values = [_xlsx_cell(c.value, getattr(c, "number_format", "") or "") for c in cells]
            values = (values + [""] * len(header))[: max(len(header), len(values))]
            if not "".join(values).strip():
                continue
            if any(v.strip() for v in values[len(header) :]):
                raise AwardsError(f"{source}:{line}: a cell right of the last column ({header[-1]})")
            yield line, dict(zip(header, values[: len(header)], strict=True))
    finally:
        book.close()


# --- the rule ----------------------------------------------------------------------------------------------
def patent_award(net_cents: int, rate: Decimal) -> int:
    """Award of one patent for one period, in cents: net x rate / 100, half-up to the cent (halves away
    from zero, so -0.005 gives -0.01 as 0.005 gives 0.01)."""
    return to_cents(round_half_up_cents(Fraction(net_cents, 100) * Fraction(rate) / 100))


def split_award(award_cents: int, inventors: Sequence[Inventor]) -> list[int]:
    """The award over the inventors by share, largest remainder, ties to the lower name as a string; the
    parts (in `inventors`' order) sum exactly to the award. A negative award is split like its mirror."""
    order = sorted(range(len(inventors)), key=lambda i: inventors[i].name)
    parts = largest_remainder(award_cents, [inventors[i].share for i in order])
    out = [0] * len(inventors)
    for i, cents in zip(order, parts, strict=True):
        out[i] = cents
    return out


@dataclass(frozen=True)
class Income:
    """A patent's net for one period, in cents, as a verified statement gives it (rule 6b)."""

    period: str
    patent: str
    country: str
    net: int


def _patent_awards(
    key: tuple[str, str], by_period: Mapping[str, int], terms: PatentInventors | None
) -> tuple[dict[str, Any], list[int]]:
    """One patent's JSON over the periods, and each inventor's award summed over them (in `terms`' order).
    Each period is rounded and split on its own: the sums are of rounded, split awards."""
    names = terms.inventors if terms is not None else ()
    totals = [0] * len(names)
    award_total = 0
    rows = []
    for period in sorted(by_period, key=Period.parse):
        cents = by_period[period]
        row: dict[str, Any] = {"period": period, "net": format_cents(cents), "award": None, "inventors": []}
        if terms is not None:
            award = patent_award(cents, terms.rate)
            parts = split_award(award, names)
            award_total += award
            totals = [a + b for a, b in zip(totals, parts, strict=True)]
            row["award"] = format_cents(award)
            row["inventors"] = [
                {"inventor": inv.name, "award": format_cents(c)} for inv, c in zip(names, parts, strict=True)
            ]
        rows.append(row)
    patent = {
        "patent": key[0],
        "country": key[1],
        "net": format_cents(sum(by_period.values())),
        "rate": format_rate(terms.rate) if terms is not None else None,
        "award": format_cents(award_total) if terms is not None else None,
        "inventors": [
            {"inventor": inv.name, "share": format_rate(inv.share), "award": format_cents(c)}
            for inv, c in zip(names, totals, strict=True)
        ],
        "periods": rows,
    }
    return patent, totals


def compute(
    member: str,
    currency: str,
    incomes: Sequence[Income],
    inventors: Mapping[tuple[str, str], PatentInventors],
    source: str = "the inventors file",
) -> dict[str, Any]:
    """The awards JSON: per patent (each period's net and award and its split) and per inventor (total and
    per patent), with the warnings of section 11."""
    net: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for income in incomes:
        net[(income.patent, income.country)][income.period] += income.net
    warnings: list[str] = []
    patents_out: list[dict[str, Any]] = []
    # name_key -> (the spelling first met, {(patent, country): cents}): one payee across patents.
    payee: dict[str, tuple[str, dict[tuple[str, str], int]]] = {}
    for key in sorted(net):
        terms = inventors.get(key)
        patent, totals = _patent_awards(key, net[key], terms)
        patents_out.append(patent)
        if terms is None:
            if any(net[key].values()):
                warnings.append(
                    f"{key[0]} ({key[1]}): net income {patent['net']} {currency} but no inventors "
                    f"listed in {source}: no award computed"
                )
            continue
        for inv, cents in zip(terms.inventors, totals, strict=True):
            _spelled, mine = payee.setdefault(name_key(inv.name), (inv.name, {}))
            mine[key] = mine.get(key, 0) + cents
    warnings += _rate_warnings(inventors.values())
    inventors_out = _inventor_rows(payee, currency, warnings)
    return {
        "member": member,
        "currency": currency,
        "periods": sorted({i.period for i in incomes}, key=Period.parse),
        "inventors": inventors_out,
        "patents": patents_out,
        "warnings": warnings,
    }


def _rate_warnings(inventors: Iterable[PatentInventors]) -> list[str]:
    """A warning for each patent whose award rate is below the statutory default."""
    return [
        f"{terms.patent} ({terms.country}): rate {format_rate(terms.rate)}% is below "
        f"{format_rate(STATUTORY_MIN_RATE)}% (the statutory default; check your institution's rule)"
        for terms in inventors
        if terms.rate < STATUTORY_MIN_RATE
    ]


def _inventor_rows(
    payee: Mapping[str, tuple[str, dict[tuple[str, str], int]]], currency: str, warnings: list[str]
) -> list[dict[str, Any]]:
    """Per inventor, by name: the total award and each patent's; a negative total adds to `warnings`."""
    inventors_out = []
    for name, mine in sorted(payee.values(), key=lambda v: v[0]):
        total = sum(mine.values())
        inventors_out.append(
            {
                "inventor": name,
                "award": format_cents(total),
                "patents": [
                    {"patent": p, "country": c, "award": format_cents(mine[(p, c)])} for p, c in sorted(mine)
                ],
            }
        )
        if total < 0:
            warnings.append(
                f"{name}: awards total {format_cents(total)} {currency} over these periods (a negative net "
                "after an adjustment): set it against later awards"
            )
    return inventors_out


# --- from verified bundles ---------------------------------------------------------------------------------
def _statement(path: Path, vkey_text: str) -> tuple[dict[str, Any], str]:
    """The statement of a bundle that verifies with the pool's key, with the signed checkpoint it was proven
    against; else AwardsError naming the bundle."""
    from patentpool import bundles  # the verifier: ledger and crypto, loaded only when a bundle is read

    try:
        doc = bundles.read_bundle(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AwardsError(f"{path}: not a readable statement bundle: {exc}") from None
    verdict = bundles.verify_bundle(doc, vkey_text, None)
    if not verdict.ok:
        raise AwardsError(f"{path}: NOT VERIFIED, no award computed: {verdict.problems[0]}")
    if doc["kind"] != "statement" or verdict.document is None:
        raise AwardsError(f"{path}: a licensee's {doc['kind']} bundle, not a member's statement bundle")
    return verdict.document, str(doc["checkpoint"])


def _period_key(label: str) -> tuple[Period, str]:
    return (Period.parse(label), label)


def from_bundles(
    paths: Sequence[Path], vkey_text: str, inventors_path: Path, encoding: str = "utf-8"
) -> dict[str, Any]:
    """`patentpool awards`: every bundle verified first (the first that fails refuses the whole run), one
    member's, each period once; then the awards of their per-patent nets."""
    if not paths:
        raise AwardsError("no statement bundle given")
    verified = [(path, *_statement(path, vkey_text)) for path in paths]
    statements = [(path, st) for path, st, _note in verified]
    checkpoints = {str(path): note for path, _st, note in verified}
    first_path, first = statements[0]
    seen: dict[str, Path] = {}
    for path, st in statements:
        if st["member"] != first["member"]:
            raise AwardsError(
                f"{path}: a statement of member {st['member']}, but {first_path} is of {first['member']}: "
                "awards are computed for one member"
            )
        if st["currency"] != first["currency"]:
            raise AwardsError(f"{path}: in {st['currency']}, but {first_path} is in {first['currency']}")
        if st["period"] in seen:
            raise AwardsError(
                f"{path}: period {st['period']} is also in {seen[st['period']]}: give each period once "
                "(the newest bundle of a period has its adjusted figures)"
            )
        seen[st["period"]] = path
    inventors = read_inventors(inventors_path, encoding)
    incomes = [
        Income(st["period"], p["patent"], p["country"], cents_of(p["net"]))
        for _path, st in statements
        for p in st["patents"]
    ]
    data = compute(first["member"], first["currency"], incomes, inventors, str(inventors_path))
    data["bundles"] = [
        {"file": str(path), "period": st["period"], "checkpoint": _tree(checkpoints[str(path)])}
        for path, st in sorted(statements, key=lambda ps: _period_key(ps[1]["period"]))
    ]
    return data


def _tree(note: str) -> dict[str, Any]:
    lines = note.split("\n")
    return {"size": int(lines[1]), "root": lines[2]}


# --- rows for the table and CSV ----------------------------------------------------------------------------
PATENT_COLUMNS = (
    "period",
    "patent",
    "country",
    "net",
    "rate",
    "patent_award",
    "inventor",
    "share",
    "award",
    "currency",
)
INVENTOR_COLUMNS = ("inventor", "patent", "country", "award", "currency")


def patent_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A row per patent, period and inventor (a patent without inventors: one row, no award), then each
    patent's total over the periods and each inventor's total (period `total`)."""
    rows: list[dict[str, Any]] = []
    for p in data["patents"]:
        shares = {i["inventor"]: i["share"] for i in p["inventors"]}
        for per in p["periods"]:
            base = {
                "period": per["period"],
                "patent": p["patent"],
                "country": p["country"],
                "net": per["net"],
                "rate": p["rate"],
                "patent_award": per["award"],
            }
            for inv in per["inventors"] or [{"inventor": None, "award": None}]:
                rows.append(
                    base
                    | {
                        "inventor": inv["inventor"],
                        "share": shares.get(inv["inventor"] or ""),
                        "award": inv["award"],
                    }
                )
        if len(p["periods"]) > 1:
            rows.append(
                {
                    "period": "total",
                    "patent": p["patent"],
                    "country": p["country"],
                    "net": p["net"],
                    "rate": p["rate"],
                    "patent_award": p["award"],
                }
            )
    for inv in data["inventors"]:
        rows.append({"period": "total", "inventor": inv["inventor"], "award": inv["award"]})
    return [{c: r.get(c) for c in PATENT_COLUMNS} | {"currency": data["currency"]} for r in rows]


def inventor_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per inventor: a row per patent and the inventor's total."""
    rows = []
    for inv in data["inventors"]:
        for p in inv["patents"]:
            rows.append(
                {
                    "inventor": inv["inventor"],
                    "patent": p["patent"],
                    "country": p["country"],
                    "award": p["award"],
                    "currency": data["currency"],
                }
            )
        rows.append(
            {
                "inventor": inv["inventor"],
                "patent": "total",
                "country": "",
                "award": inv["award"],
                "currency": data["currency"],
            }
        )
    return rows
