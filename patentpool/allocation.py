"""Allocation policy v1 (spec section 6): a pure function of the replayed state.

All money is handled as integer cents or exact Decimal/Fraction; the only roundings are the ones the spec
names (period royalty half-up, admin fee half-up, open-licence fees half-up) and the largest-remainder splits,
so every split sums exactly to its total.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from ledger.entry import Spelled
from ledger.memory import paused_gc
from licenses.agreements import PatentKey
from licenses.money import (
    cents_speller,
    format_cents,
    format_money,
    format_rate,
    fraction_to_decimal,
    largest_remainder,
    round_half_up_cents,
    to_cents,
)
from patentpool import owners
from patentpool.errors import PoolError
from patentpool.periods import Period
from patentpool.splits import integer_weights, split_group_totals, split_rows, split_totals
from patentpool.state import Patent, PoolState, Program, Ref, ReportLine

POLICY = "v2"
# The computed body's share rows in groups (`ShareGroup`), beside `shares`: never part of an entry.
SHARE_GROUPS = "share_groups"
CREDIT = "credit"


class AllocationError(PoolError, ValueError):
    pass


def counting_patents(state: PoolState, program: str, day: date) -> dict[str, list[Patent]]:
    """Spec 6.1: the program's patents counting on `day`, by the country where they are in force."""
    found: dict[str, list[Patent]] = defaultdict(list)
    for patent in state.patents.counting(program, day):
        found[patent.country].append(patent)
    for patents in found.values():
        patents.sort(key=lambda p: p.number)
    return found


def _licences_held(
    state: PoolState, licensees: set[str], counting: dict[str, list[Patent]], day: date
) -> dict[str, dict[PatentKey, list[Ref]]]:
    """For each licensee, the counting patents it holds under licence on `day` and the entries granting them
    (spec 6.6: a licence from any co-owner covers the whole patent; a patent the licensee owns or co-owns on
    `day` is never held under licence).

    Computed once per allocation from the licences' side (few licences, many patents), not per patent."""
    held: dict[str, dict[PatentKey, list[Ref]]] = defaultdict(lambda: defaultdict(list))
    by_key = {p.key: p for patents in counting.values() for p in patents}
    owners_of = {key: owners.members(p.owners_on(day)) for key, p in by_key.items()}
    for take in state.takes:
        if take.licensee in licensees and take.patent in by_key:
            decl = state.declaration(take.declaration_seq)
            if take.held_on(day, decl) and take.licensee not in owners_of[take.patent]:
                held[take.licensee][take.patent] += state.declaration_refs[decl.seq] + [
                    state.take_refs[take.seq]
                ]
    for direct in state.directs:
        if (
            direct.licensee in licensees
            and direct.patent in by_key
            and direct.licensee not in owners_of[direct.patent]
            and direct.covers(direct.licensee, direct.patent, day)
        ):
            held[direct.licensee][direct.patent].append(state.refs[direct.seq])
    for cross in state.crosslicenses:
        takers = cross.members & licensees
        if not takers or day < cross.start or (cross.end is not None and day > cross.end):
            continue
        for key, holders in owners_of.items():
            granting = [o for o in holders if o in cross.members]
            if not granting:
                continue
            for licensee in takers:
                if licensee in holders:
                    continue
                if any(cross.covers(licensee, owner, key, day) for owner in granting):
                    held[licensee][key].append(state.refs[cross.seq])
    return held


_money = format_cents


def allocate(
    state: PoolState, program_name: str, period: Period, *, spelled: bool = False, shares: bool = True
) -> dict[str, Any]:
    """Compute the allocation of one program and period, as one body with every party's figures (`parts`
    splits it into entries). Its `shares` rows are lists, or with `spelled` their canonical JSON bytes
    (`ledger.entry.Spelled`); without `shares` there are none: the parts are built from `SHARE_GROUPS`, and
    a million share rows are not spelled for nothing."""
    with paused_gc():  # millions of share rows, no cycles
        return _allocate(state, program_name, period, spelled, shares)


