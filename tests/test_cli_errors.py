"""Issue 3, spec section 9: every bad input to the pool administration commands gets one clear `Error:` line on
stderr, exit code 1 (2 for a usage error), no traceback, and leaves the ledger exactly as it was.

One pool per backend holds the state the rejections are tried against (members, patents in several
countries, an open licence taken and withdrawn, an exclusive direct licence, a cross-licence, a pool licence).
A refused command writes nothing, so every case can share it; each case checks that the signed checkpoint's
size and root are the same after the command as before it.
"""

# Tables of cases read best one case a line.
# ruff: noqa: E501
from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import Pool, open_licence, shared_pool

MEMBERS = """id,name,role
A,Aurora Optics Co.,licensor
B,Beacon Semiconductor Ltd.,licensor
C,Cobalt Devices Inc.,both
L1,Lumen Headsets Co.,licensee
L2,Lattice Wearables,licensee
"""
PATENTS = """number,owner,country,type,filed,granted,expires,program,title,weight
US10123456B2,B,US,invention,2011-06-01,2018-11-13,,XR,Low-latency display pipeline,
CN205123456U,A,CN,utility,2016-05-10,2016-10-12,,XR,Headset strap tensioner,
CN201234567U,A,CN,utility,2020-01-01,2020-06-01,,XR,Nose pad,
CN305123456S,A,CN,design,2021-06-01,2021-12-01,,XR,Headset shell,
CN305123457S,A,CN,design,2020-01-01,2020-08-01,,XR,Controller shell,
CN102345678B,A,CN,invention,2010-03-01,2013-05-08,,XR,Optical waveguide display,
CN110123456B,C,CN,invention,2015-06-01,2019-09-10,,XR,Spatial audio codec,
EP2345678B1,B,DE,invention,2009-09-15,2014-03-05,,XR,Foveated rendering,
EP2345678B1,B,FR,invention,2009-09-15,2014-03-05,,XR,Foveated rendering,
"""


