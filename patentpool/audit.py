"""The pool's part of `verify`: replay every entry through its validator, and recompute every allocation
from the state it was computed on, so a ledger whose allocations do not follow the policy fails verification.

An allocation is its parts followed by a summary (spec 8a): the parts are held until the summary comes, then
the allocation is recomputed on the state as it stood before them and split into parts the same way
(`parts.plan`); every part and the summary must be those, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from ledger.entry import Entry, LazyBody, canonical, encode_checked
from ledger.memory import trim_heap
from patentpool import parts, rules, staleness
from patentpool.allocation import POLICY, AllocationError
from patentpool.fields import FieldError
from patentpool.periods import Period
from patentpool.state import PoolState

ALLOCATION_KINDS = ("allocation.run", "allocation.adjust")
# Kinds whose bodies `verify` hands over unparsed: the checker proves them by their bytes.
LAZY_KINDS = frozenset({parts.PART})


class PoolChecker:
    """`verify`'s replay. Parts reach it unparsed (`LAZY_KINDS`): each is proven by comparing its bytes with
    the part recomputed when the summary comes, then applied with the recomputed body (the same value), so
    no part is parsed and no two copies of an allocation's rows are held at once."""

    def __init__(self, history: Callable[[int, int], Iterable[tuple[int, str, bytes, bytes]]] | None = None):
        self.state = PoolState()
        # A void replays the entries before it (those the verification already checked) without what it
        # voids: `history` reads them again.
        self.state.history = history
        self.allocations = 0
        self.pending: list[tuple[Entry, str]] = []  # parts waiting for their summary

    def __call__(self, entry: Entry, entry_hash: bytes) -> Iterable[str]:
        if entry.kind == parts.PART:
            self.pending.append((entry, entry_hash.hex()))
            return []  # applied with its summary: the state it is recomputed on has none of its parts
        problems: list[str] = []
        if entry.kind in ALLOCATION_KINDS:
            found, proven = self._recompute(entry)
            problems += self._apply_pending(proven)
            problems += [found] if found else []
            trim_heap()  # the recomputation's transient rows
        elif self.pending:
            first, last = self.pending[0][0].seq, self.pending[-1][0].seq
            problems.append(
                f"{entry.kind}: the allocation parts at seq {first}-{last} have no summary after them"
            )
            problems += self._apply_pending([])
        return problems + self._apply(entry, entry_hash.hex())

    def unfinished(self) -> list[tuple[int, str]]:
        """Parts the ledger ends with, no summary after them (the pool appends both in one batch)."""
        return [(e.seq, "an allocation part with no summary after it") for e, _h in self.pending]

    def _apply(self, entry: Entry, entry_hash: str) -> list[str]:
        try:
            rules.apply(self.state, entry, entry_hash)
        except FieldError as exc:
            return [f"{entry.kind}: {exc}"]
        return []

    def _apply_pending(self, proven: list[dict[str, Any]]) -> list[str]:
        """Apply the pending parts, each with its recomputed body where its bytes were proven to be it (the
        others are parsed as they are read)."""
        problems = []
        for i, (part, h) in enumerate(self.pending):
            if i < len(proven):
                part = replace(part, body=proven[i])
            problems += [f"seq {part.seq}: {p}" for p in self._apply(part, h)]
        self.pending = []
        return problems

    def _recompute(self, entry: Entry) -> tuple[str | None, list[dict[str, Any]]]:
        """The problem with a summary and its pending parts, if any, and the parts proven to be the
        recomputed ones."""
        body = dict(entry.body)
        program, period = str(body.get("program")), str(body.get("period"))
        if body.get("policy") != POLICY:
            return (
                f"{entry.kind}: policy {body.get('policy')!r}: this verifier recomputes policy {POLICY}",
                [],
            )
        try:
            now = staleness.compute(self.state, program, Period.parse(period))
        except (AllocationError, FieldError, KeyError) as exc:
            return f"{entry.kind}: cannot recompute: {exc}", []
        self.allocations += 1
        proven = _proven(self.pending, now.new)
        if len(proven) != len(self.pending) or len(proven) != len(now.new):
            return (
                f"{entry.kind}: the recorded parts differ from policy {POLICY} recomputed on the ledger",
                proven,
            )
        refs: dict[parts.Party, list[Any]] = dict(now.kept)
        for (e, h), part in zip(self.pending, proven, strict=True):
            refs[parts.party_of(part)] = [e.seq, h]
        expected = parts.summary(now.body, refs)
        record = self.state.latest_allocation(program, period)
        if entry.kind == "allocation.adjust" and record is not None:
            expected["supersedes"] = record.ref[0]
        if (entry.kind == "allocation.run") != (record is None):
            return f"{entry.kind}: an allocation is run once, then adjusted", proven
        if canonical(expected) != canonical(body):
            what = "inputs" if {**expected, "inputs": None} == {**body, "inputs": None} else "summary"
            return (
                f"{entry.kind}: the recorded {what} differ from policy {POLICY} recomputed on the ledger",
                proven,
            )
        return None, proven


def _proven(stored: list[tuple[Entry, str]], computed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recomputed parts, in order, as long as each stored part's body is byte for byte the one computed
    (each encoded once and compared in place; a stored body already parsed is compared as canonical bytes)."""
    proven = []
    for (entry, _h), part in zip(stored, computed, strict=False):
        spelled = encode_checked(part)
        body = entry.body
        same = body.same_as(spelled) if isinstance(body, LazyBody) else canonical(dict(body)) == spelled
        if not same:
            break
        proven.append(part)
    return proven
