"""Issue 19, spec 8: an import file kind for each fact entered in bulk (open-licence declarations and takes,
pool and direct licences, cross-licences, patent statuses, transfers and owners). A file gives exactly the
entries its rows' single commands give (one validator per kind), all or nothing, every error located,
re-importing appends nothing, and --dry-run appends nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import DATA, Pool

XR = ("XR", "--currency", "USD", "--tiers", "1000:0,5000:0.20,*:0.10")

FILES = {
    ("openlicense", "import-declarations", "declarations.csv"): (
        "number,country,fee,currency,from,to,evaluation_report\n"
        "CN205123456U,,0.10/unit,CNY,2025-01-01,2026-05-09,CNIPA-PER-2024-0815\n"
        "CN102345678B,CN,3%,CNY,2025-01-01,2026-12-31,\n"
    ),
    ("openlicense", "import-takes", "takes.csv"): (
        "number,licensee,notice_date,country\nCN205123456U,L1,2025-01-15,\nCN102345678B,C,2025-02-01,CN\n"
    ),
    ("license", "import-grants", "grants.csv"): "licensee,program,from\nL1,XR,2025-01-01\nC,XR,2025-01-01\n",
    ("license", "import-direct", "direct.csv"): (
        "number,licensee,from,to,exclusive,territory\n"
        "US10123456B2,L1,2025-01-01,2025-12-31,no,US;CA\n"
        "EP2345678B1,L1,2025-03-01,,yes,\n"
    ),
    ("crosslicense", "import", "cross.csv"): (
        "members,patents,territory,from,to,terms\n"
        "A;C,all,all,2024-01-01,,\n"
        '"B,C","US10123456B2;EP2345678B1",US;DE,2024-06-01,2027-05-31,balancing-payment\n'
    ),
    ("patent", "import-statuses", "statuses.csv"): (
        "number,status,effective,country\nCN103456789B,invalidated,2025-02-15,\nUS7654321B2,lapsed,2024-12-01,US\n"
    ),
    ("patent", "import-transfers", "transfers.csv"): (
        "number,to,effective\nUS11234567B1,A,2025-01-01\nUS11234567B1,B,2025-06-01\n"
    ),
}

DECLARE = ("openlicense", "declare")
COMMANDS: list[tuple[str, ...]] = [
    (*DECLARE, "CN205123456U", "--fee", "0.10/unit", "--currency", "CNY", "--from", "2025-01-01",
     "--to", "2026-05-09", "--evaluation-report", "CNIPA-PER-2024-0815"),
    (*DECLARE, "CN102345678B", "--country", "CN", "--fee", "3%", "--currency", "CNY",
     "--from", "2025-01-01", "--to", "2026-12-31"),
    ("openlicense", "take", "CN205123456U", "--licensee", "L1", "--notice-date", "2025-01-15"),
    ("openlicense", "take", "CN102345678B", "--licensee", "C", "--notice-date", "2025-02-01",
     "--country", "CN"),
    ("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-01-01"),
    ("license", "grant", "--licensee", "C", "--program", "XR", "--from", "2025-01-01"),
    ("license", "direct", "US10123456B2", "--licensee", "L1", "--from", "2025-01-01", "--to", "2025-12-31",
     "--territory", "US,CA"),
    ("license", "direct", "EP2345678B1", "--licensee", "L1", "--from", "2025-03-01", "--exclusive"),
    ("crosslicense", "add", "--members", "A,C", "--from", "2024-01-01"),
    ("crosslicense", "add", "--members", "B,C", "--patents", "US10123456B2,EP2345678B1",
     "--territory", "US,DE", "--from", "2024-06-01", "--to", "2027-05-31", "--terms", "balancing-payment"),
    ("patent", "status", "CN103456789B", "invalidated", "--effective", "2025-02-15"),
    ("patent", "status", "US7654321B2", "lapsed", "--effective", "2024-12-01", "--country", "US"),
    ("patent", "transfer", "US11234567B1", "--to", "A", "--effective", "2025-01-01"),
    ("patent", "transfer", "US11234567B1", "--to", "B", "--effective", "2025-06-01"),
]  # fmt: skip

KINDS = [
    "openlicense.declare",
    "openlicense.take",
    "license.grant",
    "license.direct",
    "crosslicense.add",
    "patent.status",
    "patent.transfer",
]


def base(pool_factory: Any, tmp_path: Path, name: str) -> Pool:
    pool: Pool = pool_factory(f"sqlite:///{tmp_path / name}.db")
    pool.run("member", "import", str(DATA / "members.csv"))
    pool.run("program", "add", *XR)
    pool.run("patent", "import", str(DATA / "patents.csv"))
    return pool


def facts(pool: Pool, kind: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in e["body"].items() if k != "source"} for e in pool.json("log", "--kind", kind)]


def test_each_file_gives_the_entries_of_its_commands(pool_factory: Any, tmp_path: Path) -> None:
    by_file = base(pool_factory, tmp_path, "files")
    by_command = base(pool_factory, tmp_path, "commands")
    for (group, command, name), text in FILES.items():
        path = by_file.write(name, text)
        before = by_file.size_and_root()
        dry = by_file.run(group, command, str(path), "--dry-run").stderr
        assert "dry run, nothing appended: would append 2 " in dry, dry
        assert by_file.size_and_root() == before
        said = by_file.run(group, command, str(path)).stderr
        assert ": 2 row(s): 2 " in said and "appended" in said, said
        # The same file again: nothing appended, and said so.
        again = by_file.run(group, command, str(path)).stderr
        assert "was already imported" in again
    for args in COMMANDS:
        by_command.run(*args)
    for kind in KINDS:
        assert facts(by_file, kind) == facts(by_command, kind), kind
    # Every entry of a file names the file it came from.
    sources = {e["body"].get("source") for e in by_file.json("log", "--kind", "crosslicense.add")}
    assert len(sources) == 1 and None not in sources
    assert by_file.json("verify")["result"] == "ok"


def test_an_overlapping_file_skips_recorded_rows(pool_factory: Any, tmp_path: Path) -> None:
    pool = base(pool_factory, tmp_path, "overlap")
    pool.run("patent", "status", "CN103456789B", "invalidated", "--effective", "2025-02-15")
    path = pool.write("statuses.csv", FILES[("patent", "import-statuses", "statuses.csv")])
    said = pool.run("patent", "import-statuses", str(path)).stderr
    assert "2 row(s): 1 patent status entry appended, 1 row(s) already recorded, skipped" in said
    grants = pool.write("grants.csv", "licensee,program,from\nL1,XR,2025-01-01\n")
    pool.run("license", "import-grants", str(grants))
    more = pool.write("grants2.csv", "licensee,program,from\nL1,XR,2025-01-01\nC,XR,2025-04-01\n")
    said = pool.run("license", "import-grants", str(more)).stderr
    assert "1 pool licence entry appended, 1 row(s) already recorded, skipped" in said


def test_a_bad_file_is_refused_whole_with_every_error_located(pool_factory: Any, tmp_path: Path) -> None:
    pool = base(pool_factory, tmp_path, "bad")
    before = pool.size_and_root()
    cases = {
        ("openlicense", "import-declarations"): (
            "number,fee,currency,from,to,evaluation_report,country\n"
            "CN102345678B,0.10/unit,CNY,2025-01-01,2026-12-31,,\n"
            "CN109999999B,0.10/unit,CNY,2025-01-01,2026-12-31,,\n"
            "CN205123456U,0.10/unit,CNY,2025-01-01,2026-05-09,,\n"
            "CN110123456B,ten,CNY,2025-01-01,2026-12-31,,\n"
            "CN110123456B,1%,UDS,2025-01-01,2026-12-31,,\n"
            "US7654321B2,1%,USD,2025-01-01,2026-12-31,,UK\n"
            "CN102345678B,0.10/unit,CNY,2025-01-01,2026-12-31,,\n",
            [
                (3, "number", "unknown patent CN109999999B"),
                (4, "evaluation_report", "a utility needs a patent evaluation report reference"),
                (5, "fee", ""),
                (6, "currency", "'UDS' is not an ISO 4217 currency code; did you mean USD?"),
                (7, "country", "'UK' is not an ISO 3166 country code; did you mean GB?"),
                (8, "number", "the same as line 2 of this file"),
            ],
        ),
        ("license", "import-direct"): (
            "number,licensee,from,to,exclusive,territory\n"
            "US10123456B2,L1,2025-01-01,,maybe,\n"
            "US10123456B2,ZZ,2025-01-01,,no,\n"
            "US10123456B2,L1,2025-01-01,2024-01-01,no,\n",
            [
                (2, "exclusive", "'maybe' is not yes or no"),
                (3, "licensee", "unknown member 'ZZ'"),
                (4, "to", "2024-01-01 is before the start 2025-01-01"),
            ],
        ),
        ("crosslicense", "import"): (
            "members,from\nA,2024-01-01\nA;ZZ,2024-01-01\n",
            [(2, "members", "name two or more different members"), (3, "members", "unknown member 'ZZ'")],
        ),
        ("patent", "import-transfers"): (
            "number,to,effective,country\nUS11234567B1,L1,2025-01-01,\nUS11234567B1,A,2025-01-01,CN\n",
            [
                (2, "to", "member 'L1' is a licensee, not a licensor"),
                (3, "country", "US11234567B1 is not in the pool for CN (entered for US)"),
            ],
        ),
        ("openlicense", "import-takes"): (
            "number,licensee,notice_date\nCN110123456B,L1,2025-01-15\n",
            [(2, "number", "CN110123456B in CN has no open licence declaration")],
        ),
    }
    for (group, command), (text, expected) in cases.items():
        path = pool.write(f"{command}.csv", text)
        result = pool.run(group, command, str(path), expect=1)
        lines = result.stderr.strip().splitlines()
        if len(expected) > 1:
            assert lines[-1] == f"{len(expected)} problems: nothing was written", result.stderr
            lines = lines[:-1]
        else:
            lines = [lines[0].removesuffix("; nothing was written")]
        assert len(lines) == len(expected), result.stderr
        for line, (number, column, message) in zip(lines, expected, strict=True):
            assert line.startswith(f"Error: {path}:{number}: {column}: {message}"), (line, number, message)
        assert pool.size_and_root() == before, command


def test_unknown_columns_and_missing_ones_are_named(pool_factory: Any, tmp_path: Path) -> None:
    pool = base(pool_factory, tmp_path, "columns")
    path = pool.write("s.csv", "number,state,effective\nCN103456789B,invalidated,2025-02-15\n")
    lines = pool.run("patent", "import-statuses", str(path), expect=1).stderr.splitlines()
    assert lines == [
        f"Error: {path}:1: state: unknown column",
        f"Error: {path}:1: status: required column missing",
        "2 problems: nothing was written",
    ]


def test_owners_file(pool_factory: Any, tmp_path: Path) -> None:
    by_file = base(pool_factory, tmp_path, "owners")
    by_command = base(pool_factory, tmp_path, "owners-commands")
    path = by_file.write(
        "owners.csv",
        "number,country,owners,effective\nCN102345678B,CN,A:60;B:40,2025-07-01\nEP2345678B1,,B:1;C:1,2025-03-01\n",
    )
    said = by_file.run("patent", "import-owners", str(path)).stderr
    assert "2 row(s): 2 patent owners entries appended" in said
    by_command.run("patent", "owners", "CN102345678B", "--owners", "A:60,B:40", "--effective", "2025-07-01")
    by_command.run("patent", "owners", "EP2345678B1", "--owners", "B:1,C:1", "--effective", "2025-03-01")
    assert facts(by_file, "patent.owners") == facts(by_command, "patent.owners")
    assert facts(by_file, "patent.owners")[0]["owners"] == [["A", "60"], ["B", "40"]]
    # An overlapping file skips what is recorded; bad rows are located.
    more = by_file.write(
        "more.csv",
        "number,owners,effective\nCN102345678B,A:60;B:40,2025-07-01\nUS7654321B2,A:1;L1:1,2025-07-01\n"
        "US10123456B2,B:0,2025-07-01\n",
    )
    lines = by_file.run("patent", "import-owners", str(more), expect=1).stderr.splitlines()
    assert lines[0] == f"Error: {more}:3: owners: member 'L1' is a licensee, not a licensor"
    assert lines[1].startswith(f"Error: {more}:4: owners: part '0' must be more than 0")
    assert lines[2] == "2 problems: nothing was written"
