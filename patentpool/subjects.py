"""The subject stored beside each pool entry: the key of `ledger.store`'s (kind, subject, seq) index.

A subject lets a read find the few entries it wants among a million without reading their bytes: the
staleness check (rule 13) finds a program's new patents and a period's reports, and a party's own statement
or invoice finds that party's member entry, payments and payouts (spec 8a: it reads nothing of the others).
It is an index, not a fact: not signed, absent from entries stored before schema 0003, and checked by
`verify` against what this module makes of each entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

REPORT_KINDS = frozenset({"report.add", "report.correct"})
# Facts that change only their own program's allocations: the program is their subject.
PROGRAM_KINDS = {"patent.add": "program", "program.amend": "name"}
# Entries of one party (a member or licensee): the party's id is their subject.
PARTY_KINDS = {
    "member.add": "id",
    "member.update": "id",
    "payment.add": "licensee",
    "distribution.add": "member",
}


def subject_of(kind: str, body: Mapping[str, Any]) -> str | None:
    """The program of a patent or a program amendment ("" for a patent of no program), "PROGRAM PERIOD" of a
    report, the party of a member entry, payment or payout; None for other kinds."""
    if kind in REPORT_KINDS:
        return report_subject(str(body.get("program")), str(body.get("period")))
    field = PROGRAM_KINDS.get(kind) or PARTY_KINDS.get(kind)
    if field is None:
        return None
    value = body.get(field)
    return value if isinstance(value, str) else ""


def party_needle(kind: str, party: str) -> bytes:
    """How `party` is spelled in the bytes of an entry of `kind` (a `PARTY_KINDS` kind): what finds such an
    entry stored with no subject (a needle is a prefix: an id it begins brings that one too)."""
    return f'"{PARTY_KINDS[kind]}":{json.dumps(party, ensure_ascii=False)}'.encode()


def report_subject(program: str, period: str) -> str:
    return f"{program} {period}"
