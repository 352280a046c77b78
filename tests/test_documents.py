"""Statements and invoices as documents (spec 10): the HTML opened in a real headless Chromium, the PDF read
back with pdftotext, and their figures compared with the JSON statement's and invoice's.

The browser and pdftotext come from the system packages (`.ci/run` installs them). Without them these tests
skip with the reason, except under CI (CI=true), where a missing tool is a failure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, ON_CI, Pool, build_example

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    reason = f"{names[0]} is not installed (apt-get install chromium poppler-utils)"
    if ON_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def rendered_dom(path: Path, tmp_path: Path) -> str:
    """The document's DOM as headless Chromium built it from the file (no network: none is needed)."""
    browser = tool(*BROWSERS)
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            path.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def pdf_text(path: Path) -> str:
    pdftotext = tool("pdftotext")
    result = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


class Figures(HTMLParser):
    """The text of every element carrying a `data-key`, and of every `data-table` table's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.keyed: dict[str, str] = {}
        self.tables: set[str] = set()
        self._open: list[tuple[str, int]] = []  # (key, depth at which it opened)
        self._depth = 0
        self._text: dict[str, list[str]] = defaultdict(list)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._depth += 1
        if found.get("data-table"):
            self.tables.add(str(found["data-table"]))
        if found.get("data-key"):
            self._open.append((str(found["data-key"]), self._depth))

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open[-1][1] == self._depth:
            key, _ = self._open.pop()
            self.keyed[key] = " ".join("".join(self._text.pop(key, [])).split())
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        for key, _depth in self._open:
            self._text[key].append(data)


def figures(dom: str) -> Figures:
    parser = Figures()
    parser.feed(dom)
    return parser


def amount(text: str) -> Decimal:
    """A figure as the document prints it ("1,445.45", "-15.00", maybe a badge after it) as a Decimal."""
    match = re.match(r"^-?[0-9,]+\.[0-9]{2}", text)
    assert match, f"not an amount: {text!r}"
    return Decimal(match.group(0).replace(",", ""))


def spelled(value: Decimal | str) -> str:
    return f"{Decimal(value):,.2f}"


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Pool:
    """The worked example with 2025Q1 and 2025Q2 allocated (Q2: the same report lines, other volumes)."""
    workdir = tmp_path_factory.mktemp("documents")
    pool = Pool(f"sqlite:///{workdir / 'pool.db'}", workdir / "pool.key", workdir)
    pool.run("init", "--name", 'Test "XR" Pool', "--origin", "pool.example/test", "--currency", "USD")
    build_example(pool)
    q2 = (DATA / "reports.csv").read_text(encoding="utf-8").replace("2025Q1", "2025Q2")
    q2 = q2.replace(",4000,", ",5200,").replace(",3000,", ",900,")
    pool.run("report", "import", str(pool.write("q2.csv", q2)))
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    pool.run("allocate", "--program", "XR", "--period", "2025Q2")
    return pool


def vkey(pool: Pool) -> str:
    return str(pool.run("key", "show").stdout.strip())


def check_verification(found: Figures, pool: Pool, periods: list[str], what: str, party: str) -> None:
    size, root = pool.size_and_root()
    assert found.keyed["checkpoint-size"] == str(size)
    assert found.keyed["checkpoint-root"] == root
    key = vkey(pool)
    assert found.keyed["key-id"] == "+".join(key.split("+", 2)[:2])  # name+id (base64 may hold a "+")
    for period in periods:
        command = found.keyed[f"verify:{period}"]
        assert command.startswith(f"patentpool verify-statement {what}-{party}-{period}.json --vkey ")
        assert key in command
        option = "--member" if what == "statement" else "--licensee"
        assert command.endswith(f" {option} {party} --period {period}")
        assert (
            f"patentpool {what} {option} {party} --period {period} --bundle"
            in found.keyed[f"produce:{period}"]
        )


# --- statements --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_statement_html_figures_in_chromium(pool: Pool, tmp_path: Path) -> None:
    data = pool.json("statement", "--member", "B", "--period", "2025Q1")
    out = tmp_path / "statement.html"
    pool.run("statement", "--member", "B", "--period", "2025Q1", "-f", "html", "-o", str(out))
    found = figures(rendered_dom(out, tmp_path))

    assert found.keyed["pool"] == 'Test "XR" Pool'
    assert found.keyed["party-name"] == "Beacon Semiconductor Ltd."
    assert found.keyed["party-id"] == "B"
    assert found.keyed["scope"] == "2025Q1"
    assert amount(found.keyed["gross"]) == Decimal(data["gross"])
    assert amount(found.keyed["admin_fee"]) == -Decimal(data["admin_fee"])
    assert amount(found.keyed["net"]) == Decimal(data["net"])
    assert data["gross"] == "598.38" and data["net"] == "538.54"  # the worked example, to the cent

    by_licensee: dict[str, Decimal] = defaultdict(Decimal)
    by_country: dict[str, Decimal] = defaultdict(Decimal)
    for i, line in enumerate(data["lines"]):
        assert amount(found.keyed[f"line:2025Q1:{i}"]) == Decimal(line["gross"])
        by_licensee[line["licensee"]] += Decimal(line["gross"])
        by_country[line["country"]] += Decimal(line["gross"])
    assert by_licensee and by_country
    for licensee, total in by_licensee.items():
        assert amount(found.keyed[f"licensee:{licensee}"]) == total
    for country, total in by_country.items():
        assert amount(found.keyed[f"country:{country}"]) == total
    for table in ("by-licensee", "by-country", "lines"):
        assert amount(found.keyed[f"total:{table}"]) == Decimal(data["gross"])
    for row in data.get("patents", []):  # rule 6b's per-patent figures, when the statement has them
        assert amount(found.keyed[f"patent:{row['patent']}:{row['country']}"]) == Decimal(row["gross"])
    assert ("by-patent" in found.tables) == ("patents" in data)
    check_verification(found, pool, ["2025Q1"], "statement", "B")


@pytest.mark.slow
def test_statement_pdf_text(pool: Pool, tmp_path: Path) -> None:
    data = pool.json("statement", "--member", "A", "--period", "2025Q1")
    out = tmp_path / "statement.pdf"
    pool.run("statement", "--member", "A", "--period", "2025Q1", "-o", str(out))  # -o x.pdf: a PDF
    assert out.read_bytes().startswith(b"%PDF-")
    text = pdf_text(out)
    assert "Aurora Optics Co." in text and 'Test "XR" Pool' in text and "ROYALTY STATEMENT" in text
    assert re.search(rf"Gross royalties\s+{re.escape(spelled(data['gross']))}", text)
    assert re.search(rf"Net royalties\s+{re.escape(spelled(data['net']))}", text)
    for line in data["lines"]:
        assert re.search(
            rf"{line['licensee']}\s+{line['country']}\s+.*{re.escape(spelled(line['gross']))}", text
        )
    # A's open-licence fee from L1 (CNY 700.00), a memo outside the pool's figures.
    fee = data["open_license_fees"][0]
    assert re.search(
        rf"{fee['licensee']}\s+{fee['patent']}\s+CNY\s+{re.escape(spelled(fee['amount']))}", text
    )
    assert "verify-statement statement-A-2025Q1.json" in text
    assert "Page 1 of" in text


@pytest.mark.slow
def test_statement_year_in_chromium_and_pdf(pool: Pool, tmp_path: Path) -> None:
    quarters = [pool.json("statement", "--member", "C", "--period", p) for p in ("2025Q1", "2025Q2")]
    year = pool.json("statement", "--member", "C", "--year", "2025")
    assert [p["period"] for p in year["periods"]] == ["2025Q1", "2025Q2"]
    for key in ("gross", "admin_fee", "net"):
        assert Decimal(year[key]) == sum(Decimal(q[key]) for q in quarters)
        for quarter, got in zip(quarters, year["periods"], strict=True):
            assert got[key] == quarter[key]

    out = tmp_path / "year.html"
    pool.run("statement", "--member", "C", "--year", "2025", "-f", "html", "-o", str(out))
    found = figures(rendered_dom(out, tmp_path))
    assert found.keyed["scope"] == "Year 2025"
    for quarter in quarters:
        for key in ("gross", "admin_fee", "net"):
            assert amount(found.keyed[f"period:{quarter['period']}:{key}"]) == Decimal(quarter[key])
        for i, line in enumerate(quarter["lines"]):
            assert amount(found.keyed[f"line:{quarter['period']}:{i}"]) == Decimal(line["gross"])
    for key in ("gross", "admin_fee", "net"):
        assert amount(found.keyed[f"total:year-{key}"]) == Decimal(year[key])
    assert amount(found.keyed["net"]) == Decimal(year["net"])
    check_verification(found, pool, ["2025Q1", "2025Q2"], "statement", "C")
    # The three charts, drawn inline as SVG: nothing to fetch when the file is opened.
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") == 3
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?https?:""", html)

    pdf = tmp_path / "year.pdf"
    pool.run("statement", "--member", "C", "--year", "2025", "-f", "pdf", "-o", str(pdf))
    text = pdf_text(pdf)
    for quarter in quarters:
        row = r"\s+".join(re.escape(spelled(quarter[k])) for k in ("gross", "admin_fee", "net"))
        assert re.search(rf"{quarter['period']}\s+{row}", text)
    total = r"\s+".join(re.escape(spelled(year[k])) for k in ("gross", "admin_fee", "net"))
    assert re.search(rf"Year\s+{total}", text)


