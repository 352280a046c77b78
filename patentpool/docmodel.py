"""What a statement or invoice document shows, as plain data for the template (spec 10).

Pure functions of the statement and invoice dicts (the JSON outputs) and of a few names: no I/O, no HTML.
Every total here is summed in Decimal from the figures the books gave, so a document's totals are the JSON's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from licenses.money import format_money
from patentpool.charts import Bar
from patentpool.errors import PoolError
from patentpool.periods import Period


class DocumentError(PoolError, ValueError):
    """A document that cannot be made from these figures (the CLI prints it as one `Error:` line)."""


def money(value: str | Decimal) -> str:
    """An amount as a person reads it: thousands separated, two decimals, a leading minus when negative."""
    amount = Decimal(value)
    return f"{abs(amount) if amount == 0 else amount:,.2f}"  # never "-0.00" (a deduction of nothing)


def _d(value: str | Decimal) -> Decimal:
    return Decimal(value)


def _total(values: Iterable[str | Decimal]) -> Decimal:
    return sum((_d(v) for v in values), Decimal(0))


def share(part: Decimal, whole: Decimal) -> str:
    """A percentage for reading only (one decimal); never summed or paid."""
    if whole == 0:
        return ""
    return f"{(part * 100 / whole).quantize(Decimal('0.1'))}%"


def long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False
    key: str = ""  # a data-key attribute: lets a reader (and the tests) find a figure on the rendered page
    note: str = ""  # a small badge after the text, e.g. "claw-back"


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    columns: Sequence[tuple[str, bool]]  # (heading, numeric)
    rows: Sequence[Sequence[Cell]]
    total: Sequence[Cell] | None = None
    note: str = ""
    empty: str = "None in this period."  # the one row of a table with no rows


@dataclass(frozen=True)
class Figure:
    label: str
    amount: str
    key: str
    strong: bool = False


@dataclass(frozen=True)
class Names:
    """Who is who: the pool, the party the document is for, and every member's name by id."""

    pool: str
    origin: str
    party: str
    members: Mapping[str, str]

    def of(self, member: str) -> str:
        return self.members.get(member, "")


@dataclass(frozen=True)
class Verification:
    origin: str
    size: int
    root: str
    key_id: str
    commands: Sequence[tuple[str, str, str]]  # (period, command writing the bundle, command verifying it)


@dataclass(frozen=True)
class Document:
    kind: str  # statement | invoice
    title: str
    reference: str
    names: Names
    party_label: str
    scope: str
    scope_detail: str
    currency: str
    issued: str
    figures: Sequence[Figure]
    charts: Sequence[tuple[str, str, bool]] = ()  # (caption, inline svg, full width)
    tables: Sequence[Table] = ()
    verification: Verification | None = None
    notes: Sequence[str] = field(default_factory=tuple)


# --- the data of a year: each period's dict, and the year's totals ---------------------------------------
def _one_currency(items: Sequence[Mapping[str, Any]]) -> str:
    currencies = {item["currency"] for item in items}
    if len(currencies) != 1:
        raise DocumentError("the periods of this year use different currencies: give --program")
    return str(currencies.pop())


def _year(
    party: tuple[str, str], year: int, periods: Sequence[dict[str, Any]], sums: Sequence[str]
) -> dict[str, Any]:
    """A year of statements or invoices: the party (field, id), the periods and the sums of `sums`."""
    out: dict[str, Any] = {
        party[0]: party[1],
        "year": year,
        "currency": _one_currency(periods),
        "periods": list(periods),
    }
    for key in sums:
        out[key] = format_money(_total(p[key] for p in periods))
    return out


