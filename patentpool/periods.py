"""Royalty periods: quarters (2025Q1) and halves (2025H1) of a calendar year."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from patentpool.fields import FieldError

PERIOD_RE = re.compile(r"^(\d{4})(Q[1-4]|H[12])$")
LENGTHS = {"quarter": "Q", "half": "H"}


@dataclass(frozen=True, order=True)
class Period:
    year: int
    letter: str  # "Q" or "H"
    number: int

    @classmethod
    def parse(cls, value: str, field: str = "period") -> Period:
        match = PERIOD_RE.match(value.strip().upper())
        if not match:
            raise FieldError(field, f"{value!r} is not a period like 2025Q1 or 2025H1")
        part = match.group(2)
        return cls(int(match.group(1)), part[0], int(part[1]))

    @property
    def label(self) -> str:
        return f"{self.year}{self.letter}{self.number}"

    def __str__(self) -> str:
        return self.label

    @property
    def months(self) -> int:
        return 3 if self.letter == "Q" else 6

    @property
    def start(self) -> date:
        return date(self.year, (self.number - 1) * self.months + 1, 1)

    @property
    def end(self) -> date:
        month = self.number * self.months
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def earlier_in_year(self) -> list[Period]:
        return [Period(self.year, self.letter, n) for n in range(1, self.number)]

    def matches(self, length: str) -> bool:
        return LENGTHS[length] == self.letter
