"""Licensee report lines: a table stored by column, and `ReportLine`, one line read out of it.

Every quarterly report of every licensee stays in the state (a correction, an earlier quarter's credit and
`verify`'s recomputation read them), so a pool with years of history holds hundreds of thousands of lines.
As Python objects a line cost about 400 bytes (a key tuple, a named tuple, a Decimal); as columns with an
integer key about 150. A `ReportLine` is built when a line is read; it is a snapshot, never changed.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import NamedTuple

from patentpool.patents import Names, Ref

ReportKey = tuple[str, str, str, str, str]  # (licensee, program, period, manufacture, sale)

_INT64 = 2**63


class ReportLine(NamedTuple):
    """One report line as the ledger recorded it."""

    licensee: str
    program: str
    period: str
    manufacture: str
    sale: str
    units: int
    net_sales: Decimal
    ref: Ref
    supersedes: int | None = None

    @property
    def key(self) -> ReportKey:
        return (self.licensee, self.program, self.period, self.manufacture, self.sale)


class ReportTable:
    """The current line of every (licensee, program, period, manufacture, sale), in the order each was first
    reported, and the lines corrections replaced (`superseded`)."""

    def __init__(self) -> None:
        self._rows: dict[int, int] = {}  # packed key codes -> row
        self._licensees = Names()
        self._programs = Names()
        self._periods = Names()
        self._countries = Names()
        self._licensee = array("I")
        self._program = array("H")
        self._period = array("H")
        self._manufacture = array("H")
        self._sale = array("H")
        self._units = array("q")
        self._cents = array("q")  # net sales; amounts past 64 bits are kept in _large_cents
        self._large_cents: dict[int, int] = {}
        self._supersedes = array("q")  # -1 for none
        self._ref = array("I")  # index into _ref_seq / _ref_hash: lines of one entry share it
        self._ref_seq = array("q")
        self._ref_hash = bytearray()  # 32 bytes a ref
        self._last_ref: Ref | None = None
        self.superseded: dict[ReportKey, list[ReportLine]] = {}

    def _packed(self, key: ReportKey, *, add: bool) -> int | None:
        names = (self._licensees, self._programs, self._periods, self._countries, self._countries)
        packed = 0
        for table, name in zip(names, key, strict=True):
            code = table.code(name) if add else table.codes.get(name)
            if code is None:
                return None
            packed = (packed << 32) | code
        return packed

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self._row(key) is not None

    def _row(self, key: ReportKey) -> int | None:
        packed = self._packed(key, add=False)
        return None if packed is None else self._rows.get(packed)

    def get(self, key: ReportKey) -> ReportLine | None:
        row = self._row(key)
        return None if row is None else self._line(row)

    def put(self, line: ReportLine) -> ReportLine | None:
        """Record `line` as the current line of its key; returns the line it replaces (kept in
        `superseded`), if any."""
        packed = self._packed(line.key, add=True)
        assert packed is not None
        ref = self._ref_index(line.ref)
        scaled = line.net_sales.scaleb(2)
        cents = int(scaled)
        if cents != scaled:
            raise ValueError(f"net_sales {line.net_sales}: not a whole number of cents")
        row = self._rows.get(packed)
        old = None
        if row is None:
            row = self._rows[packed] = len(self._units)
            self._licensee.append(self._licensees.codes[line.licensee])
            self._program.append(self._programs.codes[line.program])
            self._period.append(self._periods.codes[line.period])
            self._manufacture.append(self._countries.codes[line.manufacture])
            self._sale.append(self._countries.codes[line.sale])
            for column in (self._units, self._cents, self._supersedes):
                column.append(0)
            self._ref.append(0)
        else:
            old = self._line(row)
            self.superseded.setdefault(line.key, []).append(old)
            self._large_cents.pop(row, None)
        self._units[row] = line.units
        if -_INT64 <= cents < _INT64:
            self._cents[row] = cents
        else:
            self._large_cents[row] = cents
        self._supersedes[row] = -1 if line.supersedes is None else line.supersedes
        self._ref[row] = ref
        return old

    def _ref_index(self, ref: Ref) -> int:
        # The lines of one report entry arrive together: one stored ref serves them all.
        if ref != self._last_ref:
            digest = bytes.fromhex(ref[1])
            if len(digest) != 32:
                raise ValueError(f"ref {ref!r}: not a SHA-256 hash")
            self._ref_seq.append(ref[0])
            self._ref_hash += digest
            self._last_ref = ref
        return len(self._ref_seq) - 1

    def _line(self, row: int) -> ReportLine:
        ref = self._ref[row]
        cents = self._large_cents.get(row, self._cents[row])
        supersedes = self._supersedes[row]
        return ReportLine(
            self._licensees.names[self._licensee[row]],  # type: ignore[arg-type]
            self._programs.names[self._program[row]],  # type: ignore[arg-type]
            self._periods.names[self._period[row]],  # type: ignore[arg-type]
            self._countries.names[self._manufacture[row]],  # type: ignore[arg-type]
            self._countries.names[self._sale[row]],  # type: ignore[arg-type]
            self._units[row],
            Decimal(cents).scaleb(-2),
            (self._ref_seq[ref], self._ref_hash[32 * ref : 32 * ref + 32].hex()),
            None if supersedes < 0 else supersedes,
        )

    def values(self) -> Iterator[ReportLine]:
        """Every current line, in the order each key was first reported."""
        return (self._line(row) for row in range(len(self._units)))

    def lines(self, program: str, periods: Iterable[str]) -> list[ReportLine]:
        """The current lines of `program` in any of `periods`, in the order each key was first reported."""
        import numpy as np  # as patents.counting: a mask over the columns instead of a Python loop

        code = self._programs.codes.get(program)
        wanted = [c for c in (self._periods.codes.get(p) for p in periods) if c is not None]
        if code is None or not wanted:
            return []
        mask = np.frombuffer(self._program, dtype=np.uint16) == code
        mask &= np.isin(np.frombuffer(self._period, dtype=np.uint16), wanted)
        # Rows are appended as keys are first reported and never move: row order is first-report order.
        return [self._line(row) for row in np.flatnonzero(mask).tolist()]
