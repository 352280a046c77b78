"""Statements and invoices as documents people read (spec 10): self-contained HTML, and PDF made from it.

`docmodel` decides what a document shows; this module reads what it needs (names, the verifier key, a year's
allocations), draws the charts, fills the template and writes HTML or PDF. The CLI calls one function here
per command and format.
"""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.memory import paused_gc
from patentpool import books, charts, docmodel
from patentpool.docmodel import Document, DocumentError, Names, Verification, money
from patentpool.periods import Period

if TYPE_CHECKING:
    from ledger.log import Reader
    from patentpool.outputs import Guard
    from patentpool.service import PoolService
    from patentpool.state import PoolState

DOCUMENT_FORMATS = ("html", "pdf")
SUFFIXES = {".html": "html", ".htm": "html", ".pdf": "pdf"}

__all__ = [
    "DOCUMENT_FORMATS",
    "DocumentError",
    "Request",
    "format_for",
    "invoice_output",
    "period_document",
    "statement_output",
]


def format_for(fmt: str | None, output: Path | None) -> str | None:
    """`-f` as given, else html or pdf when `-o` names such a file (`-o statement.pdf` means a PDF)."""
    if fmt is None and output is not None:
        return SUFFIXES.get(output.suffix.lower())
    return fmt


# --- reading -----------------------------------------------------------------------------------------------
@contextmanager
def read_year(svc: PoolService, year: int, shares_of: str | None) -> Iterator[tuple[PoolState, Reader]]:
    """One snapshot holding every allocation of `year` (summaries and parts; for a statement, of the parts
    only member `shares_of`'s own, as `PoolService.read_period` reads one period), the members, programs,
    payments and distributions, less what entry.void voided: what a year's statements or invoices read. A
    stale allocation (rule 13) is refused as the single-period commands refuse it."""
    from ledger.entry import decode_trusted
    from patentpool.service import (
        ALLOCATION_KINDS,
        BOOK_KINDS,
        STATEMENT_KINDS,
        VOID_KINDS,
        replay,
        void_entries,
    )

    # JCS orders an allocation entry's keys, so its period is spelled `"period":"2025Q1"`: the year's
    # prefix finds the year's summaries and parts in the bytes without decoding the others.
    needle = f'"period":"{year:04d}'.encode()
    part = "allocation.part"
    kinds = sorted(set(BOOK_KINDS) | set(STATEMENT_KINDS) | {part})
    with svc.ledger.reader() as reader:
        found_voids = void_entries(reader.signed_rows(kinds=VOID_KINDS))
        if shares_of is None:
            needles = {kind: needle for kind in (*ALLOCATION_KINDS, part)}
            rows = list(reader.signed_rows(kinds=kinds, needles=needles))
        else:
            needles = {kind: needle for kind in ALLOCATION_KINDS}
            rows = list(reader.signed_rows(kinds=[k for k in kinds if k != part], needles=needles))
            listed = [
                decode_trusted(raw).body.get("parts", {}).get("members", {})
                for _seq, kind, raw, _h in rows
                if kind in ALLOCATION_KINDS
            ]
            for parts in listed:
                if shares_of in parts:
                    row = reader.signed_row(parts[shares_of][0], part, keep=lambda _raw: True)
                    rows += [row] if row is not None else []
        state = replay(
            svc.store,
            reader.conn,
            sorted(rows),
            keep_allocations=True,
            shares_of=shares_of,
            void_entries=found_voids,
        )
        for period in allocated_periods(state, year, None):
            svc.refuse_stale(reader, state, period.label, None)
        yield state, reader


def allocated_periods(state: PoolState, year: int, program: str | None) -> list[Period]:
    labels = {
        label
        for (prog, label) in state.allocations
        if (program is None or prog == program) and Period.parse(label).year == year
    }
    return sorted((Period.parse(label) for label in labels), key=lambda p: (p.start, p.months))


def _latest_bodies(state: PoolState, period: Period, program: str | None) -> list[dict[str, Any]]:
    return [
        records[-1].body
        for (prog, label), records in state.allocations.items()
        if label == period.label and (program is None or prog == program)
    ]


