"""From what a user typed (CLI options, CSV cells) to entry bodies in their one ledger spelling.

The same builder serves `patent add` and `patent import`, so a patent has one spelling however it came in.
Each raises FieldError naming the CSV column / CLI option.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from licenses.agreements import PatentKey
from licenses.fees import parse_fee
from licenses.money import format_money, format_rate, parse_money_input, parse_rate
from licenses.numbers import normalize_number
from licenses.schedule import RoyaltySchedule
from licenses.terms import expiry, parse_patent_type
from patentpool import fields, owners
from patentpool.corrections import reason_text
from patentpool.errors import PoolError
from patentpool.fields import FieldError
from patentpool.periods import Period
from patentpool.readers import term
from patentpool.state import PoolState
from patentpool.values import CROSS_LICENSE_TERMS, PERIOD_LENGTHS, ROLES

T = TypeVar("T")


def blank(value: str | None) -> bool:
    return value is None or not value.strip()


def number(value: str, field: str = "number") -> str:
    return term(field, lambda: normalize_number(value))


def member(id: str, name: str, role: str) -> dict[str, Any]:
    role = role.strip().lower()
    if role not in ROLES:
        raise FieldError("role", f"{role!r} is not licensor, licensee or both")
    return {"id": fields.identifier(id, "id"), "name": fields.text(name, "name"), "role": role}


def percent(value: str, field: str) -> str:
    rate = term(field, lambda: parse_rate(value.strip().rstrip("%"), field=field))
    if rate > 100:
        raise FieldError(field, f"{value} is more than 100%")
    return format_rate(rate)


def program(
    name: str, currency: str, tiers: str, annual_cap: str | None, admin_fee: str, period: str
) -> dict[str, Any]:
    schedule = term("tiers", lambda: RoyaltySchedule.parse(tiers, annual_cap))
    if period not in PERIOD_LENGTHS:
        raise FieldError("period", f"{period!r} is not quarter or half")
    return {
        "name": fields.identifier(name, "name"),
        "currency": fields.currency(currency, "currency"),
        "tiers": schedule.tiers.canonical(),
        "annual_cap": schedule.cap_text(),
        "admin_fee": percent(admin_fee, "admin_fee"),
        "period": period,
    }


def patent(
    number_text: str,
    owner: str,
    country: str,
    type_text: str,
    filed: str,
    granted: str | None,
    expires: str | None,
    program: str | None,
    title: str | None,
    weight: str | None,
) -> dict[str, Any]:
    num = number(number_text)
    where = fields.country(country, "country")
    kind = term("type", lambda: parse_patent_type(type_text))
    filed_on = fields.parse_date(filed, "filed")
    granted_on = fields.optional_date(granted, "granted")
    explicit = fields.optional_date(expires, "expires")
    ends = term("expires", lambda: expiry(kind, where, filed_on, explicit))
    w = Decimal(1) if blank(weight) else term("weight", lambda: parse_rate(str(weight), field="weight"))
    return {
        "number": num,
        "country": where,
        **owner_fields(owner, "owners" if ":" in owner else "owner"),
        "type": kind,
        "filed": filed_on.isoformat(),
        "granted": None if granted_on is None else granted_on.isoformat(),
        "expires": ends.isoformat(),
        "expires_given": explicit is not None,
        "program": None if blank(program) else fields.identifier(str(program), "program"),
        "title": None if blank(title) else fields.text(str(title), "title"),
        "weight": format_rate(w),
    }


def owners_value(text: str, field: str = "owners") -> owners.Owners:
    """Owners as typed: `A:60,B:40` (CLI) or `A:60;B:40` (a file), each member an identifier."""
    separator = ";" if ";" in text else ","
    try:
        found = owners.parse_owners(text, separator)
    except owners.OwnersError as exc:
        raise FieldError(field, str(exc)) from exc
    return tuple((fields.identifier(name, field), part) for name, part in found)


def owner_fields(text: str, field: str = "owner") -> dict[str, Any]:
    """`{"owner": ID}` for a sole owner, `{"owners": [[ID, PART], ...]}` for co-owners (spec 6a)."""
    if ":" not in text and "," not in text and ";" not in text:
        return {"owner": fields.identifier(text, field)}  # the common case, a bulk import's every row
    found = owners_value(text, field)
    if len(found) == 1:
        return {"owner": found[0][0]}
    return {"owners": owners.body_owners(found)}


def patent_owners(number_text: str, country: str, owners_text: str, effective: str) -> dict[str, Any]:
    """A `patent.owners` body: the owners of a patent from a date on."""
    found = owners_value(owners_text)
    return {
        "number": number(number_text),
        "country": fields.country(country, "country"),
        "owners": owners.body_owners(found),
        "effective": fields.parse_date(effective, "effective").isoformat(),
    }


def money(value: str, field: str) -> str:
    return format_money(term(field, lambda: parse_money_input(value, field=field)))


def report_line(manufacture: str, sale: str, units: str, net_sales: str) -> dict[str, Any]:
    return {
        "manufacture": fields.country(manufacture, "manufacture_country"),
        "sale": fields.country(sale, "sale_country"),
        "units": fields.units(units, "units"),
        "net_sales": money(net_sales, "net_sales"),
    }


def payment(licensee: str, date: str, amount: str, currency: str, reference: str) -> dict[str, Any]:
    return {
        "licensee": fields.identifier(licensee, "licensee"),
        "date": fields.parse_date(date, "date").isoformat(),
        "amount": money(amount, "amount"),
        "currency": fields.currency(currency, "currency"),
        "reference": fields.text(reference, "reference", max_len=200),
    }


def fee(value: str) -> str:
    return term("fee", lambda: parse_fee(value)).canonical()


def period(value: str) -> str:
    return Period.parse(value).label


def countries_or_all(value: str | None, field: str) -> str | list[str]:
    if value is None or value.strip().lower() in ("", "all"):
        return "all"
    return fields.countries(value, field)


# --- the facts entered in bulk as well as one by one (imports and the CLI share these spellings) -----------
def optional_text(value: str | None, field: str, max_len: int = 500) -> str | None:
    """A text cell or option that may be left out: blank (spaces, a stray CR of a line ending) is None."""
    return None if blank(value) else fields.text(str(value), field, max_len=max_len)


def declaration(
    fee_text: str, currency: str, start: str, end: str, evaluation_report: str | None
) -> dict[str, Any]:
    """An open-licence declaration's terms, without the patent (number and country are added per key)."""
    return {
        "fee": fee(fee_text),
        "currency": fields.currency(currency, "currency"),
        "from": fields.parse_date(start, "from").isoformat(),
        "to": fields.parse_date(end, "to").isoformat(),
        "evaluation_report": optional_text(evaluation_report, "evaluation_report"),
    }


