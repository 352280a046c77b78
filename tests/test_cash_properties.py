"""Rule 12 (cash basis) as properties over random pools, on states built in memory (fast): payouts never
exceed what was collected, the pool's cash plus claw-backs due never goes negative (a bounced payment
included), and a fully paid allocation distributes exactly the members' nets."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from licenses.money import format_cents, round_half_up_cents, to_cents
from patentpool import cash
from patentpool.periods import Period
from patentpool.state import AllocationRecord, Distribution, Payment, PoolState

PERIOD = Period.parse("2025Q1")


class _State(PoolState):
    """A state whose allocation bodies are given whole (no ledger behind it)."""

    bodies: dict[int, dict[str, Any]]

    def allocation_body(self, record: AllocationRecord) -> dict[str, Any]:
        return self.bodies[record.ref[0]]


def _pool(gross: dict[str, dict[str, int]], fee: str) -> _State:
    """One allocation of program P: `gross[licensee][member]` cents; no credits, so due = the members' sum."""
    members: dict[str, int] = {}
    shares = []
    for licensee, split in sorted(gross.items()):
        for member, cents in sorted(split.items()):
            members[member] = members.get(member, 0) + cents
            shares.append([licensee, "CN", member, format_cents(cents)])
    rate = Fraction(Decimal(fee))
    figures = {}
    for member, cents in sorted(members.items()):
        f = to_cents(round_half_up_cents(Fraction(cents, 100) * rate / 100))
        figures[member] = {
            "gross": format_cents(cents),
            "admin_fee": format_cents(f),
            "net": format_cents(cents - f),
        }
    invoices = {
        lic: {
            "royalty": format_cents(sum(s.values())),
            "credit": "0.00",
            "due": format_cents(sum(s.values())),
        }
        for lic, s in gross.items()
    }
    body = {
        "program": "P",
        "period": PERIOD.label,
        "currency": "USD",
        "schedule": {"tiers": "*:1", "annual_cap": None, "admin_fee": fee},
        "members": figures,
        "invoices": invoices,
        "shares": shares,
    }
    state = _State()
    state.bodies = {10: body}
    state.allocations[("P", PERIOD.label)] = [AllocationRecord("allocation.run", body, (10, "00" * 32))]
    return state


def _pay(state: _State, licensee: str, day: date, cents: int, seq: int) -> None:
    state.payments.append(Payment(licensee, day, Decimal(cents) / 100, "USD", f"r{seq}", (seq, "00" * 32)))


def _distribute(state: _State, day: date, seq: int) -> dict[str, Any]:
    result = cash.distribution(state, "P", PERIOD, day, False)
    for body in cash.distribution_bodies(state, result):
        state.distributions.append(
            Distribution(
                body["member"], "P", PERIOD.label, Decimal(body["amount"]), day, body["reference"], (seq, "")
            )
        )
    return result


members_st = st.sampled_from(["A", "B", "C", "D"])
gross_st = st.dictionaries(
    st.sampled_from(["L1", "L2", "L3"]),
    st.dictionaries(members_st, st.integers(0, 500_000), min_size=1, max_size=4),
    min_size=1,
    max_size=3,
)
payments_st = st.lists(
    st.tuples(st.sampled_from(["L1", "L2", "L3"]), st.integers(0, 120), st.integers(1, 600_000)), max_size=8
)


@settings(max_examples=150, deadline=None)
@given(gross_st, st.sampled_from(["0", "10", "12.5", "7.25"]), payments_st, st.data())
def test_payouts_never_exceed_collected_and_cash_never_goes_negative(
    gross: dict[str, dict[str, int]], fee: str, payments: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    state = _pool(gross, fee)
    start = PERIOD.end
    seq = 100
    for licensee, offset, cents in sorted(payments, key=lambda p: p[1]):
        seq += 1
        _pay(state, licensee, start + timedelta(days=offset), cents, seq)
        if data.draw(st.booleans()):
            seq += 1
            _distribute(state, start + timedelta(days=offset), seq)
            pool = cash.pool_cash(state, start + timedelta(days=offset), [state.bodies[10]])["USD"]
            assert Decimal(pool["cash"]) >= 0
            assert Decimal(pool["clawbacks_due"]) == 0  # nothing was taken back: no claw-back is due
    # A bounced payment (voided): whatever it paid out becomes claw-backs due; cash + claw-backs >= 0 holds.
    if state.payments and data.draw(st.booleans()):
        state.payments.pop(data.draw(st.integers(0, len(state.payments) - 1)))
        last = start + timedelta(days=200)
        pool = cash.pool_cash(state, last, [state.bodies[10]])["USD"]
        assert Decimal(pool["cash"]) >= 0
        result = _distribute(state, last, seq + 1)
        for figures in result["members"].values():
            assert Decimal(figures["net"]) - Decimal(figures["distributed_before"]) == Decimal(figures["pay"])
        assert Decimal(cash.pool_cash(state, last, [state.bodies[10]])["USD"]["clawbacks_due"]) == 0


@settings(max_examples=100, deadline=None)
@given(gross_st, st.sampled_from(["0", "10", "12.5"]), st.integers(1, 3))
def test_a_fully_paid_allocation_distributes_exactly_the_nets(
    gross: dict[str, dict[str, int]], fee: str, instalments: int
) -> None:
    state = _pool(gross, fee)
    seq = 100
    for licensee, split in sorted(gross.items()):
        due = sum(split.values())
        for i in range(instalments):  # paid in instalments, distributed after each
            part = due // instalments + (due % instalments if i == 0 else 0)
            seq += 1
            day = PERIOD.end + timedelta(days=10 * seq)
            if part:
                _pay(state, licensee, day, part, seq)
            _distribute(state, day, seq + 1000)
    paid: dict[str, Decimal] = {}
    for d in state.distributions:
        paid[d.member] = paid.get(d.member, Decimal(0)) + d.amount
    body = state.bodies[10]
    for member, figures in body["members"].items():
        assert paid.get(member, Decimal(0)) == Decimal(figures["net"]), member
    result = cash.distribution(state, "P", PERIOD, PERIOD.end + timedelta(days=10_000), True)
    assert all(f["pay"] == "0.00" for f in result["members"].values())
    assert result["collected"] == format_cents(sum(sum(s.values()) for s in gross.values()))
