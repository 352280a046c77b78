"""Floors: bare loops doing only the unavoidable work of each benchmark, with the same libraries
(rfc8785, hashlib, cryptography's Ed25519, SQLAlchemy Core), and none of patentpool's code paths.

A benchmark's ratio is floor time / measured time (1.0 = as fast as the bare loop).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    text,
)

DOMAIN = b"patentpool/entry/v1\n"
SIG_MARK = b',"sig":"'


def _engine(url: str) -> Any:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url)


# --- bulk append ------------------------------------------------------------------------------------------
def append_floor(
    url: str, bodies: list[dict[str, Any]], origin: str, author: str, private: bytes, *, c_json: bool = False
) -> float:
    """Per entry: JCS of the unsigned entry (rfc8785, the library the spec names; or, with `c_json`, the
    C json encoder, byte-identical for these all-ASCII, float-free entries, as the product does), Ed25519
    sign, the stored bytes (sig spliced in), SHA-256; rows inserted with executemany in chunks of 2000, one
    transaction. Returns seconds."""
    key = Ed25519PrivateKey.from_private_bytes(private)
    prefix = DOMAIN + origin.encode() + b"\n"
    meta = MetaData()
    table = Table(
        "floor_entries",
        meta,
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("prev", LargeBinary),
        Column("hash", LargeBinary),
        Column("kind", String),
        Column("author", String),
        Column("time", String),
        Column("raw", LargeBinary),
    )
    engine = _engine(url)
    meta.drop_all(engine)
    meta.create_all(engine)
    start = time.perf_counter()
    with engine.begin() as conn:
        prev = "0" * 64
        rows: list[dict[str, Any]] = []
        for seq, body in enumerate(bodies, 1):
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            unsigned: dict[str, Any] = {
                "v": 1,
                "seq": seq,
                "time": now,
                "kind": "patent.add",
                "author": author,
                "prev": prev,
                "body": body,
            }
            if c_json:
                c = json.dumps(unsigned, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
                assert c.isascii()
            else:
                c = rfc8785.dumps(unsigned)
            sig = base64.b64encode(key.sign(prefix + c)).decode()
            cut = c.index(b',"time":')  # JCS key order: author, body, kind, prev, seq, sig, time, v
            raw = c[:cut] + SIG_MARK + sig.encode() + b'"' + c[cut:]
            h = hashlib.sha256(raw).digest()
            rows.append(
                {
                    "seq": seq,
                    "prev": bytes.fromhex(prev),
                    "hash": h,
                    "kind": "patent.add",
                    "author": author,
                    "time": now,
                    "raw": raw,
                }
            )
            prev = h.hex()
            if len(rows) >= 2000:
                conn.execute(insert(table), rows)
                rows = []
        if rows:
            conn.execute(insert(table), rows)
    seconds = time.perf_counter() - start
    meta.drop_all(engine)
    engine.dispose()
    return seconds


# --- verify ---------------------------------------------------------------------------------------------
_PUBLIC: Ed25519PublicKey | None = None


def _verify_chunk(prefix: bytes, public: bytes, raws: list[bytes]) -> int:
    global _PUBLIC
    if _PUBLIC is None:
        _PUBLIC = Ed25519PublicKey.from_public_bytes(public)
    bad = 0
    for raw in raws:
        hashlib.sha256(raw).digest()
        hashlib.sha256(b"\x00" + raw).digest()
        i = raw.index(SIG_MARK)
        sig = raw[i + 8 : i + 96]
        try:
            _PUBLIC.verify(base64.b64decode(sig), prefix + raw[:i] + raw[i + 97 :])
        except Exception:
            bad += 1
    return bad


def verify_floor(url: str, origin: str, public: bytes, jobs: int = 2) -> tuple[float, int]:
    """Stream the raw entries by keyset pages and check every signature over `jobs` processes
    (the unsigned bytes are the stored bytes without `,"sig":"..."`). Returns (seconds, entries)."""
    prefix = DOMAIN + origin.encode() + b"\n"
    engine = _engine(url)
    start = time.perf_counter()
    count = bad = 0
    with engine.connect() as conn, ProcessPoolExecutor(max_workers=jobs) as pool:
        pending = []
        after = 0
        while True:
            rows = conn.execute(
                text("SELECT seq, raw FROM ledger_entries WHERE seq > :a ORDER BY seq LIMIT 5000"),
                {"a": after},
            ).all()
            if not rows:
                break
            after = rows[-1][0]
            raws = [bytes(r[1]) for r in rows]
            count += len(raws)
            for i in range(0, len(raws), 2000):
                pending.append(pool.submit(_verify_chunk, prefix, public, raws[i : i + 2000]))
            while len(pending) > jobs * 3:
                bad += pending.pop(0).result()
        for future in pending:
            bad += future.result()
    seconds = time.perf_counter() - start
    engine.dispose()
    # seq 1 (genesis) and key entries are signed by the same root key in the bench pools.
    if bad:
        raise RuntimeError(f"verify floor: {bad} signatures did not verify")
    return seconds, count


# --- allocate -------------------------------------------------------------------------------------------
def _schedule_total(units: int) -> Fraction:
    # The bench program's tiers 1000:0,5000:0.20,*:0.10 as marginal rates.
    return Fraction(20, 100) * max(0, min(units, 5000) - 1000) + Fraction(10, 100) * max(0, units - 5000)


def _split(total: int, weights: list[int]) -> list[int]:
    s = sum(weights)
    parts = [total * w // s for w in weights]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: -((total * weights[i]) % s))
    for i in order[:left]:
        parts[i] += 1
    return parts


def allocate_floor(url: str, period_end: str, cap_cents: int, private: bytes, origin: str) -> float:
    """The allocation with ints and numpy: read the patent and report entries (JSON), counting patents per
    country, each licensee's royalty, its spread over lines (largest remainder) and each line's split over
    owners by weight (largest remainder, one int64 matrix per licensee and country), then one canonicalise +
    sign of a body of the same shape. Returns seconds."""
    engine = _engine(url)
    start = time.perf_counter()
    counting: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lines: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
    with engine.connect() as conn:
        for (raw,) in conn.execute(
            text("SELECT raw FROM ledger_entries WHERE kind IN ('patent.add', 'report.add') ORDER BY seq")
        ):
            e = json.loads(bytes(raw))
            b = e["body"]
            if e["kind"] == "patent.add":
                if b["granted"] and b["granted"] <= period_end < b["expires"]:
                    counting[b["country"]][b["owner"]] += int(Decimal(b["weight"]))
            else:
                for ln in b["lines"]:
                    lines[b["licensee"]].append((ln["manufacture"], ln["sale"], ln["units"], e["seq"]))
    import numpy as np  # what the product uses for volume (pandas' array library)

    owners_of = {c: sorted(o) for c, o in counting.items()}
    weights_of = {c: np.array([counting[c][o] for o in owners_of[c]], dtype=np.int64) for c in counting}
    shares: dict[tuple[str, str, str], int] = defaultdict(int)
    out_lines = {}
    for licensee, items in lines.items():
        bearing = sorted(x for x in items if x[0] in counting or x[1] in counting)
        units = sum(x[2] for x in bearing)
        royalty = min(_schedule_total(units), Fraction(cap_cents, 100))
        cents = int(royalty * 100 + Fraction(1, 2))
        per_line = _split(cents, [x[2] for x in bearing]) if cents else [0] * len(bearing)
        by_country: dict[str, list[int]] = defaultdict(list)
        rows = []
        for (m, s, u, seq), c in zip(bearing, per_line, strict=True):
            country = s if s in counting else m
            by_country[country].append(c)
            rows.append([seq, m, s, u, f"{c // 100}.{c % 100:02d}", country])
        for country, amounts in by_country.items():
            # Every line of one country splits over the same weights: one matrix, largest remainder per row.
            w = weights_of[country]
            total_w = int(w.sum())
            col = np.array(amounts, dtype=np.int64)[:, None]
            parts = col * w[None, :] // total_w
            rem = col * w[None, :] % total_w
            left = col[:, 0] - parts.sum(axis=1)
            order = np.argsort(-rem, axis=1, kind="stable")
            bonus = (np.arange(len(w))[None, :] < left[:, None]).astype(np.int64)
            np.put_along_axis(parts, order, np.take_along_axis(parts, order, axis=1) + bonus, axis=1)
            for owner, v in zip(owners_of[country], parts.sum(axis=0).tolist(), strict=True):
                shares[(licensee, country, owner)] += v
        out_lines[licensee] = {"lines": rows}
    body = {
        "licensees": out_lines,
        "shares": [[lic, c, m, f"{v // 100}.{v % 100:02d}"] for (lic, c, m), v in sorted(shares.items())],
    }
    # JCS of an all-ASCII document is the C json encoder's sorted compact output (what ledger/entry.py now
    # does too); rfc8785's pure-Python encoder would take ~half a minute on this ~60 MB body.
    doc: dict[str, Any] = {"v": 1, "seq": 1, "kind": "allocation.run", "body": body}
    spelled = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    canon = spelled.encode() if spelled.isascii() else rfc8785.dumps(doc)
    Ed25519PrivateKey.from_private_bytes(private).sign(DOMAIN + origin.encode() + b"\n" + canon)
    hashlib.sha256(canon).digest()
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


# --- proofs ---------------------------------------------------------------------------------------------
def _decompose(lo: int, hi: int) -> list[tuple[int, int]]:
    out, off, n = [], lo, hi - lo
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            out.append((level, off >> level))
            off += 1 << level
    return out


def _latest_checkpoint(conn: Any) -> tuple[int, str]:
    size, note = conn.execute(
        text("SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
    ).one()
    return int(size), str(note)


def _nodes(conn: Any, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored Merkle nodes by (level, idx), one query per 500."""
    got: dict[tuple[int, int], bytes] = {}
    for i in range(0, len(wanted), 500):
        cond = " OR ".join(f"(level={lv} AND idx={ix})" for lv, ix in wanted[i : i + 500])
        for level, idx, h in conn.execute(text(f"SELECT level, idx, hash FROM ledger_nodes WHERE {cond}")):
            got[(level, idx)] = bytes(h)
    return got