def statement_year(
    state: PoolState, member: str, year: int, program: str | None, note: str
) -> dict[str, Any]:
    """The statements of every allocated period of `year` that names `member`, and the year's totals."""
    if member not in state.members:
        raise books.unknown_member(member, state.members)
    periods = [
        books.statement(state, member, per, program, note)
        for per in allocated_periods(state, year, program)
        if any(member in body["members"] for body in _latest_bodies(state, per, program))
    ]
    return docmodel.statement_year(member, year, periods)


def invoice_year(state: PoolState, licensee: str, year: int, program: str | None) -> dict[str, Any]:
    """The invoices of every allocated period of `year` that bills `licensee`, and the year's totals."""
    if licensee not in state.members:
        raise books.unknown_member(licensee, state.members)
    periods = [
        books.invoice(state, licensee, per, program)
        for per in allocated_periods(state, year, program)
        if any(licensee in body["invoices"] for body in _latest_bodies(state, per, program))
    ]
    return docmodel.invoice_year(licensee, year, periods)


def invoice_detail(
    state: PoolState, licensee: str, labels: Sequence[str], program: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """From the whole allocation bodies: the licensee's figures per program, its bearing report lines and
    its credited patents per country (its own data: an invoice may show it all)."""
    programs, lines, credited = [], [], []
    for label in labels:
        for body in books.allocations_for(state, Period.parse(label), program, full=True):
            figures = body["invoices"].get(licensee)
            if figures is None:
                continue
            name = body["program"]
            programs.append({"period": label, "program": name, **figures})
            info = body["licensees"][licensee]
            for seq, made, sold, units, royalty, country in info["lines"]:
                lines.append(
                    {
                        "period": label,
                        "program": name,
                        "seq": seq,
                        "manufacture": made,
                        "sale": sold,
                        "units": units,
                        "royalty": royalty,
                        "country": country,
                    }
                )
            for country, patents in sorted(info["credited"].items()):
                credited.append({"period": label, "program": name, "country": country, "patents": patents})
    return programs, lines, credited


def names_for(state: PoolState, party: str) -> Names:
    pool = state.pool
    members = {m.id: m.name for m in state.members.values()}
    return Names(pool.name if pool else "", pool.origin if pool else "", members.get(party, ""), members)


# --- building --------------------------------------------------------------------------------------------
def _note_head(note: str) -> tuple[str, int, str]:
    """Origin, tree size and root of a signed checkpoint note (its first three lines)."""
    head = note.split("\n")
    if len(head) < 3 or not head[1].isdigit():
        raise DocumentError("the checkpoint read is not a signed note: run `patentpool verify`")
    return head[0], int(head[1]), head[2]


def _verification(note: str, vkey: str, commands: Sequence[tuple[str, str, str]]) -> Verification:
    from ledger.keys import VerifierKey

    origin, size, root = _note_head(note)
    return Verification(origin, size, root, VerifierKey.parse(vkey).keyid_string, commands)


def _commands(
    what: str,
    party_option: str,
    party: str,
    labels: Sequence[str],
    program: str | None,
    bundle: Path | None,
    vkey: str,
) -> list[tuple[str, str, str]]:
    out = []
    for label in labels:
        name = str(bundle) if bundle is not None else f"{what}-{party}-{label}.json"
        produce = ""
        if bundle is None:
            args = ["patentpool", what, party_option, party, "--period", label]
            args += ["--program", program] if program else []
            produce = shlex.join([*args, "--bundle", name])
        # --member/--licensee and --period bind the bundle to this document's party and period.
        bind = ["--member" if what == "statement" else "--licensee", party, "--period", label]
        verify = shlex.join(["patentpool", "verify-statement", name, "--vkey", vkey, *bind])
        out.append((label, produce, verify))
    return out


def _scope(data: dict[str, Any]) -> tuple[str, str, list[str]]:
    periods = data.get("periods", [data])
    labels = [p["period"] for p in periods]
    scope = f"Year {data['year']}" if "year" in data else data["period"]
    return scope, docmodel.period_detail(labels), labels


def _statement_charts(
    periods: Sequence[dict[str, Any]], names: Names, cur: str, yearly: bool
) -> list[tuple[str, str, bool]]:
    """Gross by licensee and by country, and a year's by quarter (net and admin fee stacked)."""
    drawn: list[tuple[str, str, bool]] = [
        (
            "Gross royalty by licensee",
            charts.hbar(
                _named(docmodel.statement_bars(periods, "licensee"), names), "Royalty by licensee", "lic", cur
            ),
            False,
        ),
        (
            "Gross royalty by country",
            charts.hbar(docmodel.statement_bars(periods, "country"), "Royalty by country", "cty", cur),
            False,
        ),
    ]
    if yearly:
        columns = [
            (s["period"], Decimal(s["net"]), Decimal(s["admin_fee"]), money(s["gross"])) for s in periods
        ]
        drawn.append(
            (
                "Royalty by quarter",
                charts.stacked_columns(columns, "Royalty by quarter", "qtr", cur, ("Net", "Admin fee")),
                True,
            )
        )
    return drawn


def statement_document(
    data: dict[str, Any],
    names: Names,
    vkey: str,
    program: str | None = None,
    bundle: Path | None = None,
    issued: date | None = None,
) -> Document:
    """The statement (one period's, or a year's from `docmodel.statement_year`) as a document."""
    periods = data.get("periods", [data])
    yearly = "year" in data
    lines = [line for s in periods for line in s["lines"]]
    gross = Decimal(data["gross"])
    cur = data["currency"]
    tables = [docmodel.statement_periods(periods)] if yearly else []
    tables += [docmodel.by_licensee(lines, names, gross), docmodel.by_country(lines, gross)]
    patents = docmodel.merged_patents(periods)
    if patents is not None:
        tables.append(docmodel.by_patent(patents))
    tables.append(docmodel.statement_lines(periods, yearly))
    extra = [
        docmodel.distributions(periods),
        docmodel.open_license_memo(_memo(periods, yearly), "statement"),
    ]
    tables += [t for t in extra if t is not None]
    drawn = _statement_charts(periods, names, cur, yearly) if gross > 0 else []
    scope, detail, labels = _scope(data)
    reference = f"ST-{data['member']}-{data.get('year', data.get('period'))}"
    commands = _commands("statement", "--member", data["member"], labels, program, bundle, vkey)
    return Document(
        kind="statement",
        title="Royalty statement",
        reference=reference,
        names=names,
        party_label="Statement for member",
        scope=scope,
        scope_detail=detail,
        currency=cur,
        issued=docmodel.long_date(issued or date.today()),
        figures=docmodel.statement_figures(data),
        charts=drawn,
        tables=tables,
        verification=_verification(data["checkpoint"], vkey, commands),
        notes=(f"All amounts in {cur} unless a row names another currency.",),
    )


def _invoice_charts(
    periods: Sequence[dict[str, Any]], by_country: dict[str, Decimal], cur: str, yearly: bool
) -> list[tuple[str, str, bool]]:
    """Royalty by allocation country, and a year's by quarter (due and credited stacked)."""
    bars = [charts.Bar(c, v, money(v)) for c, v in by_country.items()]
    drawn: list[tuple[str, str, bool]] = [
        (
            "Royalty by country",
            charts.hbar(bars, "Royalty by country", "cty", cur, 3.5 if yearly else 7.0),
            not yearly,
        )
    ]
    if yearly:
        columns = [
            (p["period"], Decimal(p["due"]), Decimal(p["credit"]), money(p["royalty"])) for p in periods
        ]
        drawn.append(
            (
                "Royalty by quarter",
                charts.stacked_columns(columns, "Royalty by quarter", "qtr", cur, ("Due", "Credited"), 3.5),
                False,
            )
        )
    return drawn


def invoice_document(
    data: dict[str, Any],
    detail: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]],
    names: Names,
    vkey: str,
    note: str,
    program: str | None = None,
    bundle: Path | None = None,
    issued: date | None = None,
) -> Document:
    """The invoice (one period's, or a year's from `docmodel.invoice_year`) as a document; `detail` is
    `invoice_detail`'s programs, report lines and credited patents; `bundle` the one written with it."""
    periods = data.get("periods", [data])
    yearly = "year" in data
    cur = data["currency"]
    programs, lines, credited = detail
    tables = [docmodel.invoice_periods(periods)] if yearly else []
    tables += [
        docmodel.invoice_programs(programs),
        docmodel.invoice_countries(lines),
        docmodel.invoice_lines(lines),
    ]
    extra = [
        docmodel.invoice_credits(credited),
        docmodel.open_license_memo(_memo(periods, yearly), "invoice"),
    ]
    tables += [t for t in extra if t is not None]
    by_country: dict[str, Decimal] = {}
    for line in lines:
        by_country[line["country"]] = by_country.get(line["country"], Decimal(0)) + Decimal(line["royalty"])
    drawn = _invoice_charts(periods, by_country, cur, yearly) if Decimal(data["royalty"]) > 0 else []
    scope, span, labels = _scope(data)
    figures = docmodel.invoice_figures(data)
    if not yearly:
        figures.append(docmodel.Figure("Payable by", data["due_date"], "due_date"))
    commands = _commands("invoice", "--licensee", data["licensee"], labels, program, bundle, vkey)
    return Document(
        kind="invoice",
        title="Royalty invoice",
        reference=f"INV-{data['licensee']}-{data.get('year', data.get('period'))}",
        names=names,
        party_label="Bill to licensee",
        scope=scope,
        scope_detail=span,
        currency=cur,
        issued=docmodel.long_date(issued or date.today()),
        figures=figures,
        charts=drawn,
        tables=tables,
        verification=_verification(note, vkey, commands),
        notes=(
            f"All amounts in {cur} unless a row names another currency. Please quote the reference "
            "with your payment.",
        ),
    )