@pytest.mark.slow
def test_distributions_and_a_claw_back_in_the_year(pool_factory: Any, tmp_path: Path) -> None:
    """Q1 paid out, then L1's US line corrected down and Q1 re-allocated: the next payout claws back part of
    B's. The year's document lists both payouts, the claw-back marked, as the JSON statement does."""
    pool = pool_factory(f"sqlite:///{tmp_path / 'claw.db'}")
    build_example(pool)
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    pool.run("distribute", "--period", "2025Q1", "--date", "2025-05-15")
    fix = "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"
    fix += "L1,XR,2025Q1,CN,US,500,105000.00\n"
    pool.run("report", "import", "--correct", str(pool.write("fix.csv", fix)))
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    pool.run("distribute", "--period", "2025Q1", "--date", "2025-09-01")
    data = pool.json("statement", "--member", "B", "--period", "2025Q1")
    paid = data["distributions"]
    assert len(paid) == 2 and Decimal(paid[1]["amount"]) < 0  # the claw-back

    out = tmp_path / "b.html"
    pool.run("statement", "--member", "B", "--year", "2025", "-o", str(out))
    found = figures(rendered_dom(out, tmp_path))
    for row in paid:
        shown = found.keyed[f"distribution:{row['reference']}"]
        assert amount(shown) == Decimal(row["amount"])
        assert shown.endswith("claw-back") == (Decimal(row["amount"]) < 0)
    received = sum(Decimal(row["amount"]) for row in paid)
    assert amount(found.keyed["total:distributions"]) == received
    assert amount(found.keyed["distributed"]) == received
    assert amount(found.keyed["balance"]) == Decimal(data["net"]) - received
    for row in data["patents"]:
        assert amount(found.keyed[f"patent:{row['patent']}:{row['country']}"]) == Decimal(row["gross"])

    pdf = tmp_path / "b.pdf"
    pool.run("statement", "--member", "B", "--year", "2025", "-o", str(pdf))
    text = pdf_text(pdf)
    for row in paid:
        assert re.search(
            rf"{row['date']}\s+2025Q1\s+{row['reference']}\s+{re.escape(spelled(row['amount']))}", text
        )
    assert "CLAW-BACK" in text.upper()