def bundle_floor(url: str, seqs: list[int], out: str) -> float:
    """What any bundle of these entries costs with a multi-leaf proof: the latest checkpoint, the raw entries
    (one query), their leaf hashes, the stored nodes of every range the RFC's split reaches without one of
    them (one query per 500 nodes), the fold up to the root, and the entries and proof written out as JSON.
    No statement, no allocation read. Returns seconds."""
    start = time.perf_counter()
    engine = _engine(url)
    with engine.connect() as conn:
        size, note = _latest_checkpoint(conn)
        raws = {
            int(seq): bytes(raw)
            for seq, raw in conn.execute(
                text(f"SELECT seq, raw FROM ledger_entries WHERE seq IN ({','.join(map(str, seqs))})")
            )
        }
        index = sorted(seq - 1 for seq in raws)
        leaves = {seq - 1: hashlib.sha256(b"\x00" + raw).digest() for seq, raw in raws.items()}
        gaps: list[tuple[int, int]] = []

        def walk(lo: int, hi: int, a: int, b: int) -> None:
            if a == b:
                gaps.append((lo, hi))
            elif hi - lo > 1:
                mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
                m = bisect.bisect_left(index, mid, a, b)
                walk(lo, mid, a, m)
                walk(mid, hi, m, b)

        walk(0, size, 0, len(index))
        wanted = sorted({node for lo, hi in gaps for node in _decompose(lo, hi)})
        got = _nodes(conn, wanted)
        gap_hash = {g: _fold([got[n] for n in _decompose(*g)]) for g in gaps}

        def root(lo: int, hi: int, a: int, b: int) -> bytes:
            if a == b:
                return gap_hash[(lo, hi)]
            if hi - lo == 1:
                return leaves[lo]
            mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
            m = bisect.bisect_left(index, mid, a, b)
            return hashlib.sha256(b"\x01" + root(lo, mid, a, m) + root(mid, hi, m, b)).digest()

        root(0, size, 0, len(index))
        doc = {
            "checkpoint": note,
            "entries": [{"seq": seq, "entry": raws[seq].decode()} for seq in sorted(raws)],
            "inclusion": [base64.b64encode(gap_hash[g]).decode() for g in gaps],
        }
        with open(out, "w", encoding="utf-8") as f:
            f.write(json.dumps(doc, ensure_ascii=False))
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def _inclusion_nodes(index: int, size: int) -> list[list[tuple[int, int]]]:
    """RFC 9162 PATH(index, size) as perfect subtrees per proof element (bare arithmetic)."""
    path, lo, hi = [], 0, size
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        if index < lo + k:
            path.append(_decompose(lo + k, hi))
            hi = lo + k
        else:
            path.append(_decompose(lo, lo + k))
            lo += k
    return path[::-1]


def _fold(hashes: list[bytes]) -> bytes:
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = hashlib.sha256(b"\x01" + h + acc).digest()
    return acc


def proofs_floor(url: str, seqs: list[int]) -> float:
    """Latest checkpoint, the raw entries and one inclusion proof each, read with one query per table.
    Returns seconds (engine creation and connect included, as a command pays them)."""
    start = time.perf_counter()
    engine = _engine(url)
    with engine.connect() as conn:
        size, _note = _latest_checkpoint(conn)
        conn.execute(
            text(f"SELECT seq, raw FROM ledger_entries WHERE seq IN ({','.join(map(str, seqs))})")
        ).all()
        plans = [_inclusion_nodes(seq - 1, size) for seq in seqs]
        wanted = sorted({node for plan in plans for element in plan for node in element})
        got = _nodes(conn, wanted)
        for plan in plans:
            [base64.b64encode(_fold([got[n] for n in element])) for element in plan]
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds
