"""Inventor awards (spec section 11): the pure rule worked by hand, the inventors file's checks, and
`patentpool awards` on verified bundles of the co-owned worked example
(../shared/examples/pool-2025q1-coown: member B's nets US10123456B2 281.88, US11999999B2 38.58,
EP2345678B1 (DE) 115.71 in 2025Q1)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import Pool, shared_pool
from hypothesis import given
from hypothesis import strategies as st

from licenses.money import to_cents
from patentpool.awards import (
    AwardsError,
    Income,
    Inventor,
    compute,
    parse_inventors,
    patent_award,
    read_inventors,
    split_award,
)

COOWN = Path(__file__).resolve().parent / "data" / "pool-2025q1-coown"

# Member B's inventors: three equal inventors on US10123456B2 at 70% (a tie for the last cent), two at 60:40
# on the co-owned US11999999B2 at 50%, none for EP2345678B1 (DE), and a 40% patent that earned nothing.
INVENTORS = """patent,country,inventor,share,rate
US10123456B2,US,Wang Fang,1,70
US10123456B2,US,Chen Jie,1,70
US10123456B2,US,Li Wei,1,70%
US 11999999 B2,us,Li Wei,60,50
US11999999B2,US,Zhao Min,40,50
CN103456789B,CN,Zhao Min,1,40
"""


# --- the rule, by hand ---
def test_patent_award_rounds_half_up_away_from_zero() -> None:
    assert patent_award(28188, Decimal(70)) == 19732  # 281.88 x 70% = 197.316
    assert patent_award(3858, Decimal(50)) == 1929  # 38.58 x 50% = 19.29 exactly
    assert patent_award(1, Decimal(50)) == 1  # 0.005 -> 0.01
    assert patent_award(-1, Decimal(50)) == -1  # -0.005 -> -0.01: the mirror, not -0.00
    assert patent_award(-28188, Decimal(70)) == -19732
    assert patent_award(1500, Decimal("33.3")) == 500  # 4.995 -> 5.00
    assert patent_award(0, Decimal(70)) == 0


def test_split_three_equal_inventors_tie_goes_to_the_lower_name() -> None:
    inventors = [
        Inventor("Wang Fang", Decimal(1)),
        Inventor("Chen Jie", Decimal(1)),
        Inventor("Li Wei", Decimal(1)),
    ]
    # 197.32 / 3 = 65.7733...: 65.77 each and the cent left to "Chen Jie", the lowest name (given order).
    assert split_award(19732, inventors) == [6577, 6578, 6577]
    assert split_award(-19732, inventors) == [-6577, -6578, -6577]


def test_split_by_shares_largest_remainder() -> None:
    inventors = [Inventor("Li Wei", Decimal(60)), Inventor("Zhao Min", Decimal(40))]
    # 19.29 x 0.6 = 11.574, x 0.4 = 7.716: floors 11.57 + 7.71 = 19.28, the cent to the larger remainder.
    assert split_award(1929, inventors) == [1157, 772]
    # Ratio only: 3:2 is 60:40.
    assert split_award(1929, [Inventor("Li Wei", Decimal(3)), Inventor("Zhao Min", Decimal(2))]) == [
        1157,
        772,
    ]


names = st.text(alphabet="ABCabc xyz", min_size=1, max_size=6)
shares = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=4)


@given(
    net=st.integers(min_value=-(10**9), max_value=10**9),
    rate=st.decimals(min_value=0, max_value=100, places=2),
    people=st.lists(st.tuples(names, shares), min_size=1, max_size=8, unique_by=lambda t: t[0]),
)
def test_awards_of_a_patent_sum_exactly_to_its_rounded_award(
    net: int, rate: Decimal, people: list[tuple[str, Decimal]]
) -> None:
    award = patent_award(net, rate)
    exact = Decimal(net) * rate / 100
    assert abs(Decimal(award) - exact) <= Decimal("0.5")
    inventors = [Inventor(n, s) for n, s in people]
    parts = split_award(award, inventors)
    assert sum(parts) == award
    # A negative award is split as the exact mirror of the positive one.
    assert split_award(-award, inventors) == [-p for p in parts]
    total_share = sum(s for _n, s in people)
    for part, (_n, share) in zip(parts, people, strict=True):
        assert abs(Decimal(part) - Decimal(award) * share / total_share) < 1


@given(
    nets=st.lists(
        st.tuples(
            st.sampled_from(["US10123456B2", "US11999999B2", "EP2345678B1"]),
            st.sampled_from(["2025Q1", "2025Q2", "2025Q3"]),
            st.integers(-(10**7), 10**7),
        ),
        max_size=12,
    )
)
def test_compute_adds_up_over_periods_patents_and_inventors(nets: list[tuple[str, str, int]]) -> None:
    inventors = parse_inventors("inv.csv", _rows(INVENTORS))
    country = {"EP2345678B1": "DE"}
    incomes = [Income(per, pat, country.get(pat, "US"), cents) for pat, per, cents in nets]
    got = compute("B", "USD", incomes, inventors)
    awarded = 0
    for p in got["patents"]:
        periods_net = sum(Decimal(r["net"]) for r in p["periods"])
        assert Decimal(p["net"]) == periods_net
        if p["award"] is None:
            continue
        # Period by period: each period's award is its own net's rounded award, shared exactly.
        for r in p["periods"]:
            assert to_cents(Decimal(r["award"])) == patent_award(
                to_cents(Decimal(r["net"])), Decimal(p["rate"])
            )
            assert sum(Decimal(i["award"]) for i in r["inventors"]) == Decimal(r["award"])
        assert sum(Decimal(r["award"]) for r in p["periods"]) == Decimal(p["award"])
        assert sum(Decimal(i["award"]) for i in p["inventors"]) == Decimal(p["award"])
        awarded += to_cents(Decimal(p["award"]))
    assert sum(to_cents(Decimal(i["award"])) for i in got["inventors"]) == awarded


# --- the inventors file ---
def _rows(text: str) -> list[tuple[int, dict[str, str]]]:
    lines = text.strip().splitlines()
    header = lines[0].split(",")
    return [(i, dict(zip(header, line.split(","), strict=True))) for i, line in enumerate(lines[1:], start=2)]


def test_inventors_file_is_read_by_patent() -> None:
    got = parse_inventors("inv.csv", _rows(INVENTORS))
    us = got[("US10123456B2", "US")]
    assert us.rate == Decimal(70)
    assert [i.name for i in us.inventors] == ["Chen Jie", "Li Wei", "Wang Fang"]
    co = got[("US11999999B2", "US")]  # the number and country normalised
    assert [(i.name, i.share) for i in co.inventors] == [("Li Wei", Decimal(60)), ("Zhao Min", Decimal(40))]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "US10123456B2,US,A,1,70\nUS10123456B2,US,B,1,60",
            "inv.csv:3: rate: 60% for US10123456B2 (US), but line 2",
        ),
        (
            "US10123456B2,US,Li Wei,1,70\nUS10123456B2,US,li  wei,2,70",
            "inv.csv:3: inventor: 'li  wei' is listed",
        ),
        ("US10123456B2,US,A,0,70", "inv.csv:2: share: '0' must be a positive number"),
        ("US10123456B2,US,A,-1,70", "inv.csv:2: share:"),
        ("US10123456B2,US,A,1,101%", "inv.csv:2: rate: 101% is more than 100%"),
        ("US10123456B2,US,A,1,", "inv.csv:2: rate:"),
        ("US10123456B2,UK,A,1,70", "inv.csv:2: country: 'UK' is not an ISO 3166 country code"),
        ("US10123456B2,US,,1,70", "inv.csv:2: inventor: missing"),
        ("XX12,US,A,1,70", "inv.csv:2: patent:"),
    ],
)
def test_bad_inventors_rows_are_named_by_file_line_and_field(body: str, message: str) -> None:
    with pytest.raises(AwardsError) as caught:
        parse_inventors("inv.csv", _rows("patent,country,inventor,share,rate\n" + body))
    assert str(caught.value).startswith(message), str(caught.value)


def test_inventors_csv_header_checked(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_text("patent,country,inventor,share,rate,email\n", encoding="utf-8")
    with pytest.raises(AwardsError, match=r"inv.csv:1: email: unknown column"):
        read_inventors(path)
    path.write_text("patent,country,inventor,share\n", encoding="utf-8")
    with pytest.raises(AwardsError, match=r"inv.csv:1: rate: required column missing"):
        read_inventors(path)
    path.write_text("patent,country,inventor,share,rate\n", encoding="utf-8")
    with pytest.raises(AwardsError, match="no inventors listed"):
        read_inventors(path)


def test_inventors_csv_bom_crlf_and_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    text = "patent,country,inventor,share,rate\r\nUS10123456B2,US,王芳,1,70\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_inventors(path)[("US10123456B2", "US")].inventors[0].name == "王芳"
    path.write_bytes(text.encode("gb18030"))
    with pytest.raises(AwardsError, match=r"inv.csv:2: not utf-8; .*--encoding gb18030"):
        read_inventors(path)
    assert read_inventors(path, "gb18030")[("US10123456B2", "US")].inventors[0].name == "王芳"


def test_inventors_xlsx_reads_percent_cells_as_percent(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["patent", "country", "inventor", "share", "rate"])
    sheet.append(["US10123456B2", "US", "Chen Jie", 1, 0.7])
    sheet["E2"].number_format = "0%"  # Excel stores 70% as 0.7
    sheet.append(["US10123456B2", "US", "Li Wei", 2, 70])
    sheet.append(["US10123456B2", "US", "Wang Fang", 0.5, 70.0])
    path = tmp_path / "inv.xlsx"
    book.save(path)
    got = read_inventors(path)[("US10123456B2", "US")]
    assert got.rate == Decimal(70)
    assert [i.share for i in got.inventors] == [Decimal(1), Decimal(2), Decimal("0.5")]
    sheet.append(["US10123456B2", "US", "Zhao Min", 1, 65])
    book.save(path)
    with pytest.raises(AwardsError, match=r"inv.xlsx:5: rate: 65% .* but line 2 gives 70%"):
        read_inventors(path)


# --- compute ---
def test_compute_worked_example_with_warnings_and_a_negative_net() -> None:
    inventors = parse_inventors("inv.csv", _rows(INVENTORS))
    incomes = [
        Income("2025Q1", "US10123456B2", "US", 28188),
        Income("2025Q1", "US11999999B2", "US", 3858),
        Income("2025Q1", "EP2345678B1", "DE", 11571),
        # An adjustment takes back more than the quarter earned: 70% of -30.01 = -21.007 -> -21.01.
        Income("2025Q2", "US10123456B2", "US", -3001),
    ]
    got = compute("B", "USD", incomes, inventors, "inv.csv")
    us = next(p for p in got["patents"] if p["patent"] == "US10123456B2")
    assert us["periods"] == [
        {
            "period": "2025Q1",
            "net": "281.88",
            "award": "197.32",
            "inventors": [
                {"inventor": "Chen Jie", "award": "65.78"},
                {"inventor": "Li Wei", "award": "65.77"},
                {"inventor": "Wang Fang", "award": "65.77"},
            ],
        },
        {
            "period": "2025Q2",
            "net": "-30.01",
            "award": "-21.01",
            # -21.01 / 3 = -7.0033: -7.00 each and the cent to Chen Jie, mirroring a positive split.
            "inventors": [
                {"inventor": "Chen Jie", "award": "-7.01"},
                {"inventor": "Li Wei", "award": "-7.00"},
                {"inventor": "Wang Fang", "award": "-7.00"},
            ],
        },
    ]
    assert (us["net"], us["rate"], us["award"]) == ("251.87", "70", "176.31")
    by_name = {i["inventor"]: i for i in got["inventors"]}
    assert by_name["Chen Jie"]["award"] == "58.77"
    # Li Wei: 58.77 on US10123456B2 and 11.57 on US11999999B2.
    assert by_name["Li Wei"]["patents"] == [
        {"patent": "US10123456B2", "country": "US", "award": "58.77"},
        {"patent": "US11999999B2", "country": "US", "award": "11.57"},
    ]
    assert by_name["Li Wei"]["award"] == "70.34"
    assert by_name["Zhao Min"]["award"] == "7.72"
    # Every patent's inventor awards sum to its award; the inventors' totals to the awards of all patents.
    for p in got["patents"]:
        if p["award"] is not None:
            assert sum(Decimal(i["award"]) for i in p["inventors"]) == Decimal(p["award"])
    assert sum(Decimal(i["award"]) for i in got["inventors"]) == Decimal("176.31") + Decimal("19.29")
    ep = next(p for p in got["patents"] if p["patent"] == "EP2345678B1")
    assert (ep["net"], ep["award"], ep["inventors"]) == ("115.71", None, [])
    assert got["warnings"] == [
        "EP2345678B1 (DE): net income 115.71 USD but no inventors listed in inv.csv: no award computed",
        "CN103456789B (CN): rate 40% is below 50% (the statutory default; check your institution's rule)",
    ]
    assert got["periods"] == ["2025Q1", "2025Q2"]


def test_negative_total_is_a_warning() -> None:
    inventors = parse_inventors(
        "inv.csv", _rows("patent,country,inventor,share,rate\nUS10123456B2,US,A,1,50")
    )
    got = compute("B", "USD", [Income("2025Q2", "US10123456B2", "US", -1000)], inventors)
    assert got["inventors"] == [
        {
            "inventor": "A",
            "award": "-5.00",
            "patents": [{"patent": "US10123456B2", "country": "US", "award": "-5.00"}],
        }
    ]
    assert any(
        "A: awards total -5.00 USD" in w and "set it against later awards" in w for w in got["warnings"]
    )


# --- the command, on verified bundles ---
Q2_REPORTS = (
    "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"
    "C,XR,2025Q2,US,US,1000,300000.00\n"
)


@pytest.fixture(scope="module", params=["sqlite"])
def bundles(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The co-owned worked example allocated for 2025Q1 and a 2025Q2 (C sells 1,000 more units in the US),
    with B's bundles of both quarters and A's of 2025Q1; awards needs no database, only these files."""
    from conftest import build_example

    def build(pool: Pool) -> None:
        build_example(pool, payments=False)
        pool.run("patent", "import", str(COOWN / "patents-coowned.csv"))
        pool.run("allocate", "--program", "XR", "--period", "2025Q1")
        pool.run("report", "import", str(pool.write("q2.csv", Q2_REPORTS)))
        pool.run("allocate", "--program", "XR", "--period", "2025Q2")

    with shared_pool(request, tmp_path_factory, "awards", build) as pool:
        out = {"pool": pool, "vkey": pool.run("key", "show").stdout.strip()}
        for member, period in (("B", "2025Q1"), ("B", "2025Q2"), ("A", "2025Q1")):
            path = pool.workdir / f"{member}-{period}.json"
            pool.run("statement", "--member", member, "--period", period, "--bundle", str(path))
            out[f"{member}-{period}"] = path
        out["L1-invoice"] = pool.workdir / "L1-2025Q1-invoice.json"
        pool.run("invoice", "--licensee", "L1", "--period", "2025Q1", "--bundle", str(out["L1-invoice"]))
        out["inventors"] = pool.write("inventors.csv", INVENTORS)
        yield out


