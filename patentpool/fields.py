"""Parsing of user-given fields (CLI options, CSV cells) into the values entries hold.

Each parser raises FieldError naming the field; callers add the file and line.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from patentpool.errors import PoolError

IDENT_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNITS_RE = re.compile(r"^(0|[1-9]\d*)$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

# Country and currency codes come from pycountry (ISO 3166-1 and ISO 4217 as its data release has them), so
# that a typo such as "UK" or "UDS" is caught at entry rather than silently earning nothing, with the code
# meant when it can be told. EP and WO are offices, not countries where a patent is in force.
#
# A ledger is replayed and re-validated for decades, and a later data release may withdraw a code (as HRK
# went in 2023): `verify` must keep accepting every code a ledger already holds. So the validators of stored
# bodies (rules.py) use `ledger_country` / `ledger_currency`, which also accept these frozen lists, ISO
# 3166-1 alpha-2 and ISO 4217 list one as in force in 2026 (funds and precious metals included), and any
# code pycountry lists as historic. New input (`country`, `currency`) must be a current code.
LEDGER_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
LEDGER_CURRENCIES = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
    CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAD
    XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG
    """.split()
)
# Spellings people use that ISO data does not hold: UK is reserved by ISO 3166 for the United Kingdom, whose
# code is GB; the EU writes Greece EL; RMB and yuan are everyday names of the renminbi.
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
CURRENCY_ALIASES = {"RMB": "CNY", "YUAN": "CNY", "US$": "USD"}


@functools.cache
def current_countries() -> frozenset[str]:
    import pycountry

    return frozenset(str(c.alpha_2) for c in pycountry.countries)


@functools.cache
def current_currencies() -> frozenset[str]:
    import pycountry

    return frozenset(str(c.alpha_3) for c in pycountry.currencies)


@functools.cache
def _historic_countries() -> frozenset[str]:
    import pycountry

    return frozenset(str(c.alpha_2) for c in pycountry.historic_countries if getattr(c, "alpha_2", None))


def suggest_country(text: str) -> list[str]:
    """The codes a mistyped country probably meant: UK -> GB, DEU -> DE, Germany -> DE, Korea -> KP, KR."""
    import pycountry

    value = text.strip()
    code = value.upper()
    if code in COUNTRY_ALIASES:
        return [COUNTRY_ALIASES[code]]
    if len(code) == 2:
        return []  # any two letters fuzzily match some name: a guess would mislead
    try:
        return [str(pycountry.countries.lookup(value).alpha_2)]  # alpha-3, numeric, a name
    except LookupError:
        pass
    if len(value) < 4:
        return []
    try:
        return [str(c.alpha_2) for c in pycountry.countries.search_fuzzy(value)[:2]]
    except LookupError:
        return []


def suggest_currency(text: str) -> list[str]:
    """The codes a mistyped currency probably meant: UDS -> USD (swapped), RMB -> CNY, Euro -> EUR."""
    import pycountry

    value = text.strip()
    code = value.upper()
    if code in CURRENCY_ALIASES:
        return [CURRENCY_ALIASES[code]]
    try:
        return [str(pycountry.currencies.lookup(value).alpha_3)]
    except LookupError:
        pass
    if len(code) == 3:  # two neighbouring letters swapped: UDS, USD
        swaps = {code[1] + code[0] + code[2], code[0] + code[2] + code[1]}
        return sorted(swaps & current_currencies())
    return []


def did_you_mean(typed: str, known: Iterable[str]) -> str:
    """`; did you mean X?` for an unknown id that differs from a known one only in case, or by a character
    or two (ids of four characters or more), or by one character (ids of two or three: up to three such, all
    named, `L9` -> `L1 or L2`); else nothing (spec 9)."""
    import difflib

    names = list(known)
    same = [n for n in names if n.casefold() == typed.casefold()]
    if same:
        return _did_you_mean(same[:1])
    if len(typed) >= 4:
        return _did_you_mean(difflib.get_close_matches(typed, names, n=1, cutoff=0.8))
    if len(typed) < 2:  # every one-character id is one edit from every other: no hint in that
        return ""
    near = sorted(n for n in names if _one_edit(typed.casefold(), n.casefold()))
    return _did_you_mean(near) if len(near) <= 3 else ""