# --- invoices --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_invoice_html_and_pdf(pool: Pool, tmp_path: Path) -> None:
    data = pool.json("invoice", "--licensee", "L1", "--period", "2025Q1")
    out = tmp_path / "invoice.html"
    pool.run("invoice", "--licensee", "L1", "--period", "2025Q1", "-f", "html", "-o", str(out))
    found = figures(rendered_dom(out, tmp_path))
    assert found.keyed["party-name"] == "Lumen Headsets Co."
    assert amount(found.keyed["royalty"]) == Decimal(data["royalty"]) == Decimal("900.00")
    assert amount(found.keyed["credit"]) == -Decimal(data["credit"])
    assert amount(found.keyed["due"]) == Decimal(data["due"]) == Decimal("750.00")
    assert found.keyed["due_date"] == data["due_date"]
    # The report lines' royalties add up to the invoice's royalty, and so do the countries'.
    assert amount(found.keyed["total:lines"]) == Decimal(data["royalty"])
    assert amount(found.keyed["total:by-country"]) == Decimal(data["royalty"])
    assert amount(found.keyed["total:programs-due"]) == Decimal(data["due"])
    assert amount(found.keyed["memo:A:CN205123456U"]) == Decimal(data["open_license_fees"][0]["amount"])
    check_verification(found, pool, ["2025Q1"], "invoice", "L1")

    pdf = tmp_path / "invoice.pdf"
    pool.run("invoice", "--licensee", "L1", "--period", "2025Q1", "-f", "pdf", "-o", str(pdf))
    text = pdf_text(pdf)
    assert "ROYALTY INVOICE" in text and "Lumen Headsets Co." in text
    assert re.search(rf"Amount due\s+{re.escape(spelled(data['due']))}", text)
    assert re.search(rf"Royalty\s+{re.escape(spelled(data['royalty']))}", text)


