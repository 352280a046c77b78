"""Who owns a patent, and in what parts (spec section 6a): the one home of that rule.

A patent has one owner or several co-owners, each with a part (a positive integer or a decimal with up to
four places; only their ratio matters). The state keeps a patent's owners spelled as one text, `A` for a
sole owner and `A:60;B:40` (members in id order) for co-owners, so the column store stays small and a
transfer (the one-owner case) and a `patent.owners` entry are the same kind of ownership event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from licenses.money import format_rate
from patentpool.errors import PoolError

Owners = tuple[tuple[str, Decimal], ...]  # (member, part), in member id order

_PART_RE = re.compile(r"(0|[1-9]\d*)(\.\d{1,4})?", re.ASCII)


class OwnersError(PoolError, ValueError):
    """Owners that cannot be: the message names what is wrong."""


def parse_part(text: str) -> Decimal:
    text = text.strip()
    if not _PART_RE.fullmatch(text):
        raise OwnersError(f"part {text!r} is not a positive number with up to 4 decimal places")
    try:
        part = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise OwnersError(f"part {text!r} is not a number") from exc
    if part <= 0:
        raise OwnersError(f"part {text!r} must be more than 0")
    return part


def parse_owners(text: str, separator: str = ",") -> Owners:
    """Read `A:60,B:40` (the CLI) or `A:60;B:40` (a patents file); a lone `A` is a sole owner."""
    pairs: list[tuple[str, Decimal]] = []
    for item in text.split(separator):
        name, colon, part_text = item.strip().partition(":")
        name = name.strip()
        if not name:
            raise OwnersError(
                f"{text!r}: expected MEMBER:PART{separator}MEMBER:PART (e.g. A:60{separator}B:40)"
            )
        pairs.append((name, parse_part(part_text) if colon else Decimal(1)))
    return normalise(pairs)


def normalise(pairs: Iterable[tuple[str, Decimal]]) -> Owners:
    """One spelling of a set of owners: members in id order, each once. A sole owner's part is 1."""
    found = sorted(pairs)
    names = [name for name, _part in found]
    if not names:
        raise OwnersError("name at least one owner")
    if len(set(names)) != len(names):
        raise OwnersError(f"{', '.join(sorted({n for n in names if names.count(n) > 1}))} named twice")
    if len(found) == 1:
        return ((found[0][0], Decimal(1)),)
    return tuple(found)


def spell(owners: Owners) -> str:
    """The state's text for owners: `A` for one owner, `A:60;B:40` for several."""
    if len(owners) == 1:
        return owners[0][0]
    return ";".join(f"{name}:{format_rate(part)}" for name, part in owners)


def read(text: str) -> Owners:
    """The inverse of `spell` (trusted: the text was spelled by `spell`)."""
    if ";" not in text:
        return ((text, Decimal(1)),)
    out = []
    for item in text.split(";"):
        name, _colon, part = item.rpartition(":")
        out.append((name, Decimal(part)))
    return tuple(out)


def body_owners(owners: Owners) -> list[list[str]]:
    """The ledger spelling of co-owners: `[[member, part], ...]` in member order (parts as rates)."""
    return [[name, format_rate(part)] for name, part in owners]


def from_body(value: object, least: int = 2) -> Owners:
    """Owners from a body's `owners` list, checked: at least `least` of them (a `patent.add` names a sole
    owner as `owner`; a `patent.owners` may name one)."""
    if not isinstance(value, list) or not value:
        raise OwnersError("must be a list of [member, part]")
    pairs = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise OwnersError("must be a list of [member, part]")
        part = parse_part(item[1])
        if format_rate(part) != item[1]:
            raise OwnersError(f"part {item[1]!r} is not in ledger spelling ({format_rate(part)})")
        pairs.append((item[0], part))
    owners = normalise(pairs) if len(pairs) > 1 else ((pairs[0][0], pairs[0][1]),)
    if len(owners) < least:
        raise OwnersError("co-owners are two or more members; one owner is `owner`")
    if [[n, format_rate(p)] for n, p in owners] != value:
        raise OwnersError("owners must be listed in member id order")
    return owners


def shares(owners: Owners) -> dict[str, Fraction]:
    """Each owner's exact share of the whole patent: part / sum of parts."""
    total = sum((Fraction(part) for _name, part in owners), Fraction(0))
    return {name: Fraction(part) / total for name, part in owners}


def members(owners: Owners) -> list[str]:
    return [name for name, _part in owners]


def owns(text: str, member: str) -> bool:
    """Whether `member` is among the owners spelled `text`."""
    return member in members(read(text))


def show(owners: Sequence[tuple[str, Decimal]]) -> str:
    """How owners are shown to a user: `A` or `A:60,B:40` (the spelling `--owners` takes)."""
    if len(owners) == 1:
        return owners[0][0]
    return ",".join(f"{name}:{format_rate(part)}" for name, part in owners)


def sole(found: Owners, number: str) -> str:
    """The one owner, where a command needs one (a co-owned patent's licensor must be named)."""
    if len(found) != 1:
        raise OwnersError(
            f"{number} is co-owned by {', '.join(members(found))}: name the co-owner (--licensor)"
        )
    return found[0][0]
