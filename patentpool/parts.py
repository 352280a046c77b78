"""Allocation parts (spec section 8a, policy v2): an allocation as one entry per party and a summary.

`allocation.allocate` computes an allocation as one body holding every party's figures. No entry may hold two
parties' figures, so the ledger records it as one `allocation.part` per member with a share and one per
licensee, then an `allocation.run` (or `allocation.adjust`) summary that lists the parts and holds no totals.
This module is the one home of that split: the allocation, `verify` and the bundles all call it, and
`assemble` puts the parts back together for the administrator's reports.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from ledger import merkle
from ledger.entry import Spelled, canonical
from licenses.money import cents_of, cents_speller, format_cents, format_money
from patentpool import allocation
from patentpool.allocation import read_weight, spell_weight

PART = "allocation.part"
MEMBER_FIGURES = ("gross", "admin_fee", "net")
LICENSEE_FIGURES = ("royalty", "credit", "due")
# Part keys that say how a part came to be, not what it holds: left out when parts are compared.
HISTORY_KEYS = ("deltas", "supersedes")


class Party(NamedTuple):
    kind: str  # member | licensee
    name: str


class MemberRow(NamedTuple):
    """A member part's row (a JSON array in the ledger): one licensee and allocation country."""

    licensee: str
    country: str
    lines: int  # the licensee's report lines there (the cents the amount may be off by)
    royalty: str  # the royalty attributed there
    weight: str  # the member's weight there (its patents not credited to the licensee)
    total: str  # the country's total weight
    amount: str  # the member's share
    credited: list[str]  # the member's patents there credited to the licensee (usually none)


class LicenseeLine(NamedTuple):
    """A licensee part's bearing line (a JSON array in the ledger)."""

    report: int  # the seq of the report or correction entry
    manufacture: str
    sale: str
    units: int
    amount: str  # the royalty spread onto the line
    country: str  # the allocation country


def member_rows(part: Mapping[str, Any]) -> list[MemberRow]:
    rows = part["rows"]
    if isinstance(rows, Spelled):  # a part computed here, not read from the ledger
        rows = json.loads(rows.data)
    return [MemberRow(*row) for row in rows]


def licensee_lines(lines: list[list[Any]]) -> list[LicenseeLine]:
    return [LicenseeLine(*line) for line in lines]


def party_of(body: Mapping[str, Any]) -> Party:
    if "member" in body:
        return Party("member", str(body["member"]))
    return Party("licensee", str(body["licensee"]))


def _groups(body: Mapping[str, Any]) -> list[allocation.ShareGroup]:
    """The share rows by licensee and country (computed with the allocation, or regrouped from `shares`)."""
    found = body.get(allocation.SHARE_GROUPS)
    if found is not None:
        return list(found)
    there = _royalty_there(body["licensees"])
    out: dict[tuple[str, str], allocation.ShareGroup] = {}
    for licensee, country, member, amount in body["shares"]:
        group = out.get((licensee, country))
        if group is None:
            group = out[(licensee, country)] = allocation.ShareGroup(
                licensee, country, [], [], *there[(licensee, country)]
            )
        group.members.append(member)
        group.cents.append(cents_of(amount))
    return list(out.values())


