"""Issue 3, `member import` and `patent import` (spec sections 3 and 8): validated in full before anything is
written, all or nothing; every error names file, line (the header is line 1) and column; re-importing the same
file appends nothing and says so; an overlapping file skips the rows already recorded with the same facts.

Successful imports use the function-scoped `pool`. The rejected files share one pool per backend: a refused
import writes nothing, which each case checks with the signed checkpoint's size and root before and after.
"""

# Tables of cases read best one case a line.
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Pool, shared_pool

MEMBERS = """id,name,role
A,Aurora Optics Co.,licensor
B,Beacon Semiconductor Ltd.,licensor
C,Cobalt Devices Inc.,both
L1,Lumen Headsets Co.,licensee
"""
HEADER = "number,owner,country,type,filed,granted,expires,program,title,weight\n"


def setup_members(pool: Pool) -> None:
    pool.run("member", "import", str(pool.write("members.csv", MEMBERS)))
    pool.run("program", "add", "XR", "--currency", "USD", "--tiers", "1000:0,5000:0.20,*:0.10")


def import_ok(pool: Pool, what: str, path: Path) -> str:
    """Import a file that must be accepted; returns what it said on stderr."""
    return str(pool.run(what, "import", str(path)).stderr)


def patent_bodies(pool: Pool) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (e["body"]["number"], e["body"]["country"]): e["body"]
        for e in pool.json("log", "--kind", "patent.add")
    }


# --- accepted imports --------------------------------------------------------------------------------------
def test_patent_import_blank_optional_cells_normalisation_and_expiry(pool: Pool) -> None:
    setup_members(pool)
    patents = pool.write(
        "patents.csv",
        HEADER + '"us 10,123,456 b2",A,us,invention,2011-06-01,2018-11-13,,XR,"Display, low latency",\n'
        "CN 201234567 U,A,CN,Utility,2016-02-29,,,,,\n"
        "CN305123456S,C,CN,design,2021-06-01,2021-12-01,,XR,,\n"
        "CN102345678B,C,CN,invention,2010-03-01,2013-05-08,2033-01-15,XR,Waveguide,2.50\n"
        "EP2345678B1,B,DE,invention,2009-09-15,2014-03-05, ,XR, ,\n"
        "ep 2345678 b1,B,FR,invention,2009-09-15,2014-03-05,,XR,,\n",
    )
    said = import_ok(pool, "patent", patents)
    assert f"{patents}: 6 row(s): 6 patent entries appended" in said
    bodies = patent_bodies(pool)
    assert list(bodies) == [
        ("US10123456B2", "US"),
        ("CN201234567U", "CN"),
        ("CN305123456S", "CN"),
        ("CN102345678B", "CN"),
        ("EP2345678B1", "DE"),
        ("EP2345678B1", "FR"),
    ]
    us = bodies[("US10123456B2", "US")]
    assert {
        k: us[k]
        for k in (
            "owner",
            "type",
            "filed",
            "granted",
            "expires",
            "expires_given",
            "program",
            "title",
            "weight",
        )
    } == {
        "owner": "A",
        "type": "invention",
        "filed": "2011-06-01",
        "granted": "2018-11-13",
        "expires": "2031-06-01",
        "expires_given": False,
        "program": "XR",
        "title": "Display, low latency",
        "weight": "1",
    }
    # Blank optional cells mean "not given" (whitespace too): no grant, no program, no title, weight 1.
    utility = bodies[("CN201234567U", "CN")]
    assert (utility["type"], utility["granted"], utility["program"], utility["title"], utility["weight"]) == (
        "utility",
        None,
        None,
        None,
        "1",
    )
    assert utility["expires"] == "2026-02-28"  # 10 years, 29 February -> 28 February
    assert bodies[("CN305123456S", "CN")]["expires"] == "2036-06-01"
    explicit = bodies[("CN102345678B", "CN")]
    assert (explicit["expires"], explicit["expires_given"], explicit["weight"]) == ("2033-01-15", True, "2.5")
    assert (bodies[("EP2345678B1", "DE")]["expires"], bodies[("EP2345678B1", "DE")]["title"]) == (
        "2029-09-15",
        None,
    )

    # Only the required columns, a UTF-8 byte-order mark and CRLF line ends (as spreadsheets write them).
    path = pool.workdir / "excel.csv"
    path.write_bytes(
        "\ufeffnumber,owner,country,type,filed\r\nCN102345671B,A,CN,invention,2010-03-01\r\n".encode("utf-8")
    )
    assert "1 patent entry appended" in import_ok(pool, "patent", path)
    members = pool.workdir / "members-bom.csv"
    members.write_bytes("\ufeffid,name,role\r\nD,Dynamo \u5149\u5b66,both\r\n".encode("utf-8"))
    assert "1 member entry appended" in import_ok(pool, "member", members)
    assert pool.json("member", "list")[-1]["name"] == "Dynamo \u5149\u5b66"
    header_only = pool.write("empty.csv", HEADER)
    size = pool.size_and_root()
    assert "0 row(s): 0 patent entries appended" in import_ok(pool, "patent", header_only)
    assert pool.size_and_root() == size
    assert pool.json("verify")["result"] == "ok"


