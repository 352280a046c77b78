"""Stale allocations and re-runs (spec section 6, rule 13): the one home of that rule.

An allocation is stale when allocating its period again from the ledger as it is now would give other
figures. Recomputing an allocation of a large pool takes seconds, so it is done only when an entry that could
change the figures was appended after the allocation: a fact other than money and members, or a report of
the program for the period or an earlier period of its year (later periods never move its tiers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from ledger.entry import decode_trusted
from patentpool import allocation, parts
from patentpool.errors import PoolError
from patentpool.periods import Period
from patentpool.state import AllocationRecord, PoolState
from patentpool.subjects import REPORT_KINDS

# Entries that never change an allocation's figures: appending one leaves every allocation fresh.
NEUTRAL_KINDS = frozenset(
    {
        "pool.genesis",
        "key.add",
        "key.revoke",
        "member.add",
        "member.update",
        "program.add",  # a new program changes no other program's allocation
        "payment.add",
        "allocation.part",
        "allocation.run",
        "allocation.adjust",
        "distribution.add",
    }
)


class StaleError(PoolError, ValueError):
    """An allocation that the ledger no longer supports; the message names the command that mends it."""


def note_entry(state: PoolState, kind: str, body: Any, seq: int) -> None:
    """Remember the last entry that could change an allocation (called for every entry replayed)."""
    if kind in NEUTRAL_KINDS:
        return
    if kind in REPORT_KINDS:
        key = (body["program"], body["period"])
        state.report_seqs[key] = seq
    else:
        state.fact_seq = seq


def may_have_changed(state: PoolState, record: AllocationRecord) -> bool:
    """Whether any entry appended after the allocation could change its figures."""
    seq = record.ref[0]
    if state.fact_seq > seq:
        return True
    program, label = record.body["program"], record.body["period"]
    period = Period.parse(label)
    inputs = {label, *(p.label for p in period.earlier_in_year())}
    return any(s > seq for (prog, per), s in state.report_seqs.items() if prog == program and per in inputs)


def reports_hint(state: PoolState, program: str, periods: set[str]) -> str | None:
    """After reports of `program` for `periods` were appended: the earliest allocated period of the program
    whose inputs they are (the period itself, or a later one of its year: its tiers run on year-to-date
    units), with the command that re-runs it and every later one; None if no allocation reads them."""
    affected = []
    for (prog, label), records in state.allocations.items():
        per = Period.parse(label)
        inputs = {label, *(p.label for p in per.earlier_in_year())}
        if prog == program and inputs & periods:
            affected.append((per.end, label, records[-1].ref[0]))
    if not affected:
        return None
    _end, first, seq = min(affected)
    return (
        f"note: {program} {first} is allocated (seq {seq}) and reads these reports: `patentpool allocate "
        f"--program {program} --period {first}` re-runs it and its later periods, appending only what changed"
    )


def earlier_summaries(state: PoolState, program: str, period: Period) -> dict[str, list[Any]]:
    """The [seq, h] of the latest summary of each earlier period of the year (licensee parts rest on them)."""
    out = {}
    for earlier in period.earlier_in_year():
        record = state.latest_allocation(program, earlier.label)
        if record is not None:
            out[earlier.label] = [record.ref[0], record.ref[1]]
    return out


def previous_parts(
    state: PoolState, record: AllocationRecord | None
) -> dict[parts.Party, parts.Previous] | None:
    if record is None:
        return None
    out = {}
    for (kind, name), (seq, h) in record.parts.items():
        info = state.part_info[seq]
        if info.digest is None:
            info = state.part_info[seq] = info._replace(digest=parts.digest(_part_body(state, seq)))
        assert info.digest is not None
        out[parts.Party(kind, name)] = parts.Previous([seq, h], info.digest, info.figures)
    return out


def _part_body(state: PoolState, seq: int) -> dict[str, Any]:
    """A recorded part's body: from the ledger (a command's state) or the entries verify has checked."""
    if state.load_body is not None:
        return state.entry_body(seq)
    if state.history is not None:
        for _seq, _kind, raw, _h in state.history(seq, seq):
            return dict(decode_trusted(raw).body)
    raise RuntimeError(f"seq {seq}: no way to read the part this re-run compares with")


def _summary_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in ("parts", "inputs", "supersedes")}


class Computed(NamedTuple):
    """An allocation computed now, as the parts it would append and the summary it would record."""

    body: dict[str, Any]
    new: list[dict[str, Any]]
    kept: dict[parts.Party, list[Any]]
    summary: dict[str, Any]  # with the kept parts only; the new ones are listed once appended

    @property
    def unchanged(self) -> bool:
        return not self.new


def compute(state: PoolState, program: str, period: Period) -> Computed:
    body = allocation.allocate(state, program, period, shares=False)  # parts come from its share groups
    record = state.latest_allocation(program, period.label)
    new, kept = parts.plan(body, earlier_summaries(state, program, period), previous_parts(state, record))
    return Computed(body, new, kept, parts.summary(body, kept))


def is_stale(state: PoolState, record: AllocationRecord) -> bool:
    if not may_have_changed(state, record):
        return False
    now = compute(state, record.body["program"], Period.parse(record.body["period"]))
    fields_now = _summary_fields(now.summary)
    fields_then = {k: v for k, v in _summary_fields(record.body).items() if k in fields_now}
    return bool(now.new) or fields_now != fields_then


def stale_message(record: AllocationRecord, earliest: AllocationRecord | None = None) -> str:
    """One line naming the stale allocation and the command that mends it: `allocate` of the earliest stale
    period of the program, which re-runs every later one (`run`)."""
    program, period = record.body["program"], record.body["period"]
    first = earliest.body["period"] if earliest is not None else period
    also = "" if first == period else f" (it re-runs {period} too)"
    return (
        f"the allocation of {program} {period} (seq {record.ref[0]}) is stale: entries appended since change "
        f"its figures; run `patentpool allocate --program {program} --period {first}`{also}"
    )


def refuse_stale(state: PoolState, period: Period, program: str | None, earlier: bool = False) -> None:
    """Rule 13: invoices, statements and payouts rest only on allocations the ledger still gives. With
    `earlier` (a payout: payments are applied to the oldest invoices first, rule 12) every allocation of the
    program up to `period` must be fresh too. The message names the earliest stale period of the program."""
    for (prog, per), records in sorted(state.allocations.items()):
        if program is not None and prog != program:
            continue
        end = Period.parse(per).end
        if (per == period.label or (earlier and end < period.end)) and is_stale(state, records[-1]):
            raise StaleError(stale_message(records[-1], _earliest_stale(state, prog, end)))


def _earliest_stale(state: PoolState, program: str, until: date) -> AllocationRecord | None:
    ordered = sorted(
        (Period.parse(per).end, records[-1])
        for (prog, per), records in state.allocations.items()
        if prog == program
    )
    return next((record for end, record in ordered if end <= until and is_stale(state, record)), None)


def stale_allocations(state: PoolState) -> list[AllocationRecord]:
    """Every allocation that is stale now (for `reconcile`)."""
    return [
        records[-1] for _key, records in sorted(state.allocations.items()) if is_stale(state, records[-1])
    ]


@dataclass(frozen=True)
class Step:
    """One period of an `allocate` run: what was (or would be) appended and what changed."""

    period: str
    kind: str | None  # allocation.run | allocation.adjust | None (nothing changed)
    result: dict[str, Any]  # the allocate JSON (spec 7)
    changes: dict[parts.Party, Any]  # party -> deltas
    previous: int | None = None  # the seq of the summary it re-runs


Append = Callable[[str, dict[str, Any]], tuple[int, str]]


def run(state: PoolState, program: str, period: Period, append: Append | None) -> list[Step]:
    """Rule 13: allocate `period`, then every later period of the program already allocated, in order. Each
    appends its changed parts and a summary through `append` (None: a dry run, nothing appended), before the
    next period is computed: a later period's licensee parts rest on the earlier summaries of its year."""
    from patentpool import corrections

    corrections.check_period_ended(state, period)
    later = sorted(
        (Period.parse(per) for (prog, per) in state.allocations if prog == program),
        key=lambda p: p.end,
    )
    steps = []
    for per in [period] + [p for p in later if p.end > period.end]:
        record = state.latest_allocation(program, per.label)
        now = compute(state, program, per)
        result = allocation.result_json(now.body)
        fields_changed = record is not None and _summary_fields(now.summary) != {
            k: v for k, v in _summary_fields(record.body).items() if k in _summary_fields(now.summary)
        }
        if record is not None and now.unchanged and not fields_changed:
            steps.append(Step(per.label, None, result, {}, record.ref[0]))
            continue
        kind = "allocation.run" if record is None else "allocation.adjust"
        changes = {parts.party_of(p): p["deltas"] for p in now.new if "deltas" in p}
        steps.append(Step(per.label, kind, result, changes, None if record is None else record.ref[0]))
        if append is not None:
            refs = dict(now.kept)
            for part in now.new:
                refs[parts.party_of(part)] = list(append(parts.PART, part))
            summary = parts.summary(now.body, refs)
            if record is not None:
                summary["supersedes"] = record.ref[0]
            append(kind, summary)
    return steps


def describe(step: Step, program: str) -> str:
    """One line saying what a step changed, per member and licensee."""
    if step.kind == "allocation.run":
        return f"{program} {step.period}: allocation.run"
    if step.kind is None:
        seq = step.previous
        return f"{program} {step.period} already allocated at seq {seq} with these figures: nothing appended"
    shown = []
    for party, deltas in sorted(step.changes.items()):
        if all(v == "0.00" for v in deltas.values()):
            continue  # a part re-stated on the year's new summaries, its figures unchanged
        if party.kind == "member":
            shown.append(f"member {party.name} gross {deltas['gross']}, net {deltas['net']}")
        else:
            shown.append(f"licensee {party.name} due {deltas['due']}")
    changed = "; ".join(shown) or "parts re-stated on the year's new summaries"
    return f"{program} {step.period}: inputs changed since seq {step.previous}: allocation.adjust: {changed}"