def _awards(b: dict[str, Any], *args: str, expect: int = 0) -> Any:
    pool: Pool = b["pool"]
    return pool.run("awards", *args, "--vkey", b["vkey"], "--inventors", str(b["inventors"]), expect=expect)


def test_awards_of_one_quarter_worked_by_hand(bundles: dict[str, Any]) -> None:
    result = _awards(bundles, str(bundles["B-2025Q1"]), "-f", "json")
    got = json.loads(result.stdout)
    assert (got["member"], got["currency"], got["periods"]) == ("B", "USD", ["2025Q1"])
    summary = {p["patent"]: (p["net"], p["rate"], p["award"]) for p in got["patents"]}
    assert summary == {
        "EP2345678B1": ("115.71", None, None),
        "US10123456B2": ("281.88", "70", "197.32"),  # 197.316
        "US11999999B2": ("38.58", "50", "19.29"),
    }
    assert {i["inventor"]: i["award"] for i in got["inventors"]} == {
        "Chen Jie": "65.78",  # the tie's cent: the lowest name
        "Li Wei": "77.34",  # 65.77 + 11.57
        "Wang Fang": "65.77",
        "Zhao Min": "7.72",
    }
    assert got["bundles"][0]["period"] == "2025Q1" and got["bundles"][0]["checkpoint"]["size"] > 0
    assert "Warning: EP2345678B1 (DE): net income 115.71 USD but no inventors listed" in result.stderr
    assert "Warning: CN103456789B (CN): rate 40% is below 50%" in result.stderr
    assert "Warning" not in result.stdout
    # Offline: no database is opened (this URL could not be), nothing is appended to the pool's ledger.
    size = bundles["pool"].size_and_root()
    pool: Pool = bundles["pool"]
    offline = pool.run(
        "--db",
        "sqlite:////nonexistent-dir/none.db",
        "awards",
        str(bundles["B-2025Q1"]),
        "--vkey",
        bundles["vkey"],
        "--inventors",
        str(bundles["inventors"]),
        "-f",
        "json",
    )
    assert json.loads(offline.stdout) == got
    assert pool.size_and_root() == size


