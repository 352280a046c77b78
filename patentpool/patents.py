"""The pool's patents: a table stored by column, and `Patent`, one row read out of it.

A pool's register can hold a million patent rows (every EP validation state is a row), and every command
and `verify` replays it: as Python objects each row cost several times what it costs as columns (dates, a
Decimal, a hex hash, two lists; the sizes are in bench/README.md). A `Patent` is built when a row is read;
it is a snapshot, never changed: statuses and transfers are recorded through the table.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from licenses.agreements import PatentKey
from patentpool import owners

Ref = tuple[int, str]  # (seq, entry hash hex)
Event = tuple[date, str, Ref]  # (effective date, new owner or status, the entry recording it)


@dataclass(frozen=True, slots=True)
class Patent:
    number: str
    country: str
    type: str
    filed: date
    granted: date | None
    expires: date
    program: str | None
    weight: Decimal
    owner: str  # the owners it was added with, spelled by `owners.spell`; see owners_on
    ref: Ref
    transfers: tuple[Event, ...] = ()  # in effective-date order
    statuses: tuple[Event, ...] = ()  # in effective-date order
    amendments: tuple[Ref, ...] = ()  # patent.amend entries: the facts above are as amended

    @property
    def key(self) -> PatentKey:
        return (self.number, self.country)

    def owner_on(self, day: date) -> str:
        """The owners on `day`, spelled by `owners.spell` (a sole owner's id)."""
        owner = self.owner
        for effective, new_owner, _ref in self.transfers:
            if effective <= day:
                owner = new_owner
        return owner

    def owners_on(self, day: date) -> owners.Owners:
        return owners.read(self.owner_on(day))

    def owned_by(self, member: str, day: date) -> bool:
        return owners.owns(self.owner_on(day), member)

    def stopped_on(self, day: date) -> tuple[date, str] | None:
        """The status that ended the patent on or before `day`, if any."""
        for effective, status, _ref in self.statuses:
            if effective <= day:
                return effective, status
        return None

    def counts_on(self, day: date) -> bool:
        """Spec 6.1: granted on or before the day, not expired, not invalidated/withdrawn/lapsed."""
        if self.granted is None or self.granted > day:
            return False
        return self.expires > day and self.stopped_on(day) is None

    def in_force_on(self, day: date) -> bool:
        return self.expires > day and self.stopped_on(day) is None

    def refs_on(self, day: date) -> list[Ref]:
        """The entries that decide this patent's owner and status on `day`."""
        refs = [self.ref, *self.amendments]  # an amendment corrects the facts for every date
        refs += [ref for effective, _o, ref in self.transfers if effective <= day]
        refs += [ref for effective, _s, ref in self.statuses if effective <= day]
        return refs


class Names:
    """Small integer codes for the few distinct values of a column (countries, owners, ...); 0 is None."""

    def __init__(self) -> None:
        self.names: list[str | None] = [None]
        self.codes: dict[str, int] = {}

    def code(self, name: str | None) -> int:
        if name is None:
            return 0
        found = self.codes.get(name)
        if found is None:
            found = self.codes[name] = len(self.names)
            self.names.append(name)
        return found


def _title_digest(title: str | None) -> bytes:
    # Titles are shown from the ledger, never from the state; the state keeps only enough to tell whether
    # a re-imported row repeats the title it was added with.
    return hashlib.blake2b(b"" if title is None else b"\x01" + title.encode(), digest_size=8).digest()


class PatentTable:
    """Every patent row, keyed by (number, country where in force), in the order they were added."""

    def __init__(self) -> None:
        self._first: dict[str, int] = {}  # number -> its first row; later rows of the number chain on
        self._next = array("i")  # next row of the same number, -1 for none
        self._number: list[str] = []
        self._country = array("H")
        self._owner = array("I")
        self._type = array("B")
        self._program = array("H")
        self._filed = array("i")  # date ordinals; granted 0 = not granted
        self._granted = array("i")
        self._expires = array("i")
        self._weight = array("H")
        self._seq = array("q")
        self._hash = bytearray()  # 32 bytes a row
        self._title = bytearray()  # 8 bytes a row
        self._transfers: dict[int, tuple[Event, ...]] = {}
        self._statuses: dict[int, tuple[Event, ...]] = {}
        self._amendments: dict[int, tuple[Ref, ...]] = {}
        self._explicit: set[int] = set()  # rows whose expiry was given, not computed from the term
        self._countries = Names()
        self._owners = Names()
        self._types = Names()
        self._programs = Names()
        self._weights: list[Decimal] = []
        self._weight_codes: dict[Decimal, int] = {}

    # --- writing (rules.py applies patent.add, patent.status and patent.transfer through these) -----------
    def add(
        self,
        *,
        number: str,
        country: str,
        type: str,
        filed: date,
        granted: date | None,
        expires: date,
        program: str | None,
        title: str | None,
        weight: Decimal,
        owner: str,
        ref: Ref,
        expires_given: bool = False,
    ) -> None:
        digest = bytes.fromhex(ref[1])
        if len(digest) != 32:
            raise ValueError(f"ref {ref!r}: not a SHA-256 hash")
        row = len(self._number)
        last = self._first.get(number)
        if last is None:
            self._first[number] = row
        else:
            while self._next[last] >= 0:
                last = self._next[last]
            self._next[last] = row
            number = self._number[last]  # one string object per number, however many countries
        self._next.append(-1)
        self._number.append(number)
        self._country.append(self._countries.code(country))
        self._owner.append(self._owners.code(owner))
        self._type.append(self._types.code(type))
        self._program.append(self._programs.code(program))
        self._filed.append(filed.toordinal())
        self._granted.append(0 if granted is None else granted.toordinal())
        self._expires.append(expires.toordinal())
        code = self._weight_codes.get(weight)
        if code is None:
            code = self._weight_codes[weight] = len(self._weights)
            self._weights.append(weight)
        self._weight.append(code)
        self._seq.append(ref[0])
        self._hash += digest
        self._title += _title_digest(title)
        if expires_given:
            self._explicit.add(row)

    def add_status(self, key: PatentKey, effective: date, status: str, ref: Ref) -> None:
        row = self._row_or_raise(key)
        events = (*self._statuses.get(row, ()), (effective, status, ref))
        self._statuses[row] = tuple(sorted(events, key=lambda s: s[0]))

    def add_transfer(self, key: PatentKey, effective: date, to: str, ref: Ref) -> None:
        row = self._row_or_raise(key)
        self._transfers[row] = (*self._transfers.get(row, ()), (effective, to, ref))

    def amend(self, key: PatentKey, ref: Ref, facts: dict[str, Any]) -> None:
        """`patent.amend`: overwrite the row's facts named in `facts` (the body's spelling: dates as text,
        `expires_given`, weight as text), for every date, and remember the entry."""
        row = self._row_or_raise(key)
        if "filed" in facts:
            self._filed[row] = date.fromisoformat(facts["filed"]).toordinal()
        if "granted" in facts:
            granted = facts["granted"]
            self._granted[row] = 0 if granted is None else date.fromisoformat(granted).toordinal()
        if "expires" in facts:
            self._expires[row] = date.fromisoformat(facts["expires"]).toordinal()
            if facts.get("expires_given"):
                self._explicit.add(row)
            else:
                self._explicit.discard(row)
        if "type" in facts:
            self._type[row] = self._types.code(facts["type"])
        if "program" in facts:
            self._program[row] = self._programs.code(facts["program"])
        if "title" in facts:
            self._title[8 * row : 8 * row + 8] = _title_digest(facts["title"])
        if "owner" in facts or "owners" in facts:  # the owners it was added with, corrected
            found = (
                owners.from_body(facts["owners"]) if "owners" in facts else ((facts["owner"], Decimal(1)),)
            )
            self._owner[row] = self._owners.code(owners.spell(found))
        if "weight" in facts:
            weight = Decimal(facts["weight"])
            code = self._weight_codes.get(weight)
            if code is None:
                code = self._weight_codes[weight] = len(self._weights)
                self._weights.append(weight)
            self._weight[row] = code
        self._amendments[row] = (*self._amendments.get(row, ()), ref)

    def expires_given(self, key: PatentKey) -> bool:
        """Whether the row's expiry was given (patent.add or patent.amend), not computed from the term."""
        return self._row_or_raise(key) in self._explicit

    # --- reading -------------------------------------------------------------------------------------------
    def _row(self, key: PatentKey) -> int | None:
        number, country = key
        code = self._countries.codes.get(country)
        row = self._first.get(number, -1) if code is not None else -1
        while row >= 0:
            if self._country[row] == code:
                return row
            row = self._next[row]
        return None

    def _row_or_raise(self, key: PatentKey) -> int:
        row = self._row(key)
        if row is None:
            raise KeyError(key)
        return row

    def _patent(self, row: int) -> Patent:
        granted = self._granted[row]
        return Patent(
            number=self._number[row],
            country=self._countries.names[self._country[row]],  # type: ignore[arg-type]
            type=self._types.names[self._type[row]],  # type: ignore[arg-type]
            filed=date.fromordinal(self._filed[row]),
            granted=date.fromordinal(granted) if granted else None,
            expires=date.fromordinal(self._expires[row]),
            program=self._programs.names[self._program[row]],
            weight=self._weights[self._weight[row]],
            owner=self._owners.names[self._owner[row]],  # type: ignore[arg-type]
            ref=(self._seq[row], self._hash[32 * row : 32 * row + 32].hex()),
            transfers=self._transfers.get(row, ()),
            statuses=self._statuses.get(row, ()),
            amendments=self._amendments.get(row, ()),
        )

    def __len__(self) -> int:
        return len(self._number)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and self._row(key) is not None

    def __getitem__(self, key: PatentKey) -> Patent:
        return self._patent(self._row_or_raise(key))

    def get(self, key: PatentKey) -> Patent | None:
        row = self._row(key)
        return None if row is None else self._patent(row)

    def __iter__(self) -> Iterator[PatentKey]:
        names = self._countries.names
        for row, number in enumerate(self._number):
            yield number, names[self._country[row]]  # type: ignore[misc]

    def values(self) -> Iterator[Patent]:
        return (self._patent(row) for row in range(len(self._number)))

    def items(self) -> Iterator[tuple[PatentKey, Patent]]:
        return ((p.key, p) for p in self.values())

    def countries(self, number: str) -> list[str]:
        """The countries a number is entered for, in the order they were added ([] if unknown)."""
        out = []
        row = self._first.get(number, -1)
        while row >= 0:
            out.append(self._countries.names[self._country[row]])
            row = self._next[row]
        return out  # type: ignore[return-value]

    def numbered(self, number: str) -> list[Patent]:
        return [self[(number, country)] for country in self.countries(number)]

    def counting(self, program: str, day: date) -> list[Patent]:
        """Spec 6.1: the program's patents counting on `day` (`Patent.counts_on`), found by column."""
        code = self._programs.codes.get(program)
        if code is None or not self._number:
            return []
        import numpy as np  # pandas' array library, as for the splits

        d = day.toordinal()
        # Views on the arrays' buffers; released before the function returns so the arrays can grow again.
        granted = np.frombuffer(self._granted, dtype=np.int32)
        mask = np.frombuffer(self._program, dtype=np.uint16) == code
        mask &= (granted > 0) & (granted <= d)
        mask &= np.frombuffer(self._expires, dtype=np.int32) > d
        rows: list[int] = np.flatnonzero(mask).tolist()
        del granted, mask
        found = []
        for row in rows:
            statuses = self._statuses.get(row)
            if statuses and any(effective <= day for effective, _s, _r in statuses):
                continue
            found.append(self._patent(row))
        return found

    def first_owned(self, member: str) -> str | None:
        """A number the member owns today or later (after every recorded transfer), if any."""
        codes = {code for name, code in self._owners.codes.items() if owners.owns(name, member)}
        if codes:
            for row, owner in enumerate(self._owner):
                if owner in codes and row not in self._transfers:
                    return self._number[row]
        for row in self._transfers:
            if self._patent(row).owned_by(member, date.max):
                return self._number[row]
        return None

    def title_is(self, key: PatentKey, title: str | None) -> bool:
        """Whether the patent's current title (as added or amended) is `title` (compared by digest)."""
        row = self._row_or_raise(key)
        return self._title[8 * row : 8 * row + 8] == _title_digest(title)

    def same_as_added(self, key: PatentKey, facts: dict[str, Any]) -> bool:
        """Whether a patent.add body's facts (as `bodies.patent` spells them, less `expires_given` and
        `source`) are the ones this row was added with: a re-imported row then appends nothing."""
        row = self._row(key)
        if row is None:
            return False
        patent = self._patent(row)
        added = {
            "number": patent.number,
            "country": patent.country,
            "owner": patent.owner,
            "type": patent.type,
            "filed": patent.filed.isoformat(),
            "granted": None if patent.granted is None else patent.granted.isoformat(),
            "expires": patent.expires.isoformat(),
            "program": patent.program,
            "weight": patent.weight,
        }
        theirs = {k: v for k, v in facts.items() if k != "title"}
        theirs["weight"] = Decimal(str(theirs.get("weight")))
        return added == theirs and self._title[8 * row : 8 * row + 8] == _title_digest(facts.get("title"))
