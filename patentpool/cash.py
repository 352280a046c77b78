"""Money in and out on a cash basis (spec section 6, rule 12): the one home of that rule.

Payments are applied to invoices oldest due date first; what is applied to a licensee's invoice is collected
for that allocation and split over the members by their gross from that licensee; a member is paid its
collected net less what it was already paid, never money that has not come in. Pure functions of the
replayed state (allocation bodies are loaded whole where the share rows are needed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from licenses.money import cents_of, format_cents, largest_remainder, round_half_up_cents, to_cents
from patentpool.errors import PoolError
from patentpool.periods import Period
from patentpool.state import AllocationRecord, PoolState

if TYPE_CHECKING:
    from patentpool.imports import Sink

# Royalties are due this many days after the period ends (spec 6 rule 12).
PAYMENT_TERM_DAYS = 30


class CashError(PoolError, ValueError):
    """A payout that cannot be made as asked; the message says why."""


def due_date(period: str) -> date:
    return Period.parse(period).end + timedelta(days=PAYMENT_TERM_DAYS)


class Invoice(NamedTuple):
    due_date: date
    program: str
    period: str
    licensee: str
    currency: str
    due: int  # cents


def invoices(state: PoolState) -> list[Invoice]:
    """Every licensee's invoice as now allocated (the latest allocation of each program and period)."""
    out = []
    for (program, period), records in state.allocations.items():
        body = records[-1].body
        for licensee, figures in body["invoices"].items():
            out.append(
                Invoice(
                    due_date(period),
                    program,
                    period,
                    licensee,
                    body["currency"],
                    cents_of(figures["due"]),
                )
            )
    return out


@dataclass(frozen=True)
class Applied:
    """Payments applied to invoices as of a day (rule 12a)."""

    to_invoice: dict[tuple[str, str, str], int]  # (licensee, program, period) -> cents applied
    unapplied: dict[tuple[str, str], int]  # (licensee, currency) -> cents left over
    received: dict[str, int]  # currency -> cents paid in


def apply_payments(state: PoolState, as_of: date) -> Applied:
    """Rule 12a: a licensee's payments dated on or before `as_of` go to its invoices in their currency
    whose due is positive, oldest due date first, then program, then period; each takes min(its due, what
    is left)."""
    paid: dict[tuple[str, str], int] = defaultdict(int)
    received: dict[str, int] = defaultdict(int)
    for p in state.payments:
        if p.date <= as_of:
            paid[(p.licensee, p.currency)] += to_cents(p.amount)
            received[p.currency] += to_cents(p.amount)
    left = dict(paid)
    to_invoice: dict[tuple[str, str, str], int] = {}
    for inv in sorted(invoices(state)):
        if inv.due <= 0:
            continue
        key = (inv.licensee, inv.currency)
        take = min(inv.due, left.get(key, 0))
        if take:
            to_invoice[(inv.licensee, inv.program, inv.period)] = take
            left[key] -= take
    return Applied(to_invoice, {k: v for k, v in left.items() if v}, dict(received))