def test_reimport_appends_nothing_and_an_overlapping_file_skips_recorded_rows(pool: Pool) -> None:
    first = pool.write("members.csv", MEMBERS)
    said = import_ok(pool, "member", first)
    assert f"{first}: 4 row(s): 4 member entries appended" in said
    assert {m["id"]: m["role"] for m in pool.json("member", "list")} == {
        "A": "licensor",
        "B": "licensor",
        "C": "both",
        "L1": "licensee",
    }
    size = pool.size_and_root()

    # The same file, or the same bytes under another name: nothing appended, and it says so.
    again = import_ok(pool, "member", first)
    assert f"{first} was already imported (seq 2-5); nothing appended" in again
    copy = pool.workdir / "members-copy.csv"
    shutil.copyfile(first, copy)
    assert "was already imported (seq 2-5); nothing appended" in import_ok(pool, "member", copy)
    assert pool.size_and_root() == size

    # An overlapping file: rows with the same facts are skipped, new rows appended (role case is forgiven).
    overlap = pool.write(
        "members-2.csv", "id,name,role\nA,Aurora Optics Co.,LICENSOR\nL2,Lattice Wearables,licensee\n"
    )
    said = import_ok(pool, "member", overlap)
    assert f"{overlap}: 2 row(s): 1 member entry appended, 1 row(s) already recorded, skipped" in said
    assert pool.size_and_root()[0] == size[0] + 1
    assert [e["body"]["id"] for e in pool.json("log", "--kind", "member.add")] == ["A", "B", "C", "L1", "L2"]

    pool.run("program", "add", "XR", "--currency", "USD", "--tiers", "1000:0,5000:0.20,*:0.10")
    rows = (
        "US10123456B2,A,US,invention,2011-06-01,2018-11-13,,XR,Pipeline,\n"
        "EP2345678B1,B,DE,invention,2009-09-15,2014-03-05,2030-01-01,XR,,2\n"
        "CN102345678B,A,CN,invention,2010-03-01,2013-05-08,,XR,,\n"
    )
    first = pool.write("patents.csv", HEADER + rows)
    import_ok(pool, "patent", first)
    pool.run("patent", "transfer", "CN102345678B", "--to", "C", "--effective", "2025-01-01")
    size = pool.size_and_root()
    assert f"{first} was already imported (seq" in import_ok(pool, "patent", first)
    assert pool.size_and_root() == size

    # Same facts however spelled (number, case, an expiry equal to the term's end given explicitly); a later
    # transfer does not change the recorded row. Only the new EP country is appended.
    overlap = pool.write(
        "patents-2.csv",
        HEADER + "us 10123456 b2,A,US,Invention,2011-06-01,2018-11-13,2031-06-01,XR,Pipeline,1\n"
        "EP2345678B1,B,DE,invention,2009-09-15,2014-03-05,2030-01-01,XR,,2.0\n"
        "EP2345678B1,B,FR,invention,2009-09-15,2014-03-05,2030-01-01,XR,,2\n"
        "CN102345678B,A,CN,invention,2010-03-01,2013-05-08,,XR,,\n",
    )
    said = import_ok(pool, "patent", overlap)
    assert f"{overlap}: 4 row(s): 1 patent entry appended, 3 row(s) already recorded, skipped" in said
    assert pool.size_and_root()[0] == size[0] + 1
    assert list(patent_bodies(pool))[-1] == ("EP2345678B1", "FR")

    # A refused file writes nothing and records nothing: once corrected it imports.
    path = pool.write(
        "more.csv",
        HEADER + "CN102345679B,A,CN,invention,2010-03-01,,,XR,,\n"
        "CN102345670B,ZZ,CN,invention,2010-03-01,,,XR,,\n",
    )
    before = pool.size_and_root()
    pool.run("patent", "import", str(path), expect=1)
    assert pool.size_and_root() == before
    path.write_text(
        HEADER + "CN102345679B,A,CN,invention,2010-03-01,,,XR,,\n"
        "CN102345670B,C,CN,invention,2010-03-01,,,XR,,\n",
        encoding="utf-8",
    )
    assert "2 patent entries appended" in import_ok(pool, "patent", path)
    assert pool.size_and_root()[0] == before[0] + 2


