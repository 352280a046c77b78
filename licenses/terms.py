"""Patent types and terms: when a patent stops being in force (spec section 5).

Expiry is "the first day the patent is no longer in force": a patent counts on day D while D < expiry.

Rules, in order:

1. An explicit expiry date wins. It is how the pool records everything a filing-date rule cannot know:
   US patent term adjustment and terminal disclaimers, supplementary protection certificates and other
   extensions, and any country's own design or utility-model rules.
2. Otherwise, filing date + term on the same calendar date (29 February -> 28 February when the target
   year has none):

   * invention: 20 years in every country (TRIPS art. 33; China Patent Law art. 42).
   * utility model in CN: 10 years.
   * design in CN: 15 years if filed on or after 2021-06-01 (the 2020 amendment of the Patent Law), else 10.
   * utility model or design outside CN: no rule; an explicit expiry is required. Terms differ by country
     and are often counted from registration rather than filing (a US design patent runs 15 years from
     grant, a Japanese design 25 years from filing, a German utility model 10 years from filing), so a
     guessed date would silently pay or stop royalties at the wrong time.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Literal, get_args

from licenses.errors import TermError

__all__ = [
    "CN_DESIGN_15_YEARS_FROM",
    "PATENT_TYPES",
    "PatentType",
    "add_years",
    "expiry",
    "in_force",
    "parse_patent_type",
    "term_years",
]

PatentType = Literal["invention", "utility", "design"]
PATENT_TYPES: tuple[PatentType, ...] = get_args(PatentType)

# China Patent Law as amended in 2020, in force from 2021-06-01: designs filed from then run 15 years.
CN_DESIGN_15_YEARS_FROM = date(2021, 6, 1)

_COUNTRY_RE = re.compile(r"[A-Z]{2}", re.ASCII)


def parse_patent_type(text: str, *, field: str = "type") -> PatentType:
    """Read a patent type (``invention``, ``utility`` or ``design``; blanks and case are forgiven)."""
    value = text.strip().lower() if isinstance(text, str) else text
    for known in PATENT_TYPES:
        if value == known:
            return known
    raise TermError(f"{field}: {text!r} is not a patent type (invention, utility or design)")


def add_years(day: date, years: int) -> date:
    """The same calendar date ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        # Only 29 February can fail: the term ends on the last day of February, not on 1 March.
        return day.replace(year=day.year + years, day=28)


def _check(patent_type: PatentType, country: str) -> None:
    if patent_type not in PATENT_TYPES:
        raise TermError(f"type: {patent_type!r} is not a patent type (invention, utility or design)")
    if not isinstance(country, str) or not _COUNTRY_RE.fullmatch(country):
        raise TermError(f"country: {country!r} is not a two-letter upper-case country code")


def term_years(patent_type: PatentType, country: str, filed: date) -> int:
    """The statutory term in years from filing, or TermError where no filing-based rule is known."""
    _check(patent_type, country)
    if patent_type == "invention":
        return 20
    if country != "CN":
        raise TermError(
            f"expires: a {patent_type} right in {country} has no filing-date rule here; "
            "give its expiry date (--expires)"
        )
    if patent_type == "utility":
        return 10
    return 15 if filed >= CN_DESIGN_15_YEARS_FROM else 10


# An import computes a row's expiry twice (spelling the body, then its one validator): a small cache
# serves the second.
@functools.lru_cache(maxsize=1 << 12)
def expiry(patent_type: PatentType, country: str, filed: date, explicit: date | None = None) -> date:
    """The first day the patent is no longer in force (see the module docstring for the rules)."""
    _check(patent_type, country)
    if explicit is not None:
        # A right cannot end before it is filed; such a date is a typo in the year or a swapped column.
        if explicit <= filed:
            raise TermError(
                f"expires: {explicit.isoformat()} is not after the filing date {filed.isoformat()}"
            )
        return explicit
    return add_years(filed, term_years(patent_type, country, filed))


def in_force(expires: date, day: date) -> bool:
    """Whether a patent expiring on ``expires`` is still in force on ``day`` (expiry > day)."""
    return day < expires