def build(pool: Pool) -> None:
    pool.run("member", "import", str(pool.write("members.csv", MEMBERS)))
    pool.run("program", "add", "XR", "--currency", "USD", "--tiers", "1000:0,5000:0.20,*:0.10")
    pool.run("patent", "import", str(pool.write("patents.csv", PATENTS)))
    pool.run("patent", "status", "CN110123456B", "invalidated", "--effective", "2025-02-15")
    pool.run("patent", "transfer", "EP2345678B1", "--to", "C", "--effective", "2025-03-01")
    open_licence(pool)
    pool.run("openlicense", "withdraw", "CN205123456U", "--effective", "2025-06-01")
    pool.run(
        "openlicense",
        "declare",
        "CN305123456S",
        "--fee",
        "3%",
        "--currency",
        "CNY",
        "--from",
        "2025-01-01",
        "--to",
        "2030-12-31",
        "--evaluation-report",
        "CNIPA-PER-2024-0901",
    )
    pool.run(
        "openlicense",
        "declare",
        "EP2345678B1",
        "--country",
        "DE",
        "--fee",
        "1%",
        "--currency",
        "EUR",
        "--from",
        "2025-04-01",
        "--to",
        "2026-12-31",
    )
    pool.run("license", "direct", "CN102345678B", "--licensee", "L1", "--from", "2025-01-01", "--exclusive")
    pool.run("license", "direct", "CN110123456B", "--licensee", "L1", "--from", "2025-01-01")
    pool.run("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-01-01")
    pool.run("crosslicense", "add", "--members", "A,C", "--from", "2024-01-01")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def refusing(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """The pool every rejection is tried on, built once per backend."""
    with shared_pool(request, tmp_path_factory, "errors", build) as pool:
        yield pool


def patent(
    number: str,
    owner: str = "A",
    country: str = "CN",
    type_: str = "invention",
    filed: str = "2015-03-01",
    *extra: str,
) -> tuple[str, ...]:
    return (
        "patent",
        "add",
        number,
        "--owner",
        owner,
        "--country",
        country,
        "--type",
        type_,
        "--filed",
        filed,
        *extra,
    )


def declare(number: str, start: str = "2025-07-01", end: str = "2026-06-30", *extra: str) -> tuple[str, ...]:
    return (
        "openlicense",
        "declare",
        number,
        "--fee",
        "0.10/unit",
        "--currency",
        "CNY",
        "--from",
        start,
        "--to",
        end,
        *extra,
    )


def take(number: str, licensee: str = "L2", notice: str = "2025-03-01") -> tuple[str, ...]:
    return ("openlicense", "take", number, "--licensee", licensee, "--notice-date", notice)


def direct(number: str, licensee: str = "L2", *extra: str) -> tuple[str, ...]:
    return ("license", "direct", number, "--licensee", licensee, "--from", "2025-07-01", *extra)


def cross(members: str = "A,C", *extra: str) -> tuple[str, ...]:
    return ("crosslicense", "add", "--members", members, "--from", "2025-01-01", *extra)


def program(name: str = "VR", *extra: str) -> tuple[str, ...]:
    return ("program", "add", name, "--currency", "USD", "--tiers", "1000:0,*:0.1", *extra)


REPORT = ("--evaluation-report", "CNIPA-PER-2025-0001")

# (id, command line, text the one `Error:` line must contain)
CASES: list[tuple[str, tuple[str, ...], str]] = [
    # members
    (
        "member-duplicate",
        ("member", "add", "A", "--name", "Again", "--role", "licensor"),
        "id: member 'A' already exists",
    ),
    (
        "member-bad-id",
        ("member", "add", "A B", "--name", "X", "--role", "licensor"),
        "id: 'A B' is not an identifier",
    ),
    (
        "member-id-too-long",
        ("member", "add", "M" * 65, "--name", "X", "--role", "licensor"),
        "is not an identifier",
    ),
    ("member-blank-name", ("member", "add", "D", "--name", "  ", "--role", "licensor"), "name: missing"),
    (
        "member-reserved-id",
        ("member", "add", "credit", "--name", "X", "--role", "licensor"),
        "id: 'credit' is reserved",
    ),
    (
        "member-control-char",
        ("member", "add", "D", "--name", "D\x07", "--role", "licensor"),
        "name: contains control characters",
    ),
    ("member-update-unknown", ("member", "update", "ZZ", "--name", "X"), "id: unknown member 'ZZ'"),
    ("member-update-nothing", ("member", "update", "A"), "name: nothing to update"),
    (
        "member-update-owner-to-licensee",
        ("member", "update", "A", "--role", "licensee"),
        "role: member 'A' still owns patents",
    ),
    # programs
    ("program-duplicate", program("XR"), "name: program 'XR' already exists"),
    ("program-bad-name", program("X R"), "name: 'X R' is not an identifier"),
    (
        "program-bad-currency",
        ("program", "add", "VR", "--currency", "US$", "--tiers", "*:0.1"),
        "currency: 'US$' is not a three-letter currency code",
    ),
    (
        "program-unknown-currency",
        ("program", "add", "VR", "--currency", "ZZZ", "--tiers", "*:0.1"),
        "currency: 'ZZZ' is not an ISO 4217 currency code",
    ),
    (
        "program-retired-currency",
        ("program", "add", "VR", "--currency", "hrk", "--tiers", "*:0.1"),
        "currency: 'hrk' is not an ISO 4217 currency code",
    ),
    ("program-bad-tiers", ("program", "add", "VR", "--currency", "USD", "--tiers", "lots"), "tiers: 'lots'"),
    ("program-fee-over-100", program("VR", "--admin-fee", "150"), "admin_fee: 150 is more than 100%"),
    ("program-negative-fee", program("VR", "--admin-fee", "-1"), "admin_fee:"),
    (
        "program-bad-cap",
        program("VR", "--annual-cap", "9.999"),
        "annual_cap: '9.999' has more than two decimals",
    ),
    # patent add: duplicates, unknown references
    (
        "patent-duplicate",
        patent("US10123456B2", "B", "US", "invention", "2011-06-01"),
        "number: US10123456B2 is already in the pool for US",
    ),
    (
        "patent-duplicate-other-spelling",
        patent("us 10,123,456 b2", "B", "us", "invention", "2011-06-01"),
        "number: US10123456B2 is already in the pool for US",
    ),
    (
        "patent-duplicate-ep-country",
        patent("EP 2345678 B1", "B", "DE", "invention", "2009-09-15"),
        "number: EP2345678B1 is already in the pool for DE",
    ),
    ("patent-unknown-owner", patent("CN102345679B", "ZZ"), "owner: unknown member 'ZZ'"),
    (
        "patent-owner-not-licensor",
        patent("CN102345679B", "L1"),
        "owner: member 'L1' is a licensee, not a licensor",
    ),
    (
        "patent-unknown-program",
        patent("CN102345679B", "A", "CN", "invention", "2015-03-01", "--program", "NOPE"),
        "program: unknown program 'NOPE'",
    ),
    # patent add: malformed number, country, date, type, weight
    (
        "number-no-kind",
        patent("US10123457", "B", "US"),
        "number: patent number 'US10123457': kind code missing",
    ),
    ("number-unknown-office", patent("DE102345678B4", "B", "DE"), "office DE is not supported"),
    ("number-bad-cn-kind-digit", patent("CN902345678B"), "number: patent number 'CN902345678B'"),
    ("number-wrong-kind", patent("US10123457X1", "B", "US"), "number: patent number 'US10123457X1'"),
    ("number-garbage", patent("not-a-number"), "number:"),
    (
        "country-unknown",
        patent("EP2345678B1", "B", "XX", "invention", "2009-09-15"),
        "country: 'XX' is not an ISO 3166 country code",
    ),
    (
        "country-three-letters",
        patent("EP2345678B1", "B", "DEU", "invention", "2009-09-15"),
        "country: 'DEU' is not an ISO 3166 country code",
    ),
    (
        "country-not-the-office",
        patent("US10123457B2", "B", "DE", "invention", "2011-06-01"),
        "country: US10123457B2 is a US patent; it cannot be in force in DE",
    ),
    (
        "filed-not-a-real-date",
        patent("CN102345679B", "A", "CN", "invention", "2015-02-29"),
        "filed: '2015-02-29' is not a real date",
    ),
    (
        "filed-wrong-format",
        patent("CN102345679B", "A", "CN", "invention", "01/03/2015"),
        "filed: '01/03/2015' is not a date YYYY-MM-DD",
    ),
    (
        "granted-malformed",
        patent("CN102345679B", "A", "CN", "invention", "2015-03-01", "--granted", "2018-13-01"),
        "granted: '2018-13-01' is not a real date",
    ),
    (
        "granted-before-filed",
        patent("CN102345679B", "A", "CN", "invention", "2015-03-01", "--granted", "2015-02-01"),
        "granted: 2015-02-01 is before the filing date 2015-03-01",
    ),
    (
        "expires-malformed",
        patent("CN102345679B", "A", "CN", "invention", "2015-03-01", "--expires", "2035"),
        "expires: '2035' is not a date YYYY-MM-DD",
    ),
    (
        "expires-before-filed",
        patent("CN102345679B", "A", "CN", "invention", "2015-03-01", "--expires", "2014-01-01"),
        "expires: 2014-01-01 is not after the filing date 2015-03-01",
    ),
    ("type-does-not-fit-number", patent("CN205123457U"), "type: invention does not match CN205123457U"),
    (
        "no-term-rule-without-expiry",
        patent("USD912345S", "B", "US", "design", "2019-03-01"),
        "expires: a design right in US has no filing-date rule here; give its expiry date",
    ),
    (
        "weight-zero",
        patent("CN102345679B", "A", "CN", "invention", "2015-03-01", "--weight", "0"),
        "weight: must be more than 0",
    ),
    (
        "weight-negative",
        patent("CN102345679B", "A", "CN", "invention", "2015-03-01", "--weight", "-1"),
        "weight:",
    ),
    (
        "weight-text",
        patent("CN102345679B", "A", "CN", "invention", "2015-03-01", "--weight", "heavy"),
        "weight:",
    ),
    # patent status and transfer
    (
        "status-unknown-patent",
        ("patent", "status", "CN102345679B", "lapsed", "--effective", "2025-01-01"),
        "number: unknown patent CN102345679B",
    ),
    (
        "status-malformed-number",
        ("patent", "status", "CN12B", "lapsed", "--effective", "2025-01-01"),
        "number:",
    ),
    (
        "status-malformed-date",
        ("patent", "status", "CN102345678B", "lapsed", "--effective", "2025-02-30"),
        "effective: '2025-02-30' is not a real date",
    ),
    (
        "status-already-stopped",
        ("patent", "status", "CN110123456B", "lapsed", "--effective", "2025-06-01"),
        "CN110123456B in CN is already invalidated from 2025-02-15",
    ),
    (
        "status-country-not-entered",
        ("patent", "status", "EP2345678B1", "lapsed", "--effective", "2025-06-01", "--country", "GB"),
        "country: EP2345678B1 is not in the pool for GB (entered for DE, FR)",
    ),
    (
        "status-before-filing",
        ("patent", "status", "CN102345678B", "withdrawn", "--effective", "2009-01-01"),
        "effective: 2009-01-01 is before the filing date 2010-03-01",
    ),
    (
        "transfer-unknown-patent",
        ("patent", "transfer", "CN102345679B", "--to", "B", "--effective", "2025-01-01"),
        "number: unknown patent CN102345679B",
    ),
    (
        "transfer-unknown-member",
        ("patent", "transfer", "CN102345678B", "--to", "ZZ", "--effective", "2025-01-01"),
        "to: unknown member 'ZZ'",
    ),
    (
        "transfer-to-licensee",
        ("patent", "transfer", "CN102345678B", "--to", "L2", "--effective", "2025-01-01"),
        "to: member 'L2' is a licensee, not a licensor",
    ),
    (
        "transfer-to-the-owner",
        ("patent", "transfer", "EP2345678B1", "--to", "C", "--effective", "2025-04-01"),
        "to: C already owns EP2345678B1 on 2025-04-01",
    ),
    (
        "transfer-out-of-date-order",
        ("patent", "transfer", "EP2345678B1", "--to", "A", "--effective", "2025-02-01", "--country", "DE"),
        "effective: a later transfer is already recorded",
    ),
    (
        "transfer-malformed-date",
        ("patent", "transfer", "CN102345678B", "--to", "B", "--effective", "2025-1-1"),
        "effective: '2025-1-1' is not a date YYYY-MM-DD",
    ),
    # open licences: declare
    (
        "declare-unknown-patent",
        declare("CN201234568U", "2025-07-01", "2026-06-30", *REPORT),
        "number: unknown patent CN201234568U",
    ),
    (
        "declare-utility-without-report",
        declare("CN201234567U"),
        "evaluation_report: a utility needs a patent evaluation report reference",
    ),
    (
        "declare-design-without-report",
        declare("CN305123457S"),
        "evaluation_report: a design needs a patent evaluation report reference",
    ),
    (
        "declare-blank-report",
        # Blanks are no reference (as a blank cell of a declarations file): a utility model needs one.
        declare("CN201234567U", "2025-07-01", "2026-06-30", "--evaluation-report", " "),
        "evaluation_report: a utility needs a patent evaluation report reference",
    ),
    (
        "declare-past-expiry",
        declare("CN201234567U", "2025-07-01", "2030-06-30", *REPORT),
        "to: 2030-06-30 is not before the patent's expiry 2030-01-01",
    ),
    (
        "declare-ending-on-expiry",
        declare("CN201234567U", "2025-07-01", "2030-01-01", *REPORT),
        "to: 2030-01-01 is not before the patent's expiry 2030-01-01",
    ),
    (
        "declare-wholly-after-expiry",
        declare("CN201234567U", "2031-01-01", "2031-12-31", *REPORT),
        "is not before the patent's expiry 2030-01-01",
    ),
    (
        "declare-end-before-start",
        declare("CN201234567U", "2025-07-01", "2025-06-30", *REPORT),
        "to: 2025-06-30 is before the start 2025-07-01",
    ),
    (
        "declare-bad-fee",
        (
            "openlicense",
            "declare",
            "CN102345679B",
            "--fee",
            "cheap",
            "--currency",
            "CNY",
            "--from",
            "2025-07-01",
            "--to",
            "2026-06-30",
        ),
        "fee: 'cheap' is not a fee",
    ),
    (
        "declare-percent-over-100",
        (
            "openlicense",
            "declare",
            "CN110123456B",
            "--fee",
            "120%",
            "--currency",
            "CNY",
            "--from",
            "2025-07-01",
            "--to",
            "2026-06-30",
        ),
        "fee:",
    ),
    (
        "declare-bad-currency",
        (
            "openlicense",
            "declare",
            "CN201234567U",
            "--fee",
            "3%",
            "--currency",
            "yuan",
            "--from",
            "2025-07-01",
            "--to",
            "2026-06-30",
            *REPORT,
        ),
        "currency: 'yuan' is not a three-letter currency code",
    ),
    (
        "declare-unknown-currency",
        (
            "openlicense",
            "declare",
            "CN201234567U",
            "--fee",
            "3%",
            "--currency",
            "ZZZ",
            "--from",
            "2025-07-01",
            "--to",
            "2026-06-30",
            *REPORT,
        ),
        "currency: 'ZZZ' is not an ISO 4217 currency code",
    ),
    (
        "payment-unknown-currency",
        (
            "payment",
            "add",
            "--licensee",
            "L1",
            "--amount",
            "10.00",
            "--date",
            "2025-04-01",
            "--ref",
            "Z1",
            "--currency",
            "ZZZ",
        ),
        "currency: 'ZZZ' is not an ISO 4217 currency code",
    ),
    (
        "declare-malformed-date",
        declare("CN201234567U", "2025-07-32", "2026-06-30", *REPORT),
        "from: '2025-07-32' is not a real date",
    ),
    (
        "declare-under-exclusive-licence",
        declare("CN102345678B"),
        "number: CN102345678B is under an exclusive licence (seq",
    ),
    (
        "declare-while-declared",
        declare("CN305123456S", "2026-01-01", "2027-12-31", *REPORT),
        "number: CN305123456S already has an open licence (seq",
    ),
    (
        "declare-before-the-withdrawal-takes-effect",
        declare("CN205123456U", "2025-03-01", "2026-05-09", *REPORT),
        "number: CN205123456U already has an open licence (seq",
    ),
    # open licences: take and withdraw
    (
        "take-on-the-withdrawal-date",
        take("CN205123456U", "L2", "2025-06-01"),
        "notice_date: the open licence was withdrawn from 2025-06-01",
    ),
    (
        "take-after-the-withdrawal",
        take("CN205123456U", "L2", "2025-09-15"),
        "notice_date: the open licence was withdrawn from 2025-06-01",
    ),
    (
        "take-before-the-term",
        take("CN305123456S", "L2", "2024-12-31"),
        "notice_date: 2024-12-31 is outside the open licence's term 2025-01-01..2030-12-31",
    ),
    ("take-after-the-term", take("CN305123456S", "L2", "2031-01-01"), "is outside the open licence's term"),
    (
        "take-twice",
        take("CN205123456U", "L1", "2025-02-01"),
        "licensee: L1 has already taken this open licence",
    ),
    (
        "take-by-the-owner",
        (
            "openlicense",
            "take",
            "EP2345678B1",
            "--country",
            "DE",
            "--licensee",
            "C",
            "--notice-date",
            "2025-05-01",
        ),
        "licensee: C owns EP2345678B1 on 2025-05-01",
    ),
    ("take-unknown-licensee", take("CN305123456S", "ZZ"), "licensee: unknown member 'ZZ'"),
    ("take-by-a-licensor", take("CN305123456S", "B"), "licensee: member 'B' is a licensor, not a licensee"),
    (
        "take-without-declaration",
        take("CN201234567U"),
        "number: CN201234567U in CN has no open licence declaration",
    ),
    ("take-unknown-patent", take("CN201234568U"), "number: unknown patent CN201234568U"),
    ("take-malformed-date", take("CN305123456S", "L2", "20250301"), "notice_date: '20250301' is not a date"),
    (
        "withdraw-twice",
        ("openlicense", "withdraw", "CN205123456U", "--effective", "2025-07-01"),
        "number: the open licence was already withdrawn from 2025-06-01",
    ),
    (
        "withdraw-before-the-start",
        ("openlicense", "withdraw", "CN305123456S", "--effective", "2024-12-31"),
        "effective: 2024-12-31 is before the open licence starts (2025-01-01)",
    ),
    (
        "withdraw-without-declaration",
        ("openlicense", "withdraw", "CN201234567U", "--effective", "2025-07-01"),
        "number: CN201234567U in CN has no open licence declaration",
    ),
    (
        "withdraw-unknown-patent",
        ("openlicense", "withdraw", "CN201234568U", "--effective", "2025-07-01"),
        "number: unknown patent CN201234568U",
    ),
    # cross-licences
    ("cross-one-member", cross("A"), "members: name two or more different members"),
    ("cross-same-member-twice", cross("A,A"), "members: name two or more different members"),
    ("cross-unknown-member", cross("A,ZZ"), "members: unknown member 'ZZ'"),
    ("cross-bad-member-id", cross("A,Z Z"), "members: 'Z Z' is not an identifier"),
    (
        "cross-unknown-patent",
        cross("A,C", "--patents", "CN102345679B"),
        "patents: unknown patent 'CN102345679B'",
    ),
    ("cross-malformed-patent", cross("A,C", "--patents", "CN12B"), "patents: patent number 'CN12B'"),
    (
        "cross-patent-of-neither-member",
        cross("A,C", "--patents", "US10123456B2"),
        "patents: US10123456B2 belongs to none of A, C",
    ),
    ("cross-unknown-territory", cross("A,C", "--territory", "CN,XX"), "territory: 'XX' is not an ISO 3166"),
    (
        "cross-end-before-start",
        cross("A,C", "--to", "2024-12-31"),
        "to: 2024-12-31 is before the start 2025-01-01",
    ),
    (
        "cross-malformed-date",
        ("crosslicense", "add", "--members", "A,C", "--from", "next year"),
        "from: 'next year' is not a date YYYY-MM-DD",
    ),
    # pool licences
    (
        "grant-unknown-licensee",
        ("license", "grant", "--licensee", "ZZ", "--program", "XR", "--from", "2025-01-01"),
        "licensee: unknown member 'ZZ'",
    ),
    (
        "grant-to-a-licensor",
        ("license", "grant", "--licensee", "A", "--program", "XR", "--from", "2025-01-01"),
        "licensee: member 'A' is a licensor, not a licensee",
    ),
    (
        "grant-unknown-program",
        ("license", "grant", "--licensee", "L2", "--program", "NOPE", "--from", "2025-01-01"),
        "program: unknown program 'NOPE'",
    ),
    (
        "grant-twice",
        ("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-04-01"),
        "licensee: L1 already holds a XR licence from 2025-01-01",
    ),
    (
        "grant-malformed-date",
        ("license", "grant", "--licensee", "L2", "--program", "XR", "--from", "2025-04-31"),
        "from: '2025-04-31' is not a real date",
    ),
    # direct licences
    ("direct-unknown-patent", direct("CN102345679B"), "number: unknown patent CN102345679B"),
    ("direct-unknown-licensee", direct("CN110123456B", "ZZ"), "licensee: unknown member 'ZZ'"),
    ("direct-to-the-owner", direct("CN102345678B", "A"), "licensee: A owns CN102345678B"),
    (
        "direct-end-before-start",
        direct("CN110123456B", "L2", "--to", "2025-06-30"),
        "to: 2025-06-30 is before the start 2025-07-01",
    ),
    (
        "direct-second-exclusive",
        direct("CN102345678B", "L2", "--exclusive"),
        "exclusive: CN102345678B is already exclusively licensed (seq",
    ),
    (
        "direct-exclusive-under-open-licence",
        direct("CN305123456S", "L2", "--exclusive"),
        "exclusive: CN305123456S is under an open licence (seq",
    ),
    (
        "direct-to-a-licensor",
        direct("CN110123456B", "A"),
        "licensee: member 'A' is a licensor, not a licensee",
    ),
    (
        "direct-exclusive-over-another-licence",
        direct("CN110123456B", "L2", "--exclusive"),
        "exclusive: CN110123456B is licensed to L1 then (seq",
    ),
    (
        "direct-beside-an-exclusive-one",
        direct("CN102345678B", "L2"),
        "licensee: CN102345678B is exclusively licensed to",
    ),
    (
        "direct-unknown-territory",
        direct("CN110123456B", "L2", "--territory", "CN,ZZ"),
        "territory: 'ZZ' is not an ISO 3166",
    ),
    (
        "direct-country-not-entered",
        direct("EP2345678B1", "L2", "--country", "IT"),
        "country: EP2345678B1 is not in the pool for IT",
    ),
    # payments and roles
    (
        "payment-without-a-pool-licence",
        ("payment", "add", "--licensee", "L2", "--amount", "10.00", "--date", "2025-04-02", "--ref", "Q1"),
        "licensee: L2 holds no pool licence: grant one before its payments",
    ),
    ("member-update-changing-nothing", ("member", "update", "L1", "--role", "licensee"), "nothing to update"),
    (
        "licensee-made-licensor-while-licensed",
        ("member", "update", "L1", "--role", "licensor"),
        "role: member 'L1' still holds pool licences (XR)",
    ),
    # read commands
    ("show-unknown-patent", ("patent", "show", "CN102345679B"), "number: unknown patent CN102345679B"),
    ("show-malformed-number", ("patent", "show", "CN12B"), "number: patent number 'CN12B'"),
    ("list-malformed-date", ("patent", "list", "--on", "2025-02-30"), "on: '2025-02-30' is not a real date"),
]


@pytest.mark.parametrize(("args", "message"), [pytest.param(a, m, id=i) for i, a, m in CASES])
def test_bad_input_is_refused_with_one_clear_error(
    refusing: Pool, args: tuple[str, ...], message: str
) -> None:
    before = refusing.size_and_root()
    result = refusing.run(*args, expect=1)
    assert "Traceback" not in result.stdout + result.stderr
    assert "--verbose" not in result.stderr, "an unexpected exception, not a phrased error"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message in lines[0]
    assert result.stdout == ""
    assert refusing.size_and_root() == before


USAGE: list[tuple[str, tuple[str, ...]]] = [
    ("member-role-choice", ("member", "add", "D", "--name", "D", "--role", "owner")),
    ("member-missing-role", ("member", "add", "D", "--name", "D")),
    ("patent-type-choice", patent("CN102345679B", "A", "CN", "gadget")),
    (
        "patent-missing-filed",
        ("patent", "add", "CN102345679B", "--owner", "A", "--country", "CN", "--type", "invention"),
    ),
    ("status-choice", ("patent", "status", "CN102345678B", "expired", "--effective", "2025-01-01")),
    ("cross-terms-choice", cross("A,C", "--terms", "free")),
    ("format-choice", ("member", "list", "--format", "xml")),
    ("import-missing-file", ("patent", "import", "no-such-file.csv")),
]


@pytest.mark.parametrize("args", [pytest.param(a, id=i) for i, a in USAGE])
def test_usage_errors_exit_2_and_write_nothing(refusing: Pool, args: tuple[str, ...]) -> None:
    before = refusing.size_and_root()
    result = refusing.run(*args, expect=2)
    assert "Traceback" not in result.stdout + result.stderr
    assert "Error: " in result.stderr
    assert refusing.size_and_root() == before


def test_the_refusing_pool_still_verifies(refusing: Pool) -> None:
    """Placed last: after every rejection the pool still holds what it was built with, and verifies."""
    report = refusing.json("verify")
    assert (report["result"], report["entries"], report["members"], report["patents"]) == ("ok", 28, 5, 9)
