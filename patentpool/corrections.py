"""Corrections and the business events that end things (spec 4a), and the checks every fact gets against
them (spec 9): `entry.void`, `patent.amend`, `license.end`, `crosslicense.end`, `member.retire`,
`program.amend`, future-dated facts and facts about a retired member.

Each kind has one validator and one apply, registered in rules.KINDS with the other kinds, so replay and
`verify` run them like every other rule. Nothing here edits the ledger: a correction is a later signed entry
that names what it corrects and, for a void or an amendment, why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.entry import Entry
from licenses.money import parse_money, parse_rate
from licenses.numbers import check_type
from licenses.schedule import RoyaltySchedule
from licenses.terms import expiry, parse_patent_type
from patentpool import owners, voids
from patentpool.fields import FieldError, parse_date
from patentpool.periods import Period
from patentpool.readers import day as _date
from patentpool.readers import get as _get
from patentpool.readers import member as _member
from patentpool.readers import patent as _patent
from patentpool.readers import program as _program
from patentpool.readers import term as _term

if TYPE_CHECKING:
    from patentpool.patents import Patent
from patentpool.readers import text as _str
from patentpool.state import Patent, PoolState, ProgramTerms, Ref

Body = Mapping[str, Any]

# Never voided: the pool and its keys (keys are revoked), and the money computed or paid out (a void of a
# fact makes an allocation stale and the next `allocate`/`distribute` carries the difference).
UNVOIDABLE = {
    "pool.genesis": "it founds the pool",
    "key.add": "keys are revoked (`key revoke`), never voided",
    "key.revoke": "keys are revoked (`key revoke`), never voided",
    "distribution.add": "money paid out is never voided; the next `distribute` settles any difference",
}
# Entries a void's replay does not re-check: allocations and distributions never rest on a fact (a void
# makes them stale instead), and an earlier void was checked when it was made.
NOT_RECHECKED = ("allocation.", "distribution.", "entry.void")


# --- small body readers (patentpool/readers.py holds the shared ones) -----------------------------------
def _reason(body: Body, *, required: bool) -> None:
    value = body.get("reason")
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        raise FieldError("reason", "missing: say why (--reason TEXT); the ledger keeps it with the entry")


def today(state: PoolState) -> date:
    """The day a fact is judged against: the entry's own day on replay, else today (UTC, as entry times)."""
    return state.today if state.today is not None else datetime.now(UTC).date()


# --- checks every fact gets ---------------------------------------------------------------------------------
# The dates of a fact that say when something happened: recorded only once it has (a day of slack for time
# zones). A licence's or declaration's term may run into the future; a payment, a notice, a status or a
# transfer may not.
HAPPENED = {
    "payment.add": ("date",),
    "distribution.add": ("date",),  # a payout dated ahead would block every real one before that date
    "openlicense.take": ("notice_date",),
    "patent.status": ("effective",),
    "patent.transfer": ("effective",),
    "patent.owners": ("effective",),
}


def _members_and_days(state: PoolState, kind: str, body: Body) -> list[tuple[str, str, date | None]]:
    """(field, member, the day the fact starts for it; None: no day) of the facts a retired member cannot
    get. Payments and distributions are left out: they settle periods before the retirement."""
    if kind == "patent.amend" and "owner" not in body and "owners" not in body:
        return []
    if kind in ("patent.add", "patent.amend"):  # an amendment's owners own it from the start
        if "owners" in body:
            return [("owners", m, None) for m in owners.members(owners.from_body(body["owners"], 1))]
        return [("owner", body["owner"], None)]
    if kind == "patent.owners":
        start = parse_date(body["effective"], "effective")
        return [("owners", m, start) for m in owners.members(owners.from_body(body["owners"], 1))]
    if kind == "patent.transfer":
        return [("to", body["to"], parse_date(body["effective"], "effective"))]
    if kind == "openlicense.take":
        return [("licensee", body["licensee"], parse_date(body["notice_date"], "notice_date"))]
    if kind == "crosslicense.add":
        start = parse_date(body["from"], "from")
        return [("members", m, start) for m in body["members"]]
    if kind in ("license.grant", "license.direct"):
        return [("licensee", body["licensee"], parse_date(body["from"], "from"))]
    if kind in ("report.add", "report.correct"):
        return [("licensee", body["licensee"], Period.parse(body["period"]).start)]
    return []


