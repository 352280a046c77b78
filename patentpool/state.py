"""The pool's state: a projection rebuilt by replaying the ledger (see rules.py for how entries change it).

Objects remember the `seq` and hash `h` of the entry that made them, so a computation can list exactly which
entries it read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

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

    @property
    def licenses(self) -> bool:
        return self.role in ("licensee", "both")


@dataclass(frozen=True)
class Program:
    name: str
    currency: str
    schedule: RoyaltySchedule
    admin_fee: Decimal  # percent of a member's gross
    period: str  # quarter | half
    ref: Ref


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


# The parts of an allocation body that can run to many megabytes; the state keeps the rest (the figures of
# the allocate JSON), and loads a whole body from the ledger by seq when a statement or bundle needs it.
ALLOCATION_DETAIL = ("countries", "licensees", "shares", "inputs", "open_license_refs", "earlier")


@dataclass(frozen=True)
class AllocationRecord:
    kind: str  # allocation.run | allocation.adjust
    body: dict[str, Any]  # without ALLOCATION_DETAIL
    ref: Ref


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

    def allocation_body(self, record: AllocationRecord) -> dict[str, Any]:
        """The whole body of an allocation entry, detail included (of `shares`, only member `shares_of`'s
        rows if that is set)."""
        if self.load_body is None:
            raise RuntimeError("this state was not replayed from a database: allocation details unavailable")
        return self.load_body(record.ref[0])

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
