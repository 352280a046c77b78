"""The pool's state: a projection rebuilt by replaying the ledger (see rules.py for how entries change it).

Objects remember the `seq` and hash `h` of the entry that made them, so a computation can list exactly which
entries it read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from licenses.agreements import (
    CrossLicense,
    DirectLicense,
    OpenLicenseDeclaration,
    OpenLicenseTake,
    PatentKey,
    PoolLicense,
)
from licenses.schedule import RoyaltySchedule
from patentpool.patents import Patent, PatentTable, Ref
from patentpool.periods import Period
from patentpool.reports import ReportLine, ReportTable

__all__ = ["Patent", "PatentTable", "Ref", "ReportLine", "ReportTable"]


@dataclass(frozen=True)
class Pool:
    name: str
    origin: str
    currency: str
    admin_fee: Decimal


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    role: str  # licensor | licensee | both
    ref: Ref


@dataclass(frozen=True)
class ProgramTerms:
    """A `program.amend`: the schedule (tiers and cap) and admin fee from a period on."""

    start: date  # the first day of the period it applies from
    from_period: str
    schedule: RoyaltySchedule
    admin_fee: Decimal
    ref: Ref


@dataclass(frozen=True)
class Program:
    name: str
    currency: str
    schedule: RoyaltySchedule  # as added; see terms_for
    admin_fee: Decimal  # percent of a member's gross, as added; see terms_for
    period: str  # quarter | half
    ref: Ref
    amendments: tuple[ProgramTerms, ...] = ()  # in from-period order

    def in_force(self, period_label: str) -> ProgramTerms | None:
        """The amendment in force for the period, or None for the terms the program was added with."""
        start = Period.parse(period_label).start
        found = None
        for terms in self.amendments:
            if terms.start <= start:
                found = terms
        return found

    def terms_for(self, period_label: str) -> tuple[RoyaltySchedule, Decimal]:
        """The schedule (tiers and annual cap) and admin fee of a period: a `program.amend` from a period on
        applies to that period's year-to-date figures whole (spec 4a)."""
        terms = self.in_force(period_label)
        return (self.schedule, self.admin_fee) if terms is None else (terms.schedule, terms.admin_fee)

    def terms_refs(self, period_label: str) -> list[Ref]:
        """The entries that decide `terms_for(period_label)`: the program.add and the amendment in force."""
        terms = self.in_force(period_label)
        return [self.ref] if terms is None else [self.ref, terms.ref]


@dataclass(frozen=True)
class Payment:
    licensee: str
    date: date
    amount: Decimal
    currency: str
    reference: str
    ref: Ref


@dataclass(frozen=True)
class Distribution:
    member: str
    program: str
    period: str
    amount: Decimal
    date: date
    reference: str
    ref: Ref


class PartInfo(NamedTuple):
    """What the state keeps of an `allocation.part`: whose it is, a digest of what it holds, its figures and
    memo lines (the part itself is read from the ledger by seq when a statement or report needs it)."""

    kind: str  # member | licensee
    name: str
    hash: str
    digest: str | None  # computed when a re-run compares parts (parts.digest): replay needs none
    figures: dict[str, str]
    memo: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class AllocationRecord:
    kind: str  # allocation.run | allocation.adjust (the summary)
    body: dict[str, Any]  # the summary's fields and the figures of the allocate JSON, put together from parts
    ref: Ref
    parts: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (kind, name) -> (seq, h)