def check_happened(state: PoolState, day: date, name: str) -> None:
    """A fact is recorded once it has happened (a day of slack for time zones)."""
    now = today(state)
    if day > now + timedelta(days=1):
        raise FieldError(
            name, f"{day} is in the future (today is {now}): a fact is recorded once it has happened"
        )


def check_facts(state: PoolState, kind: str, body: Body) -> None:
    """Spec 9 and 4a, for every kind, after its own validator: no fact dated in the future, no new fact for a
    retired member (reports: `check_report_period`)."""
    for name in HAPPENED.get(kind, ()):
        value = body.get(name)
        if isinstance(value, str):
            check_happened(state, parse_date(value, name), name)
    if state.retired:
        for name, member, starts in _members_and_days(state, kind, body):
            retired = state.retired.get(member)
            if retired is not None and (starts is None or starts >= retired[0]):
                raise FieldError(name, f"member {member!r} retired from {retired[0]} (seq {retired[1][0]})")


def check_period_ended(state: PoolState, period: Period) -> None:
    """An allocation is of a period that has ended: its reports cannot all be in before (spec 9)."""
    if period.end >= today(state):
        raise FieldError(
            "period", f"{period} has not ended (its last day is {period.end}): allocate it once it has"
        )


def check_report_period(state: PoolState, licensee: str, program: str, period: Period) -> None:
    """A report is for a period that has ended, and that starts on or before its licence's end (called by
    rules.report_header, which report imports check row by row)."""
    if period.end >= today(state):
        raise FieldError(
            "period", f"{period} has not ended (its last day is {period.end}): report it once it has"
        )
    grant = state.grants.get((licensee, program))
    if grant is not None and grant.end is not None and period.start > grant.end:
        raise FieldError(
            "period", f"{period} starts after {licensee}'s {program} licence ended ({grant.end})"
        )


# --- entry.void ---------------------------------------------------------------------------------------------
def _target_text(ranges: voids.Ranges, kinds: dict[int, str]) -> str:
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        seq = ranges[0][0]
        return f"seq {seq} ({kinds[seq]})"
    return f"seqs {voids.text(ranges)}"


def v_entry_void(state: PoolState, body: Body) -> None:
    ranges = voids.body_ranges(_get(body, "seqs"))
    _reason(body, required=True)
    if state.history is None:
        raise FieldError("seqs", "a void is checked against the stored ledger, which this state cannot read")
    if ranges[-1][1] > state.size:
        raise FieldError("seqs", f"seq {ranges[-1][1]} does not exist (the ledger has {state.size} entries)")
    kinds: dict[int, str] = {}
    for first, last in ranges:
        for seq, kind, _raw, _h in state.history(first, last):
            why = UNVOIDABLE.get(kind) or (
                "allocations are never voided; a void of what they read makes them stale, and `allocate` "
                "brings them up to date"
                if kind.startswith("allocation.")
                else None
            )
            if why is not None:
                raise FieldError("seqs", f"seq {seq} ({kind}) cannot be voided: {why}")
            if seq in state.voided:
                raise FieldError("seqs", f"seq {seq} ({kind}) is already void (seq {state.voided[seq]})")
            kinds[seq] = kind
    new_seq = state.size + 1
    all_voids = {**state.voids, new_seq: ranges}
    now_voided = voids.effective(all_voids)
    changed = set(now_voided) ^ set(state.voided)
    # Replay without the voided entries, re-checking every later fact: one that fails rests on them.
    candidate = replay_voided(state, all_voids, state.size, check_from=min(changed), what=(ranges, kinds))
    state.void_candidate = (new_seq, id(body), candidate)


def replay_voided(
    state: PoolState,
    all_voids: dict[int, voids.Ranges],
    until: int,
    check_from: int | None,
    what: tuple[voids.Ranges, dict[int, str]] | None = None,
) -> PoolState:
    """The state of the entries up to `until` with the void entries `all_voids` in force: a replay from
    genesis that skips every voided entry; from seq `check_from` on, each fact not void is validated again
    (`what` is the new void, named in the error if one fails)."""
    from ledger.entry import decode_trusted
    from patentpool import rules

    assert state.history is not None
    voided = voids.effective(all_voids)
    new = PoolState()
    new.voids = {seq: ranges for seq, ranges in all_voids.items() if seq <= until}
    new.voided = {seq: by for seq, by in voided.items() if by <= until + 1}
    new.history = state.history
    new.replaying = True
    for seq, kind, raw, h in state.history(1, until):
        if seq in voided:
            new.size = seq
            continue
        entry = decode_trusted(raw)
        check = check_from is not None and seq >= check_from and not kind.startswith(NOT_RECHECKED)
        try:
            rules.apply(new, entry, h.hex(), check=check)
        except (FieldError, KeyError, ValueError) as exc:
            if what is None or not check:
                raise
            target = _target_text(*what)
            them = "it" if target.startswith("seq ") else "them"
            raise FieldError(
                "seqs", f"{target} cannot be voided: seq {seq} ({kind}) rests on {them} ({exc})"
            ) from exc
    new.replaying = False
    new.size = until
    return new


