"""The pool's part of `verify`: replay every entry through its validator, and recompute every allocation
from the state it was computed on, so a ledger whose allocations do not follow policy v1 fails verification.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.entry import Entry
from patentpool import rules
from patentpool.allocation import AllocationError, allocate, figures
from patentpool.fields import FieldError
from patentpool.periods import Period
from patentpool.state import PoolState

ALLOCATION_KINDS = ("allocation.run", "allocation.adjust")


class PoolChecker:
    def __init__(self) -> None:
        self.state = PoolState()
        self.allocations = 0

    def __call__(self, entry: Entry, entry_hash: bytes) -> Iterable[str]:
        problems: list[str] = []
        if entry.kind in ALLOCATION_KINDS:
            problems += self._recompute(entry)
        try:
            rules.apply(self.state, entry, entry_hash.hex())
        except FieldError as exc:
            problems.append(f"{entry.kind}: {exc}")
        return problems

    def _recompute(self, entry: Entry) -> list[str]:
        body = entry.body
        try:
            expected = allocate(self.state, str(body.get("program")), Period.parse(str(body.get("period"))))
        except (AllocationError, FieldError) as exc:
            return [f"{entry.kind}: cannot recompute: {exc}"]
        self.allocations += 1
        problems = []
        if figures(expected) != figures(dict(body)):
            problems.append(
                f"{entry.kind}: the recorded figures differ from policy v1 recomputed on the ledger"
            )
        if expected["inputs"] != body.get("inputs"):
            problems.append(
                f"{entry.kind}: the recorded inputs differ from the entries the computation reads"
            )
        return problems
