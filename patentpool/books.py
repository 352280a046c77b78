"""Invoices, statements, reconciliation and distributions, read from the allocations in the state.

Pure functions of the replayed state: the CLI renders what they return.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from licenses.money import format_money, from_cents
from patentpool import cash, parts, staleness
from patentpool.allocation import CREDIT
from patentpool.errors import PoolError
from patentpool.fields import did_you_mean
from patentpool.periods import Period
from patentpool.state import AllocationRecord, PoolState

PAYMENT_TERM_DAYS = cash.PAYMENT_TERM_DAYS


class BooksError(PoolError, ValueError):
    pass


def unknown_member(name: str, known: Iterable[str]) -> BooksError:
    """The refusal of a statement or invoice for an id that is no member, with spec 9's hint."""
    return BooksError(f"unknown member {name!r}{did_you_mean(name, known)}")


def _m(text: str) -> Decimal:
    return Decimal(text)


def records_for(state: PoolState, period: Period, program: str | None) -> list[AllocationRecord]:
    """The latest allocation of each program allocated for `period` (one program if named)."""
    found = [
        records[-1]
        for (prog, per), records in sorted(state.allocations.items())
        if per == period.label and (program is None or prog == program)
    ]
    if not found:
        what = f"program {program} " if program else ""
        raise BooksError(f"{what}period {period} has not been allocated: run `patentpool allocate` first")
    return found


def allocations_for(
    state: PoolState, period: Period, program: str | None, *, full: bool = False
) -> list[dict[str, Any]]:
    """The latest allocation body of each program allocated for `period` (one program if named); `full`
    loads the whole body (shares, licensees, countries) from the ledger, else the figures only."""
    found = []
    for (prog, per), records in sorted(state.allocations.items()):
        if per == period.label and (program is None or prog == program):
            found.append(state.allocation_body(records[-1]) if full else records[-1].body)
    if not found:
        what = f"program {program} " if program else ""
        raise BooksError(f"{what}period {period} has not been allocated: run `patentpool allocate` first")
    return found


def _one_currency(bodies: list[dict[str, Any]]) -> str:
    currencies = {b["currency"] for b in bodies}
    if len(currencies) > 1:
        raise BooksError("the programs of this period use different currencies: give --program")
    return str(currencies.pop())


def invoice(state: PoolState, licensee: str, period: Period, program: str | None) -> dict[str, Any]:
    if licensee not in state.members:
        raise unknown_member(licensee, state.members)
    bodies = [b for b in allocations_for(state, period, program) if licensee in b["invoices"]]
    if not bodies:
        raise BooksError(f"{licensee} has no invoice for {period}")
    currency = _one_currency(bodies)
    total = {"royalty": Decimal(0), "credit": Decimal(0), "due": Decimal(0)}
    fees = []
    programs = []
    for body in bodies:
        for key in total:
            total[key] += _m(body["invoices"][licensee][key])
        fees += [f for f in body["open_license_fees"] if f["licensee"] == licensee]
        programs.append(body["program"])
    return {
        "licensee": licensee,
        "period": period.label,
        "currency": currency,
        "programs": programs,
        "royalty": format_money(total["royalty"]),
        "credit": format_money(total["credit"]),
        "due": format_money(total["due"]),
        "due_date": (period.end + timedelta(days=PAYMENT_TERM_DAYS)).isoformat(),
        "open_license_fees": fees,
    }


def statement(
    state: PoolState, member: str, period: Period, program: str | None, checkpoint: str
) -> dict[str, Any]:
    """A member's statement from its own parts of the period's allocations (spec 8a: nothing else is read)."""
    if member not in state.members:
        raise unknown_member(member, state.members)
    records = records_for(state, period, program)
    currency = _one_currency([r.body for r in records])
    lines: list[dict[str, Any]] = []
    gross = fee = Decimal(0)
    fees: list[dict[str, Any]] = []
    patents: list[dict[str, Any]] = []
    for record in records:
        part = state.member_part(record, member)
        if part is None:
            continue
        lines += parts.statement_lines(part)
        gross += _m(part["gross"])
        fee += _m(part["admin_fee"])
        fees += part["open_license_fees"]
        patents += [dict(zip(PATENT_KEYS, row, strict=True)) for row in part["patents"]]
    programs = {record.body["program"] for record in records}
    paid = [
        d
        for d in state.distributions
        if d.member == member and d.period == period.label and d.program in programs
    ]
    return {
        "member": member,
        "period": period.label,
        "currency": currency,
        "lines": lines,
        "gross": format_money(gross),
        "admin_fee": format_money(fee),
        "net": format_money(gross - fee),
        "open_license_fees": fees,
        "patents": sorted(patents, key=lambda p: (p["patent"], p["country"])),
        "distributions": [
            {"date": d.date.isoformat(), "amount": format_money(d.amount), "reference": d.reference}
            for d in sorted(paid, key=lambda d: (d.date, d.ref[0]))
        ],
        "checkpoint": checkpoint,
    }


PATENT_KEYS = ("patent", "country", "gross", "admin_fee", "net")


def statement_lines(body: dict[str, Any], member: str) -> list[dict[str, Any]]:
    """A member's statement lines from a computed allocation body, through its part (as the ledger holds)."""
    part = parts.member_parts(body).get(member)
    return [] if part is None else parts.statement_lines(part)