def _royalty_there(licensees: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(licensee, country) -> the licensee's bearing lines there and their royalty in cents."""
    there: dict[tuple[str, str], tuple[int, int]] = {}
    for licensee, info in licensees.items():
        acc: dict[str, list[int]] = {}
        for line in licensee_lines(info["lines"]):
            got = acc.setdefault(line.country, [0, 0])
            got[0] += 1
            got[1] += cents_of(line.amount)
        for country, (count, cents) in acc.items():
            there[(licensee, country)] = (count, cents)
    return there


def _weight(holding: Mapping[str, Any], own: tuple[str, ...]) -> str:
    """A member's weight in a row: its holding's, or that of its patents the licensee does not hold."""
    if not own:
        return str(holding["weight"])
    pairs = allocation.patent_weights(holding, set(own))
    return spell_weight(sum((w for _n, w in pairs), Fraction(0)))


def country_weight(holdings: Mapping[str, Mapping[str, Any]]) -> Fraction:
    """The total weight of a country's counting patents (the credit bucket's included): every holding's."""
    return sum((read_weight(h["weight"]) for h in holdings.values()), Fraction(0))


def member_parts(body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each member's part of a computed allocation: its rows (one per licensee and allocation country), its
    holdings, its per-patent figures (rule 6b), its gross, fee and net, and the memo lines on its patents.

    A large pool has millions of share rows: each is read once and spelled straight into its canonical bytes
    (`MemberRow` order; `ledger.entry.Spelled`); what depends only on a member's holding in a country and
    which of its patents the licensee holds under licence (usually none) is computed and spelled once per
    such group (`_Rows`). `verify` compares these bytes with the stored parts'."""
    rows = _Rows(body["countries"])
    spell, quoted = rows.spell, rows.quoted
    for group in _groups(body):
        licensed = body["licensees"][group.licensee]["credited"].get(group.country)
        head = (
            f"[{quoted(group.licensee)},{quoted(group.country)},{group.lines},{quoted(spell(group.royalty))},"
        )
        if not licensed:  # the usual group: every member's row of the country has the same shape
            column = rows.column(group.country, group.members)
            for add, middle, amount in zip(
                column.add_row, column.middle, map(spell, group.cents), strict=True
            ):
                add(f'{head}{middle}"{amount}",[]]')
            for add_amount, cents in zip(column.add_amount, group.cents, strict=True):
                add_amount(cents)
            continue
        for member, cents in zip(group.members, group.cents, strict=True):
            slot = rows.slot(member, group.country, licensed)
            slot.add_row(f'{head}{slot.middle}"{spell(cents)}",{slot.tail}')
            slot.add_amount(cents)
    out = {}
    for member, texts in sorted(rows.texts.items()):
        # The allocation lists share rows licensee by licensee, country by country: each member's rows come in
        # (licensee, country) order already.
        amounts = rows.amounts[member]
        holdings = {c: body["countries"][c][member] for c in sorted({c for c, _own in amounts})}
        figures = body["members"][member]
        part: dict[str, Any] = {
            "program": body["program"],
            "period": body["period"],
            "member": member,
            "rows": Spelled(("[" + ",".join(texts) + "]").encode()),
            "holdings": holdings,
            **figures,
            "open_license_fees": [f for f in body["open_license_fees"] if f["owner"] == member],
        }
        patents = _patent_figures(holdings, amounts, cents_of(figures["admin_fee"]))
        part["patents"] = [p.row() for p in patents]
        out[member] = part
    return out


class _Slot(NamedTuple):
    """Where one member's rows of one country and credited patents go, and what they share."""

    add_row: Callable[[str], None]
    add_amount: Callable[[int], None]
    middle: str  # the spelled weight and total, each followed by a comma
    tail: str  # the spelled credited patents, closing the row


class _Column(NamedTuple):
    """The no-credit slots of one country's members, in the order of a group's members."""

    members: list[str]
    add_row: list[Callable[[str], None]]
    add_amount: list[Callable[[int], None]]
    middle: list[str]


class _Rows:
    """Member rows being spelled, by member, with their cents by (country, credited patents) for rule 6b."""

    def __init__(self, countries: Mapping[str, Mapping[str, Any]]) -> None:
        self.countries = countries
        self.totals = {c: spell_weight(country_weight(owners)) for c, owners in countries.items()}
        self.spell, self.quoted = cents_speller(), _quoter()
        self.texts: dict[str, list[str]] = defaultdict(list)
        self.amounts: dict[str, dict[tuple[str, tuple[str, ...]], list[int]]] = defaultdict(dict)
        self.plain: dict[str, dict[str, _Slot]] = defaultdict(dict)  # country -> member -> no-credit slot
        self.credited: dict[tuple[str, str, tuple[str, ...]], _Slot] = {}
        self.columns: dict[str, _Column] = {}

    def column(self, country: str, members: list[str]) -> _Column:
        """The no-credit slots of `members` in the country, as columns (made once per country)."""
        found = self.columns.get(country)
        if found is None or (found.members is not members and found.members != members):
            slots = [self.slot(member, country, ()) for member in members]
            found = self.columns[country] = _Column(
                members,
                [slot.add_row for slot in slots],
                [slot.add_amount for slot in slots],
                [slot.middle for slot in slots],
            )
        return found

    def slot(self, member: str, country: str, licensed: Sequence[str]) -> _Slot:
        """The slot of the member's rows in the country, its patents that the licensee holds (`licensed`)
        credited to the licensee: made on first use."""
        holding = self.countries[country][member]
        own = tuple(sorted(set(holding["patents"]).intersection(licensed))) if licensed else ()
        found = self.plain[country].get(member) if not own else self.credited.get((member, country, own))
        if found is None:
            quoted = self.quoted
            found = _Slot(
                self.texts[member].append,
                self.amounts[member].setdefault((country, own), []).append,
                f"{quoted(_weight(holding, own))},{quoted(self.totals[country])},",
                "[" + ",".join(quoted(n) for n in own) + "]]",
            )
            if own:
                self.credited[(member, country, own)] = found
            else:
                self.plain[country][member] = found
        return found


def _quoter() -> Callable[[str], str]:
    """JSON spelling of a string, as JCS spells it (`ledger.entry.canonical`), remembered: ids, countries and
    weights recur on every row."""
    cache: dict[str, str] = {}

    def quoted(text: str) -> str:
        found = cache.get(text)
        if found is None:
            found = cache[text] = json.dumps(text, ensure_ascii=False)
        return found

    return quoted


def licensee_parts(body: Mapping[str, Any], earlier: Mapping[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """Each licensee's part: its bearing lines with their report seqs, units, royalty, credit and due, the
    patents credited to it per country, its memo lines, and the earlier summaries its year-to-date units rest
    on (`earlier`: period -> [seq, h] of that period's summary)."""
    out = {}
    memo = list(zip(body["open_license_fees"], body["open_license_refs"], strict=True))
    for licensee, info in sorted(body["licensees"].items()):
        mine = [(f, r) for f, r in memo if f["licensee"] == licensee]
        out[licensee] = {
            "program": body["program"],
            "period": body["period"],
            "licensee": licensee,
            **info,
            "earlier_countries": body["earlier"],
            "earlier": [earlier[label] for label in sorted(earlier)],
            "open_license_fees": [f for f, _r in mine],
            "open_license_refs": [r for _f, r in mine],
        }
    return out


def inputs_tree(inputs: list[list[Any]]) -> dict[str, Any]:
    """`inputs` of a summary: the RFC 9162 root and size of the sorted [seq, h] list of the entries read
    (each leaf the JCS bytes of one [seq, h]), so a party can prove an entry was read without the list."""
    # The JCS bytes of [seq, "hex"] spelled directly: a large allocation reads over a million entries.
    leaves = [merkle.leaf_hash(b'[%d,"%s"]' % (seq, h.encode())) for seq, h in inputs]
    return {"root": base64.b64encode(merkle.root_of(leaves)).decode(), "size": len(leaves)}


def summary(body: Mapping[str, Any], parts: Mapping[Party, list[Any]]) -> dict[str, Any]:
    """The `allocation.run` summary: no totals, only what every party may read."""
    out = {
        key: body[key]
        for key in ("program", "period", "currency", "policy", "day", "program_seq", "schedule")
    }
    out["countries"] = {c: spell_weight(country_weight(o)) for c, o in sorted(body["countries"].items())}
    out["parts"] = {
        "members": {p.name: ref for p, ref in sorted(parts.items()) if p.kind == "member"},
        "licensees": {p.name: ref for p, ref in sorted(parts.items()) if p.kind == "licensee"},
    }
    out["inputs"] = inputs_tree(body["inputs"])
    return out


# Which entries a part rests on, not what it says: a re-run that reads another entry (a title amended, a
# report re-imported) but gives the party the same figures keeps its part (spec 6 rule 13: stale means other
# figures).
REF_KEYS = ("reports", "earlier_reports", "credit_refs", "credited_entries", "grant", "open_license_refs")


def digest(part: Mapping[str, Any]) -> str:
    """What a part holds, to tell whether a re-run changed it (its history keys and entry refs left out)."""
    bare = {k: v for k, v in part.items() if k not in HISTORY_KEYS and k not in REF_KEYS}
    if "holdings" in bare:
        bare["holdings"] = {
            c: {k: v for k, v in h.items() if k != "refs"} for c, h in bare["holdings"].items()
        }
    if "lines" in bare:  # a line's report seq is a ref; its countries, units and amount are figures
        bare["lines"] = [line[1:] for line in bare["lines"]]
    return hashlib.sha256(canonical(bare)).hexdigest()


def figures_of(part: Mapping[str, Any]) -> dict[str, str]:
    keys = MEMBER_FIGURES if "member" in part else LICENSEE_FIGURES
    return {k: str(part[k]) for k in keys}


class Previous(NamedTuple):
    """A party's current part in the allocation a re-run adjusts."""

    ref: list[Any]  # [seq, h]
    digest: str
    figures: dict[str, str]


def plan(
    body: Mapping[str, Any], earlier: Mapping[str, list[Any]], previous: Mapping[Party, Previous] | None
) -> tuple[list[dict[str, Any]], dict[Party, list[Any]]]:
    """The parts to append for a computed allocation, and the refs of the parts kept from `previous` (an
    adjust appends a part only for a party whose figures changed, with its deltas; a party that dropped out
    gets a part of zeros). Parts come members first, then licensees, each in id order."""
    wanted: dict[Party, dict[str, Any]] = {}
    for name, part in member_parts(body).items():
        wanted[Party("member", name)] = part
    for name, part in licensee_parts(body, earlier).items():
        wanted[Party("licensee", name)] = part
    kept: dict[Party, list[Any]] = {}
    new: list[dict[str, Any]] = []
    if previous is not None:
        for party in previous:
            if party not in wanted:
                wanted[party] = _zero_part(body, party)
    for party in sorted(wanted):
        part = wanted[party]
        before = None if previous is None else previous.get(party)
        if before is not None and before.digest == digest(part):
            kept[party] = before.ref
            continue
        if before is not None:
            part = {**part, "supersedes": before.ref[0], "deltas": _deltas(before.figures, figures_of(part))}
        new.append(part)
    return new, kept


def _zero_part(body: Mapping[str, Any], party: Party) -> dict[str, Any]:
    if party.kind == "member":
        return {
            "program": body["program"],
            "period": body["period"],
            "member": party.name,
            "rows": [],
            "holdings": {},
            "gross": "0.00",
            "admin_fee": "0.00",
            "net": "0.00",
            "open_license_fees": [],
            "patents": [],
        }
    return {
        "program": body["program"],
        "period": body["period"],
        "licensee": party.name,
        "lines": [],
        "units_before": 0,
        "units": 0,
        "royalty": "0.00",
        "credit": "0.00",
        "due": "0.00",
        "grant": None,
        "credited": {},
        "credit_refs": {},
        "credited_entries": {},
        "reports": [],
        "earlier_reports": [],
        "earlier_countries": body["earlier"],
        "earlier": [],
        "open_license_fees": [],
        "open_license_refs": [],
    }


def _deltas(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    return {k: format_money(Decimal(new[k]) - Decimal(old.get(k, "0.00"))) for k in new}


# --- a member's figures from its part alone (statements and member bundles) ------------------------------
class PatentFigures(NamedTuple):
    """A member's figures on one patent (number, country) for a period (spec 6 rule 6b), in cents."""

    patent: str
    country: str
    gross: int
    admin_fee: int

    @property
    def net(self) -> int:
        return self.gross - self.admin_fee

    def json(self) -> dict[str, str]:
        return {
            "patent": self.patent,
            "country": self.country,
            "gross": format_cents(self.gross),
            "admin_fee": format_cents(self.admin_fee),
            "net": format_cents(self.net),
        }

    def row(self) -> list[Any]:
        return [
            self.patent,
            self.country,
            format_cents(self.gross),
            format_cents(self.admin_fee),
            format_cents(self.net),
        ]


def row_patents(part: Mapping[str, Any], row: MemberRow) -> list[tuple[str, Fraction]]:
    """Rule 6b: the patents of a member part's row, with the weight each gave it, lower number first."""
    holding = part["holdings"][row.country]
    return allocation.patent_weights(holding, set(row.credited))


def per_patent(part: Mapping[str, Any]) -> list[PatentFigures]:
    """Spec 6 rule 6b from a member's part: each row's amount over the patents that gave it weight there
    (largest remainder, ties to the lower number); the admin fee over its patents by their gross (largest
    remainder, ties to the lower (number, country)). Both sum exactly to the member's figures."""
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for row in member_rows(part):
        groups[(row.country, tuple(row.credited))].append(cents_of(row.amount))
    return _patent_figures(part["holdings"], groups, cents_of(part["admin_fee"]))


def _patent_figures(
    holdings: Mapping[str, Mapping[str, Any]],
    groups: Mapping[tuple[str, tuple[str, ...]], list[int]],
    fee: int,
) -> list[PatentFigures]:
    """Rule 6b over rows grouped by country and credited patents (a group's rows share their weights: each
    is split row by row, largest remainder, and the group summed in one vectorised call)."""
    from licenses.money import largest_remainder
    from patentpool.splits import integer_weights, split_totals

    gross: dict[tuple[str, str], int] = defaultdict(int)
    for (country, credited), totals in groups.items():
        totals = [t for t in totals if t]
        weighted = allocation.patent_weights(holdings[country], set(credited))
        if not weighted or not totals:
            continue
        got = split_totals(totals, integer_weights([w for _n, w in weighted]))
        for (number, _w), c in zip(weighted, got, strict=True):
            gross[(number, country)] += c
    keys = sorted(k for k, v in gross.items() if v)
    fees = largest_remainder(fee, [gross[k] for k in keys]) if keys and fee else [0] * len(keys)
    return [PatentFigures(n, c, gross[(n, c)], f) for (n, c), f in zip(keys, fees, strict=True)]


def statement_lines(part: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A statement's lines from a member's part: one per licensee and allocation country."""
    named: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # rows of one country and credit name alike
    lines = []
    for row in member_rows(part):
        key = (row.country, tuple(row.credited))
        patents = named.get(key)
        if patents is None:
            holding = part["holdings"][row.country]
            patents = named[key] = [n for n in holding["patents"] if n not in row.credited]
        lines.append(
            {
                "program": part["program"],
                "licensee": row.licensee,
                "country": row.country,
                "patents": list(patents),
                "gross": row.amount,
            }
        )
    return lines


# --- putting the parts back together (the administrator's reports) --------------------------------------
def assemble(summary_body: Mapping[str, Any], parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One body in the shape `allocation.allocate` computes (members, invoices, shares, licensees, countries,
    memo lines and their totals) from a summary and the parts it lists."""
    members: dict[str, dict[str, str]] = {}
    invoices: dict[str, dict[str, str]] = {}
    licensees: dict[str, dict[str, Any]] = {}
    countries: dict[str, dict[str, Any]] = defaultdict(dict)
    member_parts_: dict[str, Mapping[str, Any]] = {}
    shares = []
    fees: list[dict[str, Any]] = []
    refs: list[Any] = []
    for part in parts:
        if "member" in part:
            name = part["member"]
            member_parts_[name] = part
            members[name] = figures_of(part)
            for country, holding in part["holdings"].items():
                countries[country][name] = holding
            shares += [[row.licensee, row.country, name, row.amount] for row in member_rows(part)]
        else:
            name = part["licensee"]
            invoices[name] = figures_of(part)
            licensees[name] = dict(part)
            fees += part["open_license_fees"]
            refs += part["open_license_refs"]
    shares.sort(key=lambda r: (r[0], r[1], r[2]))
    gross = sum(cents_of(m["gross"]) for m in members.values())
    fee = sum(cents_of(m["admin_fee"]) for m in members.values())
    out = dict(summary_body)
    out.update(
        {
            "members": dict(sorted(members.items())),
            "invoices": dict(sorted(invoices.items())),
            "admin_fee": format_cents(fee),
            "total": format_cents(gross),
            "open_license_fees": fees,
            "open_license_refs": refs,
            "licensees": licensees,
            "countries": {c: dict(sorted(o.items())) for c, o in sorted(countries.items())},
            "shares": shares,
            "member_parts": member_parts_,
        }
    )
    return out
