"""Patent number normalisation: real-world spellings and what each becomes, or why it is refused."""

from __future__ import annotations

import pytest

from licenses.errors import TermError
from licenses.numbers import (
    PatentNumber,
    check_type,
    infer_type,
    normalize_number,
    office,
    parse_number,
    patent_type_ok,
)

ACCEPTED = [
    # The canonical examples of spec section 5 stay as they are.
    ("CN102345678B", "CN102345678B"),
    ("US10123456B2", "US10123456B2"),
    ("EP2345678B1", "EP2345678B1"),
    ("WO2001098623A1", "WO2001098623A1"),
    ("JP4219000B2", "JP4219000B2"),
    ("KR101234567B1", "KR101234567B1"),
    # Case, blanks, separators and full-width characters.
    ("cn 102345678 b", "CN102345678B"),
    ("CN 102,345,678 A", "CN102345678A"),
    ("ＣＮ１０２３４５６７８Ｂ", "CN102345678B"),
    ("  CN102345678B\n", "CN102345678B"),
    ("CN205123456U", "CN205123456U"),
    ("CN306123456S", "CN306123456S"),
    ("CN 1034567 A", "CN1034567A"),  # 7 digits, 1989-2007
    ("CN2345678Y", "CN2345678Y"),  # utility model before 2010
    ("US 10,123,456 B2", "US10123456B2"),
    ("US 10.123.456 B2", "US10123456B2"),
    ("US010123456B2", "US10123456B2"),  # leading zeros stripped
    ("US07654321B2", "US7654321B2"),
    ("us 11 234 567 b1", "US11234567B1"),
    ("US6000000A", "US6000000A"),  # a 1999 grant still had kind A
    ("US 2005/0123456 A1", "US20050123456A1"),
    ("USD0812345S", "USD812345S"),
    ("US D812,345 S", "USD812345S"),
    ("US RE45,678 E", "USRE45678E"),
    ("EP 2 345 678 B1", "EP2345678B1"),
    ("EP345678B1", "EP0345678B1"),  # zero-padded to 7 digits
    ("EP 0 345 678 b1", "EP0345678B1"),
    ("EP2345678A1", "EP2345678A1"),
    ("WO 01/98623 A1", "WO2001098623A1"),  # the old two-digit-year form
    ("WO0198623A1", "WO2001098623A1"),
    ("WO/2001/098623 A1", "WO2001098623A1"),  # as PATENTSCOPE writes it
    ("WO 2004/12345 A2", "WO2004012345A2"),
    ("WO 99/12345 A1", "WO1999012345A1"),
    ("jp4219000b2", "JP4219000B2"),
    ("JP 2005-123456 A", "JP2005123456A"),
    ("JP3123456U", "JP3123456U"),
    ("JP1234567S", "JP1234567S"),
    ("KR 10-1234567 B1", "KR101234567B1"),
    ("KR 10-2005-0012345 A", "KR1020050012345A"),
    ("KR 20-0123456 Y1", "KR200123456Y1"),
    ("KR 30-0572831 S", "KR300572831S"),
]


@pytest.mark.parametrize(("raw", "canonical"), ACCEPTED)
def test_accepted_spellings(raw: str, canonical: str) -> None:
    assert normalize_number(raw) == canonical
    # The canonical form is a fixed point: normalising it again changes nothing.
    assert normalize_number(canonical) == canonical


