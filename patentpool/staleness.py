"""Stale allocations and re-runs (spec section 6, rule 13): the one home of that rule.

An allocation is stale when allocating its period again from the ledger as it is now would give other
figures. Recomputing an allocation of a large pool takes seconds, so it is done only when an entry that could
change the figures was appended after the allocation: a fact other than money and members, or a report of
the program for the period or an earlier period of its year (later periods never move its tiers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patentpool import allocation
from patentpool.periods import Period
from patentpool.state import AllocationRecord, PoolState

# Entries that never change an allocation's figures: appending one leaves every allocation fresh.
NEUTRAL_KINDS = frozenset(
    {
        "pool.genesis",
        "key.add",
        "key.revoke",
        "member.add",
        "member.update",
        "payment.add",
        "allocation.part",
        "allocation.run",
        "allocation.adjust",
        "distribution.add",
    }
)
REPORT_KINDS = frozenset({"report.add", "report.correct"})


class StaleError(ValueError):
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


def recompute(state: PoolState, program: str, period: Period) -> dict[str, Any]:
    return allocation.allocate(state, program, period)


def is_stale(state: PoolState, record: AllocationRecord) -> bool:
    if not may_have_changed(state, record):
        return False
    fresh = recompute(state, record.body["program"], Period.parse(record.body["period"]))
    return allocation.figures(fresh) != allocation.figures(state.allocation_body(record))


def stale_message(record: AllocationRecord) -> str:
    program, period = record.body["program"], record.body["period"]
    return (
        f"the allocation of {program} {period} (seq {record.ref[0]}) is stale: entries appended since change "
        f"its figures; run `patentpool allocate --program {program} --period {period}`"
    )


def refuse_stale(state: PoolState, period: Period, program: str | None) -> None:
    """Rule 13: invoices, statements and payouts rest only on allocations the ledger still gives."""
    for (prog, per), records in sorted(state.allocations.items()):
        if per == period.label and (program is None or prog == program) and is_stale(state, records[-1]):
            raise StaleError(stale_message(records[-1]))


def stale_allocations(state: PoolState) -> list[AllocationRecord]:
    """Every allocation that is stale now (for `reconcile`)."""
    return [
        records[-1] for _key, records in sorted(state.allocations.items()) if is_stale(state, records[-1])
    ]


@dataclass(frozen=True)
class Step:
    """One period of an `allocate` run: what to append (kind None: nothing changed) and what changed."""

    period: str
    kind: str | None
    body: dict[str, Any]
    changes: dict[str, Any]
    previous: int | None = None  # the seq of the allocation it re-runs


def plan(state: PoolState, program: str, period: Period) -> list[Step]:
    """Rule 13: allocate `period`, then every later period of the program already allocated, in order;
    each appends `allocation.run` (first time), `allocation.adjust` (figures changed) or nothing."""
    later = sorted(
        (Period.parse(per) for (prog, per) in state.allocations if prog == program),
        key=lambda p: p.end,
    )
    periods = [period] + [p for p in later if p.end > period.end]
    steps = []
    for per in periods:
        body = allocation.allocate(state, program, per)
        latest = state.latest_allocation(program, per.label)
        if latest is None:
            steps.append(Step(per.label, "allocation.run", body, {}))
            continue
        previous = state.allocation_body(latest)
        if allocation.figures(previous) == allocation.figures(body):
            steps.append(Step(per.label, None, body, {}, latest.ref[0]))
            continue
        changes = allocation.deltas(previous, body)
        adjust = {**body, "supersedes": latest.ref[0], "deltas": changes}
        steps.append(Step(per.label, "allocation.adjust", adjust, changes, latest.ref[0]))
    return steps


def describe(step: Step, program: str) -> str:
    """One line saying what a step changed, per member and licensee."""
    if step.kind == "allocation.run":
        return f"{program} {step.period}: allocation.run"
    if step.kind is None:
        seq = step.previous
        return f"{program} {step.period} already allocated at seq {seq} with these figures: nothing appended"
    parts = [
        f"member {name} gross {row['gross']}, net {row['net']}"
        for name, row in step.changes["members"].items()
    ]
    parts += [f"licensee {name} due {row['due']}" for name, row in step.changes["invoices"].items()]
    changed = "; ".join(parts) or "memo lines or detail only"
    return f"{program} {step.period}: inputs changed since seq {step.previous}: allocation.adjust: {changed}"
