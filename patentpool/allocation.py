"""Allocation policy v1 (spec section 6): a pure function of the replayed state.

All money is handled as integer cents or exact Decimal/Fraction; the only roundings are the ones the spec
names (period royalty half-up, admin fee half-up, open-licence fees half-up) and the largest-remainder splits,
so every split sums exactly to its total.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from licenses.agreements import PatentKey
from licenses.money import (
    format_money,
    format_rate,
    fraction_to_decimal,
    from_cents,
    largest_remainder,
    round_half_up_cents,
    to_cents,
)
from patentpool.periods import Period
from patentpool.state import Patent, PoolState, Program, Ref, ReportLine

POLICY = "v1"
CREDIT = "credit"


class AllocationError(ValueError):
    pass


@dataclass
class _Group:
    """One licensee's lines allocated to one country: they share the buckets."""

    buckets: dict[str, Decimal]  # member -> weight; CREDIT last
    patents: dict[str, list[str]]
    cents: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def counting_patents(state: PoolState, program: str, day: date) -> dict[str, list[Patent]]:
    """Spec 6.1: the program's patents counting on `day`, by the country where they are in force."""
    found: dict[str, list[Patent]] = defaultdict(list)
    for patent in state.patents.values():
        if patent.program == program and patent.counts_on(day):
            found[patent.country].append(patent)
    for patents in found.values():
        patents.sort(key=lambda p: p.number)
    return found


def holds_licence(state: PoolState, licensee: str, patent: Patent, owner: str, day: date) -> list[Ref]:
    """The entries under which `licensee` holds `patent` on `day` (empty if none): spec 6.6's credit rule."""
    key: PatentKey = patent.key
    refs: list[Ref] = []
    for take in state.takes:
        if take.licensee == licensee and take.patent == key:
            decl = state.declaration(take.declaration_seq)
            if take.held_on(day, decl):
                refs += state.declaration_refs[decl.seq] + [state.take_refs[take.seq]]
    for direct in state.directs:
        if direct.covers(licensee, key, day):
            refs.append(state.refs[direct.seq])
    for cross in state.crosslicenses:
        if cross.covers(licensee, owner, key, day):
            refs.append(state.refs[cross.seq])
    return refs


def _money(cents: int) -> str:
    return format_money(from_cents(cents))


def allocate(state: PoolState, program_name: str, period: Period) -> dict[str, Any]:
    """Compute the allocation of one program and period; returns the allocation.run body."""
    program = state.programs.get(program_name)
    if program is None:
        raise AllocationError(f"unknown program {program_name!r}")
    if not period.matches(program.period):
        raise AllocationError(f"program {program_name} allocates by {program.period}, not {period}")
    day = period.end
    inputs: set[Ref] = {program.ref}
    counting = counting_patents(state, program.name, day)
    counting_at = {period.label: counting}
    for earlier in period.earlier_in_year():
        counting_at[earlier.label] = counting_patents(state, program.name, earlier.end)
    for patents in counting.values():
        for patent in patents:
            inputs.update(patent.refs_on(day))

    lines_by_period: dict[str, dict[str, list[ReportLine]]] = defaultdict(lambda: defaultdict(list))
    for line in state.reports.values():
        if line.program == program.name and line.period in counting_at:
            lines_by_period[line.period][line.licensee].append(line)
    current = lines_by_period[period.label]

    members: dict[str, int] = defaultdict(int)
    shares: dict[tuple[str, str, str], int] = defaultdict(int)
    licensees: dict[str, dict[str, Any]] = {}
    countries: dict[str, dict[str, dict[str, Any]]] = {}
    for licensee in sorted(current):
        licensees[licensee] = _licensee(
            state, program, period, licensee, lines_by_period, counting_at, inputs, members, shares, countries
        )

    fee_rate = program.admin_fee
    member_out: dict[str, dict[str, str]] = {}
    fee_total = 0
    for member in sorted(members):
        gross = members[member]
        # Exact (Fraction), rounded once: a Decimal product would be rounded to the context's 28 digits first.
        fee = to_cents(round_half_up_cents(Fraction(gross, 100) * Fraction(fee_rate) / 100))
        fee_total += fee
        member_out[member] = {"gross": _money(gross), "admin_fee": _money(fee), "net": _money(gross - fee)}
    invoices = {
        lic: {"royalty": info["royalty"], "credit": info["credit"], "due": info["due"]}
        for lic, info in licensees.items()
    }
    fees = open_license_fees(state, program, period, current, inputs)
    body: dict[str, Any] = {
        "program": program.name,
        "period": period.label,
        "currency": program.currency,
        "policy": POLICY,
        "day": day.isoformat(),
        "schedule": {
            "tiers": program.schedule.tiers.canonical(),
            "annual_cap": program.schedule.cap_text(),
            "admin_fee": format_rate(program.admin_fee),
        },
        "members": member_out,
        "invoices": invoices,
        "admin_fee": _money(fee_total),
        "total": _money(sum(members.values())),
        "open_license_fees": fees,
        "countries": {c: countries[c] for c in sorted(countries)},
        "licensees": licensees,
        "shares": [[lic, c, m, _money(cents)] for (lic, c, m), cents in sorted(shares.items())],
        "inputs": [[seq, h] for seq, h in sorted(inputs)],
    }
    return body