@pytest.mark.slow
def test_invoice_year_in_chromium(pool: Pool, tmp_path: Path) -> None:
    quarters = [pool.json("invoice", "--licensee", "C", "--period", p) for p in ("2025Q1", "2025Q2")]
    year = pool.json("invoice", "--licensee", "C", "--year", "2025")
    assert Decimal(year["due"]) == sum(Decimal(q["due"]) for q in quarters)
    out = tmp_path / "invoice-year.html"
    pool.run("invoice", "--licensee", "C", "--year", "2025", "-o", str(out))  # -o x.html: HTML
    found = figures(rendered_dom(out, tmp_path))
    for quarter in quarters:
        for key in ("royalty", "credit", "due"):
            assert amount(found.keyed[f"period:{quarter['period']}:{key}"]) == Decimal(quarter[key])
    for key in ("royalty", "credit", "due"):
        assert amount(found.keyed[f"total:year-{key}"]) == Decimal(year[key])
    assert amount(found.keyed["due"]) == Decimal(year["due"])


# --- the command line, without a browser ----------------------------------------------------------------
def test_html_to_stdout_is_one_self_contained_page(pool: Pool) -> None:
    html = pool.run("statement", "--member", "B", "--period", "2025Q1", "-f", "html").stdout
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert html.count("<svg") == 2  # by licensee and by country (a single period has no quarter chart)
    assert "<link" not in html and "<script" not in html
    # The pool's name is escaped for HTML in the page, and for CSS in the page footer's string.
    assert "Test &#34;XR&#34; Pool" in html or "Test &quot;XR&quot; Pool" in html
    assert 'content: "Test \\22 XR\\22  Pool' in html


def test_a_period_with_nothing_is_a_document_without_charts(pool: Pool) -> None:
    # L1 only licenses: its statement has no line, and its document says so instead of drawing empty charts.
    html = pool.run("statement", "--member", "L1", "--period", "2025Q1", "-f", "html").stdout
    found = figures(html)
    assert "<svg" not in html and "At a glance" not in html
    assert found.keyed["net"] == "0.00" and found.keyed["admin_fee"] == "0.00"  # never "-0.00"
    assert html.count("None in this period.") == 4  # by licensee, by country, by patent, lines
    assert "Nothing distributed for this period yet." in html