def on_patent(key: PatentKey, terms: dict[str, Any]) -> dict[str, Any]:
    """A body about one patent: its number and country, then `terms`."""
    return {"number": key[0], "country": key[1], **terms}


def flag(value: str | None, field: str) -> bool:
    """yes/no, true/false, 1/0, x/blank (blank: no), as spreadsheets spell a tick box."""
    text = "" if value is None else value.strip().lower()
    if text in ("", "no", "n", "false", "0"):
        return False
    if text in ("yes", "y", "true", "1", "x"):
        return True
    raise FieldError(field, f"{value!r} is not yes or no")


def split_list(value: str, field: str) -> list[str]:
    """A list in one cell: items separated by `;` (or `,`, which a CSV cell must quote)."""
    items = [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]
    if not items:
        raise FieldError(field, "missing")
    return items


def crosslicense(
    members: str, patents: str | None, territory: str | None, start: str, end: str | None, terms: str | None
) -> dict[str, Any]:
    every = blank(patents) or str(patents).strip().lower() == "all"
    how = "royalty-free" if blank(terms) else str(terms).strip().lower()
    if how not in CROSS_LICENSE_TERMS:
        raise FieldError("terms", f"{terms!r} is not royalty-free or balancing-payment")
    return {
        "members": [fields.identifier(m, "members") for m in split_list(members, "members")],
        "patents": "all"
        if every
        else sorted({number(n, "patents") for n in split_list(str(patents), "patents")}),
        "territory": countries_or_all(
            None if blank(territory) else str(territory).replace(";", ","), "territory"
        ),
        "from": fields.parse_date(start, "from").isoformat(),
        "to": None if blank(end) else fields.parse_date(str(end), "to").isoformat(),
        "terms": how,
    }


# --- the bodies of the single commands (cli.py) ------------------------------------------------------------
def genesis(name: str, currency: str, admin_fee: str) -> dict[str, Any]:
    return {
        "name": fields.text(name, "name"),
        "currency": fields.currency(currency, "currency"),
        "admin_fee": percent(admin_fee, "admin_fee"),
    }


def key_add(vkey: str, role: str) -> dict[str, Any]:
    return {"vkey": vkey.strip(), "role": role}


def key_revoke(key: str, reason: str | None) -> dict[str, Any]:
    """A key.revoke body; `key` as keyring.key_ref spells it, `reason` only when given."""
    return {"key": key, "reason": reason} if reason else {"key": key}


def member_update(member_id: str, name: str | None, role: str | None) -> dict[str, Any]:
    return {"id": member_id, "name": fields.text(name, "name") if name else None, "role": role}


