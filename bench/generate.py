"""Deterministic synthetic pools for the benchmarks (issue 6).

CSV writers (members, patents in 40 countries with office-valid numbers, usage reports, payments) and
builders that turn them into real pool ledgers through the real code paths: `patentpool.service.PoolService`,
`patentpool.imports`, `patentpool.allocation` and `patentpool.books`. Every ledger built here passes
`patentpool verify`.

Built databases are cached under bench/out/<scale>/ (SQLite files) or as PostgreSQL databases named
bench_<scale>_<name>, keyed by scale and GENERATOR_VERSION, so re-runs are quick.

    python bench/generate.py --scale small --backend sqlite      # build (or reuse) every dataset
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
GENERATOR_VERSION = 4
PASSPHRASE = "bench-only-passphrase"
ORIGIN = "bench.patentpool.example/pool"
PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
SEED = 20250101

# 40 countries where the pool's patents are in force: 4 national offices, 30 EP validation states and 6
# PCT national-phase countries (entered with WO numbers).
NATIONAL = ("CN", "US", "JP", "KR")
EP_STATES = (
    "DE",
    "FR",
    "GB",
    "IT",
    "ES",
    "NL",
    "BE",
    "CH",
    "AT",
    "SE",
    "DK",
    "FI",
    "IE",
    "PT",
    "PL",
    "CZ",
    "HU",
    "RO",
    "BG",
    "GR",
    "TR",
    "NO",
    "SK",
    "SI",
    "EE",
    "LV",
    "LT",
    "HR",
    "LU",
    "MT",
)
WO_STATES = ("BR", "IN", "MX", "CA", "AU", "ZA")
PATENT_COUNTRIES = NATIONAL + EP_STATES + WO_STATES
assert len(PATENT_COUNTRIES) == 40
# Reports also name countries with no pool patent (those lines bear no royalty unless the other end does).
OTHER_COUNTRIES = (
    "VN",
    "TH",
    "ID",
    "MY",
    "PH",
    "SG",
    "AR",
    "CL",
    "CO",
    "PE",
    "EG",
    "NG",
    "KE",
    "SA",
    "AE",
    "IL",
    "NZ",
    "UA",
    "PK",
    "BD",
)
REPORT_COUNTRIES = PATENT_COUNTRIES + OTHER_COUNTRIES
TIERS = "1000:0,5000:0.20,*:0.10"


@dataclass(frozen=True)
class Scale:
    name: str
    licensors: int  # members holding patents ("members" in the issue)
    licensees: int
    alloc_patents: int  # patent rows (number, country) of the allocation pool
    report_lines: int  # report lines of the allocated quarter
    bulk_rows: int  # rows of the bulk `patent import`
    ledger_entries: int  # size of the big ledger (verify, prove, statement)
    history_quarters: int  # quarters of reports/allocations/distributions in the big ledger
    lines_per_report: int  # report lines per licensee and quarter in the big ledger


SCALES = {
    "small": Scale(
        "small",
        licensors=10,
        licensees=100,
        alloc_patents=2_000,
        report_lines=20_000,
        bulk_rows=5_000,
        ledger_entries=20_000,
        history_quarters=8,
        lines_per_report=5,
    ),
    "full": Scale(
        "full",
        licensors=100,
        licensees=1_000,
        alloc_patents=20_000,
        report_lines=1_000_000,
        bulk_rows=100_000,
        ledger_entries=1_000_000,
        history_quarters=40,
        lines_per_report=10,
    ),
}


def licensor_ids(scale: Scale) -> list[str]:
    return [f"M{i:03d}" for i in range(1, scale.licensors + 1)]


def licensee_ids(scale: Scale) -> list[str]:
    return [f"L{i:04d}" for i in range(1, scale.licensees + 1)]


# --- CSV writers ------------------------------------------------------------------------------------------
def write_members(path: Path, scale: Scale) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "name", "role"])
        for m in licensor_ids(scale):
            out.writerow([m, f"Licensor {m} Technologies", "licensor"])
        for lic in licensee_ids(scale):
            out.writerow([lic, f"Licensee {lic} Devices", "licensee"])


class NumberSource:
    """Unique, office-valid publication numbers; `base` keeps the serial ranges of two files apart."""

    def __init__(self, base: int) -> None:
        self.n = base

    def next(self) -> int:
        self.n += 1
        return self.n


def _rows_for_family(rng: random.Random, serial: int) -> list[tuple[str, str, str]]:
    """One patent family: [(number, country, type)], each row one right in force in one country."""
    pick = rng.random()
    if pick < 0.22:
        if rng.random() < 0.1:
            return [(f"CN2{serial % 100_000_000:08d}U", "CN", "utility")]
        return [(f"CN1{serial % 100_000_000:08d}B", "CN", "invention")]
    if pick < 0.44:
        return [(f"US{10_000_000 + serial % 89_000_000}B2", "US", "invention")]
    if pick < 0.52:
        return [(f"JP{1_000_000 + serial % 8_900_000}B2", "JP", "invention")]
    if pick < 0.58:
        return [(f"KR10{1_000_000 + serial % 8_900_000:07d}B1", "KR", "invention")]
    if pick < 0.9:
        number = f"EP{1_000_000 + serial % 8_900_000:07d}B1"
        states = rng.sample(EP_STATES, rng.randint(3, 12))
        return [(number, c, "invention") for c in states]
    year = 2005 + serial % 18
    number = f"WO{year}{1 + (serial // 18) % 999_999:06d}A1"
    states = rng.sample(WO_STATES, rng.randint(2, 5))
    return [(number, c, "invention") for c in states]


def write_patents(
    path: Path,
    rows: int,
    owners: list[str],
    program: str,
    seed: int,
    base: int,
    granted_by: date = date(2024, 12, 31),
) -> int:
    """`rows` patent rows for `program`, owners skewed (a few members hold most patents)."""
    rng = random.Random(seed)
    numbers = NumberSource(base)
    weights = [1 / (i + 1) ** 0.8 for i in range(len(owners))]
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "number",
                "owner",
                "country",
                "type",
                "filed",
                "granted",
                "expires",
                "program",
                "title",
                "weight",
            ]
        )
        while written < rows:
            family = _rows_for_family(rng, numbers.next())
            owner = rng.choices(owners, weights)[0]
            utility = family[0][2] == "utility"
            filed = date(2016 if utility else 2006, 1, 1) + timedelta(
                days=rng.randint(0, 2190 if utility else 5800)
            )
            granted: date | None = filed + timedelta(days=rng.randint(300 if utility else 700, 2000))
            if rng.random() < 0.03 or granted > granted_by:  # type: ignore[operator]
                granted = None  # pending: does not count
            weight = "2" if rng.random() < 0.05 else ""
            title = f"Synthetic invention {numbers.n}"
            for number, country, kind in family:
                if written >= rows:
                    break
                out.writerow(
                    [
                        number,
                        owner,
                        country,
                        kind,
                        filed.isoformat(),
                        granted.isoformat() if granted else "",
                        "",
                        program,
                        title,
                        weight,
                    ]
                )
                written += 1
    return written


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def write_reports(
    path: Path,
    licensees: list[str],
    program: str,
    period: str,
    lines_per_licensee: int,
    seed: int,
    total_lines: int | None = None,
) -> int:
    """Each licensee reports `lines_per_licensee` distinct (manufacture, sale) pairs for one period."""
    rng = random.Random(seed)
    pairs = [(m, s) for m in REPORT_COUNTRIES for s in REPORT_COUNTRIES]
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["licensee", "program", "period", "manufacture_country", "sale_country", "units", "net_sales"]
        )
        for i, licensee in enumerate(licensees):
            count = lines_per_licensee
            if total_lines is not None:  # spread the remainder so the file has exactly total_lines
                count = total_lines // len(licensees) + (1 if i < total_lines % len(licensees) else 0)
            for m, s in sorted(rng.sample(pairs, count)):
                units = rng.randint(1, 2000)
                out.writerow(
                    [licensee, program, period, m, s, units, _money(units * rng.randint(5_000, 50_000))]
                )
                written += 1
    return written


def write_payments(path: Path, licensees: list[str], year: int, seed: int) -> int:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["licensee", "date", "amount", "currency", "reference"])
        for licensee in licensees:
            day = date(year + 1, 1, 15) + timedelta(days=rng.randint(0, 30))
            out.writerow(
                [
                    licensee,
                    day.isoformat(),
                    _money(rng.randint(100_000, 50_000_000)),
                    "USD",
                    f"{licensee}-{year}-wire",
                ]
            )
    return len(licensees)


def quarters(count: int, last: str = "2024Q4") -> list[str]:
    year, q = int(last[:4]), int(last[5])
    out = []
    for _ in range(count):
        out.append(f"{year}Q{q}")
        q -= 1
        if q == 0:
            year, q = year - 1, 4
    return out[::-1]


# --- databases: URLs, caching, cloning ---------------------------------------------------------------------
def env() -> None:
    global FORMAT_DIGEST_AT_START
    if not FORMAT_DIGEST_AT_START:
        FORMAT_DIGEST_AT_START = format_digest()
    os.environ["PATENTPOOL_PASSPHRASE"] = PASSPHRASE
    os.environ.setdefault("NO_COLOR", "1")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def key_path() -> Path:
    """One bench key (scrypt-encrypted like any pool key), made once."""
    env()
    from ledger.keys import SigningKey, save_key

    path = OUT / "bench.key"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        save_key(path, SigningKey.generate(ORIGIN), PASSPHRASE)
    return path


def signing_key() -> Any:
    from ledger.keys import load_key

    return load_key(key_path(), PASSPHRASE)


def scale_dir(scale: Scale) -> Path:
    path = OUT / scale.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_url(backend: str, scale: Scale, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{scale_dir(scale) / (name + '.db')}"
    return f"{PG_SERVER}/bench_{scale.name}_{name}"


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def pg_exists(dbname: str) -> bool:
    with _pg_admin() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is not None


def pg_drop(dbname: str) -> None:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def pg_list(prefix: str = "bench_") -> list[str]:
    with _pg_admin() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",)
        ).fetchall()
    return [r[0] for r in rows]


# A cached ledger is only reusable while the code that spells and checks entries is unchanged: its
# allocation bodies must be what `verify` recomputes. BENCH_REUSE=1 skips this check (e.g. to time reads on an
# older cache deliberately).
FORMAT_FILES = (
    "ledger/entry.py",
    "ledger/log.py",
    "ledger/schema.py",
    "patentpool/rules.py",
    "patentpool/bodies.py",
    "patentpool/allocation.py",
    "patentpool/books.py",
    "patentpool/state.py",
    "licenses/money.py",
)


def format_digest() -> str:
    import hashlib

    digest = hashlib.sha256()
    for name in FORMAT_FILES:
        path = ROOT / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()[:16]


def _marker(backend: str, scale: Scale, name: str) -> Path:
    return scale_dir(scale) / f"{name}.{backend}.done.json"


def cached(backend: str, scale: Scale, name: str) -> bool:
    marker = _marker(backend, scale, name)
    if not marker.exists():
        return False
    meta = json.loads(marker.read_text())
    if meta.get("version") != GENERATOR_VERSION or meta.get("scale") != asdict(scale):
        return False
    if (backend, scale.name, name) in BUILT_HERE:
        return True  # built by this process: code edited since (by others, mid-run) does not rebuild it again
    if meta.get("format") != format_digest() and not os.environ.get("BENCH_REUSE"):
        _log(f"{backend} {name}: the entry-format code changed since it was built; rebuilding")
        return False
    if backend == "sqlite":
        return (scale_dir(scale) / f"{name}.db").exists()
    return pg_exists(f"bench_{scale.name}_{name}")


def _drop(backend: str, scale: Scale, name: str) -> None:
    _marker(backend, scale, name).unlink(missing_ok=True)
    if backend == "sqlite":
        for suffix in (".db", ".db-wal", ".db-shm"):
            (scale_dir(scale) / f"{name}{suffix}").unlink(missing_ok=True)
    else:
        pg_drop(f"bench_{scale.name}_{name}")


FORMAT_DIGEST_AT_START = ""
BUILT_HERE: set[tuple[str, str, str]] = set()


def _mark(backend: str, scale: Scale, name: str, **info: Any) -> None:
    BUILT_HERE.add((backend, scale.name, name))
    if backend == "postgresql":
        # A pool's server has run autovacuum's ANALYZE long before anyone reads it; a dataset measured
        # right after its build would be read with no statistics, plans chosen blind.
        import psycopg

        with psycopg.connect(db_url(backend, scale, name), autocommit=True) as conn:
            conn.execute("ANALYZE")
    _marker(backend, scale, name).write_text(
        json.dumps(
            {"version": GENERATOR_VERSION, "scale": asdict(scale), "format": FORMAT_DIGEST_AT_START, **info},
            indent=1,
        )
    )


def clone(backend: str, scale: Scale, name: str, new: str) -> str:
    """A scratch copy of a cached database (benchmarks that append never touch the cache)."""
    drop_clone(backend, scale, new)
    if backend == "sqlite":
        src = sqlite3.connect(scale_dir(scale) / f"{name}.db")
        src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        src.close()
        shutil.copyfile(scale_dir(scale) / f"{name}.db", scale_dir(scale) / f"{new}.db")
    else:
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "bench_{scale.name}_{new}" TEMPLATE "bench_{scale.name}_{name}"')
    return db_url(backend, scale, new)


def drop_clone(backend: str, scale: Scale, new: str) -> None:
    if backend == "sqlite":
        for suffix in (".db", ".db-wal", ".db-shm"):
            (scale_dir(scale) / f"{new}{suffix}").unlink(missing_ok=True)
    else:
        pg_drop(f"bench_{scale.name}_{new}")


def _create_pool(url: str, backend: str) -> None:
    from ledger.log import Ledger

    if backend == "postgresql":
        dbname = url.rsplit("/", 1)[1]
        pg_drop(dbname)
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    Ledger.open(url).create(signing_key(), {"name": "Bench XR Pool", "currency": "USD", "admin_fee": "10"})


def _log(msg: str) -> None:
    print(f"[generate] {msg}", file=sys.stderr, flush=True)


# --- datasets -----------------------------------------------------------------------------------------------
def _members_and_program(batch: Any, scale: Scale, grants_from: str) -> None:
    from patentpool import bodies, imports

    members = scale_dir(scale) / "members.csv"
    write_members(members, scale)
    imports.import_members(batch, members)
    batch.add("program.add", bodies.program("XR", "USD", TIERS, "250000.00", "10", "quarter"))
    for licensee in licensee_ids(scale):
        batch.add("license.grant", {"licensee": licensee, "program": "XR", "from": grants_from})


def build_base(backend: str, scale: Scale) -> str:
    """A pool with members, the XR program and its licences, no patents: the target of the bulk import."""
    name = "base"
    url = db_url(backend, scale, name)
    if cached(backend, scale, name):
        return url
    env()
    from patentpool.service import PoolService

    _drop(backend, scale, name)
    t = time.perf_counter()
    _create_pool(url, backend)
    with PoolService(url, key_path()).write() as batch:
        _members_and_program(batch, scale, "2025-01-01")
    _mark(backend, scale, name, seconds=time.perf_counter() - t)
    _log(f"{backend} base pool built in {time.perf_counter() - t:.1f}s")
    return url


def bulk_csv(scale: Scale) -> Path:
    path = scale_dir(scale) / "bulk-patents.csv"
    if not path.exists():
        write_patents(path, scale.bulk_rows, licensor_ids(scale), "XR", SEED + 7, base=5_000_000)
    return path


def build_alloc(backend: str, scale: Scale) -> str:
    """The allocation pool: members, XR, `alloc_patents` patents in 40 countries, `report_lines` report
    lines of 2025Q1 from every licensee; not yet allocated."""
    name = "alloc"
    url = db_url(backend, scale, name)
    if cached(backend, scale, name):
        return url
    env()
    from patentpool import imports
    from patentpool.service import PoolService

    _drop(backend, scale, name)
    t = time.perf_counter()
    patents = scale_dir(scale) / "alloc-patents.csv"
    reports = scale_dir(scale) / "alloc-reports.csv"
    write_patents(patents, scale.alloc_patents, licensor_ids(scale), "XR", SEED + 1, base=0)
    write_reports(reports, licensee_ids(scale), "XR", "2025Q1", 0, SEED + 2, total_lines=scale.report_lines)
    _log(f"alloc CSVs written in {time.perf_counter() - t:.1f}s")
    _create_pool(url, backend)
    with PoolService(url, key_path()).write() as batch:
        _members_and_program(batch, scale, "2025-01-01")
        imports.import_patents(batch, patents)
        imports.import_reports(batch, reports, correct=False)
        size = batch.appender.size
    _mark(backend, scale, name, seconds=time.perf_counter() - t, entries=size)
    _log(f"{backend} alloc pool built in {time.perf_counter() - t:.1f}s ({size} entries)")
    return url


def build_ledger(backend: str, scale: Scale) -> str:
    """The big ledger: a pool `history_quarters` quarters old, then a large patent register up to
    `ledger_entries` entries. See bench/README.md for the mix."""
    name = "ledger"
    url = db_url(backend, scale, name)
    if cached(backend, scale, name):
        return url
    env()
    from patentpool import bodies as pool_bodies
    from patentpool import cash, imports, staleness
    from patentpool.periods import Period
    from patentpool.service import PoolService

    _drop(backend, scale, name)
    t = time.perf_counter()
    d = scale_dir(scale)
    qs = quarters(scale.history_quarters)
    lic = licensee_ids(scale)
    _create_pool(url, backend)
    svc = PoolService(url, key_path())
    with svc.write() as batch:
        _members_and_program(batch, scale, f"{qs[0][:4]}-01-01")
        xr = d / "ledger-xr-patents.csv"
        write_patents(xr, scale.alloc_patents, licensor_ids(scale), "XR", SEED + 3, base=0)
        imports.import_patents(batch, xr)
    _log(f"{backend} ledger: members, program, patents in {time.perf_counter() - t:.1f}s")
    with svc.write() as batch:
        for i, label in enumerate(qs):
            reports = d / "ledger-reports.csv"
            write_reports(reports, lic, "XR", label, scale.lines_per_report, SEED + 100 + i)
            imports.import_reports(batch, reports, correct=False)
            period = Period.parse(label)
            staleness.run(batch.state, "XR", period, batch.add_ref)
            paid = cash.distribution(batch.state, "XR", period, period.end + timedelta(days=60), False)
            for body in cash.distribution_bodies(batch.state, paid):
                batch.add("distribution.add", body)
            if label.endswith("Q4"):
                payments = d / "ledger-payments.csv"
                write_payments(payments, lic, int(label[:4]), SEED + 200 + i)
                imports.import_payments(batch, payments)
        size = batch.appender.size
    _log(f"{backend} ledger: {len(qs)} quarters of history, {size} entries, {time.perf_counter() - t:.1f}s")
    filler = scale.ledger_entries - size - 1
    if filler > 0:
        register = d / "ledger-register.csv"
        write_patents(register, filler, licensor_ids(scale), "VID", SEED + 4, base=20_000_000)
        with svc.write() as batch:
            batch.add("program.add", pool_bodies.program("VID", "USD", "*:0.05", None, "10", "quarter"))
            imports.import_patents(batch, register)
            size = batch.appender.size
        register.unlink()
    _mark(backend, scale, name, seconds=time.perf_counter() - t, entries=size, quarters=qs)
    _log(f"{backend} ledger built: {size} entries in {time.perf_counter() - t:.1f}s")
    return url


def build_demo() -> Path:
    """`patentpool demo`'s directory: its small statement bundle times verify-statement's start-up."""
    import subprocess

    path = OUT / "demo"
    # Rebuilt every time (a few seconds): a bundle made by an older revision may no longer verify.
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run(
        [str(ROOT / ".venv/bin/patentpool"), "demo", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--only", choices=["base", "alloc", "ledger"], action="append")
    args = parser.parse_args()
    scale = SCALES[args.scale]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for what in args.only or ["base", "alloc", "ledger"]:
            {"base": build_base, "alloc": build_alloc, "ledger": build_ledger}[what](backend, scale)
    build_demo()


if __name__ == "__main__":
    main()