def a_entry_void(state: PoolState, e: Entry, ref: Ref) -> None:
    ranges = voids.body_ranges(e.body["seqs"])
    if state.replaying:  # the replay already skips what this voids
        state.voids[e.seq] = ranges
        return
    candidate = state.void_candidate
    if candidate is not None and candidate[0] == e.seq and candidate[1] == id(e.body):
        new = candidate[2]
    else:
        new = replay_voided(state, {**state.voids, e.seq: ranges}, e.seq - 1, None)
    state.become(new)
    state.voids[e.seq] = ranges
    state.void_candidate = None


# --- patent.amend -------------------------------------------------------------------------------------------
AMENDABLE = ("filed", "granted", "expires", "type", "title", "weight", "program", "owner", "owners")


def v_patent_amend(state: PoolState, body: Body) -> None:
    patent = _patent(state, body)
    _reason(body, required=True)
    facts = _amended_facts(body)
    kind = patent.type
    if "type" in facts:
        kind = _term("type", lambda: parse_patent_type(_str(body, "type")))
        _term("type", lambda: check_type(patent.number, kind))
    filed, granted, expires = _amended_dates(state, patent, body, facts, kind)
    _check_recorded(state, patent, kind, filed, expires)
    if "program" in facts and facts["program"] is not None:
        _program(state, _str(body, "program"), "program")
    if "title" in facts and facts["title"] is not None:
        _str(body, "title")
    weight = patent.weight
    if "weight" in facts:
        weight = _term("weight", lambda: parse_rate(_str(body, "weight"), field="weight", strict=True))
        if weight <= 0:
            raise FieldError("weight", "must be more than 0")
    owners_now = _amended_owners(state, patent, body, facts)
    now = {
        "owner": owners_now != patent.owner,
        "owners": owners_now != patent.owner,
        "filed": filed != patent.filed,
        "granted": granted != patent.granted,
        "expires": expires != patent.expires,
        "type": kind != patent.type,
        "weight": weight != patent.weight,
        "program": "program" in facts and facts["program"] != patent.program,
        "title": "title" in facts and not state.patents.title_is(patent.key, facts["title"]),
    }
    if not any(now[name] for name in facts):
        raise FieldError("number", f"the amendment changes nothing: {patent.number} already has these facts")


def _amended_owners(state: PoolState, patent: Patent, body: Body, facts: dict[str, Any]) -> str:
    """The owners the patent was added with, as amended (spelled by `owners.spell`): licensor members, and
    only while no later owner change rests on the owners it was added with."""
    from patentpool import rules

    if "owner" not in facts and "owners" not in facts:
        return patent.owner
    if patent.transfers:
        effective, _owner, ref = patent.transfers[0]
        raise FieldError(
            "owners",
            f"{patent.number} ({patent.country}) changed owners on {effective} (seq {ref[0]}): an amendment "
            "corrects the owners it was added with; void that change first, or record owners from a date "
            "with `patent owners`",
        )
    return owners.spell(rules.owners_of(state, body))


def _amended_facts(body: Body) -> dict[str, Any]:
    """The facts a `patent.amend` body changes: at least one, and nothing `patent amend` does not correct."""
    known = {"number", "country", "reason", "expires_given", *AMENDABLE}
    unknown = sorted(set(body) - known)
    if unknown:
        raise FieldError(unknown[0], "not a fact `patent amend` corrects")
    facts = {name: body[name] for name in AMENDABLE if name in body}
    if not facts:
        raise FieldError("number", "nothing to amend: give --filed, --granted, --expires, --type, ... ")
    return facts