@pytest.mark.parametrize(
    ("command", "option", "party"), [("statement", "--member", "B"), ("invoice", "--licensee", "L1")]
)
def test_the_documents_verify_command_verifies_the_bundle(
    pool: Pool, tmp_path: Path, command: str, option: str, party: str
) -> None:
    import shlex

    bundle = tmp_path / f"{command}-{party}.json"
    args = (command, option, party, "--period", "2025Q1", "--bundle", str(bundle), "-f", "html")
    found = figures(pool.run(*args).stdout)
    assert "produce:2025Q1" not in found.keyed  # the bundle was written with the document
    verify = shlex.split(found.keyed["verify:2025Q1"])
    assert verify[:3] == ["patentpool", "verify-statement", str(bundle)]
    assert verify[-4:] == [option, party, "--period", "2025Q1"]  # bound to this party and period
    result = pool.run(*verify[1:])  # exits 0: the exact command in the document checks the bundle offline
    assert result.stdout.strip()


def test_usage_errors(pool: Pool, tmp_path: Path) -> None:
    result = pool.run("statement", "--member", "B", "--period", "2025Q1", "-f", "pdf", expect=2)
    assert "-f pdf writes a file: give -o FILE" in result.stderr
    result = pool.run("statement", "--member", "B", "--period", "2025Q1", "--year", "2025", expect=2)
    assert "give --period P or --year YYYY" in result.stderr
    result = pool.run("invoice", "--licensee", "L1", expect=2)
    assert "give --period P or --year YYYY" in result.stderr
    bundle = tmp_path / "b.json"
    result = pool.run("statement", "--member", "B", "--year", "2025", "--bundle", str(bundle), expect=2)
    assert "--bundle is for one --period" in result.stderr and not bundle.exists()


def test_year_errors_are_one_line(pool: Pool) -> None:
    result = pool.run("statement", "--member", "B", "--year", "2024", "-f", "json", expect=1)
    assert result.stderr.strip() == "Error: B has no statement in 2024: no allocated period of 2024 names it"
    result = pool.run("invoice", "--licensee", "A", "--year", "2025", "-f", "json", expect=1)
    assert result.stderr.strip() == "Error: A has no invoice in 2025: no allocated period of 2025 bills it"
    result = pool.run("statement", "--member", "ZZ", "--year", "2025", "-f", "json", expect=1)
    assert result.stderr.startswith("Error: unknown member 'ZZ'")


def test_year_reads_one_snapshot_on_each_backend(db_url: str, pool_factory: Any) -> None:
    """`--year` reads the year's allocations in one snapshot (its own read, by the bytes of the period):
    on SQLite and PostgreSQL alike, its periods are the single-period statements and invoices exactly."""
    pool = pool_factory(db_url)
    build_example(pool)
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    statement = pool.json("statement", "--member", "C", "--period", "2025Q1")
    year = pool.json("statement", "--member", "C", "--year", "2025")
    assert year["periods"] == [statement]
    assert (year["gross"], year["net"], year["checkpoint"]) == (
        statement["gross"],
        statement["net"],
        statement["checkpoint"],
    )
    invoice = pool.json("invoice", "--licensee", "C", "--period", "2025Q1")
    assert pool.json("invoice", "--licensee", "C", "--year", "2025")["periods"] == [invoice]
    # A voided entry is as never made, in the year's read too (here a member's new name).
    updated = pool.run("member", "update", "C", "--name", "Wrong Name Inc.").stderr
    seq = re.search(r"seq (\d+)", updated)
    assert seq
    pool.run("void", seq.group(1), "--reason", "typo")
    found = figures(pool.run("statement", "--member", "C", "--year", "2025", "-f", "html").stdout)
    assert found.keyed["total:year-net"] == spelled(statement["net"])
    assert found.keyed["party-name"] == "Cobalt Devices Inc."