def _licensee(
    state: PoolState,
    program: Program,
    period: Period,
    licensee: str,
    lines_by_period: dict[str, dict[str, list[ReportLine]]],
    counting_at: dict[str, dict[str, list[Patent]]],
    inputs: set[Ref],
    members: dict[str, int],
    shares: dict[tuple[str, str, str], int],
    countries: dict[str, dict[str, dict[str, Any]]],
) -> dict[str, Any]:
    day = period.end
    grant = state.grants.get((licensee, program.name))
    if grant is not None:
        inputs.add(state.refs[grant.seq])
    units_before = 0
    for earlier in period.earlier_in_year():
        at = counting_at[earlier.label]
        for line in lines_by_period[earlier.label].get(licensee, []):
            inputs.add(line.ref)
            if line.manufacture in at or line.sale in at:
                units_before += line.units
        # An earlier period's counting patents decide its lines: they are inputs too.
        for patents in at.values():
            for patent in patents:
                inputs.update(patent.refs_on(earlier.end))
    counting = counting_at[period.label]
    lines = sorted(lines_by_period[period.label][licensee], key=lambda ln: (ln.manufacture, ln.sale))
    bearing = []
    for line in lines:
        inputs.add(line.ref)
        if line.manufacture in counting or line.sale in counting:
            bearing.append(line)
    units = sum(line.units for line in bearing)
    royalty = program.schedule.period_royalty(units_before, units_before + units)
    royalty_cents = to_cents(royalty)
    if royalty_cents and units:
        line_cents = largest_remainder(royalty_cents, [line.units for line in bearing])
    else:
        line_cents = [0] * len(bearing)

    groups: dict[str, _Group] = {}
    credit_cents = 0
    credited: dict[str, list[str]] = {}
    out_lines = []
    for line, cents in zip(bearing, line_cents, strict=True):
        country = line.sale if line.sale in counting else line.manufacture
        group = groups.get(country)
        if group is None:
            group = groups[country] = _group(state, licensee, counting[country], day, inputs, countries, country)
            if CREDIT in group.patents:
                credited[country] = group.patents[CREDIT]
        names = list(group.buckets)
        parts = largest_remainder(cents, [group.buckets[n] for n in names]) if cents else [0] * len(names)
        for name, part in zip(names, parts, strict=True):
            group.cents[name] += part
        out_lines.append([line.ref[0], line.manufacture, line.sale, line.units, _money(cents), country])
    for country, group in sorted(groups.items()):
        for name, cents in group.cents.items():
            if name == CREDIT:
                credit_cents += cents
            else:
                members[name] += cents
                shares[(licensee, country, name)] += cents
    return {
        "units_before": units_before,
        "units": units,
        "royalty": format_money(royalty),
        "credit": _money(credit_cents),
        "due": _money(royalty_cents - credit_cents),
        "credited": credited,
        "lines": out_lines,
    }