def _amended_dates(
    state: PoolState, patent: Patent, body: Body, facts: Mapping[str, Any], kind: str
) -> tuple[date, date | None, date]:
    """The filing, grant and expiry dates after the amendment, in order; a changed term needs its expiry."""
    filed = _date(body, "filed") if "filed" in facts else patent.filed
    granted = patent.granted
    if "granted" in facts:
        granted = None if body["granted"] is None else _date(body, "granted")
    if granted is not None and granted < filed:
        raise FieldError("granted", f"{granted} is before the filing date {filed}")
    expires = patent.expires
    if "expires" in facts:
        expires = _date(body, "expires")
        given = _get(body, "expires_given")
        if not isinstance(given, bool):
            raise FieldError("expires_given", "must be true or false")
        if not given:
            computed = _term("expires", lambda: expiry(kind, patent.country, filed, None))
            if computed != expires:
                raise FieldError("expires", f"{expires} is not the term's end {computed}")
    elif "expires_given" in body:
        raise FieldError("expires_given", "only with expires")
    elif ("filed" in facts or "type" in facts) and not state.patents.expires_given(patent.key):
        computed = _term("expires", lambda: expiry(kind, patent.country, filed, None))
        raise FieldError("expires", f"missing: the term's end from the amended facts is {computed}")
    if expires <= filed:
        raise FieldError("expires", f"{expires} is not after the filing date {filed}")
    return filed, granted, expires


def _check_recorded(state: PoolState, patent: Patent, kind: str, filed: date, expires: date) -> None:
    """The entries already recorded on the patent must stay valid with the amended facts."""
    for decl in state.declarations.get(patent.key, []):
        if decl.end >= expires:
            raise FieldError(
                "expires", f"{expires} would end the patent before its open licence (seq {decl.seq}) ends"
            )
        if kind in ("utility", "design") and not decl.evaluation_report:
            raise FieldError(
                "type", f"its open licence (seq {decl.seq}) has no evaluation report, which a {kind} needs"
            )
    for effective, _what, event in (*patent.statuses, *patent.transfers):
        if effective < filed:
            raise FieldError(
                "filed", f"{filed} is after the effective date {effective} of seq {event[0]} on this patent"
            )


def a_patent_amend(state: PoolState, e: Entry, ref: Ref) -> None:
    facts = {name: e.body[name] for name in (*AMENDABLE, "expires_given") if name in e.body}
    state.patents.amend((e.body["number"], e.body["country"]), ref, facts)


# --- license.end, crosslicense.end --------------------------------------------------------------------------
def v_license_end(state: PoolState, body: Body) -> None:
    licensee = _str(body, "licensee")
    program = _str(body, "program")
    _reason(body, required=False)
    grant = state.grants.get((licensee, program))
    if grant is None:
        raise FieldError("licensee", f"{licensee} holds no {program} licence")
    end = _date(body, "to")
    if grant.end is not None:
        raise FieldError("licensee", f"{licensee}'s {program} licence already ended on {grant.end}")
    if end < grant.start:
        raise FieldError("to", f"{end} is before the licence starts ({grant.start})")
    for line in state.reports.values():
        if line.licensee == licensee and line.program == program and Period.parse(line.period).start > end:
            raise FieldError(
                "to",
                f"{licensee} already reported {line.period} (seq {line.ref[0]}), which starts after {end}",
            )


def a_license_end(state: PoolState, e: Entry, ref: Ref) -> None:
    key = (e.body["licensee"], e.body["program"])
    grant = state.grants[key]
    state.grants[key] = replace(grant, end=date.fromisoformat(e.body["to"]))
    state.ends[grant.seq] = ref


def v_crosslicense_end(state: PoolState, body: Body) -> None:
    seq = _get(body, "seq")
    _reason(body, required=False)
    found = [c for c in state.crosslicenses if c.seq == seq]
    if not found or isinstance(seq, bool):
        raise FieldError("seq", f"no cross-licence at seq {seq}")
    cross = found[0]
    end = _date(body, "to")
    if seq in state.ends:
        raise FieldError("seq", f"the cross-licence already ended on {cross.end} (seq {state.ends[seq][0]})")
    if end < cross.start:
        raise FieldError("to", f"{end} is before the cross-licence starts ({cross.start})")
    if cross.end is not None and end >= cross.end:
        raise FieldError("to", f"the cross-licence already ends on {cross.end}")


def a_crosslicense_end(state: PoolState, e: Entry, ref: Ref) -> None:
    seq = e.body["seq"]
    end = date.fromisoformat(e.body["to"])
    state.crosslicenses = [replace(c, end=end) if c.seq == seq else c for c in state.crosslicenses]
    state.ends[seq] = ref