def _allocate(
    state: PoolState, program_name: str, period: Period, spelled: bool, with_shares: bool
) -> dict[str, Any]:
    program = _program(state, program_name, period)
    day = period.end
    schedule, admin_fee = program.terms_for(period.label)  # a program.amend in force for the period
    inputs: set[Ref] = set(program.terms_refs(period.label))
    counting = counting_patents(state, program.name, day)
    earlier_countries = _earlier_countries(state, program.name, period, inputs)
    countries = _countries(counting, day, inputs)
    lines_by_period = _lines_by_period(state, program.name, [period.label, *earlier_countries])
    current = lines_by_period[period.label]
    held = _licences_held(state, set(current), counting, day)

    members: dict[str, int] = defaultdict(int)
    shares = _Shares()
    licensees: dict[str, dict[str, Any]] = {}
    for licensee in sorted(current):
        licensees[licensee] = _licensee(
            state,
            program,
            period,
            licensee,
            lines_by_period,
            earlier_countries,
            counting,
            countries,
            held[licensee],
            inputs,
            members,
            shares,
        )
    shares.split_plain(countries, members)
    member_out, fee_total = _member_figures(members, admin_fee)
    invoices = {
        lic: {"royalty": info["royalty"], "credit": info["credit"], "due": info["due"]}
        for lic, info in licensees.items()
    }
    fees, fee_refs = open_license_fees(state, program, period, current, inputs)
    return {
        "program": program.name,
        "period": period.label,
        "currency": program.currency,
        "policy": POLICY,
        "day": day.isoformat(),
        "program_seq": program.ref[0],
        "schedule": {
            "tiers": schedule.tiers.canonical(),
            "annual_cap": schedule.cap_text(),
            "admin_fee": format_rate(admin_fee),
        },
        "members": member_out,
        "invoices": invoices,
        "admin_fee": _money(fee_total),
        "total": _money(sum(members.values())),
        "open_license_fees": fees,
        "open_license_refs": fee_refs,
        "earlier": {label: sorted(found) for label, found in sorted(earlier_countries.items())},
        "countries": {
            c: {o: countries[c][o].body() for o in sorted(countries[c])} for c in sorted(countries)
        },
        "licensees": licensees,
        # Licensee by licensee, country by country, member by member, all in sorted order.
        **({"shares": shares.spelled_rows() if spelled else shares.rows()} if with_shares else {}),
        SHARE_GROUPS: shares.in_groups(),  # not recorded: the parts are built from it (parts.member_parts)
        "inputs": [[seq, h] for seq, h in sorted(inputs)],
    }


def _program(state: PoolState, name: str, period: Period) -> Program:
    program = state.programs.get(name)
    if program is None:
        raise AllocationError(f"unknown program {name!r}")
    if not period.matches(program.period):
        raise AllocationError(f"program {name} allocates by {program.period}, not {period}")
    return program


def _earlier_countries(
    state: PoolState, program: str, period: Period, inputs: set[Ref]
) -> dict[str, set[str]]:
    """The countries with counting patents at the end of each earlier period of the year (which of its
    lines bore royalty); those patents' entries are inputs too."""
    found: dict[str, set[str]] = {}
    for earlier in period.earlier_in_year():
        at = counting_patents(state, program, earlier.end)
        found[earlier.label] = set(at)
        for patents in at.values():
            for patent in patents:
                inputs.update(patent.refs_on(earlier.end))
    return found


def _lines_by_period(
    state: PoolState, program: str, periods: list[str]
) -> dict[str, dict[str, list[ReportLine]]]:
    """The program's report lines of `periods`, by period and licensee."""
    out: dict[str, dict[str, list[ReportLine]]] = defaultdict(lambda: defaultdict(list))
    for line in state.reports.lines(program, periods):
        out[line.period][line.licensee].append(line)
    return out


def _member_figures(members: dict[str, int], admin_fee: Decimal) -> tuple[dict[str, dict[str, str]], int]:
    """Each member's gross, admin fee (rule 8) and net, and the fees' total, in cents."""
    out: dict[str, dict[str, str]] = {}
    total = 0
    for member in sorted(members):
        gross = members[member]
        # Exact (Fraction), rounded once: a Decimal product would be rounded to the context's 28 digits first.
        fee = to_cents(round_half_up_cents(Fraction(gross, 100) * Fraction(admin_fee) / 100))
        total += fee
        out[member] = {"gross": _money(gross), "admin_fee": _money(fee), "net": _money(gross - fee)}
    return out, total


