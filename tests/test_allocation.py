"""Allocation policy v1 (docs/policy.md, spec section 6): patentpool.allocation.allocate on pool states built
in memory, no CLI and no database. Two parts:

1. Properties of the pure allocate() on random pool states, checked against a reference computed from the
   text of spec section 6.
2. The policy rule by rule on small pools (conftest.MemoryPool), every expected figure worked by hand in the
   comment above it.

The same rules are exercised end to end through the CLI in test_allocation_scenarios.py (slow); the exact
`Error:` lines are tested there and in test_cli_errors.py.

Part 1's states are built the way replay builds them: entry bodies (in their ledger spelling, from
patentpool.bodies where a CLI command would use it) applied one by one through patentpool.rules.apply, so
every state is one a real ledger can reach; an action the validators refuse is simply left out, as the CLI
would refuse it.

Alongside, the generator records the accepted facts in its own plain model, and `reference_allocate` below
recomputes the allocation from that model with Fractions, straight from the text of spec section 6. It does
not read PoolState and does not use the project's money helpers; it is the strongest check here.

Readings of the spec that the reference makes explicit (see the report of issue 4):
* Split to members is done line by line (step 6 "the line amount is split over the buckets by weight");
  shares are then summed per member.
* An open licence is "held on D" when its take's notice date <= D <= the declaration's end, whatever a
  later withdrawal says, and the patent is in force on D (not expired, invalidated, withdrawn or lapsed).
  Its memo fee is listed in the allocation of the patent's program, and only when the licensee has at least
  one line of that program and period made or sold in the patent's country (also for a lump sum).
* A direct licence survives a later transfer of the patent; its territory is matched against the country
  where the patent is in force.
* Members whose share comes to 0.00 may or may not be listed; the reference compares the non-zero ones and
  requires every other listed member to be all zeros.
"""

from __future__ import annotations

import calendar
import copy
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from conftest import MemoryPool, build_example_state
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_example import EXPECTED

from ledger.entry import canonical
from patentpool import bodies, parts
from patentpool.allocation import allocate, result_json
from patentpool.books import check_invariants, statement_lines
from patentpool.fields import FieldError
from patentpool.periods import Period
from patentpool.state import PoolState

# === 1. properties on random pool states ====================================================================
MONEY = re.compile(r"^-?(0|[1-9]\d*)\.\d{2}$")

OWNERS = ("A", "B", "C10", "C9", "X", "Y")  # X and Y are both licensors and licensees
LICENSEES = ("L1", "L2", "X", "Y")
ROLES = {
    "A": "licensor",
    "B": "licensor",
    "C10": "licensor",
    "C9": "licensor",
    "X": "both",
    "Y": "both",
    "L1": "licensee",
    "L2": "licensee",
}
PATENT_COUNTRIES = ("CN", "US", "DE", "FR", "JP", "KR")
REPORT_COUNTRIES = ("CN", "US", "DE", "FR", "JP", "KR", "BR", "IN")
LINE_COUNTRIES = ("CN", "CN", "CN", "US", "US", "DE", "FR", "JP", "KR", "BR", "IN")
DATES = tuple(
    date.fromisoformat(d)
    for d in (
        "2024-06-30",
        "2024-12-31",
        "2025-01-01",
        "2025-02-15",
        "2025-03-30",
        "2025-03-31",
        "2025-04-01",
        "2025-05-15",
        "2025-06-30",
        "2025-07-01",
        "2025-08-15",
        "2025-09-30",
        "2025-10-01",
        "2025-12-31",
        "2026-01-01",
    )
)
FAR = date(2031, 1, 1)


def number_for(country: str, n: int) -> str:
    return {
        "CN": f"CN1{20000000 + n:08d}B",
        "US": f"US{10000000 + n}B2",
        "JP": f"JP{4000000 + n}B2",
        "KR": f"KR10{1000000 + n}B1",
        "DE": f"EP{2000000 + n}B1",  # an EP patent is entered once per validated country
        "FR": f"EP{2000000 + n}B1",
    }[country]


# --- the generator's own record of accepted facts -----------------------------------------------------------
@dataclass
class MPatent:
    number: str
    country: str
    owner: str
    granted: date | None
    expires: date
    weight: Fraction
    program: str | None
    stopped: date | None = None
    transfers: list[tuple[date, str]] = field(default_factory=list)

    def owner_on(self, day: date) -> str:
        owner = self.owner
        for effective, to in sorted(self.transfers):
            if effective <= day:
                owner = to
        return owner

    def in_force(self, day: date) -> bool:
        return self.expires > day and (self.stopped is None or self.stopped > day)

    def counts(self, day: date, program: str) -> bool:
        return (
            self.program == program
            and self.granted is not None
            and self.granted <= day
            and self.in_force(day)
        )


@dataclass
class MDecl:
    key: tuple[str, str]
    fee: str
    currency: str
    start: date
    end: date
    seq: int
    withdrawn: date | None = None


@dataclass
class Model:
    fee_pct: Fraction = Fraction(0)
    tiers: list[tuple[int | None, Fraction]] = field(default_factory=list)
    cap: Fraction | None = None
    period_kind: str = "quarter"
    currency: str = "USD"
    patents: dict[tuple[str, str], MPatent] = field(default_factory=dict)
    decls: dict[tuple[str, str], list[MDecl]] = field(default_factory=dict)
    takes: list[tuple[int, tuple[str, str], str, date]] = field(default_factory=list)
    directs: list[tuple[tuple[str, str], str, date, date | None, frozenset[str] | None]] = field(
        default_factory=list
    )
    crosses: list[tuple[frozenset[str], frozenset[str] | None, frozenset[str] | None, date, date | None]] = (
        field(default_factory=list)
    )
    reports: dict[tuple[str, str, str, str, str], tuple[int, Fraction, int]] = field(default_factory=dict)