def _memo(periods: Sequence[dict[str, Any]], yearly: bool) -> list[dict[str, Any]]:
    """The open-licence memo lines, each with its period in a year's document."""
    return [
        {**fee, **({"period": p["period"]} if yearly else {})}
        for p in periods
        for fee in p["open_license_fees"]
    ]


def _named(bars: list[charts.Bar], names: Names) -> list[charts.Bar]:
    """A licensee's name beside its id on the chart, shortened to fit the axis."""
    out = []
    for bar in bars:
        name = names.of(bar.label)
        label = f"{bar.label} · {name[:14]}{'…' if len(name) > 14 else ''}" if name else bar.label
        out.append(bar._replace(label=label))
    return out


# --- rendering -------------------------------------------------------------------------------------------
def _css_string(text: str) -> Any:
    """`text` as the inside of a CSS string in a <style> element (raw text: no HTML escaping applies)."""
    from markupsafe import Markup

    quoted = "".join(f"\\{ord(ch):x} " if ch in '"\\<>\n\r' else ch for ch in text)
    # Escaped for CSS above; HTML entities would mean nothing inside <style>, so no HTML escaping after it.
    return Markup(quoted)


def render_html(doc: Document, party: str) -> str:
    from importlib.resources import files

    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("patentpool", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = _css_string
    css = (files("patentpool") / "templates" / "document.css").read_text(encoding="utf-8")
    footer = f"{doc.names.pool} · {doc.title} {doc.reference}"
    from markupsafe import Markup

    return env.get_template("document.html.j2").render(
        doc=doc,
        css=Markup(css),
        footer=footer,
        party_id=party,
    )


def html_to_pdf(html: str) -> bytes:
    """PDF from the document's HTML by WeasyPrint (no browser, no network: the HTML holds everything)."""
    import weasyprint

    # WeasyPrint logs each CSS property it does not support as a warning: not the user's concern.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    pdf = weasyprint.HTML(string=html, base_url=None).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def write(doc: Document, party: str, fmt: str, output: Path | None) -> None:
    write_html(render_html(doc, party), fmt, output)


def write_html(html: str, fmt: str, output: Path | None) -> None:
    """A rendered page as HTML (to stdout or -o) or as PDF (to -o only)."""
    from patentpool.outputs import open_output  # never over a kept file, the database or a key file

    if fmt == "pdf":
        if output is None:
            raise DocumentError("-f pdf writes a file: give -o FILE")
        pdf = html_to_pdf(html)
        with open_output(output, binary=True) as handle:
            handle.write(pdf)
    elif output is None:
        sys.stdout.write(html)
    else:
        with open_output(output) as handle:
            handle.write(html)


# --- what the CLI calls ----------------------------------------------------------------------------------
def statement_output(
    state: PoolState,
    reader: Reader,
    data: dict[str, Any],
    fmt: str,
    output: Path | None,
    program: str | None = None,
    bundle: Path | None = None,
) -> None:
    """`statement -f html|pdf` for one period, from the state and reader the statement was read with."""
    doc = statement_document(data, names_for(state, data["member"]), str(reader.root_key), program, bundle)
    write(doc, data["member"], fmt, output)


def invoice_output(
    state: PoolState,
    reader: Reader,
    data: dict[str, Any],
    fmt: str,
    output: Path | None,
    program: str | None = None,
    bundle: Path | None = None,
) -> None:
    """`invoice -f html|pdf` for one period (the state must hold the period's allocation bodies)."""
    detail = invoice_detail(state, data["licensee"], [data["period"]], program)
    note = reader.checkpoint().note
    names = names_for(state, data["licensee"])
    doc = invoice_document(data, detail, names, str(reader.root_key), note, program, bundle)
    write(doc, data["licensee"], fmt, output)


def year_statement(
    svc: PoolService, member: str, year: int, program: str | None, fmt: str | None, output: Path | None
) -> None:
    """`statement --year`: in any format; html and pdf as a document, the others as the year's data."""
    with read_year(svc, year, member) as (state, reader):
        data = statement_year(state, member, year, program, reader.checkpoint().note)
        if fmt in DOCUMENT_FORMATS:
            statement_output(state, reader, data, fmt, output, program)
            return
    from patentpool import views

    rows = [{"period": s["period"], **row} for s in data["periods"] for row in views.statement_rows(s)]
    _emit(fmt, output, data, rows, f"Statement {member} {year}")


def year_invoice(
    svc: PoolService, licensee: str, year: int, program: str | None, fmt: str | None, output: Path | None
) -> None:
    """`invoice --year`: in any format; html and pdf as a document, the others as the year's data."""
    with read_year(svc, year, None) as (state, reader):
        data = invoice_year(state, licensee, year, program)
        if fmt in DOCUMENT_FORMATS:
            labels = [p["period"] for p in data["periods"]]
            detail = invoice_detail(state, licensee, labels, program)
            names = names_for(state, licensee)
            doc = invoice_document(
                data, detail, names, str(reader.root_key), reader.checkpoint().note, program
            )
            write(doc, licensee, fmt, output)
            return
    from patentpool import views

    rows = [{"period": p["period"], **row} for p in data["periods"] for row in views.invoice_rows(p)]
    _emit(fmt, output, data, rows, f"Invoice {licensee} {year}")


def _emit(fmt: str | None, output: Path | None, data: Any, rows: list[dict[str, Any]], title: str) -> None:
    from patentpool import render

    chosen = fmt or render.default_format(output is not None)
    if output is None:
        render.emit(data, chosen, sys.stdout, rows=rows, title=title)
        return
    from patentpool.outputs import open_output

    with open_output(output) as out:
        render.emit(data, chosen, out, rows=rows, title=title)  # type: ignore[arg-type]  # a text handle


# --- one period's statement or invoice: data, bundle, document -------------------------------------------
@dataclass(frozen=True)
class Request:
    """What `statement` or `invoice` was asked for (`period`: one period; else `year`)."""

    party: str  # the member of a statement, the licensee of an invoice
    period: Period | None
    year: int | None
    program: str | None
    bundle: Path | None
    since: Path | None
    fmt: str | None
    output: Path | None


Opened = AbstractContextManager[tuple["PoolState", "Reader"]]


@dataclass(frozen=True)
class Kind:
    """How a statement and an invoice differ: what is replayed, the data, the bundle, the document."""

    word: str
    read: Callable[[PoolService, Request, Period], Opened]
    data: Callable[[PoolState, Reader, Request, Period], dict[str, Any]]
    bundle: Callable[..., dict[str, Any]]  # bundles.member_bundle or bundles.licensee_bundle
    output: Callable[..., None]  # statement_output or invoice_output
    year: Callable[..., None]  # year_statement or year_invoice


def _statement_read(svc: PoolService, request: Request, period: Period) -> Opened:
    # Every member's name only for a document, which names the licensee of each line.
    names = request.fmt in DOCUMENT_FORMATS
    return svc.read_period(period.label, request.program, shares_of=request.party, names=names)


def _statement_data(state: PoolState, reader: Reader, request: Request, period: Period) -> dict[str, Any]:
    note = reader.checkpoint().note
    return books.statement(state, request.party, period, request.program, note)


def _invoice_read(svc: PoolService, request: Request, period: Period) -> Opened:
    """Only what an invoice reads: the period's latest summaries and, of their parts, the licensee's own."""
    return svc.read_period(period.label, request.program, licensee=request.party)


def _invoice_data(state: PoolState, reader: Reader, request: Request, period: Period) -> dict[str, Any]:
    data = books.invoice(state, request.party, period, request.program)
    if request.bundle is not None:
        data["checkpoint"] = reader.checkpoint().note
    return data


def _kinds() -> dict[str, Kind]:
    from patentpool import bundles

    return {
        "statement": Kind(
            "statement",
            _statement_read,
            _statement_data,
            bundles.member_bundle,
            statement_output,
            year_statement,
        ),
        "invoice": Kind(
            "invoice", _invoice_read, _invoice_data, bundles.licensee_bundle, invoice_output, year_invoice
        ),
    }


def period_document(
    svc: PoolService, word: str, request: Request, guard: Guard, say: Callable[[str], None]
) -> dict[str, Any] | None:
    """`statement` or `invoice` (`word`): a year's goes out whole here; one period's is checked fresh (rule
    13), its bundle written if asked, and it goes out as a document (html, pdf) here or comes back as data
    for the caller to render (None when written here)."""
    kind = _kinds()[word]
    if request.year is not None:
        kind.year(svc, request.party, request.year, request.program, request.fmt, request.output)
        return None
    per = request.period
    assert per is not None
    with kind.read(svc, request, per) as (state, reader):
        # A large member's statement and bundle are tens of thousands of small objects and no cycles (as a
        # replay is); a document's drawing may make cycles, so it runs with the collector on.
        with paused_gc():
            svc.refuse_stale(reader, state, per.label, request.program)
            data = kind.data(state, reader, request, per)
            if request.bundle is not None:
                _write_bundle(kind, state, reader, data, request, per, guard, say)
        if request.fmt in DOCUMENT_FORMATS:
            kind.output(state, reader, data, request.fmt, request.output, request.program, request.bundle)
            return None
    return data


def _write_bundle(
    kind: Kind,
    state: PoolState,
    reader: Reader,
    data: dict[str, Any],
    request: Request,
    period: Period,
    guard: Guard,
    say: Callable[[str], None],
) -> None:
    from patentpool import bundles
    from patentpool.inputs import read_text

    assert request.bundle is not None
    since = read_text(request.since, "--since") if request.since else None
    doc = kind.bundle(state, reader, data, period, request.program, since)
    bundles.write_bundle(request.bundle, doc, guard)
    say(f"wrote {kind.word} bundle {request.bundle} ({len(doc['entries'])} entries)")
