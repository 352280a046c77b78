"""Finding patents as people name them: a number without its kind code, a word of a title.

Titles are kept in the ledger, not in the replayed state (a million titles would cost the state memory on
every command), so the read commands that show or search them read them from the `patent.add` entries (and
from `patent.amend` entries that change a title, where the ledger has them).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container, Iterable

from ledger.log import Reader
from licenses.errors import TermError
from licenses.numbers import normalize_number
from patentpool import fields
from patentpool.fields import FieldError
from patentpool.state import PoolState

# The kind codes the supported offices publish (licenses.numbers): a number typed without one is tried with
# each, so the look-up costs a few dictionary probes however large the register is.
KIND_CODES = ("A", "B", "C", "U", "S", "Y", "E", "A1", "A2", "A3", "A4", "B1", "B2", "B3", "E1", "S1", "U1")
TITLE_KINDS = ("patent.add", "patent.amend")


def find_number(state: PoolState, text: str) -> str:
    """The number that `text` names: itself normalised, or, without a kind code, the one number of the pool
    that it names with one (CN112640904 -> CN112640904B). Several matches or none: FieldError."""
    try:
        number = normalize_number(text)
    except TermError as exc:
        known = sorted({m for m in _with_kind_codes(text) if state.patents.countries(m)})
        if len(known) == 1:
            return known[0]
        if known:
            listed = ", ".join(known)
            raise FieldError(
                "number", f"{text.strip()} names {len(known)} patents: {listed}; give the kind code"
            ) from None
        raise FieldError("number", str(exc).removeprefix("number: ")) from None
    return number  # whether the pool has it is for the caller: `patent show` also shows a voided patent


def patent_keys(state: PoolState, number_text: str, country: str | None) -> list[tuple[str, str]]:
    """The (number, country) rows that a number (its kind code may be left out) and a country name: that
    country, or, with none, every country the number is entered for (the commands' missing --country, a
    file's blank country cell)."""
    num = find_number(state, number_text)
    known = state.patents.countries(num)
    if not known:
        raise FieldError("number", f"unknown patent {num}")
    if country is None or not country.strip():
        return [(num, c) for c in known]
    code = country.strip().upper()
    if code not in known:
        fields.country(code, "country")  # a code that is no country says so first, with a suggestion
        raise FieldError("country", f"{num} is not in the pool for {code} (entered for {', '.join(known)})")
    return [(num, code)]


def _with_kind_codes(text: str) -> Iterable[str]:
    stem = text.strip()
    for kind in KIND_CODES:
        try:
            yield normalize_number(stem + kind)
        except TermError:
            continue


def titles(
    reader: Reader, voided: Container[int], number: str | None = None
) -> dict[tuple[str, str], str | None]:
    """(number, country) -> its title as the ledger holds it now (the latest amendment's, if any; void
    entries count as never made), for one number or for all."""
    found: dict[tuple[str, str], str | None] = {}
    for entry in reader.entries(kinds=list(TITLE_KINDS)):
        body = entry.body
        if (number is not None and body.get("number") != number) or entry.seq in voided:
            continue
        if entry.kind == "patent.add":
            found[(body["number"], body["country"])] = body.get("title")
        elif "title" in body and body.get("number"):
            # An amendment: of one country, or (no country) of every country of the number.
            for key in list(found):
                if key[0] == body["number"] and body.get("country") in (None, key[1]):
                    found[key] = body["title"]
    return found


def folded(text: str) -> str:
    """For searching: NFKC (full-width letters as ASCII), case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def matches(title: str | None, number: str, words: str) -> bool:
    """Whether every word of the search is in the title or the number."""
    haystack = folded(f"{number} {title or ''}")
    return all(word in haystack for word in folded(words).split())