# --- strategies ---------------------------------------------------------------------------------------------
dates = st.sampled_from(DATES)
TIER_RATES = ("0", "0.1", "0.125", "0.2", "0.015", "1.5", "0.333", "0.05", "2")


@st.composite
def tier_texts(draw: st.DrawFn) -> str:
    bounds = sorted(draw(st.sets(st.sampled_from((100, 500, 1000, 2000, 5000, 8000)), max_size=3)))
    rates = [draw(st.sampled_from(TIER_RATES)) for _ in bounds] + [draw(st.sampled_from(TIER_RATES[1:]))]
    parts = [f"{b}:{r}" for b, r in zip(bounds, rates, strict=False)] + [f"*:{rates[-1]}"]
    return ",".join(parts)


patent_facts = st.fixed_dictionaries(
    {
        "country": st.sampled_from(("CN", "CN", "US", "US", *PATENT_COUNTRIES)),
        "n": st.integers(0, 3),
        "owner": st.sampled_from(OWNERS),
        "granted": st.sampled_from((date(2015, 1, 1),) * 6 + (None,) + DATES),
        "expires": st.sampled_from((FAR,) * 12 + DATES),
        "weight": st.sampled_from(("1", "1", "1", "2", "0.5", "1.25", "3")),
        "program": st.sampled_from(("P",) * 8 + ("Q", None)),
        "status": st.one_of(
            st.none(),
            st.none(),
            st.none(),
            st.tuples(st.sampled_from(("invalidated", "withdrawn", "lapsed")), dates),
        ),
        "transfers": st.one_of(st.just([]), st.lists(st.tuples(dates, st.sampled_from(OWNERS)), max_size=2)),
    }
)

core_patents = st.fixed_dictionaries(
    {
        "country": st.sampled_from(("CN", "US")),
        "n": st.integers(0, 3),
        "owner": st.sampled_from(OWNERS),
        "granted": st.just(date(2015, 1, 1)),
        "expires": st.just(FAR),
        "weight": st.sampled_from(("1", "1", "2", "0.5")),
        "program": st.just("P"),
        "status": st.none(),
        "transfers": st.one_of(st.just([]), st.lists(st.tuples(dates, st.sampled_from(OWNERS)), max_size=1)),
    }
)

territories = st.one_of(
    st.just("all"),
    st.lists(st.sampled_from(PATENT_COUNTRIES), min_size=1, max_size=3, unique=True).map(sorted),
)

early = st.sampled_from((date(2024, 6, 30), date(2025, 1, 1), date(2025, 1, 1), date(2025, 4, 1)))
licence_actions = st.one_of(
    # An open licence: the declaration, then takes, with a withdrawal somewhere among them (or none).
    st.tuples(
        st.just("openlicense"),
        st.integers(0, 20),
        st.sampled_from(("0.1/unit", "0.05/unit", "0/unit", "3%", "2.5%", "1200/year", "1000.01/year")),
        st.sampled_from(("CNY", "USD", "EUR")),
        early,
        st.sampled_from((date(2025, 3, 31), date(2025, 6, 30), date(2025, 12, 31), date(2026, 6, 30))),
        st.lists(st.tuples(st.sampled_from(LICENSEES), dates), max_size=3),
        st.one_of(st.none(), st.tuples(st.integers(0, 3), dates)),
    ),
    st.tuples(
        st.just("direct"),
        st.integers(0, 20),
        st.sampled_from(LICENSEES),
        st.one_of(early, dates),
        st.one_of(st.none(), st.none(), dates),
        st.booleans(),
        st.one_of(st.just("all"), territories),
    ),
    st.tuples(
        st.just("cross"),
        st.lists(st.sampled_from(OWNERS + LICENSEES), min_size=2, max_size=3, unique=True),
        st.one_of(st.just("all"), st.lists(st.integers(0, 20), min_size=1, max_size=3)),
        st.one_of(st.just("all"), territories),
        st.one_of(early, dates),
        st.one_of(st.none(), dates),
    ),
)