def test_awards_over_a_year_of_two_quarters(bundles: dict[str, Any]) -> None:
    # 2025Q2: C's royalty 950.00 capped at 900.00 less 850.00 = 50.00 on its US line; B's US10123456B2 is
    # 1 of 3 weights (A's patent and the co-owned one credited by the A-C cross-licence): 16.67, fee 1.67,
    # net 15.00, award 70% = 10.50, 3.50 each.
    got = json.loads(
        _awards(bundles, str(bundles["B-2025Q2"]), str(bundles["B-2025Q1"]), "-f", "json").stdout
    )
    assert got["periods"] == ["2025Q1", "2025Q2"]
    us = next(p for p in got["patents"] if p["patent"] == "US10123456B2")
    assert [(p["period"], p["net"], p["award"]) for p in us["periods"]] == [
        ("2025Q1", "281.88", "197.32"),
        ("2025Q2", "15.00", "10.50"),
    ]
    assert (us["net"], us["award"]) == ("296.88", "207.82")
    assert {i["inventor"]: i["award"] for i in us["inventors"]} == {
        "Chen Jie": "69.28",
        "Li Wei": "69.27",
        "Wang Fang": "69.27",
    }
    assert {i["inventor"]: i["award"] for i in got["inventors"]} == {
        "Chen Jie": "69.28",
        "Li Wei": "80.84",
        "Wang Fang": "69.27",
        "Zhao Min": "7.72",
    }


