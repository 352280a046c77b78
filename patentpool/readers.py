"""Reading a body's fields in their ledger spelling, for every validator (rules.py, corrections.py) and the
body builders (bodies.py): one home for what "missing", "must be text" and a term's error look like."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from licenses.errors import TermError
from patentpool.fields import FieldError, parse_date

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
