"""Licensee report lines: a table stored by column, and `ReportLine`, one line read out of it.

Every quarterly report of every licensee stays in the state (a correction, an earlier quarter's credit and
`verify`'s recomputation read them), so a pool with years of history holds hundreds of thousands of lines.
As Python objects a line cost about 400 bytes (a key tuple, a named tuple, a Decimal); as columns with an
integer key about 150. A `ReportLine` is built when a line is read; it is a snapshot, never changed.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
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
        # Current units of each (licensee, program, period), by its packed header: imports bound them.
        self._totals: dict[int, int] = {}

    def _packed(self, key: ReportKey) -> int | None:
        names = (self._licensees, self._programs, self._periods, self._countries, self._countries)
        packed = 0
        for table, name in zip(names, key, strict=True):
            code = table.codes.get(name)
            if code is None:
                return None
            packed = (packed << 32) | code
        return packed

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self._row(key) is not None

    def _row(self, key: ReportKey) -> int | None:
        packed = self._packed(key)
        return None if packed is None else self._rows.get(packed)

    def get(self, key: ReportKey) -> ReportLine | None:
        row = self._row(key)
        return None if row is None else self._line(row)

    def put(self, line: ReportLine) -> ReportLine | None:
        """Record `line` as the current line of its key; returns the line it replaces (kept in
        `superseded`), if any."""
        key = line.key
        old = self.get(key)
        self.add_lines(
            line.licensee,
            line.program,
            line.period,
            line.ref,
            [(line.manufacture, line.sale, line.units, line.net_sales, line.supersedes)],
        )
        return old

    def add_lines(
        self,
        licensee: str,
        program: str,
        period: str,
        ref: Ref,
        lines: Iterable[tuple[str, str, int, str | Decimal, int | None]],
    ) -> None:
        """Record the lines of one report entry: (manufacture, sale, units, net sales, supersedes) each, the
        net sales as the ledger spells them (exactly two decimals) or as a Decimal. A line whose key already
        has one replaces it, and the replaced line is kept in `superseded`."""
        # The hot loop of every replay of a pool's history: the header's codes are looked up once.
        head = self._licensees.code(licensee) << 32 | self._programs.code(program)
        head = (head << 32 | self._periods.code(period)) << 64
        ref_index = self._ref_index(ref)
        country, rows = self._countries.code, self._rows
        delta = 0
        for manufacture, sale, units, net_sales, supersedes in lines:
            m, s = country(manufacture), country(sale)
            packed = head | m << 32 | s
            row = rows.get(packed)
            if row is None:
                row = rows[packed] = len(self._units)
                self._licensee.append(head >> 128)
                self._program.append(head >> 96 & 0xFFFFFFFF)
                self._period.append(head >> 64 & 0xFFFFFFFF)
                self._manufacture.append(m)
                self._sale.append(s)
                self._units.append(units)
                self._cents.append(0)
                self._supersedes.append(-1)
                self._ref.append(ref_index)
                delta += units
            else:
                old = self._line(row)
                self.superseded.setdefault(old.key, []).append(old)
                self._large_cents.pop(row, None)
                delta += units - self._units[row]
                self._units[row] = units
                self._ref[row] = ref_index
            cents = _cents(net_sales)
            if -_INT64 <= cents < _INT64:
                self._cents[row] = cents
            else:
                self._large_cents[row] = cents
            self._supersedes[row] = -1 if supersedes is None else supersedes
        self._totals[head >> 64] = self._totals.get(head >> 64, 0) + delta

    def units_total(self, licensee: str, program: str, period: str) -> int:
        """The current units of all the licensee's lines of `program` in `period`."""
        lic = self._licensees.codes.get(licensee)
        prog = self._programs.codes.get(program)
        per = self._periods.codes.get(period)
        if lic is None or prog is None or per is None:
            return 0
        return self._totals.get((lic << 32 | prog) << 32 | per, 0)

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
        return self._lines([row])[0]

    def values(self) -> Iterator[ReportLine]:
        """Every current line, in the order each key was first reported."""
        return iter(self._lines(range(len(self._units))))

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
        return self._lines(np.flatnonzero(mask).tolist())

    def _lines(self, rows: Sequence[int]) -> list[ReportLine]:
        """The lines of `rows`, read column by column (one numpy gather per column, not a lookup per cell)."""
        import numpy as np

        picked = np.asarray(rows, dtype=np.int64)

        def column(values: array[int], dtype: type[np.generic]) -> list[int]:
            return np.frombuffer(values, dtype=dtype)[picked].tolist()  # type: ignore[no-any-return]

        licensees, programs = self._licensees.names, self._programs.names
        periods, countries = self._periods.names, self._countries.names
        refs: dict[int, Ref] = {}
        large = self._large_cents
        out = []
        for row, lic, prog, per, man, sale, units, cents, sup, ref in zip(
            rows,
            column(self._licensee, np.uint32),
            column(self._program, np.uint16),
            column(self._period, np.uint16),
            column(self._manufacture, np.uint16),
            column(self._sale, np.uint16),
            column(self._units, np.int64),
            column(self._cents, np.int64),
            column(self._supersedes, np.int64),
            column(self._ref, np.uint32),
            strict=True,
        ):
            found = refs.get(ref)
            if found is None:
                found = refs[ref] = (self._ref_seq[ref], self._ref_hash[32 * ref : 32 * ref + 32].hex())
            out.append(
                ReportLine(
                    licensees[lic],
                    programs[prog],
                    periods[per],
                    countries[man],
                    countries[sale],
                    units,
                    Decimal(large[row] if large and row in large else cents).scaleb(-2),
                    found,
                    None if sup < 0 else sup,
                )
            )
        return out


def _cents(net_sales: str | Decimal) -> int:
    """Cents of an amount: the ledger's spelling (`-?digits.dd`) read directly, anything else exactly."""
    if isinstance(net_sales, str) and len(net_sales) >= 4 and net_sales[-3] == ".":
        return int(net_sales[:-3] + net_sales[-2:])
    scaled = Decimal(net_sales).scaleb(2)
    cents = int(scaled)
    if cents != scaled:
        raise ValueError(f"net_sales {net_sales}: not a whole number of cents")
    return cents