@dataclass
class PoolState:
    pool: Pool | None = None
    members: dict[str, Member] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)
    patents: PatentTable = field(default_factory=PatentTable)
    declarations: dict[PatentKey, list[OpenLicenseDeclaration]] = field(default_factory=dict)
    takes: list[OpenLicenseTake] = field(default_factory=list)
    declaration_refs: dict[int, list[Ref]] = field(default_factory=dict)  # declaration seq -> its entries
    take_refs: dict[int, Ref] = field(default_factory=dict)
    crosslicenses: list[CrossLicense] = field(default_factory=list)
    grants: dict[tuple[str, str], PoolLicense] = field(default_factory=dict)
    directs: list[DirectLicense] = field(default_factory=list)
    refs: dict[int, Ref] = field(default_factory=dict)  # seq -> ref for licence entries
    reports: ReportTable = field(default_factory=ReportTable)
    payments: list[Payment] = field(default_factory=list)
    payment_refs: dict[tuple[str, str], Payment] = field(default_factory=dict)  # (licensee, reference)
    distributions: list[Distribution] = field(default_factory=list)
    allocations: dict[tuple[str, str], list[AllocationRecord]] = field(default_factory=dict)
    part_info: dict[int, PartInfo] = field(default_factory=dict)  # allocation.part seq -> what it holds
    # import file sha256 -> (first, last) seq of its entries; not every seq: an import can be a million rows
    sources: dict[str, tuple[int, int]] = field(default_factory=dict)
    size: int = 0
    # The last entry that could change an allocation, and the last report entry of each (program, period):
    # what tells cheaply that an allocation cannot be stale (staleness.py).
    fact_seq: int = 0
    report_seqs: dict[tuple[str, str], int] = field(default_factory=dict)
    # Set by whoever replayed the state from a database: reads one entry's body by seq.
    load_body: Callable[[int], dict[str, Any]] | None = None
    # Set when the allocation bodies kept hold only this member's share rows (a statement's read).
    shares_of: str | None = None
    # --- corrections (patentpool/corrections.py) ---
    voids: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)  # every entry.void: ranges
    voided: dict[int, int] = field(default_factory=dict)  # voided seq -> the entry.void that voids it
    retired: dict[str, tuple[date, Ref]] = field(default_factory=dict)  # member -> effective date, entry
    ends: dict[int, Ref] = field(default_factory=dict)  # licence entry seq -> the entry that ended it
    # Set by whoever replayed the state: rows (seq, kind, raw, h) of the stored entries since..until, which
    # a void replays (the state without the voided entries) and checks against.
    history: Callable[[int, int], Iterable[tuple[int, str, bytes, bytes]]] | None = None
    # True while a replay that already skips the voided entries applies entry.void entries (bookkeeping).
    replaying: bool = False
    # The day a fact is judged against ("not in the future"): the entry's day when replayed, None = today.
    today: date | None = None
    # The state a void's validator built (seq, id of the body, state), which applying the void then uses.
    void_candidate: tuple[int, int, PoolState] | None = None

    def become(self, other: PoolState) -> None:
        """Take `other`'s contents (a replay without voided entries), keeping how this state reads the
        ledger."""
        keep = ("load_body", "shares_of", "history")
        for f in fields(self):
            if f.name not in keep:
                setattr(self, f.name, getattr(other, f.name))

    def allocation_body(self, record: AllocationRecord) -> dict[str, Any]:
        """An allocation put back together from its summary and every part it lists (`parts.assemble`)."""
        from patentpool import parts

        load = self._loader()
        return parts.assemble(load(record.ref[0]), [load(seq) for seq, _h in record.parts.values()])

    def member_part(self, record: AllocationRecord, member: str) -> dict[str, Any] | None:
        """The member's part of an allocation (None: the member has no share in it)."""
        found = record.parts.get(("member", member))
        return None if found is None else self._loader()(found[0])

    def entry_body(self, seq: int) -> dict[str, Any]:
        """One entry's body, read from the ledger by seq."""
        return self._loader()(seq)

    def _loader(self) -> Callable[[int], dict[str, Any]]:
        if self.load_body is None:
            raise RuntimeError("this state was not replayed from a database: allocation details unavailable")
        return self.load_body

    # --- look-ups used by validators and computations ---------------------------------------------------
    def patents_numbered(self, number: str) -> list[Patent]:
        return self.patents.numbered(number)

    def current_declaration(self, key: PatentKey) -> OpenLicenseDeclaration | None:
        found = self.declarations.get(key)
        return found[-1] if found else None

    def declaration(self, seq: int) -> OpenLicenseDeclaration:
        for decls in self.declarations.values():
            for decl in decls:
                if decl.seq == seq:
                    return decl
        raise KeyError(seq)

    def exclusive_direct(self, key: PatentKey, start: date, end: date | None) -> DirectLicense | None:
        """An exclusive direct licence of the patent whose term overlaps start..end (None: open-ended)."""
        for lic in self.directs:
            if (
                lic.patent == key
                and lic.exclusive
                and (end is None or lic.start <= end)
                and (lic.end is None or lic.end >= start)
            ):
                return lic
        return None

    def latest_allocation(self, program: str, period: str) -> AllocationRecord | None:
        records = self.allocations.get((program, period))
        return records[-1] if records else None

    def lines_for(self, program: str, period: str) -> list[ReportLine]:
        return self.reports.lines(program, (period,))