def _group(
    state: PoolState,
    licensee: str,
    patents: list[Patent],
    day: date,
    inputs: set[Ref],
    countries: dict[str, dict[str, dict[str, Any]]],
    country: str,
) -> _Group:
    weights: dict[str, Fraction] = defaultdict(Fraction)  # exact sums: Decimal addition rounds to 28 digits
    numbers: dict[str, list[str]] = defaultdict(list)
    by_owner = countries.setdefault(country, {})
    for patent in patents:
        owner = patent.owner_on(day)
        entry = by_owner.setdefault(owner, {"weight": "0", "patents": []})
        if patent.number not in entry["patents"]:
            entry["patents"].append(patent.number)
            total = Fraction(entry["weight"]) + Fraction(patent.weight)
            entry["weight"] = format_rate(fraction_to_decimal(total))
        held = holds_licence(state, licensee, patent, owner, day) if owner != licensee else []
        inputs.update(held)
        bucket = CREDIT if held else owner
        weights[bucket] += Fraction(patent.weight)
        numbers[bucket].append(patent.number)
    # Ties go to the lower member id (as strings), the credit bucket last: largest_remainder favours order.
    order = sorted(n for n in weights if n != CREDIT) + ([CREDIT] if CREDIT in weights else [])
    return _Group({n: fraction_to_decimal(weights[n]) for n in order}, {n: numbers[n] for n in order})


def open_license_fees(
    state: PoolState, program: Program, period: Period, current: dict[str, list[ReportLine]], inputs: set[Ref]
) -> list[dict[str, str]]:
    """Spec 6.9: memo fees due from licensee to patentee directly, never pool money."""
    day = period.end
    fees = []
    for take in sorted(state.takes, key=lambda t: (t.licensee, t.patent)):
        lines = current.get(take.licensee)
        if not lines:
            continue
        patent = state.patents[take.patent]
        if patent.program != program.name or not patent.in_force_on(day):
            continue
        decl = state.declaration(take.declaration_seq)
        if not take.held_on(day, decl):
            continue
        # Each unit once: a line made and sold in the patent's country counts one time.
        hit = [ln for ln in lines if patent.country in (ln.manufacture, ln.sale)]
        if not hit:
            continue
        units = sum(ln.units for ln in hit)
        net_sales = fraction_to_decimal(sum((Fraction(ln.net_sales) for ln in hit), Fraction(0)))
        amount = decl.fee.due(units, net_sales, period.months)
        currency = program.currency if decl.fee.kind == "percent" else decl.currency
        inputs.update(state.declaration_refs[decl.seq] + [state.take_refs[take.seq]])
        fees.append(
            {
                "licensee": take.licensee,
                "patent": patent.number,
                "owner": patent.owner_on(day),
                "currency": currency,
                "amount": format_money(amount),
            }
        )
    return fees


RESULT_KEYS = ("program", "period", "currency", "members", "invoices", "admin_fee", "total", "open_license_fees")


def result_json(body: dict[str, Any]) -> dict[str, Any]:
    """The `allocate` JSON of spec section 7, from an allocation.run/adjust body."""
    return {key: body[key] for key in RESULT_KEYS}


def figures(body: dict[str, Any]) -> dict[str, Any]:
    """What a re-run compares: everything computed, not which entries were read."""
    return {k: v for k, v in body.items() if k not in ("inputs", "supersedes", "deltas", "inputs_digest")}


def inputs_digest(inputs: list[list[Any]]) -> str:
    return hashlib.sha256(json.dumps(inputs, separators=(",", ":")).encode()).hexdigest()


def deltas(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per-member and per-licensee differences new - old (allocation.adjust)."""

    def diff(a: dict[str, dict[str, str]], b: dict[str, dict[str, str]], keys: tuple[str, ...]) -> dict[str, Any]:
        out = {}
        for name in sorted(set(a) | set(b)):
            row = {
                k: format_money(Decimal(b.get(name, {}).get(k, "0.00")) - Decimal(a.get(name, {}).get(k, "0.00")))
                for k in keys
            }
            if any(v != "0.00" for v in row.values()):
                out[name] = row
        return out

    return {
        "members": diff(old["members"], new["members"], ("gross", "admin_fee", "net")),
        "invoices": diff(old["invoices"], new["invoices"], ("royalty", "credit", "due")),
    }
