"""Patent publication numbers in one canonical spelling: office + serial + kind (spec section 5).

``normalize_number("US 10,123,456 b2") == "US10123456B2"``. Input is forgiving about presentation: case,
full-width characters (NFKC), blanks, dots, commas, hyphens and dashes, and slashes are dropped; US serials
lose leading zeros, EP serials are zero-padded to 7 digits, WO numbers become year + 6-digit serial. The
number itself is checked strictly against its office's formats, because a wrong digit count is usually a
typo that would otherwise create a second patent. The kind code is required: it tells a grant from an
application (``CN102345678A`` is not ``CN102345678B``).

Accepted formats (serial after the office code; anything else is an error that says why):

====  ===================================================  =====================================
CN    9 digits (from August 2007) or 7 (1989-2007); the     1: A, B, C (invention)
      first digit is the kind of right                      2: U, Y (utility model)
                                                            3: S, D (design)
US    patent, up to 8 digits                                B1, B2 (from 6,167,569, 2001); A before
      published application, year + 7 digits (11)           A1, A2, A9
      design ``D`` + up to 7 digits                         S
      reissue ``RE`` + up to 6 digits                       E
EP    up to 7 digits, zero-padded to 7                      A1-A4, B1-B3
WO    year + 6 digits; ``WO 01/98623`` -> WO2001098623      A1-A4
JP    registration, 7 digits                                B1, B2 (patent), U (utility), S (design)
      publication, year + 6 digits (10)                     A
KR    registration, type + 7 digits (``10-1234567``)        10: B1, 20: Y1, 30: S
      publication, type + year + 7 digits (13)              10: A, 20: U
====  ===================================================  =====================================

Not supported, with a specific message: other offices; CN application numbers (12 or 13 digits) and the
1985-1988 CN numbers (8 digits, long expired); US plant patents, SIRs and defensive publications; JP
numbers with era years (``JPH11123456A``: only applications filed before 2000, all expired); ``PCT/...``
international application numbers. Corrected-document kinds (A8, B9...) are rejected: the pool records
the publication, not its corrections.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from licenses.errors import TermError
from licenses.terms import PatentType

__all__ = [
    "OFFICES",
    "PatentNumber",
    "check_type",
    "infer_type",
    "normalize_number",
    "office",
    "parse_number",
    "patent_type_ok",
]

OFFICES: tuple[str, ...] = ("CN", "US", "EP", "WO", "JP", "KR")

# Separators people type inside numbers: blanks, dots, commas, ASCII hyphen, Unicode hyphens and dashes,
# minus sign. "/" is kept until the office is known, because it splits a WO number's year from its serial.
_DROP = re.compile(r"[\s.,\-\u2010-\u2015\u2212]")
_OFFICE_RE = re.compile(r"[A-Z]{2}", re.ASCII)
# The serial ends with a digit; the kind is one letter and an optional digit after it.
_BODY_RE = re.compile(r"(?P<serial>[0-9A-Z/]*?[0-9])(?P<kind>[A-Z][0-9]?)?", re.ASCII)

# The first US patent issued on 2 January 2001, when grants changed from kind A to B1/B2.
_US_FIRST_B_KIND = 6_167_569


@dataclass(frozen=True)
class PatentNumber:
    """A patent number split into its parts; build it with :func:`parse_number`, which validates it."""

    office: str
    serial: str
    kind: str

    def __str__(self) -> str:
        return f"{self.office}{self.serial}{self.kind}"

    @property
    def canonical(self) -> str:
        return str(self)


class _Bad(Exception):
    """A reason an office parser rejects a number; parse_number adds the number the user typed."""


def _one_of(options: tuple[str, ...]) -> str:
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def _check_kind(kind: str | None, allowed: tuple[str, ...], what: str) -> str:
    if kind is None:
        raise _Bad(f"kind code missing (expected {_one_of(allowed)}); it tells a grant from an application")
    if kind not in allowed:
        raise _Bad(f"kind {kind} does not fit {what} (expected {_one_of(allowed)})")
    return kind


def _digits(serial: str, office_code: str) -> str:
    if not serial.isdigit():
        raise _Bad(f"{office_code} serial {serial!r} must be digits only")
    return serial


_CN_RIGHTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "1": ("an invention", ("A", "B", "C")),
    "2": ("a utility model", ("U", "Y")),
    "3": ("a design", ("S", "D")),
}


def _cn(serial: str, kind: str | None) -> tuple[str, str]:
    _digits(serial, "CN")
    if len(serial) in (12, 13):
        raise _Bad(
            "this looks like a CN application number (year, type, serial, check digit); "
            "give the publication number, e.g. CN102345678B"
        )
    if len(serial) not in (7, 9):
        raise _Bad(f"CN numbers have 9 digits (7 before August 2007), not {len(serial)}")
    right = _CN_RIGHTS.get(serial[0])
    if right is None:
        raise _Bad("CN numbers start with 1 (invention), 2 (utility model) or 3 (design)")
    what, kinds = right
    return serial, _check_kind(kind, kinds, f"CN{serial}, {what} number")


def _us(serial: str, kind: str | None) -> tuple[str, str]:
    if serial.startswith("RE"):
        number = _digits(serial[2:], "US reissue").lstrip("0")
        if not 1 <= len(number) <= 6:
            raise _Bad("US reissue numbers are RE and up to 6 digits")
        return f"RE{number}", _check_kind(kind, ("E",), "a US reissue")
    if serial.startswith("D"):
        number = _digits(serial[1:], "US design").lstrip("0")
        if not 1 <= len(number) <= 7:
            raise _Bad("US design numbers are D and up to 7 digits")
        return f"D{number}", _check_kind(kind, ("S",), "a US design patent")
    if serial[:1].isalpha():
        raise _Bad("only US utility patents, designs (D), reissues (RE) and published applications are taken")
    number = _digits(serial, "US").lstrip("0")
    if not number:
        raise _Bad("the serial is zero")
    if len(number) == 11:
        if not 2001 <= int(number[:4]) <= 2099:
            # Pre-grant publication began in 2001 (American Inventors Protection Act).
            raise _Bad("US published application numbers start with the year (2001 onwards)")
        return number, _check_kind(kind, ("A1", "A2", "A9"), "a US published application")
    if len(number) > 8:
        raise _Bad(
            f"US patents have up to 8 digits and published applications 11 (year + 7), not {len(number)}"
        )
    if kind is not None and kind.startswith("B") and int(number) < _US_FIRST_B_KIND:
        raise _Bad(
            f"US patents below {_US_FIRST_B_KIND:,} were issued before 2001 with kind A; is a digit missing?"
        )
    if kind == "A" and int(number) >= _US_FIRST_B_KIND:
        raise _Bad("US patents issued since 2001 have kind B1 or B2 (A1/A2 are published applications)")
    expected = ("B1", "B2") if int(number) >= _US_FIRST_B_KIND else ("A",)
    return number, _check_kind(kind, expected, "a US patent")


def _ep(serial: str, kind: str | None) -> tuple[str, str]:
    number = _digits(serial, "EP").lstrip("0")
    if not number:
        raise _Bad("the serial is zero")
    if len(number) > 7:
        raise _Bad(f"EP numbers have 7 digits, not {len(number)}")
    return number.zfill(7), _check_kind(kind, ("A1", "A2", "A3", "A4", "B1", "B2", "B3"), "an EP number")


def _wo(serial: str, kind: str | None) -> tuple[str, str]:
    if "/" in serial:
        year_text, _, number = serial.partition("/")
        if not (year_text.isdigit() and number.isdigit()) or len(year_text) not in (2, 4):
            raise _Bad("WO numbers are YEAR/SERIAL, e.g. WO 2001/098623 or WO 01/98623")
        if len(number) > 6:
            raise _Bad(f"the WO serial has at most 6 digits, not {len(number)}")
    else:
        # Without the slash the digit count tells the old (2-digit year) form from the current one.
        year_digits = {7: 2, 8: 2, 9: 4, 10: 4}.get(len(_digits(serial, "WO")))
        if year_digits is None:
            raise _Bad(f"WO numbers are a year and a 6-digit serial (WO2001098623), not {len(serial)} digits")
        year_text, number = serial[:year_digits], serial[year_digits:]
    year = int(year_text)
    if len(year_text) == 2:
        # PCT publications began in 1978; two-digit years were used until 2003.
        year += 1900 if year >= 78 else 2000
    if not 1978 <= year <= 2099:
        raise _Bad(f"WO year {year} is outside 1978-2099")
    if int(number) == 0:
        raise _Bad("the serial is zero")
    return f"{year}{int(number):06d}", _check_kind(kind, ("A1", "A2", "A3", "A4"), "a WO publication")


def _jp(serial: str, kind: str | None) -> tuple[str, str]:
    if serial[:1] in ("H", "S", "T"):
        raise _Bad(
            "Japanese era-year numbers (e.g. JPH11123456A) are not supported: they are applications filed "
            "before 2000, all expired; give the registration number, e.g. JP4219000B2"
        )
    _digits(serial, "JP")
    if len(serial) == 10:
        if not 2000 <= int(serial[:4]) <= 2099:
            raise _Bad("JP publication numbers are a year from 2000 and 6 digits, e.g. JP2005123456A")
        return serial, _check_kind(kind, ("A",), "a JP publication")
    if len(serial) == 7:
        return serial, _check_kind(kind, ("B1", "B2", "U", "S"), "a JP registration")
    raise _Bad(f"JP numbers have 7 digits (registrations) or 10 (year + 6, publications), not {len(serial)}")


_KR_RIGHTS: dict[str, tuple[str, str | None, str]] = {
    # the type code: (kind of a registration, kind of a publication, what it is)
    "10": ("B1", "A", "patent"),
    "20": ("Y1", "U", "utility model"),
    "30": ("S", None, "design"),
}


def _kr(serial: str, kind: str | None) -> tuple[str, str]:
    _digits(serial, "KR")
    right = _KR_RIGHTS.get(serial[:2])
    if right is None or len(serial) not in (9, 13):
        raise _Bad(
            "KR numbers are 10 (patent), 20 (utility model) or 30 (design) followed by 7 digits for a "
            "registration (10-1234567) or by a year and 7 digits for a publication (10-2005-0012345)"
        )
    registered, published, what = right
    if len(serial) == 9:
        return serial, _check_kind(kind, (registered,), f"a KR {what} registration")
    if published is None:
        raise _Bad("KR design numbers with a year are application numbers; give the registration 30-nnnnnnn")
    return serial, _check_kind(kind, (published,), f"a KR {what} publication")


_PARSERS: dict[str, Callable[[str, str | None], tuple[str, str]]] = {
    "CN": _cn,
    "US": _us,
    "EP": _ep,
    "WO": _wo,
    "JP": _jp,
    "KR": _kr,
}


# A number is parsed a few times within one row (its spelling, its office, its type) and rarely again
# after: a small cache serves those, where a large one held megabytes through a whole `verify`.
@functools.lru_cache(maxsize=1 << 12)
def parse_number(raw: str) -> PatentNumber:
    """Parse and validate a publication number as users write it; TermError says what is wrong."""
    if not isinstance(raw, str):
        raise TermError(f"patent number: expected text, got {raw!r}")

    def fail(reason: str) -> TermError:
        return TermError(f"patent number {raw!r}: {reason}")

    text = _DROP.sub("", unicodedata.normalize("NFKC", raw).upper())
    if not text:
        raise fail("empty")
    if text.startswith("PCT"):
        raise fail("PCT/... is an international application number; give the WO publication number")
    if not _OFFICE_RE.match(text):
        raise fail(f"must start with a two-letter office code ({', '.join(OFFICES)})")
    office_code, body = text[:2], text[2:]
    parser = _PARSERS.get(office_code)
    if parser is None:
        raise fail(f"office {office_code} is not supported ({', '.join(OFFICES)})")
    body = body.strip("/") if office_code == "WO" else body.replace("/", "")
    for char in body:
        if not (char.isascii() and (char.isdigit() or char.isupper() or char == "/")):
            raise fail(f"unexpected character {char!r}")
    if not any(char.isdigit() for char in body):
        raise fail("no number after the office code")
    m = _BODY_RE.fullmatch(body)
    if m is None:
        raise fail(f"cannot tell the serial from the kind code in {body!r}")
    try:
        serial, kind = parser(m["serial"], m["kind"])
    except _Bad as exc:
        raise fail(str(exc)) from None
    return PatentNumber(office_code, serial, kind)


@functools.lru_cache(maxsize=1 << 12)
def normalize_number(raw: str) -> str:
    """The canonical spelling of a publication number, e.g. ``"KR 10-1234567 B1"`` -> ``"KR101234567B1"``."""
    return str(parse_number(raw))


def office(number: str) -> str:
    """The two-letter office code of a number (validating it)."""
    return parse_number(number).office


_CN_TYPES: dict[str, PatentType] = {"1": "invention", "2": "utility", "3": "design"}
_KR_TYPES: dict[str, PatentType] = {"10": "invention", "20": "utility", "30": "design"}
_JP_TYPES: dict[str, PatentType] = {"U": "utility", "S": "design"}
_TYPE_NAMES: dict[PatentType, str] = {
    "invention": "an invention",
    "utility": "a utility model",
    "design": "a design",
}


def infer_type(number: str | PatentNumber) -> PatentType | None:
    """The patent type a number implies, or None when the number does not tell (WO, US reissue)."""
    p = number if isinstance(number, PatentNumber) else parse_number(number)
    if p.office == "CN":
        return _CN_TYPES[p.serial[0]]
    if p.office == "KR":
        return _KR_TYPES[p.serial[:2]]
    if p.office == "JP":
        return _JP_TYPES.get(p.kind, "invention")
    if p.office == "US":
        if p.serial.startswith("RE"):
            return None  # a reissue keeps the type of the patent it reissues, which the number omits
        return "design" if p.serial.startswith("D") else "invention"
    if p.office == "EP":
        return "invention"  # the EPO grants only patents for inventions
    return None  # a WO publication is an application; it may end as a patent or a utility model


def patent_type_ok(number: str | PatentNumber, patent_type: PatentType) -> bool:
    """Whether ``patent_type`` agrees with what the number implies (True when it implies nothing)."""
    implied = infer_type(number)
    return implied is None or implied == patent_type


def check_type(number: str | PatentNumber, patent_type: PatentType) -> None:
    """Raise TermError when ``patent_type`` contradicts the number (e.g. type utility for CN102345678B)."""
    p = number if isinstance(number, PatentNumber) else parse_number(number)
    implied = infer_type(p)
    if implied is not None and implied != patent_type:
        raise TermError(f"type: {patent_type} does not match {p}, which is {_TYPE_NAMES[implied]} number")