class ShareGroup(NamedTuple):
    """The share rows of one licensee and allocation country: each member with a share there, its cents; and
    the licensee's bearing lines there and the royalty they bore (cents), which every member's row shows."""

    licensee: str
    country: str
    members: list[str]
    cents: list[int]
    lines: int
    royalty: int


@dataclass
class _Shares:
    """The share rows (licensee, country, member, amount), one per member for each licensee and country.

    A group of lines in a country where the licensee holds no licence splits over that country's plain
    buckets, the same for every such licensee: those groups are split together, country by country, in one
    vectorised split after every licensee's lines are known (`split_plain`); the rows keep the order in which
    the groups were met."""

    order: list[tuple[str, str]] = field(default_factory=list)
    groups: dict[tuple[str, str], tuple[list[str], list[int]]] = field(default_factory=dict)
    quoted: dict[str, str] = field(default_factory=dict)
    plain: dict[str, list[tuple[str, list[int]]]] = field(default_factory=lambda: defaultdict(list))
    spell: Callable[[int], str] = field(default_factory=cents_speller)
    bearing: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def bore(self, licensee: str, country: str, line_cents: list[int]) -> None:
        """The licensee's bearing lines in the country (their cents): their count and royalty, on rows."""
        self.bearing[(licensee, country)] = (len(line_cents), sum(line_cents))

    def add(
        self, licensee: str, country: str, names: list[str], cents: list[int], members: dict[str, int]
    ) -> None:
        self.order.append((licensee, country))
        self._record(licensee, country, names, cents, members)

    def add_plain(self, licensee: str, country: str, line_cents: list[int]) -> None:
        self.order.append((licensee, country))
        self.plain[country].append((licensee, line_cents))

    def split_plain(self, countries: dict[str, dict[str, _Holding]], members: dict[str, int]) -> None:
        for country, groups in self.plain.items():
            owners = countries[country]
            names = sorted(owners)
            weights = integer_weights([owners[o].weight for o in names])
            got = split_group_totals([cents for _licensee, cents in groups], weights)
            for (licensee, _cents), row in zip(groups, got, strict=True):
                self._record(licensee, country, names, row, members)
        self.plain.clear()

    def _record(
        self, licensee: str, country: str, names: list[str], cents: list[int], members: dict[str, int]
    ) -> None:
        """One group's split: each member's cents to its gross; its rows are spelled only when asked for."""
        for name, c in zip(names, cents, strict=True):
            members[name] += c
        self.groups[(licensee, country)] = (names, cents)

    def _quoted(self, text: str) -> str:
        found = self.quoted.get(text)
        if found is None:
            found = self.quoted[text] = json.dumps(text, ensure_ascii=False)
        return found

    def rows(self) -> list[list[str]]:
        spell = self.spell
        return [
            [licensee, country, name, spell(c)]
            for licensee, country in self.order
            for name, c in zip(*self.groups[(licensee, country)], strict=True)
        ]

    def spelled_rows(self) -> Spelled:
        """The rows of `rows()` as the canonical JSON bytes of that list, made with one copy of them."""
        spell, q = self.spell, self._quoted
        texts = []
        for licensee, country in self.order:
            names, cents = self.groups[(licensee, country)]
            start = f"[{q(licensee)},{q(country)},"
            texts += [f'{start}{q(name)},"{spell(c)}"]' for name, c in zip(names, cents, strict=True)]
        return Spelled(("[" + ",".join(texts) + "]").encode())

    def in_groups(self) -> list[ShareGroup]:
        """The rows as groups of one licensee and country, members and cents: what parts are built from."""
        return [ShareGroup(*key, *self.groups[key], *self.bearing[key]) for key in self.order]


