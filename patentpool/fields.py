"""Parsing of user-given fields (CLI options, CSV cells) into the values entries hold.

Each parser raises FieldError naming the field; callers add the file and line.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date

from patentpool.errors import PoolError

IDENT_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNITS_RE = re.compile(r"^(0|[1-9]\d*)$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

# ISO 3166-1 alpha-2, so that a typo such as "UK" or "EN" is caught at import rather than silently earning
# nothing; EP and WO are offices, not countries where a patent is in force.
COUNTRIES = frozenset(
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


# ISO 4217 active alphabetic codes (list one of the maintenance agency as in force in 2026, funds and
# precious metals included), so that a typo such as "UDS" is caught at entry rather than opening a program
# or recording a payment in a currency nobody pays in. `verify` re-checks every body with this table: a code
# the agency withdraws later must stay here while any pool's ledger holds it.
CURRENCIES = frozenset(
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
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise FieldError(field, f"{value!r} is not an ISO 3166 country code")
    return code


def countries(value: str, field: str) -> list[str]:
    """`all` (None is returned as an empty list by callers that mean all) or `CC,CC,...`."""
    codes = [country(part, field) for part in value.split(",") if part.strip()]
    if not codes:
        raise FieldError(field, "no country given")
    return sorted(set(codes))


def currency(value: str, field: str) -> str:
    code = value.strip().upper()
    if not CURRENCY_RE.match(code):
        raise FieldError(field, f"{value!r} is not a three-letter currency code")
    if code not in CURRENCIES:
        raise FieldError(field, f"{value!r} is not an ISO 4217 currency code")
    return code


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
