"""Entry kinds of the pool: for each, one validator (is this body acceptable in this state?) and one place
that applies it to the state. Replaying the ledger runs both, so `verify` re-checks every rule.

Validators are pure and raise FieldError naming the body field (which is the CSV column or CLI option the
user gave). Bodies hold the facts in their ledger spelling; docs/ledger-format.md gives each kind's schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from ledger.entry import Entry
from licenses.agreements import (
    CrossLicense,
    DirectLicense,
    OpenLicenseDeclaration,
    OpenLicenseTake,
    PatentKey,
    PoolLicense,
)
from licenses.fees import parse_fee
from licenses.money import cents_of, format_cents, parse_money, parse_rate
from licenses.numbers import check_type, normalize_number, office
from licenses.schedule import RoyaltySchedule
from licenses.terms import expiry, parse_patent_type
from patentpool import corrections, owners, staleness
from patentpool.allocation import CREDIT
from patentpool.fields import FieldError, check_period_units, identifier, parse_date

# Stored bodies are checked against every code a ledger may hold, so `verify` of an old ledger never fails on
# a code a later ISO data release withdrew (fields.py).
from patentpool.fields import ledger_country as country
from patentpool.fields import ledger_currency as currency
from patentpool.periods import Period
from patentpool.readers import day as _date
from patentpool.readers import get as _get
from patentpool.readers import member as _member
from patentpool.readers import patent as _patent
from patentpool.readers import program as _program
from patentpool.readers import term as _term
from patentpool.readers import text as _str
from patentpool.state import (
    AllocationRecord,
    Distribution,
    Member,
    PartInfo,
    Payment,
    Pool,
    PoolState,
    Program,
    Ref,
)
from patentpool.values import CROSS_LICENSE_TERMS, PERIOD_LENGTHS, ROLES, STATUSES

Body = Mapping[str, Any]
# National numbers are in force in their own office's country; EP and WO publications are entered once per
# country where they were validated or entered the national phase.
REGIONAL_OFFICES = ("EP", "WO")


def _ident(body: Body, name: str) -> str:
    """An identifier as the ledger spells it: exactly, with no space to strip (the CLI strips the user's)."""
    value = _str(body, name)
    if identifier(value, name) != value:
        raise FieldError(name, f"{value!r} is not an identifier (1-64 of A-Z a-z 0-9 . _ -)")
    return value


def _opt_str(body: Body, name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(name, "must be text or null")
    return value


def _opt_date(body: Body, name: str) -> date | None:
    value = _opt_str(body, name)
    return None if value is None else parse_date(value, name)


def _countries(body: Body, name: str) -> frozenset[str] | None:
    value = _get(body, name)
    if value == "all":
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise FieldError(name, 'must be "all" or a list of country codes')
    return frozenset(country(v, name) for v in value)


# --- genesis and members -------------------------------------------------------------------------------
def v_genesis(state: PoolState, body: Body) -> None:
    if state.pool is not None:
        raise FieldError("kind", "a second genesis")
    _str(body, "name")
    currency(_str(body, "currency"), "currency")
    _term("admin_fee", lambda: parse_rate(_str(body, "admin_fee"), field="admin_fee", strict=True))


def a_genesis(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    fee = parse_rate(str(b["admin_fee"]), strict=True)
    state.pool = Pool(str(b["name"]), str(b["origin"]), str(b["currency"]), fee)


def v_member_add(state: PoolState, body: Body) -> None:
    member_id = _ident(body, "id")
    if member_id == CREDIT:
        raise FieldError("id", f"{CREDIT!r} is reserved: allocations name their credit bucket so")
    if member_id in state.members:
        raise FieldError("id", f"member {member_id!r} already exists")
    if not _str(body, "name").strip():
        raise FieldError("name", "missing")
    if _str(body, "role") not in ROLES:
        raise FieldError("role", f"must be one of {', '.join(ROLES)}")


def a_member_add(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    state.members[b["id"]] = Member(b["id"], b["name"], b["role"], ref)


def v_member_update(state: PoolState, body: Body) -> None:
    member = _member(state, _str(body, "id"), "id")
    role = _opt_str(body, "role")
    if role is not None and role not in ROLES:
        raise FieldError("role", f"must be one of {', '.join(ROLES)}")
    name = _opt_str(body, "name")
    if name is None and role is None:
        raise FieldError("name", "nothing to update")
    if role is not None and role != member.role and role == "licensee":
        owned = state.patents.first_owned(member.id)
        if owned is not None:
            raise FieldError("role", f"member {member.id!r} still owns patents (e.g. {owned})")
    if role is not None and role != member.role and role == "licensor":
        # Its reports, invoices and payments need it to stay a licensee.
        held = sorted(program for lic, program in state.grants if lic == member.id)
        if held:
            raise FieldError("role", f"member {member.id!r} still holds pool licences ({', '.join(held)})")


def a_member_update(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    old = state.members[b["id"]]
    state.members[b["id"]] = Member(old.id, b.get("name") or old.name, b.get("role") or old.role, ref)


# --- programs ------------------------------------------------------------------------------------------
def v_program_add(state: PoolState, body: Body) -> None:
    name = _ident(body, "name")
    if name in state.programs:
        raise FieldError("name", f"program {name!r} already exists")
    currency(_str(body, "currency"), "currency")
    _term("tiers", lambda: RoyaltySchedule.parse(_str(body, "tiers")))
    cap = _opt_str(body, "annual_cap")
    if cap is not None:
        _term("annual_cap", lambda: parse_money(cap, field="annual_cap"))
    _term("admin_fee", lambda: parse_rate(_str(body, "admin_fee"), field="admin_fee", strict=True))
    if Decimal(_str(body, "admin_fee")) > 100:
        raise FieldError("admin_fee", "more than 100%")
    if _str(body, "period") not in PERIOD_LENGTHS:
        raise FieldError("period", "must be quarter or half")


def a_program_add(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    schedule = RoyaltySchedule.parse(b["tiers"], b.get("annual_cap"))
    state.programs[b["name"]] = Program(
        b["name"], b["currency"], schedule, Decimal(b["admin_fee"]), b["period"], ref
    )


# --- patents -------------------------------------------------------------------------------------------
def v_patent_add(state: PoolState, body: Body) -> None:
    raw_number = _str(body, "number")
    number = _term("number", lambda: normalize_number(raw_number))
    if number != raw_number:
        raise FieldError("number", f"{raw_number!r} is not in normalised form ({number})")
    where = country(_str(body, "country"), "country")
    number_office = office(number)
    if number_office not in REGIONAL_OFFICES and where != number_office:
        raise FieldError("country", f"{number} is a {number_office} patent; it cannot be in force in {where}")
    if (number, where) in state.patents:
        raise FieldError("number", f"{number} is already in the pool for {where}")
    owners_of(state, body)
    kind = _term("type", lambda: parse_patent_type(_str(body, "type")))
    _term("type", lambda: check_type(number, kind))
    filed = _date(body, "filed")
    granted = _opt_date(body, "granted")
    if granted is not None and granted < filed:
        raise FieldError("granted", f"{granted} is before the filing date {filed}")
    expires = _date(body, "expires")
    given = _get(body, "expires_given")
    if not isinstance(given, bool):
        raise FieldError("expires_given", "must be true or false")
    if not given:
        computed = _term("expires", lambda: expiry(kind, where, filed, None))
        if computed != expires:
            raise FieldError("expires", f"{expires} is not the term's end {computed}")
    if expires <= filed:
        raise FieldError("expires", f"{expires} is not after the filing date {filed}")
    program = _opt_str(body, "program")
    if program is not None:
        _program(state, program, "program")
    _opt_str(body, "title")
    weight = _term("weight", lambda: parse_rate(_str(body, "weight"), field="weight", strict=True))
    if weight <= 0:
        raise FieldError("weight", "must be more than 0")


def a_patent_add(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    granted = b.get("granted")
    state.patents.add(
        number=b["number"],
        country=b["country"],
        type=b["type"],
        filed=date.fromisoformat(b["filed"]),
        granted=date.fromisoformat(granted) if granted else None,
        expires=date.fromisoformat(b["expires"]),
        program=b.get("program"),
        title=b.get("title"),
        weight=Decimal(b["weight"]),
        owner=owners.spell(_body_owners(b)),
        ref=ref,
        expires_given=b.get("expires_given") is True,
    )


def _body_owners(body: Body) -> owners.Owners:
    """A patent.add body's owners: `owner` (one) or `owners` (co-owners with parts, spec 6a)."""
    if "owners" in body:
        return owners.from_body(body["owners"])
    return ((body["owner"], Decimal(1)),)


def owners_of(state: PoolState, body: Body, least: int = 2) -> owners.Owners:
    """Validate a body's owner (`owner`, or `owners` with parts), each a licensor member."""
    if "owners" in body:
        if "owner" in body:
            raise FieldError("owner", "give owner or owners, not both")
        try:
            found = owners.from_body(body["owners"], least)
        except owners.OwnersError as exc:
            raise FieldError("owners", str(exc)) from exc
        for name, _part in found:
            _member(state, name, "owners", role="licensor")
        return found
    name = _str(body, "owner")
    _member(state, name, "owner", role="licensor")
    return ((name, Decimal(1)),)


def v_patent_owners(state: PoolState, body: Body) -> None:
    """Spec 6a: the owners of a patent and their parts from a date on (a transfer is the one-owner case)."""
    patent = _patent(state, body)
    effective = _date(body, "effective")
    if "owners" not in body:
        raise FieldError("owners", "missing")
    found = owners_of(state, body, least=1)
    if effective < patent.filed:
        raise FieldError("effective", f"{effective} is before the filing date {patent.filed}")
    if any(day > effective for day, _o, _r in patent.transfers):
        raise FieldError("effective", "a later change of owners is already recorded; they go in date order")
    if owners.spell(found) == patent.owner_on(effective):
        raise FieldError("owners", f"{patent.number} already has these owners on {effective}")


def a_patent_owners(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    found = owners.from_body(b["owners"], 1)
    state.patents.add_transfer(
        (b["number"], b["country"]), date.fromisoformat(b["effective"]), owners.spell(found), ref
    )


def v_patent_status(state: PoolState, body: Body) -> None:
    patent = _patent(state, body)
    if _str(body, "status") not in STATUSES:
        raise FieldError("status", f"must be one of {', '.join(STATUSES)}")
    effective = _date(body, "effective")
    if effective < patent.filed:
        raise FieldError("effective", f"{effective} is before the filing date {patent.filed}")
    stopped = patent.stopped_on(date.max)
    if stopped is not None:
        raise FieldError(
            "number", f"{patent.number} in {patent.country} is already {stopped[1]} from {stopped[0]}"
        )


def a_patent_status(state: PoolState, e: Entry, ref: Ref) -> None:
    key = (e.body["number"], e.body["country"])
    state.patents.add_status(key, date.fromisoformat(e.body["effective"]), e.body["status"], ref)


def v_patent_transfer(state: PoolState, body: Body) -> None:
    patent = _patent(state, body)
    effective = _date(body, "effective")
    to = _str(body, "to")
    _member(state, to, "to", role="licensor")
    if any(day > effective for day, _o, _r in patent.transfers):
        raise FieldError("effective", "a later transfer is already recorded; transfers go in date order")
    current = patent.owner_on(effective)
    if _str(body, "from") != current:
        shown = owners.show(owners.read(current))
        raise FieldError("from", f"the owner on {effective} is {shown}, not {body['from']}")
    if to == current:
        raise FieldError("to", f"{to} already owns {patent.number} on {effective}")


def a_patent_transfer(state: PoolState, e: Entry, ref: Ref) -> None:
    key = (e.body["number"], e.body["country"])
    state.patents.add_transfer(key, date.fromisoformat(e.body["effective"]), e.body["to"], ref)


# --- open licences -------------------------------------------------------------------------------------
def v_openlicense_declare(state: PoolState, body: Body) -> None:
    patent = _patent(state, body)
    _term("fee", lambda: parse_fee(_str(body, "fee")))
    currency(_str(body, "currency"), "currency")
    start = _date(body, "from")
    end = _date(body, "to")
    if end < start:
        raise FieldError("to", f"{end} is before the start {start}")
    if end >= patent.expires:
        raise FieldError("to", f"{end} is not before the patent's expiry {patent.expires}")
    if patent.type in ("utility", "design") and not _opt_str(body, "evaluation_report"):
        raise FieldError("evaluation_report", f"a {patent.type} needs a patent evaluation report reference")
    exclusive = state.exclusive_direct(patent.key, start, end)
    if exclusive is not None:
        raise FieldError("number", f"{patent.number} is under an exclusive licence (seq {exclusive.seq})")
    current = state.current_declaration(patent.key)
    if (
        current is not None
        and (current.withdrawn is None or current.withdrawn > start)
        and current.end >= start
    ):
        raise FieldError("number", f"{patent.number} already has an open licence (seq {current.seq})")


def a_openlicense_declare(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    key: PatentKey = (b["number"], b["country"])
    decl = OpenLicenseDeclaration(
        patent=key,
        fee=parse_fee(b["fee"]),
        currency=b["currency"],
        start=date.fromisoformat(b["from"]),
        end=date.fromisoformat(b["to"]),
        evaluation_report=b.get("evaluation_report"),
        seq=e.seq,
    )
    state.declarations.setdefault(key, []).append(decl)
    state.declaration_refs[e.seq] = [ref]


def _declaration(state: PoolState, body: Body) -> OpenLicenseDeclaration:
    patent = _patent(state, body)
    seq = _get(body, "declaration")
    for decl in state.declarations.get(patent.key, []):
        if decl.seq == seq:
            return decl
    raise FieldError("number", f"{patent.number} has no open licence declaration at seq {seq}")


def v_openlicense_take(state: PoolState, body: Body) -> None:
    decl = _declaration(state, body)
    licensee = _str(body, "licensee")
    _member(state, licensee, "licensee", role="licensee")
    notice = _date(body, "notice_date")
    if state.patents[decl.patent].owned_by(licensee, notice):
        raise FieldError("licensee", f"{licensee} owns {decl.patent[0]} on {notice}")
    if decl.withdrawn is not None and notice >= decl.withdrawn:
        raise FieldError("notice_date", f"the open licence was withdrawn from {decl.withdrawn}")
    if not decl.open_for_takes_on(notice):
        raise FieldError(
            "notice_date", f"{notice} is outside the open licence's term {decl.start}..{decl.end}"
        )
    if any(t.declaration_seq == decl.seq and t.licensee == licensee for t in state.takes):
        raise FieldError("licensee", f"{licensee} has already taken this open licence")


def a_openlicense_take(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    take = OpenLicenseTake(
        (b["number"], b["country"]),
        b["licensee"],
        date.fromisoformat(b["notice_date"]),
        b["declaration"],
        e.seq,
    )
    state.takes.append(take)
    state.take_refs[e.seq] = ref


def v_openlicense_withdraw(state: PoolState, body: Body) -> None:
    decl = _declaration(state, body)
    if decl.withdrawn is not None:
        raise FieldError("number", f"the open licence was already withdrawn from {decl.withdrawn}")
    effective = _date(body, "effective")
    if effective < decl.start:
        raise FieldError("effective", f"{effective} is before the open licence starts ({decl.start})")


def a_openlicense_withdraw(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    key: PatentKey = (b["number"], b["country"])
    decls = state.declarations[key]
    for i, decl in enumerate(decls):
        if decl.seq == b["declaration"]:
            decls[i] = OpenLicenseDeclaration(
                decl.patent,
                decl.fee,
                decl.currency,
                decl.start,
                decl.end,
                decl.evaluation_report,
                decl.seq,
                date.fromisoformat(b["effective"]),
            )
            state.declaration_refs[decl.seq].append(ref)


# --- cross, pool and direct licences --------------------------------------------------------------------
def v_crosslicense_add(state: PoolState, body: Body) -> None:
    members = _get(body, "members")
    if not isinstance(members, list) or len(set(members)) < 2 or len(set(members)) != len(members):
        raise FieldError("members", "name two or more different members")
    for member in members:
        _member(state, member, "members")
    patents = _get(body, "patents")
    if patents != "all":
        if not isinstance(patents, list) or not patents:
            raise FieldError("patents", 'must be "all" or a list of patent numbers')
        for number in patents:
            if not isinstance(number, str) or not state.patents.countries(number):
                raise FieldError("patents", f"unknown patent {number!r}")
            holders = {
                m for p in state.patents_numbered(number) for m in owners.members(p.owners_on(date.max))
            }
            if not holders & set(members):
                raise FieldError("patents", f"{number} belongs to none of {', '.join(members)}")
    _countries(body, "territory")
    start = _date(body, "from")
    end = _opt_date(body, "to")
    if end is not None and end < start:
        raise FieldError("to", f"{end} is before the start {start}")
    if _str(body, "terms") not in CROSS_LICENSE_TERMS:
        raise FieldError("terms", "must be royalty-free or balancing-payment")


def a_crosslicense_add(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    state.crosslicenses.append(
        CrossLicense(
            members=frozenset(b["members"]),
            patents=None if b["patents"] == "all" else frozenset(b["patents"]),
            territory=None if b["territory"] == "all" else frozenset(b["territory"]),
            start=date.fromisoformat(b["from"]),
            end=date.fromisoformat(b["to"]) if b.get("to") else None,
            seq=e.seq,
            terms=b["terms"],
        )
    )
    state.refs[e.seq] = ref


def v_license_grant(state: PoolState, body: Body) -> None:
    licensee = _str(body, "licensee")
    _member(state, licensee, "licensee", role="licensee")
    program = _str(body, "program")
    _program(state, program, "program")
    _date(body, "from")
    if (licensee, program) in state.grants:
        existing = state.grants[(licensee, program)]
        raise FieldError("licensee", f"{licensee} already holds a {program} licence from {existing.start}")


def a_license_grant(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    state.grants[(b["licensee"], b["program"])] = PoolLicense(
        b["licensee"], b["program"], date.fromisoformat(b["from"]), e.seq
    )
    state.refs[e.seq] = ref


def v_license_direct(state: PoolState, body: Body) -> None:
    patent = _patent(state, body)
    licensee = _str(body, "licensee")
    _member(state, licensee, "licensee")
    start = _date(body, "from")
    end = _opt_date(body, "to")
    if end is not None and end < start:
        raise FieldError("to", f"{end} is before the start {start}")
    # A co-owner may license alone (Patent Law art. 14): the licensor is one of the owners on the start.
    holders = owners.members(patent.owners_on(start))
    if _str(body, "licensor") not in holders:
        raise FieldError("licensor", f"the owner of {patent.number} on {start} is {', '.join(holders)}")
    if licensee in holders:
        raise FieldError("licensee", f"{licensee} owns {patent.number}")
    _member(state, licensee, "licensee", role="licensee")
    exclusive = _get(body, "exclusive")
    if not isinstance(exclusive, bool):
        raise FieldError("exclusive", "must be true or false")
    _countries(body, "territory")  # a territory without the patent's country is recorded and covers nothing
    held = None if exclusive else state.exclusive_direct(patent.key, start, end)
    if held is not None and held.licensee != licensee:
        raise FieldError(
            "licensee", f"{patent.number} is exclusively licensed to {held.licensee} then (seq {held.seq})"
        )
    if exclusive:
        for decl in state.declarations.get(patent.key, []):
            # The open licence runs from its start to its end or its withdrawal, whichever comes first.
            last = decl.end if decl.withdrawn is None else min(decl.end, decl.withdrawn - timedelta(days=1))
            if (end is None or decl.start <= end) and last >= start and decl.start <= last:
                raise FieldError("exclusive", f"{patent.number} is under an open licence (seq {decl.seq})")
        other = state.exclusive_direct(patent.key, start, end)
        if other is not None:
            raise FieldError(
                "exclusive", f"{patent.number} is already exclusively licensed (seq {other.seq})"
            )
        for lic in state.directs:
            # An exclusive licence cannot be given over another licensee's running one.
            if (
                lic.patent == patent.key
                and lic.licensee != licensee
                and (end is None or lic.start <= end)
                and (lic.end is None or lic.end >= start)
            ):
                raise FieldError(
                    "exclusive", f"{patent.number} is licensed to {lic.licensee} then (seq {lic.seq})"
                )


def a_license_direct(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    state.directs.append(
        DirectLicense(
            patent=(b["number"], b["country"]),
            licensor=b["licensor"],
            licensee=b["licensee"],
            start=date.fromisoformat(b["from"]),
            end=date.fromisoformat(b["to"]) if b.get("to") else None,
            exclusive=b["exclusive"],
            territory=None if b["territory"] == "all" else frozenset(b["territory"]),
            seq=e.seq,
        )
    )
    state.refs[e.seq] = ref


# --- reports and money ---------------------------------------------------------------------------------
def report_header(state: PoolState, body: Body) -> tuple[str, Program, Period]:
    licensee = _str(body, "licensee")
    _member(state, licensee, "licensee", role="licensee")
    program = _program(state, _str(body, "program"), "program")
    period = Period.parse(_str(body, "period"))
    if not period.matches(program.period):
        raise FieldError("period", f"program {program.name} reports by {program.period}, not {period}")
    grant = state.grants.get((licensee, program.name))
    if grant is None:
        raise FieldError("licensee", f"{licensee} holds no {program.name} licence")
    if period.end < grant.start:
        raise FieldError("period", f"{period} is before {licensee}'s licence starts ({grant.start})")
    corrections.check_report_period(state, licensee, program.name, period)  # ended, within the licence
    return licensee, program, period


def _report_lines(body: Body) -> list[Mapping[str, Any]]:
    lines = _get(body, "lines")
    if not isinstance(lines, list) or not lines:
        raise FieldError("lines", "no report lines")
    for line in lines:
        if not isinstance(line, Mapping):
            raise FieldError("lines", "each line must be an object")
        country(_str(line, "manufacture"), "manufacture_country")
        country(_str(line, "sale"), "sale_country")
        units = _get(line, "units")
        if isinstance(units, bool) or not isinstance(units, int) or units < 0:
            raise FieldError("units", "must be a whole number >= 0")
        _term("net_sales", partial(parse_money, _str(line, "net_sales"), field="net_sales"))
    return lines


def _bounded_units(state: PoolState, licensee: str, program: str, period: str, change: int) -> None:
    total = state.reports.units_total(licensee, program, period) + change
    check_period_units(total, f"{licensee}'s {program} {period} reports")


def v_report_add(state: PoolState, body: Body) -> None:
    licensee, program, period = report_header(state, body)
    lines = _report_lines(body)
    _bounded_units(state, licensee, program.name, period.label, sum(ln["units"] for ln in lines))
    seen: set[tuple[str, str]] = set()
    for line in lines:
        pair = (line["manufacture"], line["sale"])
        if pair in seen:
            raise FieldError("sale_country", f"the line {pair[0]}/{pair[1]} appears twice in one report")
        seen.add(pair)
        key = (licensee, program.name, period.label, *pair)
        if key in state.reports:
            raise FieldError(
                "units",
                f"{licensee} {period} {pair[0]}/{pair[1]} is already reported: correct it with --correct",
            )


def a_report_add(state: PoolState, e: Entry, ref: Ref) -> None:
    _add_lines(state, e, ref, correct=False)


def _add_lines(state: PoolState, e: Entry, ref: Ref, *, correct: bool) -> None:
    b = e.body
    state.reports.add_lines(
        b["licensee"],
        b["program"],
        b["period"],
        ref,
        (
            (
                ln["manufacture"],
                ln["sale"],
                ln["units"],
                ln["net_sales"],
                ln.get("supersedes") if correct else None,
            )
            for ln in b["lines"]
        ),
    )


def v_report_correct(state: PoolState, body: Body) -> None:
    licensee, program, period = report_header(state, body)
    change = 0
    for line in _report_lines(body):
        key = (licensee, program.name, period.label, line["manufacture"], line["sale"])
        current = state.reports.get(key)
        if current is None:
            raise FieldError("sale_country", f"nothing to correct: {key[3]}/{key[4]} was never reported")
        change += line["units"] - current.units
        if line.get("supersedes") != current.ref[0]:
            raise FieldError("supersedes", f"the current line is seq {current.ref[0]}")
        if current.units == line["units"] and current.net_sales == Decimal(line["net_sales"]):
            raise FieldError("units", "the correction changes nothing")
    _bounded_units(state, licensee, program.name, period.label, change)


def a_report_correct(state: PoolState, e: Entry, ref: Ref) -> None:
    _add_lines(state, e, ref, correct=True)


def v_payment_add(state: PoolState, body: Body) -> None:
    licensee = _str(body, "licensee")
    _member(state, licensee, "licensee", role="licensee")
    _date(body, "date")
    amount = _term("amount", lambda: parse_money(_str(body, "amount"), field="amount"))
    if amount <= 0:
        raise FieldError("amount", "must be more than 0.00")
    cur = currency(_str(body, "currency"), "currency")
    allowed = {state.programs[p].currency for (lic, p) in state.grants if lic == licensee}
    if not allowed:  # pool money is only ever due under a pool licence
        raise FieldError("licensee", f"{licensee} holds no pool licence: grant one before its payments")
    if cur not in allowed:
        raise FieldError(
            "currency", f"{cur} is not the currency of {licensee}'s programs ({', '.join(sorted(allowed))})"
        )
    reference = _str(body, "reference").strip()
    if not reference:
        raise FieldError("reference", "missing")
    if (licensee, reference) in state.payment_refs:
        raise FieldError("reference", f"{licensee} already has a payment with reference {reference!r}")


def a_payment_add(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    payment = Payment(
        b["licensee"], date.fromisoformat(b["date"]), Decimal(b["amount"]), b["currency"], b["reference"], ref
    )
    state.payments.append(payment)
    state.payment_refs[(payment.licensee, payment.reference)] = payment


def v_allocation(state: PoolState, body: Body) -> None:
    """An allocation summary (spec 8a): of a known program and period, listing parts already recorded;
    `verify` checks every figure by recomputing it (audit.py)."""
    program = _program(state, _str(body, "program"), "program")
    period = Period.parse(_str(body, "period"))
    if not period.matches(program.period):
        raise FieldError("period", f"program {program.name} allocates by {program.period}")
    corrections.check_period_ended(state, period)
    listed = _get(body, "parts")
    if not isinstance(listed, dict) or set(listed) != {"members", "licensees"}:
        raise FieldError("parts", "must list members and licensees")
    for kind, refs in (("member", listed["members"]), ("licensee", listed["licensees"])):
        if not isinstance(refs, dict):
            raise FieldError("parts", f"{kind}s: must map each {kind} to [seq, h]")
        for name, ref in refs.items():
            info = state.part_info.get(ref[0]) if isinstance(ref, list) and len(ref) == 2 else None
            if info is None or (info.kind, info.name, info.hash) != (kind, name, ref[1]):
                raise FieldError("parts", f"{kind} {name}: {ref!r} is not its part of this allocation")
    inputs = _get(body, "inputs")
    if not isinstance(inputs, dict) or set(inputs) != {"root", "size"}:
        raise FieldError("inputs", "must be the root and size of the inputs' tree")


def v_allocation_part(state: PoolState, body: Body) -> None:
    program = _program(state, _str(body, "program"), "program")
    period = Period.parse(_str(body, "period"))
    if not period.matches(program.period):
        raise FieldError("period", f"program {program.name} allocates by {program.period}")
    if ("member" in body) == ("licensee" in body):
        raise FieldError("member", "a part is of one member or one licensee")
    _member(state, _str(body, "member" if "member" in body else "licensee"), "member")


def a_allocation_part(state: PoolState, e: Entry, ref: Ref) -> None:
    from patentpool import parts

    party = parts.party_of(e.body)
    memo = tuple(e.body.get("open_license_fees", ()))
    state.part_info[e.seq] = PartInfo(party.kind, party.name, ref[1], None, parts.figures_of(e.body), memo)


def a_allocation(state: PoolState, e: Entry, ref: Ref) -> None:
    """A summary: the record keeps its fields, its parts' refs and the allocate JSON's figures."""
    b = e.body
    listed: dict[tuple[str, str], tuple[int, str]] = {}
    members: dict[str, dict[str, str]] = {}
    invoices: dict[str, dict[str, str]] = {}
    memo: list[dict[str, str]] = []
    for kind, refs in (("member", b["parts"]["members"]), ("licensee", b["parts"]["licensees"])):
        for name, (seq, h) in sorted(refs.items()):
            listed[(kind, name)] = (seq, h)
            info = state.part_info.get(seq)
            if info is None:
                continue  # a partial replay (a statement's) reads only the parts it needs
            (members if kind == "member" else invoices)[name] = info.figures
            if kind == "licensee":
                memo += info.memo
    gross = sum(cents_of(m["gross"]) for m in members.values())
    fee = sum(cents_of(m["admin_fee"]) for m in members.values())
    summary = {k: v for k, v in b.items() if k not in ("parts", "inputs")}
    summary.update(
        members=members,
        invoices=invoices,
        admin_fee=format_cents(fee),
        total=format_cents(gross),
        open_license_fees=memo,
    )
    key = (b["program"], b["period"])
    state.allocations.setdefault(key, []).append(AllocationRecord(e.kind, summary, ref, listed))


def v_distribution_add(state: PoolState, body: Body) -> None:
    member = _str(body, "member")
    _member(state, member, "member")
    program = _str(body, "program")
    _program(state, program, "program")
    period = _str(body, "period")
    if state.latest_allocation(program, period) is None:
        raise FieldError("period", f"{program} {period} has not been allocated")
    amount = _term("amount", lambda: parse_money(_str(body, "amount"), field="amount", allow_negative=True))
    if amount == 0:
        raise FieldError("amount", "nothing to distribute")
    _date(body, "date")
    _str(body, "reference")


def a_distribution_add(state: PoolState, e: Entry, ref: Ref) -> None:
    b = e.body
    state.distributions.append(
        Distribution(
            b["member"],
            b["program"],
            b["period"],
            Decimal(b["amount"]),
            date.fromisoformat(b["date"]),
            b["reference"],
            ref,
        )
    )


def _ledger_only(state: PoolState, body: Body) -> None:
    """key.add / key.revoke are checked by the ledger's keyring; the pool state does not change."""


def _no_change(state: PoolState, e: Entry, ref: Ref) -> None:
    return None


@dataclass(frozen=True)
class Kind:
    validate: Callable[[PoolState, Body], None]
    apply: Callable[[PoolState, Entry, Ref], None]


KINDS: dict[str, Kind] = {
    "pool.genesis": Kind(v_genesis, a_genesis),
    "key.add": Kind(_ledger_only, _no_change),
    "key.revoke": Kind(_ledger_only, _no_change),
    "member.add": Kind(v_member_add, a_member_add),
    "member.update": Kind(v_member_update, a_member_update),
    "program.add": Kind(v_program_add, a_program_add),
    "patent.add": Kind(v_patent_add, a_patent_add),
    "patent.status": Kind(v_patent_status, a_patent_status),
    "patent.transfer": Kind(v_patent_transfer, a_patent_transfer),
    "patent.owners": Kind(v_patent_owners, a_patent_owners),
    "openlicense.declare": Kind(v_openlicense_declare, a_openlicense_declare),
    "openlicense.take": Kind(v_openlicense_take, a_openlicense_take),
    "openlicense.withdraw": Kind(v_openlicense_withdraw, a_openlicense_withdraw),
    "crosslicense.add": Kind(v_crosslicense_add, a_crosslicense_add),
    "license.grant": Kind(v_license_grant, a_license_grant),
    "license.direct": Kind(v_license_direct, a_license_direct),
    "report.add": Kind(v_report_add, a_report_add),
    "report.correct": Kind(v_report_correct, a_report_correct),
    "payment.add": Kind(v_payment_add, a_payment_add),
    "allocation.part": Kind(v_allocation_part, a_allocation_part),
    "allocation.run": Kind(v_allocation, a_allocation),
    "allocation.adjust": Kind(v_allocation, a_allocation),
    "distribution.add": Kind(v_distribution_add, a_distribution_add),
    **{kind: Kind(v, a) for kind, (v, a) in corrections.KINDS.items()},
}


def validate(state: PoolState, kind: str, body: Body) -> None:
    rule = KINDS.get(kind)
    if rule is None:
        raise FieldError("kind", f"unknown entry kind {kind!r}")
    rule.validate(state, body)
    corrections.check_facts(state, kind, body)  # future dates, retired members, ended licences


def apply(state: PoolState, entry: Entry, entry_hash: str, *, check: bool = True) -> None:
    """Validate and apply one entry; raises FieldError if the entry is not valid in this state.

    `check=False` skips the validator: for replaying a ledger whose head matches its signed checkpoint before
    a command, where every entry was validated when appended and `verify` re-validates them all.
    """
    if check:
        # A fact is judged "not in the future" against the day it was recorded, so a replay years later
        # gives the same verdict.
        state.today = date.fromisoformat(entry.time[:10])
        try:
            validate(state, entry.kind, entry.body)
        finally:
            state.today = None
    ref = (entry.seq, entry_hash)
    KINDS[entry.kind].apply(state, entry, ref)
    staleness.note_entry(state, entry.kind, entry.body, entry.seq)
    source = entry.body.get("source")
    if isinstance(source, str):
        first, _last = state.sources.get(source, (entry.seq, entry.seq))
        state.sources[source] = (first, entry.seq)
    state.size = entry.seq
