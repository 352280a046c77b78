"""The pool's part of `verify`: replay every entry through its validator, and recompute every allocation
from the state it was computed on, so a ledger whose allocations do not follow the policy fails verification.

An allocation is its parts followed by a summary (spec 8a): the parts are held until the summary comes, then
the allocation is recomputed on the state as it stood before them and split into parts the same way
(`parts.plan`); every part and the summary must be those, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ledger.entry import Entry, canonical
from ledger.memory import trim_heap
from patentpool import parts, rules, staleness
from patentpool.allocation import POLICY, AllocationError
from patentpool.fields import FieldError
from patentpool.periods import Period
from patentpool.state import PoolState

ALLOCATION_KINDS = ("allocation.run", "allocation.adjust")


class PoolChecker:
    def __init__(self, history: Callable[[int, int], Iterable[tuple[int, str, bytes, bytes]]] | None = None):
        self.state = PoolState()
        # A void replays the entries before it (those the verification already checked) without what it
        # voids: `history` reads them again.
        self.state.history = history
        self.allocations = 0
        self.pending: list[tuple[Entry, str]] = []  # parts waiting for their summary

    def __call__(self, entry: Entry, entry_hash: bytes) -> Iterable[str]:
        problems: list[str] = []
        if entry.kind == parts.PART:
            self.pending.append((entry, entry_hash.hex()))
        elif entry.kind in ALLOCATION_KINDS:
            problems += self._recompute(entry)
            self.pending = []
            trim_heap()  # the recomputation's transient rows
        elif self.pending:
            problems.append(f"{entry.kind}: an allocation's parts are not followed by their summary")
            self.pending = []
        try:
            rules.apply(self.state, entry, entry_hash.hex())
        except FieldError as exc:
            problems.append(f"{entry.kind}: {exc}")
        return problems

    def _recompute(self, entry: Entry) -> list[str]:
        body = dict(entry.body)
        program, period = str(body.get("program")), str(body.get("period"))
        if body.get("policy") != POLICY:
            return [f"{entry.kind}: policy {body.get('policy')!r}: this verifier recomputes policy {POLICY}"]
        # The state before the parts: they are applied (recorded) only now, after the recomputation.
        try:
            now = staleness.compute(self.state, program, Period.parse(period))
        except (AllocationError, FieldError, KeyError) as exc:
            return [f"{entry.kind}: cannot recompute: {exc}"]
        self.allocations += 1
        stored = [dict(e.body) for e, _h in self.pending]
        # Strictly decoded JSON (no floats, one spelling of each value) compares as values: equal dicts are
        # equal canonical bytes, without encoding a million share rows twice.
        if len(stored) != len(now.new) or any(a != b for a, b in zip(stored, now.new, strict=True)):
            return [f"{entry.kind}: the recorded parts differ from policy {POLICY} recomputed on the ledger"]
        refs: dict[parts.Party, list[Any]] = dict(now.kept)
        for e, h in self.pending:
            refs[parts.party_of(e.body)] = [e.seq, h]
        expected = parts.summary(now.body, refs)
        record = self.state.latest_allocation(program, period)
        if entry.kind == "allocation.adjust" and record is not None:
            expected["supersedes"] = record.ref[0]
        if (entry.kind == "allocation.run") != (record is None):
            return [f"{entry.kind}: an allocation is run once, then adjusted"]
        if canonical(expected) != canonical(body):
            what = "inputs" if {**expected, "inputs": None} == {**body, "inputs": None} else "summary"
            return [f"{entry.kind}: the recorded {what} differ from policy {POLICY} recomputed on the ledger"]
        return []