def check_member_changes(state: PoolState, body: dict[str, Any]) -> None:
    """Refuse a `member update` that gives only the name and role the member already has."""
    current = state.members.get(body["id"])
    if current is None or (body["name"] is None and body["role"] is None):
        return
    if body["name"] in (None, current.name) and body["role"] in (None, current.role):
        raise PoolError(f"member {body['id']} already has that name and role: nothing to update")


def member_retire(member_id: str, effective: str, reason: str | None) -> dict[str, Any]:
    return {
        "id": fields.identifier(member_id, "id"),
        "effective": fields.parse_date(effective, "effective").isoformat(),
        "reason": reason_text(reason, required=False),
    }


def program_admin_fee(state: PoolState, admin_fee: str | None) -> str:
    """A new program's admin fee: the one given, else the pool's default."""
    if admin_fee is not None:
        return admin_fee
    return format_rate(state.pool.admin_fee if state.pool else Decimal(0))


def patent_status(key: PatentKey, status: str, effective: str) -> dict[str, Any]:
    return {"number": key[0], "country": key[1], "status": status, "effective": effective}


def patent_transfer(state: PoolState, key: PatentKey, to: str, day: date) -> dict[str, Any]:
    """A patent.transfer body: from the owner on `day`."""
    owner = state.patents[key].owner_on(day)
    return {"number": key[0], "country": key[1], "from": owner, "to": to, "effective": day.isoformat()}


def declaration_seq(state: PoolState, key: PatentKey) -> int:
    """The seq of the open-licence declaration in force for a patent, which a take or withdrawal names."""
    decl = state.current_declaration(key)
    if decl is None:
        raise FieldError("number", f"{key[0]} in {key[1]} has no open licence declaration")
    return decl.seq


def openlicense_take(state: PoolState, key: PatentKey, licensee: str, notice_date: str) -> dict[str, Any]:
    return {
        "number": key[0],
        "country": key[1],
        "licensee": licensee,
        "notice_date": notice_date,
        "declaration": declaration_seq(state, key),
    }


def openlicense_withdraw(state: PoolState, key: PatentKey, effective: str) -> dict[str, Any]:
    return {
        "number": key[0],
        "country": key[1],
        "effective": effective,
        "declaration": declaration_seq(state, key),
    }


def crosslicense_options(
    members: str, patents: str, territory: str, start: str, end: str | None, terms: str
) -> dict[str, Any]:
    """A crosslicense.add body from `crosslicense add` options (lists separated by commas)."""
    return {
        "members": [fields.identifier(m, "members") for m in members.split(",") if m.strip()],
        "patents": "all"
        if patents.strip().lower() == "all"
        else sorted({number(n, "patents") for n in patents.split(",") if n.strip()}),
        "territory": countries_or_all(territory, "territory"),
        "from": fields.parse_date(start, "from").isoformat(),
        "to": None if end is None else fields.parse_date(end, "to").isoformat(),
        "terms": terms,
    }


def crosslicense_end(seq: int, end: str, reason: str | None) -> dict[str, Any]:
    return {
        "seq": seq,
        "to": fields.parse_date(end, "to").isoformat(),
        "reason": reason_text(reason, required=False),
    }


def license_grant(licensee: str, program: str, start: str) -> dict[str, Any]:
    return {"licensee": licensee, "program": program, "from": fields.parse_date(start, "from").isoformat()}


def license_end(licensee: str, program: str, end: str, reason: str | None) -> dict[str, Any]:
    return {
        "licensee": fields.identifier(licensee, "licensee"),
        "program": fields.identifier(program, "program"),
        "to": fields.parse_date(end, "to").isoformat(),
        "reason": reason_text(reason, required=False),
    }


@dataclass(frozen=True)
class DirectTerms:
    """What `license direct` says of every patent key it records a bilateral licence for."""

    licensee: str
    licensor: str | None  # of a co-owned patent: the co-owner granting it; None: the sole owner
    start: date
    end: str | None
    exclusive: bool
    territory: str | None


def license_direct(state: PoolState, key: PatentKey, terms: DirectTerms) -> dict[str, Any]:
    licensor = terms.licensor
    return {
        "number": key[0],
        "country": key[1],
        "licensee": terms.licensee,
        "licensor": licensor.strip()
        if licensor is not None
        else owners.sole(state.patents[key].owners_on(terms.start), key[0]),
        "from": terms.start.isoformat(),
        "to": None if terms.end is None else fields.parse_date(terms.end, "to").isoformat(),
        "exclusive": terms.exclusive,
        "territory": countries_or_all(terms.territory, "territory"),
    }


def payment_currency(state: PoolState, licensee: str, currency: str | None) -> str:
    """A payment's currency: the one given; else the licensee's programs' one currency, else the pool's."""
    if currency is not None:
        return currency
    currencies = sorted({state.programs[p].currency for (lic, p) in state.grants if lic == licensee})
    return currencies[0] if len(currencies) == 1 else (state.pool.currency if state.pool else "")