def test_year_csv_rows_carry_their_period(pool: Pool) -> None:
    text = pool.run("statement", "--member", "B", "--year", "2025", "-f", "csv").stdout
    rows = text.splitlines()
    # Each period's rows, marked line/total/memo as a statement's (docs/imports.md).
    assert rows[0].startswith("period,row,program,licensee,country")
    assert {row.split(",")[0] for row in rows[1:]} == {"2025Q1", "2025Q2"}


# --- what a document shows, from the data alone ----------------------------------------------------------
def _statement() -> dict[str, Any]:
    checkpoint = (
        "pool.example/test\n7\nq83vEjWqqU5h8QfxJDuZ+0Ct5a0eNsO63Ox/Dl3B3Cc=\n\n— pool.example/test AAAA\n"
    )
    return {
        "member": "B",
        "period": "2025Q3",
        "currency": "USD",
        "lines": [
            {"program": "XR", "licensee": "L1", "country": "US", "patents": ["US1"], "gross": "100.01"},
            {"program": "XR", "licensee": "L<2>", "country": "CN", "patents": ["CN1"], "gross": "0.02"},
        ],
        "gross": "100.03",
        "admin_fee": "10.00",
        "net": "90.03",
        "open_license_fees": [],
        "patents": [
            {"patent": "US1", "country": "US", "gross": "100.01", "admin_fee": "10.00", "net": "90.01"},
            {"patent": "CN1", "country": "CN", "gross": "0.02", "admin_fee": "0.00", "net": "0.02"},
        ],
        "distributions": [
            {"date": "2025-11-01", "amount": "95.00", "reference": "XR-2025Q3-B-1"},
            {"date": "2025-12-01", "amount": "-4.97", "reference": "XR-2025Q3-B-2"},
        ],
        "checkpoint": checkpoint,
    }


def test_patents_distributions_and_claw_backs_are_shown() -> None:
    from ledger.keys import SigningKey
    from patentpool import documents
    from patentpool.docmodel import Names

    key = str(SigningKey.generate("pool.example/test").verifier())
    names = Names("Pool", "pool.example/test", "Beacon", {"B": "Beacon", "L1": "Lumen"})
    doc = documents.statement_document(_statement(), names, key)
    found = figures(documents.render_html(doc, "B"))
    assert amount(found.keyed["patent:US1:US"]) == Decimal("100.01")
    assert amount(found.keyed["total:by-patent-net"]) == Decimal("90.03")  # the per-patent nets add up to net
    assert found.keyed["distribution:XR-2025Q3-B-2"] == "-4.97claw-back"
    assert amount(found.keyed["total:distributions"]) == Decimal("90.03")
    assert amount(found.keyed["distributed"]) == Decimal("90.03")
    assert amount(found.keyed["balance"]) == Decimal("0.00")
    assert "L&lt;2&gt;" in documents.render_html(doc, "B")  # ids are escaped like any text
    assert found.keyed["checkpoint-size"] == "7"


def test_charts_sum_the_smaller_bars_exactly_and_embed_inline() -> None:
    from patentpool import charts

    bars = [charts.Bar(f"L{i}", Decimal(f"{i}.01"), f"{i}.01") for i in range(1, 21)]
    shown = charts.top_bars(bars)
    assert len(shown) == charts.MAX_BARS
    assert [b.label for b in shown[:3]] == ["L20", "L19", "L18"]
    rest = shown[-1]
    assert rest.label == "9 others" and rest.value == sum(Decimal(f"{i}.01") for i in range(1, 10))
    assert sum((b.value for b in shown), Decimal(0)) == sum((b.value for b in bars), Decimal(0))
    one = charts.hbar(bars, "Royalty by licensee", "lic", "USD")
    two = charts.hbar(bars, "Royalty by country", "cty", "USD")
    assert one.startswith("<svg") and "<?xml" not in one and "<!DOCTYPE" not in one
    assert ">20.01<" in one and "9 others" in one  # exact amounts as text, not paths
    ids = set(re.findall(r'id="([^"]+)"', one)) & set(re.findall(r'id="([^"]+)"', two))
    assert not ids  # two charts in one page share no element id
