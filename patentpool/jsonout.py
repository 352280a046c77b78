"""JSON text for people and files: statements, invoices and bundles of several megabytes.

orjson spells what `json.dumps(..., ensure_ascii=False)` spells (UTF-8 as is, the same escapes, keys in the
order given), indented or compact, several times faster: the stdlib indents in pure Python, and a large
member's statement is megabytes of patent numbers (figures in bench/README.md). Values orjson does not take
(integers past 64 bits, tuple subclasses) fall back to the stdlib, which spells them the same way."""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps_bytes(data: Any, indent: bool = True) -> bytes:
    """`data` as UTF-8 JSON, indented by two spaces (for people) or compact (no spaces); bytes, for a writer
    that takes them as they are (megabytes need no decoding and encoding again on their way out)."""
    option = _OPTIONS | orjson.OPT_INDENT_2 if indent else _OPTIONS
    try:
        return orjson.dumps(data, option=option)
    except TypeError:
        if indent:
            return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