# --- member.retire ------------------------------------------------------------------------------------------
def running_licences(state: PoolState, member: str, day: date) -> list[str]:
    """The licences the member holds that still run on or after `day`, spelled for an error."""
    out = []
    for (licensee, program), grant in sorted(state.grants.items()):
        if licensee == member and (grant.end is None or grant.end >= day):
            out.append(f"pool licence {program} (seq {grant.seq})")
    for direct in state.directs:
        if direct.licensee == member and (direct.end is None or direct.end >= day):
            out.append(f"direct licence of {direct.patent[0]} (seq {direct.seq})")
    for cross in state.crosslicenses:
        if member in cross.members and (cross.end is None or cross.end >= day):
            out.append(f"cross-licence seq {cross.seq}")
    for take in state.takes:
        if take.licensee == member and state.declaration(take.declaration_seq).end >= day:
            out.append(f"open licence of {take.patent[0]} (seq {take.seq})")
    return out


def owned_patents(state: PoolState, member: str) -> list[str]:
    """The patents the member owns after every recorded transfer, as `NUMBER (CC)`."""
    if state.patents.first_owned(member) is None:  # the common case, found by column
        return []
    return [f"{p.number} ({p.country})" for p in state.patents.values() if p.owned_by(member, date.max)]


def v_member_retire(state: PoolState, body: Body) -> None:
    member = _member(state, _str(body, "id"), "id")
    effective = _date(body, "effective")
    _reason(body, required=False)
    if member.id in state.retired:
        day, by = state.retired[member.id]
        raise FieldError("id", f"member {member.id!r} already retired from {day} (seq {by[0]})")
    owned = owned_patents(state, member.id)
    running = running_licences(state, member.id, effective)
    if owned or running:
        parts = []
        if owned:
            more = f" and {len(owned) - 10} more" if len(owned) > 10 else ""
            parts.append(f"it owns {', '.join(owned[:10])}{more} (transfer them first)")
        if running:
            parts.append(f"it holds {', '.join(running)} running on {effective} (end them first)")
        raise FieldError("id", f"member {member.id!r} cannot retire: {'; '.join(parts)}")


def a_member_retire(state: PoolState, e: Entry, ref: Ref) -> None:
    state.retired[e.body["id"]] = (date.fromisoformat(e.body["effective"]), ref)


# --- program.amend ------------------------------------------------------------------------------------------
def _terms(body: Body) -> tuple[RoyaltySchedule, Decimal]:
    cap = body.get("annual_cap")
    if cap is not None:
        _term("annual_cap", lambda: parse_money(str(cap), field="annual_cap"))
    schedule = _term("tiers", lambda: RoyaltySchedule.parse(_str(body, "tiers"), cap))
    fee = _term("admin_fee", lambda: parse_rate(_str(body, "admin_fee"), field="admin_fee", strict=True))
    if fee > 100:
        raise FieldError("admin_fee", "more than 100%")
    return schedule, fee


def v_program_amend(state: PoolState, body: Body) -> None:
    program = _program(state, _str(body, "name"), "name")
    period = Period.parse(_str(body, "from_period"), "from_period")
    if not period.matches(program.period):
        raise FieldError("from_period", f"program {program.name} runs by {program.period}, not {period}")
    _reason(body, required=False)
    schedule, fee = _terms(body)
    for terms in program.amendments:
        if terms.start > period.start:
            raise FieldError(
                "from_period",
                f"an amendment from {terms.from_period} is already recorded (seq {terms.ref[0]}): "
                "amendments go in period order",
            )
    before, before_fee = program.terms_for(period.label)
    if (schedule.tiers.canonical(), schedule.cap_text(), fee) == (
        before.tiers.canonical(),
        before.cap_text(),
        before_fee,
    ):
        raise FieldError("from_period", f"the amendment changes nothing: these are the terms of {period}")


def a_program_amend(state: PoolState, e: Entry, ref: Ref) -> None:
    program = state.programs[e.body["name"]]
    period = Period.parse(e.body["from_period"])
    schedule, fee = _terms(e.body)
    terms = ProgramTerms(period.start, period.label, schedule, fee, ref)
    # A second amendment from the same period replaces the first from then on.
    kept = tuple(t for t in program.amendments if t.start != period.start)
    state.programs[program.name] = replace(program, amendments=(*kept, terms))


KINDS: dict[str, tuple[Callable[[PoolState, Body], None], Callable[[PoolState, Entry, Ref], None]]] = {
    "entry.void": (v_entry_void, a_entry_void),
    "patent.amend": (v_patent_amend, a_patent_amend),
    "license.end": (v_license_end, a_license_end),
    "crosslicense.end": (v_crosslicense_end, a_crosslicense_end),
    "member.retire": (v_member_retire, a_member_retire),
    "program.amend": (v_program_amend, a_program_amend),
}


