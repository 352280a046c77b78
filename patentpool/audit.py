"""The pool's part of `verify`: replay every entry through its validator, and recompute every allocation
from the state it was computed on, so a ledger whose allocations do not follow policy v1 fails verification.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from ledger.entry import Entry, LazyBody, encode_checked
from ledger.memory import trim_heap
from patentpool import rules
from patentpool.allocation import AllocationError, allocate, figures
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

    def __call__(self, entry: Entry, entry_hash: bytes) -> Iterable[str]:
        problems: list[str] = []
        if entry.kind in ALLOCATION_KINDS:
            found, same = self._recompute(entry)
            problems += found
            trim_heap()  # the recomputation's transient rows
            if same is not None:
                entry = replace(entry, body=same)  # the stored body, already parsed
        try:
            rules.apply(self.state, entry, entry_hash.hex())
        except FieldError as exc:
            problems.append(f"{entry.kind}: {exc}")
        return problems

    def _recompute(self, entry: Entry) -> tuple[list[str], dict[str, Any] | None]:
        """Problems found, and the recomputed body when it is byte for byte a large stored one."""
        body = entry.body
        program, period = _program_period(body)
        try:
            # The share rows come spelled as JSON: only the body's bytes are wanted, unless they differ.
            expected = allocate(self.state, program, Period.parse(period), spelled=True)
        except (AllocationError, FieldError) as exc:
            return [f"{entry.kind}: cannot recompute: {exc}"], None
        self.allocations += 1
        # A large body is compared as canonical bytes: encoding the recomputed one is several times cheaper
        # than parsing the stored one. Only a difference is parsed, to say what differs.
        expected_raw = encode_checked(expected)
        if entry.kind == "allocation.run" and isinstance(body, LazyBody) and body.same_as(expected_raw):
            return [], expected
        expected = json.loads(expected_raw)  # rows as lists, to compare with the stored body's
        problems = []
        if figures(expected) != figures(dict(body)):
            problems.append(
                f"{entry.kind}: the recorded figures differ from policy v1 recomputed on the ledger"
            )
        if expected["inputs"] != body.get("inputs"):
            problems.append(
                f"{entry.kind}: the recorded inputs differ from the entries the computation reads"
            )
        return problems, None


# In an allocation body's canonical bytes these top-level members are adjacent (keys sorted).
_PROGRAM_PERIOD = re.compile(rb'"period":"([^"\\]*)","policy":"[^"\\]*","program":"([^"\\]*)","program_seq":')


def _program_period(body: Mapping[str, Any]) -> tuple[str, str]:
    """Which allocation a body claims to be, without parsing a large one. A nested look-alike could only
    make the recomputation compute another allocation, whose bytes would then differ: never a false pass."""
    if isinstance(body, LazyBody):
        found = body.search(_PROGRAM_PERIOD)
        if found is not None:
            return found[2].decode(), found[1].decode()
    return str(body.get("program")), str(body.get("period"))