def statement_year(member: str, year: int, periods: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The year's statement: each allocated period's statement and the year's totals (the `--year` JSON)."""
    if not periods:
        raise DocumentError(f"{member} has no statement in {year}: no allocated period of {year} names it")
    out = _year(("member", member), year, periods, ("gross", "admin_fee", "net"))
    if all("distributions" in p for p in periods):
        out["distributed"] = format_money(_total(d["amount"] for p in periods for d in p["distributions"]))
    out["checkpoint"] = periods[-1].get("checkpoint", "")
    return out


def invoice_year(licensee: str, year: int, periods: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The year's invoices: each allocated period's invoice and the year's totals (the `--year` JSON)."""
    if not periods:
        raise DocumentError(f"{licensee} has no invoice in {year}: no allocated period of {year} bills it")
    return _year(("licensee", licensee), year, periods, ("royalty", "credit", "due"))


# --- statement tables --------------------------------------------------------------------------------------
def _grouped(lines: Iterable[Mapping[str, Any]], key: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        sums[line[key]] += _d(line["gross"])
    return dict(sums)


def _total_row(label: str, amounts: Sequence[tuple[str, Decimal]], blanks: int) -> list[Cell]:
    cells = [Cell(label)] + [Cell("") for _ in range(blanks)]
    return cells + [Cell(money(v), True, f"total:{k}") for k, v in amounts]


def _largest_first(sums: Mapping[str, Decimal]) -> list[tuple[str, Decimal]]:
    return sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))


def _grouped_with(
    lines: Sequence[Mapping[str, Any]], key: str, other: str
) -> tuple[dict[str, Decimal], dict[str, set[str]]]:
    """Gross per `key`, and the `other` values seen with each (the countries of a licensee, ...)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        seen[line[key]].add(line[other])
    return _grouped(lines, key), seen


def _gross_total(table: str, sums: Mapping[str, Decimal], blanks: int) -> list[Cell]:
    return [*_total_row("Total", [(table, _total(sums.values()))], blanks), Cell("")]


def by_licensee(lines: Sequence[Mapping[str, Any]], names: Names, gross: Decimal) -> Table:
    sums, countries = _grouped_with(lines, "licensee", "country")
    rows = [
        [
            Cell(lic),
            Cell(names.of(lic)),
            Cell(", ".join(sorted(countries[lic]))),
            Cell(money(amount), True, f"licensee:{lic}"),
            Cell(share(amount, gross), True),
        ]
        for lic, amount in _largest_first(sums)
    ]
    return Table(
        "by-licensee",
        "Royalty by licensee",
        [("Licensee", False), ("Name", False), ("Countries", False), ("Gross", True), ("Share", True)],
        rows,
        _gross_total("by-licensee", sums, 2),
    )


def by_country(lines: Sequence[Mapping[str, Any]], gross: Decimal) -> Table:
    sums, licensees = _grouped_with(lines, "country", "licensee")
    rows = [
        [
            Cell(country),
            Cell(str(len(licensees[country])), True),
            Cell(money(amount), True, f"country:{country}"),
            Cell(share(amount, gross), True),
        ]
        for country, amount in _largest_first(sums)
    ]
    return Table(
        "by-country",
        "Royalty by country",
        [("Country", False), ("Licensees", True), ("Gross", True), ("Share", True)],
        rows,
        _gross_total("by-country", sums, 1),
        note="The country a royalty is allocated in: the sale country where a pool patent counts there, "
        "else the manufacture country.",
    )


def by_patent(patents: Sequence[Mapping[str, Any]]) -> Table:
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for row in patents:
        got = sums[(row["patent"], row["country"])]
        for i, key in enumerate(("gross", "admin_fee", "net")):
            got[i] += _d(row[key])
    rows = [
        [
            Cell(number),
            Cell(country),
            Cell(money(g), True, f"patent:{number}:{country}"),
            Cell(money(f), True),
            Cell(money(n), True),
        ]
        for (number, country), (g, f, n) in sorted(sums.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    totals = [(k, _total(v[i] for v in sums.values())) for i, k in enumerate(("gross", "fee", "net"))]
    return Table(
        "by-patent",
        "Royalty by patent",
        [("Patent", False), ("Country", False), ("Gross", True), ("Admin fee", True), ("Net", True)],
        rows,
        _total_row("Total", [(f"by-patent-{k}", v) for k, v in totals], 1),
    )


def statement_lines(periods: Sequence[Mapping[str, Any]], with_period: bool) -> Table:
    rows = []
    for statement in periods:
        for i, line in enumerate(statement["lines"]):
            cells = [Cell(statement["period"])] if with_period else []
            cells += [
                Cell(line["program"]),
                Cell(line["licensee"]),
                Cell(line["country"]),
                Cell(", ".join(line["patents"])),
                Cell(money(line["gross"]), True, f"line:{statement['period']}:{i}"),
            ]
            rows.append(cells)
    columns = [("Period", False)] if with_period else []
    columns += [
        ("Program", False),
        ("Licensee", False),
        ("Country", False),
        ("Patents", False),
        ("Gross", True),
    ]
    gross = _total(line["gross"] for s in periods for line in s["lines"])
    return Table(
        "lines",
        "Statement lines",
        columns,
        rows,
        _total_row("Total", [("lines", gross)], len(columns) - 2),
        note="One line per licensee and country; the patents are yours that gave weight there.",
    )


def distributions(periods: Sequence[Mapping[str, Any]]) -> Table | None:
    found = [(s["period"], d) for s in periods for d in s.get("distributions", [])]
    if not any("distributions" in s for s in periods):
        return None
    rows = [
        [
            Cell(d["date"]),
            Cell(period),
            Cell(d["reference"]),
            Cell(
                money(d["amount"]),
                True,
                f"distribution:{d['reference']}",
                "claw-back" if _d(d["amount"]) < 0 else "",
            ),
        ]
        for period, d in sorted(found, key=lambda pd: (pd[1]["date"], pd[1]["reference"]))
    ]
    return Table(
        "distributions",
        "Distributions received",
        [("Date", False), ("Period", False), ("Reference", False), ("Amount", True)],
        rows,
        _total_row("Total received", [("distributions", _total(d["amount"] for _p, d in found))], 2),
        note="A negative amount is a claw-back: the pool recovered an overpayment after a correction.",
        empty="Nothing distributed for this period yet.",
    )


def open_license_memo(fees: Sequence[Mapping[str, Any]], party: str) -> Table | None:
    """The memo lines; each fee with a `period` (a year's document) shows it in a first column."""
    if not fees:
        return None
    who = ("Licensee", "licensee") if party == "statement" else ("Owner", "owner")
    dated = all("period" in fee for fee in fees)
    rows = [
        [
            *([Cell(fee["period"])] if dated else []),
            Cell(fee[who[1]]),
            Cell(fee["patent"]),
            Cell(fee["currency"]),
            Cell(money(fee["amount"]), True, f"memo:{fee[who[1]]}:{fee['patent']}"),
        ]
        for fee in fees
    ]
    note = (
        "Open-licence fees the licensee pays you directly: outside the pool's money and its totals."
        if party == "statement"
        else "Open-licence fees you pay each patent's owner directly: not part of the amount due to the pool."
    )
    return Table(
        "open-license-fees",
        "Open-licence fees (memo)",
        [
            *([("Period", False)] if dated else []),
            (who[0], False),
            ("Patent", False),
            ("Currency", False),
            ("Amount", True),
        ],
        rows,
        note=note,
    )


def statement_periods(periods: Sequence[Mapping[str, Any]]) -> Table:
    has_paid = all("distributions" in s for s in periods)
    rows = []
    for s in periods:
        cells = [Cell(s["period"])] + [
            Cell(money(s[k]), True, f"period:{s['period']}:{k}") for k in ("gross", "admin_fee", "net")
        ]
        if has_paid:
            paid = _total(d["amount"] for d in s["distributions"])
            cells += [
                Cell(money(paid), True, f"period:{s['period']}:distributed"),
                Cell(money(_d(s["net"]) - paid), True, f"period:{s['period']}:balance"),
            ]
        rows.append(cells)
    columns = [("Period", False), ("Gross", True), ("Admin fee", True), ("Net", True)]
    sums = [(k, _total(s[k] for s in periods)) for k in ("gross", "admin_fee", "net")]
    if has_paid:
        columns += [("Distributed", True), ("Balance", True)]
        paid = _total(d["amount"] for s in periods for d in s["distributions"])
        sums += [("distributed", paid), ("balance", sums[2][1] - paid)]
    return Table(
        "periods",
        "Periods of the year",
        columns,
        rows,
        _total_row("Year", [(f"year-{k}", v) for k, v in sums], 0),
    )


def statement_figures(data: Mapping[str, Any]) -> list[Figure]:
    figures = [
        Figure("Gross royalties", money(data["gross"]), "gross"),
        Figure("Administration fee", money(-_d(data["admin_fee"])), "admin_fee"),
        Figure("Net royalties", money(data["net"]), "net", strong=True),
    ]
    periods = data.get("periods", [data])
    if all("distributions" in s for s in periods):
        paid = _total(d["amount"] for s in periods for d in s["distributions"])
        figures += [
            Figure("Distributed to you", money(paid), "distributed"),
            Figure("Net not yet distributed", money(_d(data["net"]) - paid), "balance"),
        ]
    return figures


def statement_bars(periods: Sequence[Mapping[str, Any]], key: str) -> list[Bar]:
    sums = _grouped((line for s in periods for line in s["lines"]), key)
    return [Bar(k, v, money(v)) for k, v in sums.items()]


def merged_patents(periods: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]] | None:
    if not any("patents" in s for s in periods):
        return None
    return [row for s in periods for row in s.get("patents", [])]


# --- invoice tables ----------------------------------------------------------------------------------------
def invoice_figures(data: Mapping[str, Any]) -> list[Figure]:
    return [
        Figure("Royalty", money(data["royalty"]), "royalty"),
        Figure("Less credits", money(-_d(data["credit"])), "credit"),
        Figure("Amount due", money(data["due"]), "due", strong=True),
    ]


def invoice_periods(periods: Sequence[Mapping[str, Any]]) -> Table:
    rows = [
        [Cell(p["period"])]
        + [Cell(money(p[k]), True, f"period:{p['period']}:{k}") for k in ("royalty", "credit", "due")]
        + [Cell(p.get("due_date", ""))]
        for p in periods
    ]
    sums = [(f"year-{k}", _total(p[k] for p in periods)) for k in ("royalty", "credit", "due")]
    return Table(
        "periods",
        "Periods of the year",
        [("Period", False), ("Royalty", True), ("Credit", True), ("Due", True), ("Due date", False)],
        rows,
        [*_total_row("Year", sums, 0), Cell("")],
    )


def invoice_programs(rows_in: Sequence[Mapping[str, Any]]) -> Table:
    rows = [
        [Cell(r["period"]), Cell(r["program"])]
        + [
            Cell(money(r[k]), True, f"program:{r['period']}:{r['program']}:{k}")
            for k in ("royalty", "credit", "due")
        ]
        for r in rows_in
    ]
    sums = [(f"programs-{k}", _total(r[k] for r in rows_in)) for k in ("royalty", "credit", "due")]
    return Table(
        "by-program",
        "Royalty by program",
        [("Period", False), ("Program", False), ("Royalty", True), ("Credit", True), ("Due", True)],
        rows,
        _total_row("Total", sums, 1),
    )


def invoice_countries(lines: Sequence[Mapping[str, Any]]) -> Table:
    units: dict[str, int] = defaultdict(int)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        units[line["country"]] += line["units"]
        sums[line["country"]] += _d(line["royalty"])
    whole = _total(sums.values())
    rows = [
        [
            Cell(country),
            Cell(f"{units[country]:,}", True),
            Cell(money(amount), True, f"country:{country}"),
            Cell(share(amount, whole), True),
        ]
        for country, amount in _largest_first(sums)
    ]
    return Table(
        "by-country",
        "Royalty by country",
        [("Country", False), ("Units", True), ("Royalty", True), ("Share", True)],
        rows,
        [
            Cell("Total"),
            Cell(f"{sum(units.values()):,}", True),
            Cell(money(whole), True, "total:by-country"),
            Cell(""),
        ],
        note="Each report line's royalty, in the country it is allocated in (the sale country where a pool "
        "patent counts there, else the manufacture country).",
    )


def invoice_lines(lines: Sequence[Mapping[str, Any]]) -> Table:
    rows = [
        [
            Cell(line["period"]),
            Cell(line["program"]),
            Cell(str(line["seq"]), True),
            Cell(line["manufacture"]),
            Cell(line["sale"]),
            Cell(f"{line['units']:,}", True),
            Cell(line["country"]),
            Cell(money(line["royalty"]), True, f"report:{line['seq']}"),
        ]
        for line in lines
    ]
    return Table(
        "lines",
        "Report lines that bear royalty",
        [
            ("Period", False),
            ("Program", False),
            ("Report seq", True),
            ("Made in", False),
            ("Sold in", False),
            ("Units", True),
            ("Allocated to", False),
            ("Royalty", True),
        ],
        rows,
        [
            Cell("Total"),
            *[Cell("") for _ in range(4)],
            Cell(f"{sum(line['units'] for line in lines):,}", True),
            Cell(""),
            Cell(money(_total(line["royalty"] for line in lines)), True, "total:lines"),
        ],
    )


def invoice_credits(credited: Sequence[Mapping[str, Any]]) -> Table | None:
    if not credited:
        return None
    rows = [
        [Cell(c["period"]), Cell(c["program"]), Cell(c["country"]), Cell(", ".join(c["patents"]))]
        for c in credited
    ]
    return Table(
        "credited",
        "Patents credited to you",
        [("Period", False), ("Program", False), ("Country", False), ("Patents", False)],
        rows,
        note="Their share of the royalty is credited, not charged: your own patents, patents licensed to you "
        "outside the pool (cross-licence, direct or open licence).",
    )


def period_detail(labels: Sequence[str]) -> str:
    periods = [Period.parse(label) for label in labels]
    if not periods:
        return ""
    return f"{long_date(min(p.start for p in periods))} to {long_date(max(p.end for p in periods))}"