# --- rejected files -----------------------------------------------------------------------------------------
def build_refusing(pool: Pool) -> None:
    setup_members(pool)
    pool.run("member", "add", "L2", "--name", "Lattice Wearables", "--role", "licensee")
    pool.run(
        "patent",
        "add",
        "US10123456B2",
        "--owner",
        "B",
        "--country",
        "US",
        "--type",
        "invention",
        "--filed",
        "2011-06-01",
        "--granted",
        "2018-11-13",
        "--program",
        "XR",
        "--title",
        "Pipeline",
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def refusing(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    with shared_pool(request, tmp_path_factory, "imports", build_refusing) as pool:
        yield pool


VALID = "CN102345678B,A,CN,invention,2010-03-01,2013-05-08,,XR,Waveguide,\n"  # fine on its own
M = "id,name,role\n"

# (id, command, file content, [(line, column or None, text the error must contain)]): every error, in order.
BAD_FILES: list[tuple[str, str, str | bytes, list[tuple[int, str | None, str]]]] = [
    # header problems: line 1, every one of them
    (
        "unknown-column",
        "patent",
        HEADER.strip() + ",colour\n" + VALID.strip() + ",red\n",
        [(1, "colour", "unknown column")],
    ),
    (
        "misspelt-and-missing-columns",
        "patent",
        "number,owner,contry,type,filed\nCN102345678B,A,CN,invention,2010\n",
        [(1, "contry", "unknown column"), (1, "country", "required column missing")],
    ),
    ("column-twice", "member", "id,name,role,name\nD,D,both,D\n", [(1, "name", "column appears twice")]),
    ("empty-file", "member", "", [(1, None, "empty file: no header row")]),
    (
        "member-unknown-column",
        "member",
        "id,name,role,email\nD,D,both,d@example.com\n",
        [(1, "email", "unknown column")],
    ),
    (
        "not-utf8-header",
        "member",
        b"id,n\xe4me,role\nD,D,both\n",
        [(1, None, "not UTF-8; try --encoding cp1252")],
    ),
    # member rows: all errors listed, each with its line and column
    (
        "member-rows",
        "member",
        M + "D,Dynamo,both\nA,Aurora Renamed,licensor\nE F,Eee,licensee\nG,,both\nH,Hotel,owner\n"
        "D,Dynamo,both\nI,Indigo\n",
        [
            (3, "id", "member 'A' exists with other data: use `member update`"),
            (4, "id", "'E F' is not an identifier"),
            (5, "name", "missing"),
            (6, "role", "'owner' is not licensor, licensee or both"),
            (7, "id", "member 'D' appears twice in this file"),
            (8, None, "2 cells, the header has 3"),
        ],
    ),
    (
        "member-not-utf8-cell",
        "member",
        b"id,name,role\nD,Dynamo,both\nE,Cl\xe9ment,licensee\nF,F,king\n",
        # Once, at the first such line, with the encoding to try: the file is wrong as a whole.
        [(3, "name", "not UTF-8; try --encoding cp1252")],
    ),
    (
        "member-lines-count-physical-lines",
        "member",
        M + 'D,"Dynamo\nLabs",both\n\nE,Echo,kings\n"F",F,both,extra\n',
        [
            (2, "name", "contains control characters"),
            (5, "role", "'kings'"),
            (6, None, "4 cells, the header has 3"),
        ],
    ),
    # patent rows: unknown references, duplicates, malformed cells, all listed
    (
        "patent-unknown-references",
        "patent",
        HEADER + VALID + "CN102345679B,ZZ,CN,invention,2010-03-01,,,XR,,\n"
        "CN102345670B,L1,CN,invention,2010-03-01,,,XR,,\n"
        "CN102345671B,A,CN,invention,2010-03-01,,,NOPE,,\n",
        [
            (3, "owner", "unknown member 'ZZ'"),
            (4, "owner", "member 'L1' is a licensee, not a licensor"),
            (5, "program", "unknown program 'NOPE'"),
        ],
    ),
    (
        "patent-duplicates",
        "patent",
        HEADER + VALID + "cn 102345678 b,A,CN,invention,2010-03-01,2013-05-08,,XR,Waveguide,\n"
        "US10123456B2,B,US,invention,2011-06-01,2018-11-13,,XR,Pipeline v2,\n"
        "US10123456B2,B,US,invention,2011-06-01,2018-11-13,,XR,Pipeline,\n"
        "EP2345678B1,B,DE,invention,2009-09-15,,,XR,,\nEP2345678B1,B,DE,invention,2009-09-15,,,XR,,\n",
        [
            (3, "number", "CN102345678B in CN is also on line 2 of this file"),
            (4, "number", "US10123456B2 is already in the pool for US with other data"),
            (5, "number", "US10123456B2 in US is also on line 4 of this file"),
            (7, "number", "EP2345678B1 in DE is also on line 6 of this file"),
        ],
    ),
    (
        "patent-malformed-cells",
        "patent",
        HEADER + "US10123457,B,US,invention,2011-06-01,,,XR,,\n"
        "DE102345678B4,B,DE,invention,2011-06-01,,,XR,,\n"
        "CN102345679B,A,CHN,invention,2011-06-01,,,XR,,\n"
        "US10123458B2,B,DE,invention,2011-06-01,,,XR,,\n"
        "CN102345670B,A,CN,invention,2011-02-29,,,XR,,\n"
        "CN102345671B,A,CN,invention,1/3/2011,,,XR,,\n"
        "CN102345672B,A,CN,invention,2011-03-01,2011-02-01,,XR,,\n"
        "CN102345673B,A,CN,invention,2011-03-01,,2010-01-01,XR,,\n"
        "CN102345674B,A,CN,gadget,2011-03-01,,,XR,,\n"
        "CN205123456U,A,CN,invention,2011-03-01,,,XR,,\n"
        "USD912345S,B,US,design,2019-03-01,,,XR,,\n"
        "CN102345675B,A,CN,invention,2011-03-01,,,XR,,0\n"
        "CN102345676B,A,CN,invention,2011-03-01,,,XR,,-2\n"
        "CN102345677B,A,CN,invention,2011-03-01,,,X R,,\n" + VALID,
        [
            (2, "number", "kind code missing"),
            (3, "number", "office DE is not supported"),
            (4, "country", "'CHN' is not an ISO 3166 country code"),
            (5, "country", "US10123458B2 is a US patent; it cannot be in force in DE"),
            (6, "filed", "'2011-02-29' is not a real date"),
            (7, "filed", "'1/3/2011' is not a date YYYY-MM-DD"),
            (8, "granted", "2011-02-01 is before the filing date 2011-03-01"),
            (9, "expires", "2010-01-01 is not after the filing date 2011-03-01"),
            (10, "type", "'gadget' is not a patent type"),
            (11, "type", "invention does not match CN205123456U"),
            (12, "expires", "a design right in US has no filing-date rule here"),
            (13, "weight", "must be more than 0"),
            (14, "weight", "'-2' must not be negative"),
            (15, "program", "'X R' is not an identifier"),
        ],
    ),
    (
        "patent-cell-count-and-blank-lines",
        "patent",
        HEADER + "\n" + VALID + "\nCN102345679B,A,CN,invention\n",
        [(5, None, "4 cells, the header has 10")],
    ),
]


@pytest.mark.parametrize(
    ("command", "content", "expected"), [pytest.param(c, t, e, id=i) for i, c, t, e in BAD_FILES]
)
def test_a_bad_file_is_refused_whole_with_every_error_located(
    refusing: Pool,
    request: pytest.FixtureRequest,
    command: str,
    content: str | bytes,
    expected: list[tuple[int, str | None, str]],
) -> None:
    path = refusing.workdir / f"{request.node.callspec.id}.csv"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    before = refusing.json(command, "list"), refusing.size_and_root()
    result = refusing.run(command, "import", str(path), expect=1)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    # Spec 9: one `Error:` line per problem. A lone problem says on its own line that nothing was written;
    # several are followed by a summary, which is not a problem and so not an `Error:` line.
    if len(expected) == 1:
        assert len(lines) == 1 and lines[0].endswith("; nothing was written"), result.stderr
        got = [lines[0].removesuffix("; nothing was written")]
    else:
        assert lines[-1] == f"{len(expected)} problems: nothing was written", result.stderr
        got = lines[:-1]
    assert all(line.startswith("Error: ") for line in got), result.stderr
    assert len(got) == len(expected), result.stderr
    for line, (number, column, text) in zip(got, expected, strict=True):
        where = f"Error: {path}:{number}: " + (f"{column}: " if column else "")
        assert line.startswith(where), (line, where)
        assert text in line, (line, text)
    # All or nothing: the valid rows of the file were not written either.
    assert (refusing.json(command, "list"), refusing.size_and_root()) == before


def test_errors_are_listed_up_to_a_limit(refusing: Pool) -> None:
    rows = "".join(f"CN1{n:08d}B,ZZ,CN,invention,2010-03-01,,,XR,,\n" for n in range(60))
    path = refusing.write("sixty-bad-rows.csv", HEADER + rows)
    before = refusing.size_and_root()
    result = refusing.run("patent", "import", str(path), expect=1)
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "50 problems (and more; stopped listing): nothing was written"
    assert len(lines) == 51 and all(line.startswith("Error: ") for line in lines[:-1])
    assert lines[0] == f"Error: {path}:2: owner: unknown member 'ZZ'"
    assert lines[49] == f"Error: {path}:51: owner: unknown member 'ZZ'"
    assert refusing.size_and_root() == before