# --- bodies from what a user typed (CLI options) ----------------------------------------------------------
def reason_text(value: str | None, *, required: bool) -> str | None:
    """The `--reason` of a correction: required for a void and an amendment (spec 9)."""
    from patentpool import fields

    if value is None or not value.strip():
        if required:
            raise FieldError("reason", "missing: say why (--reason TEXT); the ledger keeps it with the entry")
        return None
    return fields.text(value, "reason", max_len=2000)


def _none_or(value: str, parse: Callable[[str], Any]) -> Any:
    """`none` (or `-`) clears an optional fact; anything else is parsed."""
    return None if value.strip().lower() in ("none", "-") else parse(value)


def amended_facts(options: Mapping[str, str | None]) -> Mapping[str, str | None]:
    """`patent amend`'s options (filed, granted, expires, type, title, weight, program, owners), refused if
    none is given."""
    if all(value is None for value in options.values()):
        raise FieldError(
            "number", "nothing to amend: give --filed, --granted, --expires, --type, --title, --weight..."
        )
    return options


def patent_amend_body(
    state: PoolState, key: tuple[str, str], options: Mapping[str, str | None], reason: str
) -> dict[str, Any]:
    """A patent.amend body from `patent amend` options (the facts given, as `patent add` spells them). When
    the filing date or type changes and the expiry was computed from the term, the new term's end is
    recomputed and stated; an expiry that was given stays unless --expires gives another."""
    from licenses.money import format_rate
    from patentpool import fields

    patent = state.patents[key]
    body: dict[str, Any] = {"number": key[0], "country": key[1], "reason": reason}
    given = {name: value for name, value in options.items() if value is not None}
    if "filed" in given:
        body["filed"] = fields.parse_date(given["filed"], "filed").isoformat()
    if "granted" in given:
        body["granted"] = _none_or(given["granted"], lambda v: fields.parse_date(v, "granted").isoformat())
    if "type" in given:
        body["type"] = _term("type", lambda: parse_patent_type(given["type"]))
    if "title" in given:
        body["title"] = _none_or(given["title"], lambda v: fields.text(v, "title"))
    if "weight" in given:
        body["weight"] = format_rate(_term("weight", lambda: parse_rate(given["weight"], field="weight")))
    if "program" in given:
        body["program"] = _none_or(given["program"], lambda v: fields.identifier(v, "program"))
    if "owners" in given:
        from patentpool import bodies

        body.update(bodies.owner_fields(given["owners"], "owners"))
    if "expires" in given:
        body["expires"] = fields.parse_date(given["expires"], "expires").isoformat()
        body["expires_given"] = True
    elif ("filed" in body or "type" in body) and not state.patents.expires_given(key):
        filed = date.fromisoformat(body["filed"]) if "filed" in body else patent.filed
        kind = body.get("type", patent.type)
        body["expires"] = _term("expires", lambda: expiry(kind, key[1], filed, None)).isoformat()
        body["expires_given"] = False
    return body


def program_amend_body(
    state: PoolState,
    name: str,
    from_period: str,
    tiers: str | None,
    annual_cap: str | None,
    admin_fee: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """A program.amend body: the whole terms from the period on, those not given kept from the terms in
    force for that period (`--annual-cap none` removes the cap)."""
    from patentpool import bodies, fields

    program = _program(state, fields.identifier(name, "name"), "name")
    period = Period.parse(from_period, "from_period")
    if tiers is None and annual_cap is None and admin_fee is None:
        raise FieldError("tiers", "nothing to amend: give --tiers, --annual-cap or --admin-fee")
    schedule, fee = program.terms_for(period.label)
    cap = schedule.cap_text()
    if annual_cap is not None:
        cap = _none_or(annual_cap, lambda v: bodies.money(v, "annual_cap"))
    new = _term("tiers", lambda: RoyaltySchedule.parse(tiers or schedule.tiers.canonical(), cap))
    from licenses.money import format_rate

    return {
        "name": program.name,
        "from_period": period.label,
        "tiers": new.tiers.canonical(),
        "annual_cap": new.cap_text(),
        "admin_fee": bodies.percent(admin_fee, "admin_fee") if admin_fee is not None else format_rate(fee),
        "reason": reason,
    }