def gross_from(body: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Each licensee's members with their gross from it in one allocation (the sum of their share rows)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for licensee, _country, member, amount in body["shares"]:
        out[licensee][member] += cents_of(amount)
    return out


class Collected(NamedTuple):
    collected: int
    admin_fee: int

    @property
    def net(self) -> int:
        return self.collected - self.admin_fee


def collected(body: dict[str, Any], applied: Applied) -> dict[str, Collected]:
    """Rule 12b-c: what was collected for one allocation, split over the members by their gross from each
    licensee (largest remainder, ties to the lower member id), with the admin fee on it."""
    per_member: dict[str, int] = defaultdict(int)
    for licensee, members in gross_from(body).items():
        cents = applied.to_invoice.get((licensee, body["program"], body["period"]), 0)
        names = sorted(m for m, g in members.items() if g > 0)
        if not cents or not names:
            continue
        for name, got in zip(names, largest_remainder(cents, [members[n] for n in names]), strict=True):
            per_member[name] += got
    rate = Fraction(Decimal(body["schedule"]["admin_fee"]))
    out = {}
    for member in sorted(set(per_member) | set(body["members"])):
        c = per_member.get(member, 0)
        fee = to_cents(round_half_up_cents(Fraction(c, 100) * rate / 100))
        out[member] = Collected(c, fee)
    return out


def paid_out(state: PoolState, program: str, period: str, member: str | None = None) -> dict[str, int]:
    """What was distributed to each member for a program and period (every distribution recorded)."""
    out: dict[str, int] = defaultdict(int)
    for d in state.distributions:
        if d.program == program and d.period == period and (member is None or d.member == member):
            out[d.member] += to_cents(d.amount)
    return out


def _record(state: PoolState, program: str | None, period: Period) -> AllocationRecord:
    found = [
        (prog, records[-1])
        for (prog, per), records in sorted(state.allocations.items())
        if per == period.label and (program is None or prog == program)
    ]
    if not found:
        what = f"program {program} " if program else ""
        raise CashError(f"{what}period {period} has not been allocated: run `patentpool allocate` first")
    if len(found) > 1:
        raise CashError(
            f"{period} is allocated for programs {', '.join(p for p, _r in found)}: give --program"
        )
    return found[0][1]


def distribution(
    state: PoolState, program: str | None, period: Period, day: date, dry_run: bool
) -> dict[str, Any]:
    """The `distribute` JSON of spec section 7 (rule 12d): each member's collected net as of `day` minus what
    it was already paid; `pay` may be negative (a claw-back)."""
    record = _record(state, program, period)
    body = state.allocation_body(record)
    prog = body["program"]
    last = max(
        (d.date for d in state.distributions if d.program == prog and d.period == period.label), default=None
    )
    if last is not None and day < last:
        raise CashError(f"date: {day} is before the last distribution of {prog} {period} ({last})")
    applied = apply_payments(state, day)
    before = paid_out(state, prog, period.label)
    figures = collected(body, applied)
    members: dict[str, dict[str, str]] = {}
    for member in sorted(set(figures) | set(before)):
        c = figures.get(member, Collected(0, 0))
        if not (c.collected or before.get(member) or _has_gross(body, member)):
            continue
        members[member] = {
            "collected": format_cents(c.collected),
            "admin_fee": format_cents(c.admin_fee),
            "net": format_cents(c.net),
            "distributed_before": format_cents(before.get(member, 0)),
            "pay": format_cents(c.net - before.get(member, 0)),
        }
    currency = body["currency"]
    return {
        "dry_run": dry_run,
        "program": prog,
        "period": period.label,
        "date": day.isoformat(),
        "currency": currency,
        "members": members,
        "collected": format_cents(sum(c.collected for c in figures.values())),
        "unapplied": {
            lic: format_cents(cents)
            for (lic, cur), cents in sorted(applied.unapplied.items())
            if cur == currency
        },
    }


def _has_gross(body: dict[str, Any], member: str) -> bool:
    figures = body["members"].get(member)
    return figures is not None and figures["gross"] != "0.00"


def distribution_bodies(state: PoolState, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The distribution.add bodies that record a `distribution` result's payouts (none for pay 0.00)."""
    out = []
    for member, figures in result["members"].items():
        if figures["pay"] == "0.00":
            continue
        count = sum(1 for d in state.distributions if d.member == member and d.period == result["period"])
        out.append(
            {
                "member": member,
                "program": result["program"],
                "period": result["period"],
                "amount": figures["pay"],
                "date": result["date"],
                "reference": f"{result['program']}-{result['period']}-{member}-{count + 1}",
            }
        )
    return out


def pool_cash(state: PoolState, as_of: date, bodies: Iterable[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Rule 12d's invariant per currency as of a day: payments in, distributions out, admin fees kept (on
    collected money), unapplied credits and claw-backs due; `cash` = in - out - fees kept + claw-backs due,
    which must never be negative."""
    applied = apply_payments(state, as_of)
    out_by: dict[str, int] = defaultdict(int)
    fees: dict[str, int] = defaultdict(int)
    clawbacks: dict[str, int] = defaultdict(int)
    currency_of: dict[tuple[str, str], str] = {}
    for body in bodies:
        currency_of[(body["program"], body["period"])] = body["currency"]
        paid: dict[str, int] = defaultdict(int)
        for d in state.distributions:
            if d.program == body["program"] and d.period == body["period"] and d.date <= as_of:
                paid[d.member] += to_cents(d.amount)
        for member, c in collected(body, applied).items():
            fees[body["currency"]] += c.admin_fee
            clawbacks[body["currency"]] += max(0, paid.get(member, 0) - c.net)
    for d in state.distributions:
        if d.date <= as_of:
            out_by[currency_of.get((d.program, d.period), "")] += to_cents(d.amount)
    unapplied: dict[str, int] = defaultdict(int)
    for (_lic, cur), cents in applied.unapplied.items():
        unapplied[cur] += cents
    result = {}
    for cur in sorted(set(applied.received) | set(out_by) | set(fees)):
        cash = applied.received.get(cur, 0) - out_by.get(cur, 0) - fees.get(cur, 0) + clawbacks.get(cur, 0)
        result[cur] = {
            "payments_in": format_cents(applied.received.get(cur, 0)),
            "distributed": format_cents(out_by.get(cur, 0)),
            "admin_fees_kept": format_cents(fees.get(cur, 0)),
            "unapplied": format_cents(unapplied.get(cur, 0)),
            "clawbacks_due": format_cents(clawbacks.get(cur, 0)),
            "cash": format_cents(cash),
        }
    return result


def settled_on(state: PoolState, licensee: str, program: str, period: str, as_of: date) -> date | None:
    """The day an invoice was paid in full by payments applied as rule 12a says (None: not by `as_of`)."""
    inv = next(
        (i for i in invoices(state) if (i.licensee, i.program, i.period) == (licensee, program, period)), None
    )
    if inv is None or inv.due <= 0:
        return None
    days = sorted({p.date for p in state.payments if p.licensee == licensee and p.date <= as_of})
    for day in days:
        if apply_payments(state, day).to_invoice.get((licensee, program, period), 0) >= inv.due:
            return day
    return None


def record_distribution(
    batch: Sink, program: str | None, period: Period, day: date, dry_run: bool
) -> tuple[dict[str, Any], int]:
    """`distribute`: the distribution and how many payouts it records (appended to `batch` unless dry)."""
    from patentpool import corrections

    corrections.check_happened(batch.state, day, "date")  # even with nothing to pay: the date is wrong
    result = distribution(batch.state, program, period, day, dry_run)
    payouts = distribution_bodies(batch.state, result)
    if not dry_run:
        for body in payouts:
            batch.add("distribution.add", body)
    return result, len(payouts)
