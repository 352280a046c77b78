"""`entry.void` bodies and which entries are void (spec 4a).

A void names ranges of seqs, `[[first, last], ...]` in ascending order, disjoint and not adjacent (one
spelling per set of seqs: `void 120-180` of a whole import is one range, however many rows it had). A void
can itself be voided, which un-voids what it named. Which entries are void is decided from the newest void
back: a void counts unless a later void that counts names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from patentpool.fields import FieldError

Ranges = tuple[tuple[int, int], ...]
MAX_SEQ = 2**53 - 1


def merged(pairs: Iterable[tuple[int, int]]) -> Ranges:
    """Pairs as canonical ranges: sorted, overlapping and adjacent ones joined."""
    out: list[list[int]] = []
    for first, last in sorted(pairs):
        if out and first <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return tuple((first, last) for first, last in out)


def parse_args(texts: Sequence[str], field: str = "seqs") -> Ranges:
    """`12`, `120-180` (CLI arguments, also several in one argument separated by commas) as ranges."""
    pairs = []
    for text in (part.strip() for arg in texts for part in arg.split(",")):
        if not text:
            continue
        first_text, dash, last_text = text.partition("-")
        try:
            first = int(first_text)
            last = int(last_text) if dash else first
        except ValueError:
            raise FieldError(field, f"{text!r} is not a seq or a range like 120-180") from None
        if first < 1 or last > MAX_SEQ:
            raise FieldError(field, f"{text}: seqs start at 1")
        if last < first:
            raise FieldError(field, f"{text}: the range ends before it starts")
        pairs.append((first, last))
    if not pairs:
        raise FieldError(field, "name the seqs to void (e.g. 12 or 120-180)")
    return merged(pairs)


def body_ranges(value: Any, field: str = "seqs") -> Ranges:
    """The `seqs` of an entry.void body, checked to be in their one spelling."""
    if not isinstance(value, list) or not value:
        raise FieldError(field, "must be a list of [first, last] seq ranges")
    pairs = []
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in item)
        ):
            raise FieldError(field, "each range must be [first, last], two whole numbers")
        first, last = item
        if first < 1 or last < first:
            raise FieldError(field, f"[{first}, {last}] is not a range of seqs")
        pairs.append((first, last))
    ranges = tuple(pairs)
    if merged(ranges) != ranges:
        raise FieldError(field, "ranges must be ascending, disjoint and not adjacent")
    return ranges


def spelled(ranges: Ranges) -> list[list[int]]:
    return [[first, last] for first, last in ranges]


def body(ranges: Ranges, reason: str | None) -> dict[str, Any]:
    """An entry.void body: the ranges it voids and why."""
    return {"seqs": spelled(ranges), "reason": reason}


def text(ranges: Ranges) -> str:
    """`12, 120-180`: ranges as a user types them."""
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def seqs(ranges: Ranges) -> Iterator[int]:
    for first, last in ranges:
        yield from range(first, last + 1)


def effective(voids: Mapping[int, Ranges]) -> dict[int, int]:
    """Every void seq -> the entry.void that voids it, from all the entry.void entries (seq -> ranges)."""
    out: dict[int, int] = {}
    for void_seq in sorted(voids, reverse=True):
        if void_seq in out:  # voided by a later void that counts: it voids nothing
            continue
        for seq in seqs(voids[void_seq]):
            out.setdefault(seq, void_seq)
    return out