def _one_edit(a: str, b: str) -> bool:
    """Whether b is a with one character changed, added or removed."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _did_you_mean(suggestions: list[str]) -> str:
    return f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""


class FieldError(PoolError, ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Unicode category Cc is exactly these two ranges.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")


def text(value: str, field: str, *, required: bool = True, max_len: int = 500) -> str:
    value = unicodedata.normalize("NFC", value.strip())
    if required and not value:
        raise FieldError(field, "missing")
    if len(value) > max_len:
        raise FieldError(field, f"longer than {max_len} characters")
    if _CONTROL_RE.search(value):
        raise FieldError(field, "contains control characters")
    return value


def identifier(value: str, field: str) -> str:
    value = value.strip()
    if not IDENT_RE.match(value):
        raise FieldError(field, f"{value!r} is not an identifier (1-64 of A-Z a-z 0-9 . _ -)")
    return value


# An import reads each of a row's dates twice (spelling the body, then its one validator).
@functools.lru_cache(maxsize=1 << 12)
def parse_date(value: str, field: str) -> date:
    value = value.strip()
    if not DATE_RE.match(value):
        raise FieldError(field, f"{value!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(field, f"{value!r} is not a real date") from exc


def optional_date(value: str | None, field: str) -> date | None:
    if value is None or not value.strip():
        return None
    return parse_date(value, field)


def country(value: str, field: str) -> str:
    """A country code as a user typed it (option, cell): a current ISO 3166-1 alpha-2 code."""
    code = value.strip().upper()
    if code not in current_countries():
        raise FieldError(
            field, f"{value!r} is not an ISO 3166 country code{_did_you_mean(suggest_country(value))}"
        )
    return code


def ledger_country(value: str, field: str) -> str:
    """A country code as a stored body holds it: any code a ledger may already hold (see above)."""
    code = value.strip().upper()
    if code in LEDGER_COUNTRIES or code in current_countries() or code in _historic_countries():
        return code
    return country(value, field)


def countries(value: str, field: str) -> list[str]:
    """`all` (None is returned as an empty list by callers that mean all) or `CC,CC,...`."""
    codes = [country(part, field) for part in value.split(",") if part.strip()]
    if not codes:
        raise FieldError(field, "no country given")
    return sorted(set(codes))


def currency(value: str, field: str) -> str:
    """A currency code as a user typed it: a current ISO 4217 code."""
    code = value.strip().upper()
    if not CURRENCY_RE.match(code):
        hint = _did_you_mean(suggest_currency(value))
        raise FieldError(field, f"{value!r} is not a three-letter currency code{hint}")
    if code not in current_currencies():
        hint = _did_you_mean(suggest_currency(value))
        raise FieldError(field, f"{value!r} is not an ISO 4217 currency code{hint}")
    return code


def ledger_currency(value: str, field: str) -> str:
    """A currency code as a stored body holds it: any code a ledger may already hold."""
    code = value.strip().upper()
    if code in LEDGER_CURRENCIES or code in current_currencies():
        return code
    return currency(value, field)


# The most units one licensee may report for one program and period (all its lines together). The
# allocation records a licensee's units of the year before a period plus the period's (at most five periods'
# worth) as JSON integers, which the ledger keeps below 2^53 (~9.007e15): 5 x 10^15 stays under it, so an
# allocation can always run. No real product line comes near a quadrillion units a quarter.
MAX_PERIOD_UNITS = 10**15


def units(value: str, field: str) -> int:
    value = value.strip()
    if not UNITS_RE.match(value) or len(value) > 20:
        raise FieldError(field, f"{value[:24]!r} is not a whole, non-negative number of units")
    number = int(value)
    if number > MAX_PERIOD_UNITS:
        raise FieldError(field, f"{value} is more than {MAX_PERIOD_UNITS:,} units, the most a period holds")
    return number


def check_period_units(total: int, what: str) -> None:
    """Raise FieldError if `total` units of one licensee, program and period pass MAX_PERIOD_UNITS."""
    if total > MAX_PERIOD_UNITS:
        raise FieldError(
            "units",
            f"{what} would total {total:,} units, more than the {MAX_PERIOD_UNITS:,} a licensee may report "
            "for one program and period",
        )