@dataclass
class _Holding:
    """One owner's counting patents in one country, each with the weight it gives this owner: w, or
    w x part / sum of parts for a co-owned patent (spec 6.6, exact)."""

    patents: list[Patent] = field(default_factory=list)
    weights: list[Fraction] = field(default_factory=list)  # per patent, exact
    weight: Fraction = Fraction(0)
    refs: set[int] = field(default_factory=set)
    parts: dict[str, list[str]] = field(default_factory=dict)  # co-owned number -> [part, sum of parts]

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "weight": spell_weight(self.weight),
            "patents": [p.number for p in self.patents],
            "refs": sorted(self.refs),
        }
        if self.parts:
            out["parts"] = dict(sorted(self.parts.items()))
        set_weights = {p.number: format_rate(p.weight) for p in self.patents if p.weight != 1}
        if set_weights:
            out["weights"] = set_weights
        return out


def spell_weight(value: Fraction) -> str:
    """A weight in the body: a decimal where it has one, else `p/q` (a part of 1/3 has no decimal)."""
    try:
        return format_rate(fraction_to_decimal(value))
    except ValueError:
        return f"{value.numerator}/{value.denominator}"


def read_weight(text: str) -> Fraction:
    return Fraction(text)


def _countries(
    counting: dict[str, list[Patent]], day: date, inputs: set[Ref]
) -> dict[str, dict[str, _Holding]]:
    """Counting patents by country and owner on `day`, with their weights and the entries deciding them."""
    out: dict[str, dict[str, _Holding]] = {}
    for country, patents in counting.items():
        holdings: dict[str, _Holding] = {}
        for patent in patents:
            refs = patent.refs_on(day)
            found = patent.owners_on(day)
            split = owners.shares(found) if len(found) > 1 else {found[0][0]: Fraction(1)}
            for owner, share in split.items():
                holding = holdings.setdefault(owner, _Holding())
                holding.patents.append(patent)
                holding.weights.append(Fraction(patent.weight) * share)
                holding.weight += holding.weights[-1]  # exact sums: Decimal addition rounds to 28 digits
                holding.refs.update(ref[0] for ref in refs)
                if len(found) > 1:
                    part = dict(found)[owner]
                    total = sum((p for _o, p in found), Decimal(0))
                    holding.parts[patent.number] = [format_rate(part), format_rate(total)]
            inputs.update(refs)
        out[country] = holdings
    return out


def _licensee(
    state: PoolState,
    program: Program,
    period: Period,
    licensee: str,
    lines_by_period: dict[str, dict[str, list[ReportLine]]],
    earlier_countries: dict[str, set[str]],
    counting: dict[str, list[Patent]],
    countries: dict[str, dict[str, _Holding]],
    held: dict[PatentKey, list[Ref]],
    inputs: set[Ref],
    members: dict[str, int],
    shares: _Shares,
) -> dict[str, Any]:
    grant = state.grants.get((licensee, program.name))
    if grant is not None:
        inputs.add(state.refs[grant.seq])
    units_before, earlier_reports = _units_before(licensee, lines_by_period, earlier_countries, inputs)
    lines = sorted(lines_by_period[period.label][licensee], key=lambda ln: (ln.manufacture, ln.sale))
    bearing = []
    for line in lines:
        inputs.add(line.ref)
        if line.manufacture in counting or line.sale in counting:
            bearing.append(line)
    units = sum(line.units for line in bearing)
    schedule, _fee = program.terms_for(period.label)
    royalty = schedule.period_royalty(units_before, units_before + units)
    royalty_cents = to_cents(royalty)
    if royalty_cents and units:
        line_cents = split_rows([royalty_cents], [line.units for line in bearing])[0]
    else:
        line_cents = [0] * len(bearing)

    by_country: dict[str, list[int]] = defaultdict(list)
    out_lines = []
    for i, line in enumerate(bearing):
        country = line.sale if line.sale in counting else line.manufacture
        by_country[country].append(i)
        out_lines.append(
            [line.ref[0], line.manufacture, line.sale, line.units, _money(line_cents[i]), country]
        )
    groups = {country: [line_cents[i] for i in by_country[country]] for country in sorted(by_country)}
    credit = _split_countries(licensee, groups, countries, held, inputs, period, members, shares)
    return {
        "units_before": units_before,
        "units": units,
        "royalty": format_money(royalty),
        "credit": _money(credit.cents),
        "due": _money(royalty_cents - credit.cents),
        "grant": None if grant is None else grant.seq,
        "credited": credit.patents,
        "credit_refs": credit.refs,
        "credited_entries": credit.entries,
        "reports": sorted({line.ref[0] for line in lines}),
        "earlier_reports": sorted(earlier_reports),
        "lines": out_lines,
    }