line_facts = st.lists(
    st.tuples(
        st.sampled_from(LINE_COUNTRIES),
        st.sampled_from(LINE_COUNTRIES),
        st.integers(0, 4000),
        st.integers(0, 10_000_000),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda t: (t[0], t[1]),
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(("quarter", "half")))
    labels = [f"2025Q{i}" for i in range(1, 5)] if kind == "quarter" else ["2025H1", "2025H2"]
    target = draw(st.sampled_from(labels + labels[1:]))  # later periods twice: they have a year to date
    previous = "2024Q4" if kind == "quarter" else "2024H2"
    periods = [previous, *labels]  # the target, earlier ones, later ones and last year's last one
    reports = draw(
        st.lists(
            st.tuples(
                st.sampled_from(LICENSEES),
                st.sampled_from(("P", "P", "P", "Q")),
                st.sampled_from(periods),
                line_facts,
            ),
            max_size=8,
        )
    )
    # Reports of the year's earlier periods (for the tiers) and of the target, so that most examples have
    # something to allocate.
    earlier = labels[: labels.index(target)]
    if earlier:
        reports += draw(
            st.lists(
                st.tuples(st.sampled_from(LICENSEES), st.just("P"), st.sampled_from(earlier), line_facts),
                max_size=3,
            )
        )
    core_line = st.tuples(
        st.sampled_from(("CN", "US")),
        st.sampled_from(LINE_COUNTRIES),
        st.integers(1, 4000),
        st.integers(0, 10_000_000),
    )
    reports += draw(
        st.lists(
            st.tuples(
                st.sampled_from(LICENSEES),
                st.just("P"),
                st.just(target),
                st.tuples(core_line, line_facts).map(lambda t: [t[0], *t[1]]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    return {
        "kind": kind,
        "target": target,
        "tiers": draw(tier_texts()),
        "cap": draw(st.sampled_from((None, None, None, "0.00", "50.00", "123.45", "900.00", "5000.00"))),
        "fee": draw(st.sampled_from(("0", "10", "10", "12.5", "33.333", "100", "7.77"))),
        # A core of patents that count in CN or US, then anything.
        "patents": draw(st.lists(core_patents, min_size=2, max_size=4))
        + draw(st.lists(patent_facts, max_size=8)),
        "licences": draw(st.lists(licence_actions, max_size=10)),
        "reports": reports,
        "corrections": draw(
            st.lists(
                st.tuples(
                    st.integers(0, 30), st.integers(0, 3), st.integers(0, 4000), st.integers(0, 10_000_000)
                ),
                max_size=3,
            )
        ),
    }


def money_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def build(sc: dict[str, Any]) -> tuple[PoolState, Model]:
    """Apply the scenario's entries; return the state and the model of what was accepted."""
    b = MemoryPool(name="Prop", origin="pool.example/p", admin_fee="10")
    model = Model(period_kind=sc["kind"])
    for member, role in ROLES.items():
        assert b.try_add("member.add", bodies.member(member, f"{member} Co.", role))
    assert b.try_add("program.add", bodies.program("P", "USD", sc["tiers"], sc["cap"], sc["fee"], sc["kind"]))
    assert b.try_add("program.add", bodies.program("Q", "USD", "*:0.1", None, "10", sc["kind"]))
    model.fee_pct = Fraction(sc["fee"])
    model.cap = None if sc["cap"] is None else Fraction(sc["cap"])
    for part in sc["tiers"].split(","):
        bound, rate = part.split(":")
        model.tiers.append((None if bound == "*" else int(bound), Fraction(rate)))

    # Patents, their statuses and transfers.
    for p in sc["patents"]:
        number = number_for(p["country"], p["n"])
        body = bodies.patent(
            number,
            p["owner"],
            p["country"],
            "invention",
            "2005-01-01",
            None if p["granted"] is None else p["granted"].isoformat(),
            p["expires"].isoformat(),
            p["program"],
            None,
            p["weight"],
        )
        if b.try_add("patent.add", body) is None:
            continue
        mp = MPatent(
            number, p["country"], p["owner"], p["granted"], p["expires"], Fraction(p["weight"]), p["program"]
        )
        model.patents[(number, p["country"])] = mp
        if p["status"] is not None:
            status, effective = p["status"]
            if b.try_add(
                "patent.status",
                {
                    "number": number,
                    "country": p["country"],
                    "status": status,
                    "effective": effective.isoformat(),
                },
            ):
                mp.stopped = effective
        for effective, to in sorted(p["transfers"]):
            body = {
                "number": number,
                "country": p["country"],
                "from": mp.owner_on(effective),
                "to": to,
                "effective": effective.isoformat(),
            }
            if b.try_add("patent.transfer", body):
                mp.transfers.append((effective, to))
    keys = list(model.patents)

    # Licences, in the drawn order.
    for action in sc["licences"]:
        what = action[0]
        if what == "cross":
            _, names, pick, territory, start, end = action
            if pick == "all" or not keys:
                numbers: Any = "all"
            else:
                numbers = sorted({keys[i % len(keys)][0] for i in pick})
            body = {
                "members": names,
                "patents": numbers,
                "territory": territory,
                "from": start.isoformat(),
                "to": None if end is None else end.isoformat(),
                "terms": "royalty-free",
            }
            if b.try_add("crosslicense.add", body):
                model.crosses.append(
                    (
                        frozenset(names),
                        None if numbers == "all" else frozenset(numbers),
                        None if territory == "all" else frozenset(territory),
                        start,
                        end,
                    )
                )
            continue
        if not keys:
            continue
        key = keys[action[1] % len(keys)]
        patent = model.patents[key]
        base = {"number": key[0], "country": key[1]}
        if what == "openlicense":
            _, _, fee, currency, start, end, takes, withdrawal = action
            body = {
                **base,
                "fee": bodies.fee(fee),
                "currency": currency,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "evaluation_report": None,
            }
            seq = b.try_add("openlicense.declare", body)
            if not seq:
                continue
            decl = MDecl(key, fee, currency, start, end, seq)
            model.decls.setdefault(key, []).append(decl)
            for position in range(len(takes) + 1):
                if withdrawal is not None and withdrawal[0] == position:
                    body = {**base, "effective": withdrawal[1].isoformat(), "declaration": seq}
                    if b.try_add("openlicense.withdraw", body):
                        decl.withdrawn = withdrawal[1]
                if position < len(takes):
                    licensee, notice = takes[position]
                    body = {
                        **base,
                        "licensee": licensee,
                        "notice_date": notice.isoformat(),
                        "declaration": seq,
                    }
                    if b.try_add("openlicense.take", body):
                        model.takes.append((seq, key, licensee, notice))
        elif what == "direct":
            _, _, licensee, start, end, exclusive, territory = action
            body = {
                **base,
                "licensee": licensee,
                "licensor": patent.owner_on(start),
                "from": start.isoformat(),
                "to": None if end is None else end.isoformat(),
                "exclusive": exclusive,
                "territory": territory,
            }
            if b.try_add("license.direct", body):
                model.directs.append(
                    (key, licensee, start, end, None if territory == "all" else frozenset(territory))
                )

    # Pool licences, reports and corrections.
    for licensee in LICENSEES:
        for prog in ("P", "Q"):
            assert b.try_add("license.grant", {"licensee": licensee, "program": prog, "from": "2024-01-01"})
    added: list[tuple[str, str, str, str, str]] = []
    for licensee, prog, label, lines in sc["reports"]:
        pairs = {(ln[0], ln[1]): ln for ln in reversed(lines)}  # one line per (manufacture, sale): the first
        fresh = [
            ln
            for ln in lines
            if (licensee, prog, label, ln[0], ln[1]) not in model.reports and pairs[(ln[0], ln[1])] is ln
        ]
        if not fresh:
            continue
        body = {
            "licensee": licensee,
            "program": prog,
            "period": label,
            "lines": [
                {"manufacture": mc, "sale": sc_, "units": units, "net_sales": money_text(net)}
                for mc, sc_, units, net in fresh
            ],
        }
        seq = b.try_add("report.add", body)
        assert seq, body
        for mc, sc_, units, net in fresh:
            model.reports[(licensee, prog, label, mc, sc_)] = (units, Fraction(net, 100), seq)
            added.append((licensee, prog, label, mc, sc_))
    for index, _line, units, net in sc["corrections"]:
        if not added:
            break
        key5 = added[index % len(added)]
        old_units, old_net, old_seq = model.reports[key5]
        body = {
            "licensee": key5[0],
            "program": key5[1],
            "period": key5[2],
            "lines": [
                {
                    "manufacture": key5[3],
                    "sale": key5[4],
                    "units": units,
                    "net_sales": money_text(net),
                    "supersedes": old_seq,
                }
            ],
        }
        seq = b.try_add("report.correct", body)
        if seq:
            model.reports[key5] = (units, Fraction(net, 100), seq)
        else:
            assert (units, Fraction(net, 100)) == (old_units, old_net), (
                body
            )  # only "changes nothing" is refused
    return b.state, model


# --- the reference: spec section 6, step by step, in Fractions ----------------------------------------------
def half_up(x: Fraction) -> int:
    """Cents, rounded half-up (x >= 0): floor(100 x + 1/2)."""
    assert x >= 0
    return int(x * 100 + Fraction(1, 2))


def split(total: int, weights: list[Fraction]) -> list[int]:
    """Largest remainder: floors, then one cent each to the largest remainders, ties to the earlier item."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [e.numerator // e.denominator for e in exact]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def period_end(label: str) -> date:
    year, kind, n = int(label[:4]), label[4], int(label[5])
    month = n * 3 if kind == "Q" else n * 6
    return date(year, month, calendar.monthrange(year, month)[1])


def reference_allocate(model: Model, target: str) -> dict[str, Any]:
    program = "P"
    D = period_end(target)
    year, letter, number = target[:4], target[4], int(target[5])
    earlier = [f"{year}{letter}{n}" for n in range(1, number)]

    def counting(day: date) -> dict[str, list[MPatent]]:
        # Step 1: granted on or before the day, expiry after it, no invalidation/withdrawal/lapse by then.
        out: dict[str, list[MPatent]] = defaultdict(list)
        for p in model.patents.values():
            if p.counts(day, program):
                out[p.country].append(p)
        return out

    def T(units: int) -> Fraction:
        total, lower = Fraction(0), 0
        for upto, rate in model.tiers:
            upper = units if upto is None else min(units, upto)
            if upper > lower:
                total += (upper - lower) * rate
                lower = upper
        return total

    def capped(units: int) -> Fraction:
        return T(units) if model.cap is None else min(T(units), model.cap)

    def holds(licensee: str, p: MPatent, owner: str) -> bool:
        # Step 6: an open licence it took, a direct licence of the patent, or a cross-licence with the owner.
        for seq, key, who, notice in model.takes:
            decl = next(d for d in model.decls[key] if d.seq == seq)
            if who == licensee and key == (p.number, p.country) and notice <= D <= decl.end:
                return True
        for key, who, start, end, territory in model.directs:
            if (
                who == licensee
                and key == (p.number, p.country)
                and start <= D
                and (end is None or end >= D)
                and (territory is None or p.country in territory)
            ):
                return True
        for names, numbers, territory, start, end in model.crosses:
            if (
                licensee in names
                and owner in names
                and start <= D
                and (end is None or end >= D)
                and (numbers is None or p.number in numbers)
                and (territory is None or p.country in territory)
            ):
                return True
        return False

    lines_of: dict[tuple[str, str], list[tuple[str, str, int, Fraction]]] = defaultdict(list)
    for (lic, prog, label, mc, sc), (units, net, _seq) in model.reports.items():
        if prog == program:
            lines_of[(lic, label)].append((mc, sc, units, net))

    now = counting(D)
    gross: dict[str, int] = defaultdict(int)
    invoices: dict[str, dict[str, str]] = {}
    shares: dict[tuple[str, str, str], int] = defaultdict(int)
    behind: dict[tuple[str, str, str], list[str]] = {}  # the patents behind each share, for statements
    line_amounts: dict[str, list[tuple[str, str, str, str]]] = {}
    for lic in sorted({lic for (lic, label) in lines_of if label == target}):
        # Step 3: bearing units of the year before this period, each period judged at its own end.
        before = 0
        for label in earlier:
            then = counting(period_end(label))
            before += sum(u for mc, sc, u, _ in lines_of[(lic, label)] if mc in then or sc in then)
        # Step 2: bearing lines, in (manufacture, sale) order for the tie rule.
        bearing = sorted(
            (ln for ln in lines_of[(lic, target)] if ln[0] in now or ln[1] in now),
            key=lambda ln: (ln[0], ln[1]),
        )
        units = sum(ln[2] for ln in bearing)
        royalty = half_up(capped(before + units)) - half_up(capped(before))  # rule 3: R(through) - R(before)
        # Step 4: spread by units.
        spread = split(royalty, [Fraction(ln[2]) for ln in bearing]) if units else [0] * len(bearing)
        credit = 0
        line_amounts[lic] = []
        for (mc, sc, _u, _n), cents in zip(bearing, spread, strict=True):
            country = sc if sc in now else mc  # step 5
            weights: dict[str, Fraction] = defaultdict(Fraction)
            for p in now[country]:
                owner = p.owner_on(D)
                bucket = owner if owner == lic or not holds(lic, p, owner) else "\uffffcredit"
                weights[bucket] += p.weight
                if bucket == owner:
                    numbers = behind.setdefault((lic, country, owner), [])
                    if p.number not in numbers:
                        numbers.append(p.number)
            names = sorted(weights)  # member ids as strings; the credit key sorts last
            for name, part in zip(names, split(cents, [weights[n] for n in names]), strict=True):
                if name == "\uffffcredit":
                    credit += part
                else:
                    gross[name] += part
                    shares[(lic, country, name)] += part
            line_amounts[lic].append((mc, sc, money_text(cents), country))
        invoices[lic] = {
            "royalty": money_text(royalty),
            "credit": money_text(credit),
            "due": money_text(royalty - credit),
        }

    members = {}
    fee_total = 0
    for member, cents in gross.items():
        if not cents:
            continue  # a zero share: compared separately (listed or not, it must be all zeros)
        fee = half_up(Fraction(cents, 100) * model.fee_pct / 100)  # step 8
        fee_total += fee
        members[member] = {
            "gross": money_text(cents),
            "admin_fee": money_text(fee),
            "net": money_text(cents - fee),
        }

    # Step 9: memo fees for the open licences held on D, on the period's lines made or sold in the country.
    months = 3 if letter == "Q" else 6
    fees = []
    for seq, key, lic, notice in model.takes:
        decl = next(d for d in model.decls[key] if d.seq == seq)
        p = model.patents[key]
        if p.program != program or not (notice <= D <= decl.end) or not p.in_force(D):
            continue
        hit = [ln for ln in lines_of[(lic, target)] if p.country in (ln[0], ln[1])]
        if not hit:
            continue
        amount_text, kind = (decl.fee[:-1], "percent") if decl.fee.endswith("%") else decl.fee.split("/")
        rate = Fraction(amount_text)
        if kind == "unit":
            exact = rate * sum(ln[2] for ln in hit)
        elif kind == "percent":
            exact = rate * sum(ln[3] for ln in hit) / 100
        else:
            exact = rate * months / 12
        if half_up(exact) == 0 or p.owner_on(D) == lic:
            continue  # spec 7: lists of amounts leave out all-zero entries; rule 9: never owed to itself
        fees.append(
            {
                "licensee": lic,
                "patent": p.number,
                "owner": p.owner_on(D),
                "currency": model.currency if kind == "percent" else decl.currency,
                "amount": money_text(half_up(exact)),
            }
        )
    return {
        "members": members,
        "invoices": invoices,
        "admin_fee": money_text(fee_total),
        "total": money_text(sum(gross.values())),
        "open_license_fees": fees,
        "shares": {k: money_text(v) for k, v in shares.items() if v},
        "statement_lines": {k: (sorted(behind[k]), money_text(v)) for k, v in shares.items() if v},
        "lines": line_amounts,
    }


# --- helpers on the body ------------------------------------------------------------------------------------
def cents(text: str) -> int:
    assert MONEY.match(text), text
    return int(Decimal(text) * 100)


def all_amounts(body: dict[str, Any]) -> list[str]:
    found = [body["admin_fee"], body["total"]]
    for figures in body["members"].values():
        found += [figures["gross"], figures["admin_fee"], figures["net"]]
    for figures in body["invoices"].values():
        found += [figures["royalty"], figures["credit"], figures["due"]]
    found += [f["amount"] for f in body["open_license_fees"]]
    found += [share[3] for share in body["shares"]]
    for info in body["licensees"].values():
        found += [info["royalty"], info["credit"], info["due"]] + [line[4] for line in info["lines"]]
    return found


def fee_key(f: dict[str, str]) -> tuple[str, ...]:
    return (f["licensee"], f["patent"], f["owner"], f["currency"], f["amount"])


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- properties ---------------------------------------------------------------------------------------------
@SETTINGS
@given(scenarios())
def test_allocation_invariants(sc: dict[str, Any]) -> None:
    state, _model = build(sc)
    period = Period.parse(sc["target"])
    body = allocate(state, "P", period)
    # Amounts are strings with exactly two decimals, never negative in a run.
    for text in all_amounts(body):
        assert isinstance(text, str) and MONEY.match(text) and not text.startswith("-"), text
    members, invoices = body["members"], body["invoices"]
    royalties = sum(cents(i["royalty"]) for i in invoices.values())
    credits = sum(cents(i["credit"]) for i in invoices.values())
    dues = sum(cents(i["due"]) for i in invoices.values())
    gross = sum(cents(v["gross"]) for v in members.values())
    fees = sum(cents(v["admin_fee"]) for v in members.values())
    net = sum(cents(v["net"]) for v in members.values())
    # Each licensee: its line amounts sum exactly to its royalty; due = royalty - credit.
    for licensee, info in body["licensees"].items():
        if info["lines"]:
            assert sum(cents(line[4]) for line in info["lines"]) == cents(info["royalty"]), licensee
        else:
            assert info["royalty"] == "0.00"
        assert cents(invoices[licensee]["due"]) == cents(invoices[licensee]["royalty"]) - cents(
            invoices[licensee]["credit"]
        )
    for figures in members.values():
        assert cents(figures["net"]) == cents(figures["gross"]) - cents(figures["admin_fee"])
    # Spec section 6's invariants, and the allocate JSON's totals.
    assert gross + credits == royalties
    assert net + fees == gross == dues
    assert cents(body["total"]) == gross and cents(body["admin_fee"]) == fees
    # The shares behind the statements add up to each member's gross.
    per_member: dict[str, int] = defaultdict(int)
    for _lic, _country, member, amount in body["shares"]:
        per_member[member] += cents(amount)
    assert {k: v for k, v in per_member.items() if v} == {
        k: cents(v["gross"]) for k, v in members.items() if cents(v["gross"])
    }
    assert check_invariants(body) == []
    # Rule 6b: each member's part splits its rows and fee over its patents, summing exactly to its figures;
    # and the parts put back together are the allocation (spec 8a).
    member_parts = parts.member_parts(body)
    for member, part in member_parts.items():
        figures = parts.per_patent(part)
        assert sum(p.gross for p in figures) == cents(part["gross"]), member
        assert sum(p.admin_fee for p in figures) == cents(part["admin_fee"]), member
        assert sum(p.net for p in figures) == cents(part["net"]), member
        assert all(p.gross > 0 for p in figures)
    assert set(member_parts) == set(members)
    # Every licensee of the period's report lines gets an invoice, and only they.
    assert set(invoices) == {ln.licensee for ln in state.lines_for("P", sc["target"])}
    # Deterministic: the same state gives the same body, key order included; so does a copy of the state.
    again = allocate(state, "P", period)
    assert json.dumps(again) == json.dumps(body)
    assert json.dumps(allocate(copy.deepcopy(state), "P", period)) == json.dumps(body)
    # The spelled share rows (verify's form) make exactly the same canonical bytes.
    assert canonical(allocate(state, "P", period, spelled=True)) == canonical(body)
    # allocate() is pure: it did not change the state (a second call would otherwise differ above, but the
    # figures of a rebuilt state must match too).
    rebuilt, _ = build(sc)
    assert json.dumps(allocate(rebuilt, "P", period)) == json.dumps(body)


@SETTINGS
@given(scenarios())
def test_allocation_matches_the_reference(sc: dict[str, Any]) -> None:
    state, model = build(sc)
    body = allocate(state, "P", Period.parse(sc["target"]))
    want = reference_allocate(model, sc["target"])
    got = result_json(body)
    assert got["invoices"] == want["invoices"]
    nonzero = {k: v for k, v in got["members"].items() if v["gross"] != "0.00"}
    assert nonzero == want["members"]
    for name, figures in got["members"].items():
        if name not in want["members"]:
            assert figures == {"gross": "0.00", "admin_fee": "0.00", "net": "0.00"}, name
    assert (got["admin_fee"], got["total"]) == (want["admin_fee"], want["total"])
    assert sorted(map(fee_key, got["open_license_fees"])) == sorted(map(fee_key, want["open_license_fees"]))
    assert {(s[0], s[1], s[2]): s[3] for s in body["shares"] if s[3] != "0.00"} == want["shares"]
    for licensee, info in body["licensees"].items():
        assert [(ln[1], ln[2], ln[4], ln[5]) for ln in info["lines"]] == want["lines"][licensee], licensee
    # Statements: each member's lines name exactly the patents behind its share.
    for member in got["members"]:
        lines = {
            (ln["licensee"], ln["country"], member): (sorted(ln["patents"]), ln["gross"])
            for ln in statement_lines(body, member)
            if ln["gross"] != "0.00"
        }
        assert lines == {k: v for k, v in want["statement_lines"].items() if k[2] == member}, member
    # What the example exercised (shown by --hypothesis-show-statistics).
    event(f"credit: {any(i['credit'] != '0.00' for i in got['invoices'].values())}")
    event(f"memo fees: {bool(got['open_license_fees'])}")
    event(f"units before the period: {any(i['units_before'] for i in body['licensees'].values())}")
    event(f"members paid: {min(len(want['members']), 3)}")
    event(f"transferred patents: {any(p.transfers for p in model.patents.values())}")


# --- targeted examples on the pure function -----------------------------------------------------------------
def small_state(
    fee: str = "10",
    weights: tuple[tuple[str, str], ...] = (("A", "1"),),
    units: int = 10,
    tiers: str = "*:0.1",
) -> PoolState:
    b = MemoryPool(name="T", origin="pool.example/p", admin_fee="0")
    for member, role in (("A", "licensor"), ("B", "licensor"), ("L1", "licensee")):
        assert b.try_add("member.add", bodies.member(member, member, role))
    assert b.try_add("program.add", bodies.program("P", "USD", tiers, None, fee, "quarter"))
    for n, (owner, weight) in enumerate(weights):
        assert b.try_add(
            "patent.add",
            bodies.patent(
                number_for("CN", n),
                owner,
                "CN",
                "invention",
                "2005-01-01",
                "2015-01-01",
                "2031-01-01",
                "P",
                None,
                weight,
            ),
        )
    assert b.try_add("license.grant", {"licensee": "L1", "program": "P", "from": "2025-01-01"})
    assert b.try_add(
        "report.add",
        {
            "licensee": "L1",
            "program": "P",
            "period": "2025Q1",
            "lines": [{"manufacture": "CN", "sale": "CN", "units": units, "net_sales": "1.00"}],
        },
    )
    return b.state


def test_admin_fee_is_rounded_exactly_with_a_long_rate() -> None:
    # Gross 1.00 (10 units x 0.10) at 0.4999999999999999999999999999999 %: the exact fee is
    # 0.004999...9, which rounds half-up to 0.00. (A 28-digit decimal product would read 0.005 -> 0.01.)
    body = allocate(small_state(fee="0.4999999999999999999999999999999"), "P", Period.parse("2025Q1"))
    assert body["members"]["A"] == {"gross": "1.00", "admin_fee": "0.00", "net": "1.00"}


def test_weights_are_summed_exactly() -> None:
    # One cent (1 unit x 0.01) over B's two patents, weights 1 and 1e-28, and A's one of weight 1. B's weight
    # is larger by 1e-28, so B's exact share is more than half and B gets the cent; only a rounded weight
    # sum would make it a tie, which the lower id A would win.
    tiny = "0." + "0" * 27 + "1"
    state = small_state(fee="0", weights=(("B", "1"), ("B", tiny), ("A", "1")), units=1, tiers="*:0.01")
    body = allocate(state, "P", Period.parse("2025Q1"))
    assert {k: v["gross"] for k, v in body["members"].items()} == {"A": "0.00", "B": "0.01"}
    assert body["countries"]["CN"]["B"]["weight"] == "1." + "0" * 27 + "1"


def test_check_invariants_reports_broken_bodies() -> None:
    body = allocate(small_state(), "P", Period.parse("2025Q1"))
    assert check_invariants(body) == []
    broken = copy.deepcopy(body)
    broken["members"]["A"]["gross"] = "0.99"
    assert check_invariants(broken)
    broken = copy.deepcopy(body)
    broken["invoices"]["L1"]["due"] = "0.50"
    assert check_invariants(broken)
    broken = copy.deepcopy(body)
    broken["total"] = "2.00"
    assert check_invariants(broken)


# === 2. the policy rule by rule, on small pools in memory ===================================================
CN_A = "CN102345678B"  # an invention in CN, granted 2013
CN_B = "CN110123456B"  # another, granted 2019
US_B = "US10123456B2"  # an invention in US, granted 2018


def small_pool(tiers: str = "*:0.10", cap: str | None = None, cn_b: bool = False) -> MemoryPool:
    """A licensor A with a CN patent, a licensor B with a US patent (and, with `cn_b`, a CN one), and a
    licensee L1 holding an XR pool licence from 2025-01-01."""
    pool = MemoryPool()
    for member, role in (("A", "licensor"), ("B", "licensor"), ("L1", "licensee")):
        pool.add("member.add", {"id": member, "name": f"{member} Co.", "role": role})
    pool.program("XR", tiers, cap=cap, fee="10")
    patent(pool, CN_A, "A", "CN", "2010-03-01", "2013-05-08")
    patent(pool, US_B, "B", "US", "2011-06-01", "2018-11-13")
    if cn_b:
        patent(pool, CN_B, "B", "CN", "2015-06-01", "2019-09-10")
    pool.grant("L1")
    return pool


def patent(pool: MemoryPool, number: str, owner: str, country: str, filed: str, granted: str | None) -> None:
    from patentpool import bodies

    body = bodies.patent(number, owner, country, "invention", filed, granted, None, "XR", None, None)
    pool.add("patent.add", body)


def report(pool: MemoryPool, period: str, *lines: tuple[str, str, int]) -> None:
    rows = [{"manufacture": m, "sale": s, "units": u, "net_sales": "1.00"} for m, s, u in lines]
    pool.add("report.add", {"licensee": "L1", "program": "XR", "period": period, "lines": rows})


def gross(body: dict[str, Any]) -> dict[str, str]:
    """Member -> gross, leaving out members whose every figure is zero."""
    return {m: f["gross"] for m, f in body["members"].items() if f["gross"] != "0.00"}


def invoice(body: dict[str, Any], licensee: str = "L1") -> tuple[str, str, str]:
    figures = body["invoices"][licensee]
    return figures["royalty"], figures["credit"], figures["due"]


# --- the worked example -------------------------------------------------------------------------------------
def test_worked_example_in_memory_to_the_cent() -> None:
    # The same facts as conftest.build_example, so the same figures as ../shared/examples/pool-2025q1.
    body = build_example_state().allocate("XR", "2025Q1")
    assert result_json(body) == EXPECTED
    assert check_invariants(body) == []
    lines = {
        (ln["licensee"], ln["country"]): (ln["patents"], ln["gross"]) for ln in statement_lines(body, "C")
    }
    assert lines == {
        ("C", "CN"): (["CN110123456B"], "77.27"),
        ("C", "US"): (["US11234567B1"], "309.09"),
        ("L1", "CN"): (["CN110123456B"], "150.00"),
        ("L1", "US"): (["US11234567B1"], "160.71"),
    }


# --- steps 1-2: counting patents and bearing lines ----------------------------------------------------------
def test_lines_go_to_the_owner_of_the_counting_patent_in_their_country() -> None:
    pool = small_pool()
    report(pool, "2025Q1", ("CN", "CN", 1000), ("US", "US", 500))
    body = pool.allocate("XR", "2025Q1")
    # T(1500) at 0.10 = 150.00; spread by units: CN 100.00 (-> A), US 50.00 (-> B).
    # Fees 10%: A 10.00, B 5.00.
    assert body["members"]["A"] == {"gross": "100.00", "admin_fee": "10.00", "net": "90.00"}
    assert body["members"]["B"] == {"gross": "50.00", "admin_fee": "5.00", "net": "45.00"}
    assert invoice(body) == ("150.00", "0.00", "150.00")
    assert check_invariants(body) == []


@pytest.mark.parametrize(("effective", "counts"), [("2025-03-31", False), ("2025-04-01", True)])
def test_an_invalidation_on_the_last_day_stops_the_patent_counting(effective: str, counts: bool) -> None:
    pool = small_pool()
    pool.add(
        "patent.status", {"number": US_B, "country": "US", "status": "invalidated", "effective": effective}
    )
    report(pool, "2025Q1", ("CN", "CN", 1000), ("US", "US", 500))
    body = pool.allocate("XR", "2025Q1")
    if counts:  # effective after D = 2025-03-31: as if nothing happened
        assert gross(body) == {"A": "100.00", "B": "50.00"}
    else:
        # The US line has no counting patent: it bears nothing and is left out of the tiers, T(1000) = 100.00.
        assert gross(body) == {"A": "100.00"}
        assert invoice(body) == ("100.00", "0.00", "100.00")


def test_a_patent_without_a_grant_date_does_not_count() -> None:
    pool = small_pool()
    patent(pool, "CN110123457B", "B", "CN", "2015-06-01", None)  # pending: no grant date
    report(pool, "2025Q1", ("CN", "CN", 1000))
    assert gross(pool.allocate("XR", "2025Q1")) == {"A": "100.00"}


# --- step 3: tiers and the annual cap -----------------------------------------------------------------------
def test_tiers_and_cap_run_over_the_year_to_date() -> None:
    pool = small_pool(tiers="1000:0,*:1", cap="900.00")
    report(pool, "2025Q1", ("CN", "CN", 1500))
    report(pool, "2025Q2", ("CN", "CN", 600))
    # Q1: min(T(1500), 900) - 0 = 500.00. Q2: min(T(2100), 900) - min(T(1500), 900) = 900 - 500 = 400.00.
    assert invoice(pool.allocate("XR", "2025Q1")) == ("500.00", "0.00", "500.00")
    assert invoice(pool.allocate("XR", "2025Q2")) == ("400.00", "0.00", "400.00")


# --- step 5: allocation country -----------------------------------------------------------------------------
def test_a_line_goes_to_its_sale_country_if_it_has_a_counting_patent_else_its_manufacture_country() -> None:
    pool = small_pool()
    report(pool, "2025Q1", ("CN", "US", 100), ("CN", "JP", 100))
    body = pool.allocate("XR", "2025Q1")
    # CN->US: the US has B's patent, so B (10.00); CN->JP: JP has none, so the manufacture country CN, A.
    assert gross(body) == {"A": "10.00", "B": "10.00"}


# --- step 6: weights and the credit bucket ------------------------------------------------------------------
def test_a_direct_licence_moves_the_patent_to_the_credit_bucket() -> None:
    pool = small_pool()
    pool.add(
        "license.direct",
        {
            "number": CN_A,
            "country": "CN",
            "licensee": "L1",
            "licensor": "A",
            "from": "2025-01-01",
            "to": None,
            "exclusive": False,
            "territory": "all",
        },
    )
    report(pool, "2025Q1", ("CN", "CN", 1000), ("US", "US", 500))
    body = pool.allocate("XR", "2025Q1")
    # The CN line's 100.00 goes to the credit bucket: invoice 150.00 - 100.00; A is paid nothing.
    assert invoice(body) == ("150.00", "100.00", "50.00")
    assert gross(body) == {"B": "50.00"}
    assert check_invariants(body) == []


def test_weights_split_a_line_by_largest_remainder() -> None:
    pool = small_pool(cn_b=True)
    report(pool, "2025Q1", ("CN", "CN", 1000))
    assert gross(pool.allocate("XR", "2025Q1")) == {"A": "50.00", "B": "50.00"}


def test_a_half_cent_tie_goes_to_the_lower_member_id() -> None:
    pool = small_pool(tiers="*:0.01", cn_b=True)
    report(pool, "2025Q1", ("CN", "CN", 1))
    # 0.01 over two equal weights: 0.005 each; the tie goes to A, the lower id.
    assert gross(pool.allocate("XR", "2025Q1")) == {"A": "0.01"}


# --- the validators refuse what the commands refuse ---------------------------------------------------------
def test_a_report_for_a_period_before_the_licence_is_refused() -> None:
    pool = small_pool()
    with pytest.raises(FieldError) as refused:
        report(pool, "2024Q4", ("CN", "CN", 10))
    assert refused.value.field == "period" and "before L1's licence starts" in str(refused.value)


def test_a_line_reported_twice_needs_a_correction() -> None:
    pool = small_pool()
    report(pool, "2025Q1", ("CN", "CN", 10))
    with pytest.raises(FieldError, match="already reported: correct it with --correct"):
        report(pool, "2025Q1", ("CN", "CN", 11))