def check_invariants(body: dict[str, Any]) -> list[str]:
    """Spec section 6's invariants on one allocation; returns what is broken."""
    problems = []
    gross = sum((_m(m["gross"]) for m in body["members"].values()), Decimal(0))
    fees = sum((_m(m["admin_fee"]) for m in body["members"].values()), Decimal(0))
    net = sum((_m(m["net"]) for m in body["members"].values()), Decimal(0))
    royalty = sum((_m(i["royalty"]) for i in body["invoices"].values()), Decimal(0))
    credit = sum((_m(i["credit"]) for i in body["invoices"].values()), Decimal(0))
    due = sum((_m(i["due"]) for i in body["invoices"].values()), Decimal(0))
    name = f"{body['program']} {body['period']}"
    if gross + credit != royalty:
        problems.append(f"{name}: member gross {gross} + credits {credit} != royalties {royalty}")
    if net + fees != gross:
        problems.append(f"{name}: net {net} + admin fees {fees} != gross {gross}")
    if gross != due:
        problems.append(f"{name}: member gross {gross} != invoices due {due}")
    if _m(body["total"]) != gross or _m(body["admin_fee"]) != fees:
        problems.append(f"{name}: total/admin_fee do not match the member figures")
    for licensee, info in body["licensees"].items():
        lines = sum((_m(line.amount) for line in parts.licensee_lines(info["lines"])), Decimal(0))
        if info["lines"] and lines != _m(info["royalty"]):
            problems.append(f"{name}: {licensee}'s lines sum to {lines}, not its royalty {info['royalty']}")
    shares: dict[str, Decimal] = defaultdict(Decimal)
    for _lic, _c, member, amount in body["shares"]:
        shares[member] += _m(amount)
    for member, figures in body["members"].items():
        if shares[member] != _m(figures["gross"]):
            problems.append(
                f"{name}: {member}'s statement lines sum to {shares[member]}, not {figures['gross']}"
            )
    return problems


def reconcile(state: PoolState, period: Period, program: str | None, as_of: date) -> dict[str, Any]:
    """Money in against money owed and paid out for a period, the pool's cash, and every broken invariant:
    an allocation's sums (spec 6), a stale allocation (rule 13), negative cash (rule 12d)."""
    if state.shares_of is not None:  # the invariants sum every member's share rows
        raise RuntimeError("reconcile needs every share row: a state read for one member's statement has not")
    bodies = allocations_for(state, period, program, full=True)
    applied = cash.apply_payments(state, as_of)
    licensees: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    problems: list[str] = []
    for body in bodies:
        problems += check_invariants(body)
        licensees += _licensee_rows(state, body, applied, period, as_of)
        members += _member_rows(state, body, applied, period, as_of)
    for record in staleness.stale_allocations(state):
        problems.append(staleness.stale_message(record))
    every = [state.allocation_body(records[-1]) for records in state.allocations.values()]
    pool = cash.pool_cash(state, as_of, every)
    for currency, figures in pool.items():
        if _m(figures["cash"]) < 0:
            problems.append(
                f"the pool's {currency} cash is {figures['cash']}: more was paid out than came in"
            )
    return {
        "period": period.label,
        "as_of": as_of.isoformat(),
        "licensees": licensees,
        "members": members,
        "cash": pool,
        "invariants": "ok" if not problems else "broken",
        "problems": problems,
    }


def _licensee_rows(
    state: PoolState, body: dict[str, Any], applied: cash.Applied, period: Period, as_of: date
) -> list[dict[str, Any]]:
    """One allocation's invoices against what was paid on them by `as_of`, and how late."""
    due_date = cash.due_date(period.label)
    rows = []
    for licensee, figures in sorted(body["invoices"].items()):
        paid = from_cents(applied.to_invoice.get((licensee, body["program"], period.label), 0))
        due = _m(figures["due"])
        settled = cash.settled_on(state, licensee, body["program"], period.label, as_of)
        late = max(0, ((settled or as_of) - due_date).days) if due > 0 else 0
        rows.append(
            {
                "program": body["program"],
                "licensee": licensee,
                "role": "licensee",
                "invoiced": figures["due"],
                "paid": format_money(paid),
                "balance": format_money(due - paid),
                "due_date": due_date.isoformat(),
                "days_late": late,
            }
        )
    return rows


def _member_rows(
    state: PoolState, body: dict[str, Any], applied: cash.Applied, period: Period, as_of: date
) -> list[dict[str, Any]]:
    """One allocation's member shares against what was collected for them and distributed by `as_of`."""
    roles = {m: state.members[m].role if m in state.members else "" for m in body["members"]}
    got = cash.collected(body, applied)
    rows = []
    for member, figures in sorted(body["members"].items()):
        paid_out = sum(
            (
                d.amount
                for d in state.distributions
                if d.member == member
                and d.program == body["program"]
                and d.period == period.label
                and d.date <= as_of
            ),
            Decimal(0),
        )
        c = got.get(member, cash.Collected(0, 0))
        rows.append(
            {
                "program": body["program"],
                "member": member,
                "role": "licensor" if roles.get(member) != "both" else "licensor (also licensee)",
                "allocated": figures["net"],
                "collected_net": format_money(from_cents(c.net)),
                "distributed": format_money(paid_out),
                "balance": format_money(_m(figures["net"]) - paid_out),
            }
        )
    return rows


__all__ = ["CREDIT", "BooksError", "invoice", "reconcile", "statement"]