def _units_before(
    licensee: str,
    lines_by_period: dict[str, dict[str, list[ReportLine]]],
    earlier_countries: dict[str, set[str]],
    inputs: set[Ref],
) -> tuple[int, set[int]]:
    """The licensee's units of the earlier periods of the year on lines that bore royalty then (made or sold
    where a patent counted at that period's end), and the seqs of those periods' reports (all inputs)."""
    units = 0
    reports: set[int] = set()
    for label, at in earlier_countries.items():
        for line in lines_by_period[label].get(licensee, []):
            inputs.add(line.ref)
            reports.add(line.ref[0])
            if line.manufacture in at or line.sale in at:
                units += line.units
    return units, reports


class _Credit(NamedTuple):
    """What a licensee's own licences credit it: cents, and per country the patents and their entries."""

    cents: int
    patents: dict[str, list[str]]
    refs: dict[str, list[int]]  # the licence entries behind each country's credit
    entries: dict[str, list[int]]  # the credited patents' own entries (a licensee bundle carries them)


def _split_countries(
    licensee: str,
    groups: dict[str, list[int]],
    countries: dict[str, dict[str, _Holding]],
    held: dict[PatentKey, list[Ref]],
    inputs: set[Ref],
    period: Period,
    members: dict[str, int],
    shares: _Shares,
) -> _Credit:
    """Each country's lines (their cents, `groups`) over its buckets: the plain ones where the licensee holds
    no licence (split later with every such licensee's, `_Shares.split_plain`), else the buckets with the
    credit bucket of the patents it holds (rule 10)."""
    credit = _Credit(0, {}, {}, {})
    held_in = {key[1] for key in held}
    cents = 0
    for country, group in groups.items():
        shares.bore(licensee, country, group)
        if country not in held_in:
            shares.add_plain(licensee, country, group)
            continue
        names, weights, numbers, refs = _buckets(countries[country], licensee, held, inputs)
        if CREDIT in numbers:
            credit.patents[country] = numbers[CREDIT]
            credit.refs[country] = refs
            by_number = {p.number: p for h in countries[country].values() for p in h.patents}
            credit.entries[country] = sorted(
                {ref[0] for n in numbers[CREDIT] for ref in by_number[n].refs_on(period.end)}
            )
        got = split_totals(group, integer_weights(weights))
        if names and names[-1] == CREDIT:
            cents += got[-1]
            names, got = names[:-1], got[:-1]
        shares.add(licensee, country, names, got, members)
    return credit._replace(cents=cents)


def _buckets(
    owners_: dict[str, _Holding], licensee: str, held: dict[PatentKey, list[Ref]], inputs: set[Ref]
) -> tuple[list[str], list[Fraction], dict[str, list[str]], list[int]]:
    """Spec 6.6 for one licensee's lines in one country: weight per member, licensed patents to the credit
    bucket (the whole patent, whichever co-owner licensed it); ordered by member id (as strings) with the
    credit bucket last, the spec's tie order."""
    weights: dict[str, Fraction] = {}
    numbers: dict[str, list[str]] = {}
    refs: set[int] = set()
    credited: set[PatentKey] = set()
    for owner, holding in owners_.items():
        weight = holding.weight
        for patent, patent_weight in zip(holding.patents, holding.weights, strict=True) if held else ():
            granted = held.get(patent.key)
            if granted:
                weight -= patent_weight
                weights[CREDIT] = weights.get(CREDIT, Fraction(0)) + patent_weight
                if patent.key not in credited:
                    credited.add(patent.key)
                    numbers.setdefault(CREDIT, []).append(patent.number)
                refs.update(ref[0] for ref in granted)
                inputs.update(granted)
        if weight:
            weights[owner] = weight
    names = sorted(n for n in weights if n != CREDIT) + ([CREDIT] if CREDIT in weights else [])
    if CREDIT in numbers:
        numbers[CREDIT].sort()
    return names, [weights[n] for n in names], numbers, sorted(refs)


