"""Licences as values: open-licence declarations and takes, cross-licences, pool and direct licences.

Each knows on which day it covers which patent in which country; the pool's state decides which ones exist.
A patent is identified by its normalised number and the country where it is in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from licenses.fees import Fee

PatentKey = tuple[str, str]  # (number, country)


@dataclass(frozen=True)
class OpenLicenseDeclaration:
    patent: PatentKey
    fee: Fee
    currency: str
    start: date
    end: date
    evaluation_report: str | None
    seq: int
    withdrawn: date | None = None  # effective date of the withdrawal, if published

    def open_for_takes_on(self, day: date) -> bool:
        """A licensee may take the licence on `day`: inside the term and before any withdrawal."""
        if self.withdrawn is not None and day >= self.withdrawn:
            return False
        return self.start <= day <= self.end


@dataclass(frozen=True)
class OpenLicenseTake:
    patent: PatentKey
    licensee: str
    notice_date: date
    declaration_seq: int
    seq: int

    def held_on(self, day: date, declaration: OpenLicenseDeclaration) -> bool:
        # A withdrawal never ends a licence taken before it: only the declared term does.
        return self.notice_date <= day <= declaration.end


@dataclass(frozen=True)
class CrossLicense:
    members: frozenset[str]
    patents: frozenset[str] | None  # numbers; None = all the members' pool patents
    territory: frozenset[str] | None  # None = all countries
    start: date
    end: date | None
    seq: int
    terms: str = "royalty-free"  # or balancing-payment: recorded, the allocation treats both alike

    def covers(self, licensee: str, owner: str, patent: PatentKey, day: date) -> bool:
        if licensee == owner or licensee not in self.members or owner not in self.members:
            return False
        if day < self.start or (self.end is not None and day > self.end):
            return False
        if self.patents is not None and patent[0] not in self.patents:
            return False
        return self.territory is None or patent[1] in self.territory


@dataclass(frozen=True)
class PoolLicense:
    licensee: str
    program: str
    start: date
    seq: int
    end: date | None = None  # the last day covered (`license end`); reports after it are refused


@dataclass(frozen=True)
class DirectLicense:
    patent: PatentKey
    licensor: str
    licensee: str
    start: date
    end: date | None
    exclusive: bool
    territory: frozenset[str] | None
    seq: int

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def covers(self, licensee: str, patent: PatentKey, day: date) -> bool:
        if licensee != self.licensee or patent != self.patent or not self.active_on(day):
            return False
        return self.territory is None or patent[1] in self.territory
