"""One member's view of an allocation body: every part of it, but only that member's share rows.

A statement reads one member's rows out of an allocation whose `shares` hold a row per member for every
licensee and country (most of the body on a large pool: bench/README.md). Parsing them
all costs more than everything else the statement does; this view parses the rest of the body and finds the
member's rows in the bytes.

It is only for bodies whose bytes were checked against the signed checkpoint (a read's `signed_rows`), so
they are the pool's own canonical JSON: a share row is then `["LICENSEE","CC","MEMBER","AMOUNT"]`, whose
parts (identifiers, a country code, a money string) hold no `"`, `\\`, `[`, `]` or `:`. The member's rows
are found by their `","MEMBER","` and each is checked against the row's exact spelling; their sum is checked
against the member's gross in the same body, so a body that is not what this expects is refused, never read
wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ledger.entry import LazyBody
from patentpool.errors import PoolError
from patentpool.fields import IDENT_RE


class ViewError(PoolError, ValueError):
    pass


_ID = rb"[A-Za-z0-9._-]{1,64}"
_ROW = re.compile(rb'\["(' + _ID + rb')","([A-Z]{2})","(' + _ID + rb')","(-?(?:0|[1-9][0-9]*)\.[0-9]{2})"\]')
# The top-level member: keys are sorted, and no earlier part of an allocation body has a `shares` array
# (a nested `shares` key could only be a member or licensee id, whose value is an object).
_SHARES = b',"shares":['


def member_view(body: Mapping[str, Any], member: str) -> dict[str, Any]:
    """The allocation body with `shares` holding only `member`'s rows, in the body's order."""
    if not isinstance(body, LazyBody):
        small = dict(body)
        small["shares"] = [row for row in body["shares"] if row[2] == member]
        return small
    if not IDENT_RE.fullmatch(member):
        return _check_sum({**body, "shares": []}, member)  # no row can name it (nor can a member be so named)
    raw = body.canonical
    at = raw.find(_SHARES)
    if at < 0:
        raise ViewError("the allocation body has no share rows")
    start = at + len(_SHARES) - 1  # the array's `[`
    # The array ends at its first `]]` (a row's end, then the array's), or at once if it is empty.
    end = start + 2 if raw.startswith(b"[]", start) else raw.find(b"]]", start) + 2
    if end < start + 2:
        raise ViewError("the allocation body's share rows do not end")
    view: dict[str, Any] = json.loads(raw[:at] + raw[end:])
    view["shares"] = _rows(raw, start, end, member)
    _check_sum(view, member)
    return view


def _rows(raw: bytes, start: int, end: int, member: str) -> list[list[str]]:
    needle = b'","' + member.encode("ascii") + b'","'
    rows = []
    at = raw.find(needle, start, end)
    while at >= 0:
        # The row around the match; the match may be a country code equal to the member's id.
        first = raw.rfind(b"[", start + 1, at)
        last = raw.find(b"]", at, end) + 1
        found = _ROW.fullmatch(raw, first, last) if first > start and last > 0 else None
        if found is None:
            raise ViewError(f"a share row near byte {at} of the allocation body is not well formed")
        if found[3] == needle[3:-3]:
            rows.append([found[1].decode(), found[2].decode(), member, found[4].decode()])
        at = raw.find(needle, last, end)
    return rows


def _check_sum(view: dict[str, Any], member: str) -> dict[str, Any]:
    total = sum((Decimal(row[3]) for row in view["shares"]), Decimal(0))
    figures = view.get("members", {}).get(member)
    expected = Decimal(figures["gross"]) if figures else Decimal(0)
    if total != expected:
        raise ViewError(f"{member}'s share rows sum to {total}, not its gross {expected}")
    return view