def open_license_fees(
    state: PoolState, program: Program, period: Period, current: dict[str, list[ReportLine]], inputs: set[Ref]
) -> tuple[list[dict[str, str]], list[list[int]]]:
    """Spec 6.9: memo fees due from licensee to patentee directly, never pool money; with, for each, the
    seqs of the declaration, its withdrawal if any, and the take."""
    day = period.end
    fees = []
    refs = []
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
        used = state.declaration_refs[decl.seq] + [state.take_refs[take.seq]]
        inputs.update(used)
        used = used + patent.refs_on(
            day
        )  # the patent's own entries decide its owners: the memo rests on them
        for owner, cents in memo_split(to_cents(amount), patent.owners_on(day)):
            if owner == take.licensee or cents == 0:
                continue  # never owed to itself; no 0.00 memo lines
            fees.append(
                {
                    "licensee": take.licensee,
                    "patent": patent.number,
                    "owner": owner,
                    "currency": currency,
                    "amount": format_cents(cents),
                }
            )
            refs.append([ref[0] for ref in used])
    return fees, refs


def memo_split(cents: int, found: owners.Owners) -> list[tuple[str, int]]:
    """Spec 6.9: an open-licence fee over the patent's owners on D by parts, largest remainder, ties to the
    lower member id (owners are in member id order)."""
    names = owners.members(found)
    if len(names) == 1:
        return [(names[0], cents)]
    shares = owners.shares(found)
    got = largest_remainder(cents, integer_weights([shares[n] for n in names]))
    return list(zip(names, got, strict=True))


def patent_weights(holding: Mapping[str, Any], credited: set[str]) -> list[tuple[str, Fraction]]:
    """The patents that gave a member weight in one country for one licensee's lines, each with the weight it
    gave (w x part / sum of parts), from an allocation body's `countries` entry: those not credited."""
    parts = holding.get("parts", {})
    set_weights = holding.get("weights", {})
    out = []
    for number in holding["patents"]:
        if number in credited:
            continue
        weight = Fraction(set_weights.get(number, "1"))
        if number in parts:
            part, total = parts[number]
            weight = weight * Fraction(part) / Fraction(total)
        out.append((number, weight))
    return sorted(out)


RESULT_KEYS = (
    "program",
    "period",
    "currency",
    "members",
    "invoices",
    "admin_fee",
    "total",
    "open_license_fees",
)


def result_json(body: dict[str, Any]) -> dict[str, Any]:
    """The `allocate` JSON of spec section 7, from an allocation.run/adjust body."""
    return {key: body[key] for key in RESULT_KEYS}


def figures(body: dict[str, Any]) -> dict[str, Any]:
    """What a re-run compares: everything computed, not which entries were read."""
    left_out = ("inputs", "supersedes", "deltas", "inputs_digest", SHARE_GROUPS)
    return {k: v for k, v in body.items() if k not in left_out}


def deltas(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per-member and per-licensee differences new - old (allocation.adjust)."""

    def diff(
        a: dict[str, dict[str, str]], b: dict[str, dict[str, str]], keys: tuple[str, ...]
    ) -> dict[str, Any]:
        out = {}
        for name in sorted(set(a) | set(b)):
            row = {
                k: format_money(
                    Decimal(b.get(name, {}).get(k, "0.00")) - Decimal(a.get(name, {}).get(k, "0.00"))
                )
                for k in keys
            }
            if any(v != "0.00" for v in row.values()):
                out[name] = row
        return out

    return {
        "members": diff(old["members"], new["members"], ("gross", "admin_fee", "net")),
        "invoices": diff(old["invoices"], new["invoices"], ("royalty", "credit", "due")),
    }
