"""Reading a body's fields in their ledger spelling, for every validator (rules.py, corrections.py) and the
body builders (bodies.py): one home for what "missing", "must be text", a term's error and an unknown member,
program or patent look like."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from licenses.errors import TermError
from patentpool.fields import FieldError, did_you_mean, parse_date
from patentpool.patents import Patent
from patentpool.state import Member, PoolState, Program

T = TypeVar("T")


def get(body: Mapping[str, Any], name: str) -> Any:
    if name not in body:
        raise FieldError(name, "missing")
    return body[name]


def text(body: Mapping[str, Any], name: str) -> str:
    value = get(body, name)
    if not isinstance(value, str):
        raise FieldError(name, "must be text")
    return value


def day(body: Mapping[str, Any], name: str) -> date:
    return parse_date(text(body, name), name)


def term(field: str, fn: Callable[[], T]) -> T:
    """`fn()`, a licence-term error turned into a FieldError naming `field` (its own prefix not repeated)."""
    try:
        return fn()
    except TermError as exc:
        message = str(exc)
        prefix = f"{field}: "
        raise FieldError(field, message[len(prefix) :] if message.startswith(prefix) else message) from exc


def member(state: PoolState, member_id: str, field: str, *, role: str | None = None) -> Member:
    """The member `member_id` names (of `role`, licensor or licensee, when given), or a FieldError."""
    found = state.members.get(member_id)
    if found is None:
        raise FieldError(field, f"unknown member {member_id!r}{did_you_mean(member_id, state.members)}")
    for wanted in ("licensor", "licensee"):
        if role == wanted and found.role not in (wanted, "both"):
            raise FieldError(field, f"member {member_id!r} is a {found.role}, not a {wanted}")
    return found


def program(state: PoolState, name: str, field: str) -> Program:
    found = state.programs.get(name)
    if found is None:
        raise FieldError(field, f"unknown program {name!r}{did_you_mean(name, state.programs)}")
    return found


def patent(state: PoolState, body: Mapping[str, Any]) -> Patent:
    """The patent a body's `number` and `country` name, or a FieldError on `number`."""
    number = text(body, "number")
    found = state.patents.get((number, text(body, "country")))
    if found is None:
        raise FieldError("number", f"unknown patent {number} in {body.get('country')}")
    return found