REJECTED = [
    # (input, a fragment of the reason)
    ("CN102345678", "kind code missing"),
    ("US 10123456", "kind code missing"),
    ("EP2345678", "kind code missing"),
    ("WO 01/98623", "kind code missing"),
    ("JP 4219000", "kind code missing"),
    ("KR 10-1234567", "kind code missing"),
    ("CN10234567B", "9 digits"),  # a digit missing
    ("CN1023456789B", "9 digits"),
    ("CN 201010123456.7", "application number"),
    ("CN 98123456.X", "9 digits"),
    ("CN905123456U", "start with 1 (invention), 2 (utility model) or 3 (design)"),
    ("CN205123456B", "kind B does not fit"),  # a utility model number with an invention kind
    ("CN102345678U", "kind U does not fit"),
    ("CN 102345678 A8", "kind A8 does not fit"),  # corrections are not recorded
    ("US1012345B2", "is a digit missing"),  # 7 digits and a post-2001 kind
    ("US7000000A", "kind B1 or B2"),
    ("US123456789B2", "up to 8 digits"),
    ("US10123456B", "kind B does not fit"),
    ("US10123456B12", "digits only"),
    ("US20050123456", "kind code missing"),
    ("US19990123456A1", "start with the year"),
    ("US20000123456A1", "start with the year"),
    ("USPP12345P", "utility patents"),
    ("USD812345B2", "kind B2 does not fit"),
    ("US0000000B2", "zero"),
    ("EP12345678B1", "7 digits"),
    ("EP0000000B1", "zero"),
    ("EP2345678B", "kind B does not fit"),
    ("WO 2001/1234567 A1", "at most 6 digits"),
    ("WO123A1", "year and a 6-digit serial"),
    ("WO 2001/000000 A1", "zero"),
    ("WO2001098623B1", "kind B1 does not fit"),
    ("JPH11123456A", "era-year"),
    ("JP123456B2", "7 digits"),
    ("JP1990123456A", "year from 2000"),
    ("JP4219000A", "kind A does not fit"),
    ("KR401234567B1", "10 (patent), 20 (utility model) or 30 (design)"),
    ("KR10123456B1", "10 (patent)"),
    ("KR101234567A", "kind A does not fit"),
    ("KR 30-2010-0011603 S", "application numbers"),
    ("DE102010012345A1", "office DE is not supported"),
    ("GB2345678A", "office GB is not supported"),
    ("PCT/CN2010/001234", "international application number"),
    ("123456", "two-letter office code"),
    ("1CN23456B", "two-letter office code"),
    ("CN102345678B*", "unexpected character"),
    ("CN102345678B;DROP", "unexpected character"),
    ("CN", "no number"),
    ("", "empty"),
    ("   ", "empty"),
]


@pytest.mark.parametrize(("raw", "reason"), REJECTED)
def test_rejected_spellings(raw: str, reason: str) -> None:
    with pytest.raises(TermError) as info:
        normalize_number(raw)
    message = str(info.value)
    assert reason in message
    # The message names the number exactly as the user typed it, so a CSV row can be found again.
    assert repr(raw) in message


def test_not_text_is_an_error() -> None:
    with pytest.raises(TermError):
        parse_number(12345)  # type: ignore[arg-type]


def test_parts_and_office() -> None:
    assert parse_number("EP345678B1") == PatentNumber("EP", "0345678", "B1")
    assert parse_number("US RE45,678 E") == PatentNumber("US", "RE45678", "E")
    assert parse_number("cn 102345678 b").canonical == "CN102345678B"
    assert office("kr 10-1234567 b1") == "KR"
    with pytest.raises(TermError):
        office("XX123B1")


@pytest.mark.parametrize(
    ("number", "implied"),
    [
        ("CN102345678B", "invention"),
        ("CN205123456U", "utility"),
        ("CN306123456S", "design"),
        ("CN2345678Y", "utility"),
        ("US10123456B2", "invention"),
        ("USD812345S", "design"),
        ("USRE45678E", None),
        ("EP2345678B1", "invention"),
        ("WO2001098623A1", None),
        ("JP4219000B2", "invention"),
        ("JP3123456U", "utility"),
        ("JP1234567S", "design"),
        ("KR101234567B1", "invention"),
        ("KR200123456Y1", "utility"),
        ("KR300572831S", "design"),
    ],
)
def test_infer_type(number: str, implied: str | None) -> None:
    assert infer_type(number) == implied


def test_type_consistency() -> None:
    assert patent_type_ok("CN205123456U", "utility")
    assert not patent_type_ok("CN205123456U", "invention")
    assert patent_type_ok("WO2001098623A1", "utility")  # the number does not tell
    check_type("CN102345678B", "invention")
    with pytest.raises(
        TermError, match=r"^type: design does not match CN102345678B, which is an invention number$"
    ):
        check_type("cn 102345678 b", "design")