def test_awards_csv_and_table(bundles: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "awards.csv"
    _awards(bundles, str(bundles["B-2025Q1"]), "-f", "csv", "-o", str(out))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "period,patent,country,net,rate,patent_award,inventor,share,award,currency"
    assert "2025Q1,US10123456B2,US,281.88,70,197.32,Chen Jie,1,65.78,USD" in lines
    assert "2025Q1,EP2345678B1,DE,115.71,,,,,,USD" in lines
    assert "total,,,,,,Li Wei,,77.34,USD" in lines
    table = _awards(bundles, str(bundles["B-2025Q1"]), "-f", "table").stdout
    assert "Awards per inventor" in table and "77.34" in table and "197.32" in table


def test_tampered_bundle_is_refused(bundles: dict[str, Any], tmp_path: Path) -> None:
    text = bundles["B-2025Q1"].read_text(encoding="utf-8")
    doc = json.loads(text)
    # One cent of the statement's net (its per-patent figures are recomputed from the part, never carried).
    net = doc["statement"]["net"]
    assert text.index(f'"net":"{net}"') < text.index('"entries"')  # the statement's, the first one
    cents = int(net.replace(".", "")) + 1
    forged = tmp_path / "forged.json"
    forged.write_text(
        text.replace(f'"net":"{net}"', f'"net":"{cents // 100}.{cents % 100:02d}"', 1), encoding="utf-8"
    )
    out = tmp_path / "awards.json"
    result = _awards(bundles, str(bundles["B-2025Q2"]), str(forged), "-o", str(out), expect=1)
    assert not out.exists()  # nothing written, not even the honest quarter's awards
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and str(forged) in errors[0] and "NOT VERIFIED" in errors[0]
    assert result.stdout == ""
    # One byte of an amount inside a signed entry: B's allocation part, the patent's net.
    part = next(e for e in doc["entries"] if '"kind":"allocation.part"' in e["entry"])
    assert '"281.88"' in part["entry"]
    part["entry"] = part["entry"].replace('"281.88"', '"281.89"', 1)
    forged.write_text(json.dumps(doc), encoding="utf-8")
    result = _awards(bundles, str(forged), expect=1)
    assert result.stderr.startswith(f"Error: {forged}: NOT VERIFIED")
    assert len(result.stderr.strip().splitlines()) == 1


def test_awards_refuses_mixed_members_and_repeated_periods(bundles: dict[str, Any]) -> None:
    result = _awards(bundles, str(bundles["B-2025Q1"]), str(bundles["A-2025Q1"]), expect=1)
    assert result.stderr.startswith(f"Error: {bundles['A-2025Q1']}: a statement of member A, but ")
    result = _awards(bundles, str(bundles["B-2025Q1"]), str(bundles["B-2025Q1"]), expect=1)
    assert "period 2025Q1 is also in" in result.stderr
    result = _awards(bundles, str(bundles["L1-invoice"]), expect=1)
    assert result.stderr == (
        f"Error: {bundles['L1-invoice']}: a licensee's invoice bundle, not a member's statement bundle\n"
    )


def test_awards_refuses_an_inventors_file_with_two_rates(bundles: dict[str, Any]) -> None:
    pool: Pool = bundles["pool"]
    bad = pool.write("bad.csv", INVENTORS.replace("Chen Jie,1,70", "Chen Jie,1,75"))
    result = pool.run(
        "awards", str(bundles["B-2025Q1"]), "--vkey", bundles["vkey"], "--inventors", str(bad), expect=1
    )
    assert result.stderr == (
        f"Error: {bad}:3: rate: 75% for US10123456B2 (US), but line 2 gives 70%: one patent has one rate\n"
    )
    assert result.stdout == ""


def test_awards_as_html_and_pdf(bundles: dict[str, Any], tmp_path: Path) -> None:
    import shutil
    import subprocess

    page = _awards(bundles, str(bundles["B-2025Q1"]), "-f", "html").stdout
    assert page.startswith("<!doctype html>") and "Chen Jie" in page and "197.32" in page and "65.78" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched to view it
    pdf = tmp_path / "awards.pdf"
    _awards(bundles, str(bundles["B-2025Q1"]), "-o", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        assert not os.environ.get("CI"), "pdftotext is missing under CI"
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "197.32" in text and "Chen Jie" in text and "77.34" in text
