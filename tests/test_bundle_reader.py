"""The statement bundle reader (`verify-statement`) against a hostile file: duplicate keys, entries out of
order or left out, another member's or period's bundle, malformed input of every kind (one `Error:` line,
never a traceback), and a few hundred seeded mutations of which none is accepted with changed figures.
The reader is offline and the same for both backends: the pool is built once, on SQLite."""

from __future__ import annotations

import base64
import copy
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import Pool, build_example

from cli import main
from ledger import merkle
from ledger.log import Ledger
from patentpool import bundles

PERIOD = "2025Q1"
NO_DB_ENV = {"PATENTPOOL_DB": "sqlite:////nonexistent-dir/never.db", "NO_COLOR": "1"}
FIGURES = ("member", "period", "currency", "lines", "gross", "admin_fee", "net", "open_license_fees")


@dataclass
class Made:
    dir: Path
    vkey: str
    text: str  # member C's bundle as written
    ledger: dict[int, bytes]

    def doc(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.text)
        return loaded


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    work = tmp_path_factory.mktemp("bundle-reader")
    pool = Pool(f"sqlite:///{work / 'pool.db'}", work / "pool.key", work)
    pool.run("init", "--name", "P", "--origin", "pool.example/test", "--currency", "USD", "--admin-fee", "10")
    build_example(pool, payments=False)
    pool.run("allocate", "--program", "XR", "--period", PERIOD)
    path = work / "C.json"
    pool.run("statement", "--member", "C", "--period", PERIOD, "--bundle", str(path), "-f", "json")
    with Ledger.open(pool.db).reader() as reader:
        ledger = dict(reader.raw_entries())
    yield Made(work, pool.run("key", "show").stdout.strip(), path.read_text(encoding="utf-8"), ledger)


def verify_text(made: Made, text: str | bytes, *extra: str) -> Result:
    path = made.dir / "under-test.json"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    args = ["verify-statement", str(path), "--vkey", made.vkey, *extra]
    return CliRunner().invoke(main, args, env=NO_DB_ENV, catch_exceptions=True)


def refused(result: Result, *phrases: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert "statement verified" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr and "--verbose" not in result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def reprove(made: Made, doc: dict[str, Any]) -> dict[str, Any]:
    """The multi-leaf proof made again for the entries `doc` now holds: what an administrator who leaves
    entries out would hand over (the proof itself then holds)."""
    tree = merkle.MemoryTree([merkle.leaf_hash(made.ledger[s]) for s in sorted(made.ledger)])
    try:
        indices = sorted({int(entry["seq"]) - 1 for entry in doc["entries"]})
    except (KeyError, TypeError, ValueError):  # a mutation already broke the list: nothing to re-prove
        return doc
    if not indices or min(indices) < 0 or max(indices) >= tree.size:
        return doc
    proof = merkle.multi_inclusion_proof(tree, indices, tree.size)
    doc["inclusion"] = [base64.b64encode(p).decode() for p in proof]
    return doc


def test_the_honest_bundle_verifies_for_its_member_and_period(made: Made) -> None:
    result = verify_text(made, made.text, "--member", "C", "--period", "2025q1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip().endswith("VERDICT: statement verified")


def test_another_members_or_periods_bundle_is_refused(made: Made) -> None:
    refused(verify_text(made, made.text, "--member", "A"), "this bundle is C's, not A's")
    refused(verify_text(made, made.text, "--period", "2025Q2"), "for 2025Q1, not 2025Q2")


@pytest.mark.parametrize("key", ["gross", "net", "checkpoint"])
def test_a_key_given_twice_is_refused(made: Made, key: str) -> None:
    # "gross":"999.00","gross":"<true>": a reader keeping the last key verifies, one keeping the first shows
    # 999.00. Whichever comes first, the bundle is refused.
    doc = made.doc()
    target = doc["statement"] if key != "checkpoint" else doc
    text = json.dumps(doc, ensure_ascii=False)
    spelled = f'"{key}": {json.dumps(target[key], ensure_ascii=False)}'
    assert text.count(spelled) >= 1
    forged = text.replace(spelled, f'"{key}": "999.00", {spelled}', 1)
    refused(verify_text(made, forged), f"duplicate key '{key}'")


def test_entries_out_of_seq_order_are_refused(made: Made) -> None:
    doc = made.doc()
    doc["entries"][1], doc["entries"][2] = doc["entries"][2], doc["entries"][1]
    refused(verify_text(made, json.dumps(doc)), "entries out of order")


def test_entries_left_out_with_a_remade_proof_are_refused(made: Made) -> None:
    doc = made.doc()
    rng = random.Random(7)
    keep = [e for e in doc["entries"] if e["seq"] == 1]  # genesis, so the refusal is about what is missing
    others = [e for e in doc["entries"] if e["seq"] != 1]
    dropped = rng.sample(others, min(7, len(others) - 1))
    doc["entries"] = sorted(keep + [e for e in others if e not in dropped], key=lambda e: e["seq"])
    result = verify_text(made, json.dumps(reprove(made, doc)))
    assert result.exit_code == 1 and "statement verified" not in result.stdout
    # With only an entry the statement rests on left out, the completeness check is what names it.
    for entry in others:
        one = made.doc()
        one["entries"] = [e for e in one["entries"] if e["seq"] != entry["seq"]]
        result = verify_text(made, json.dumps(reprove(made, one)))
        assert result.exit_code == 1, entry["seq"]


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "levels deep"),
        (b'{"bundle_v": 1, "statement": \xff\xfe}', "can't decode"),
        (b'{"bundle_v": ' + b"9" * 5000 + b"}", "not a readable bundle"),
        (b"", "not a readable bundle"),
        (b"\x00\x00", "not a readable bundle"),
        (b"[]", "not a bundle"),
        (b'{"bundle_v": true}', "bundle rejected"),
    ],
)
def test_malformed_files_are_one_error_line(made: Made, content: bytes, phrase: str) -> None:
    refused(verify_text(made, content), phrase)


def test_a_non_utf8_or_huge_since_file_is_one_error_line(made: Made) -> None:
    since = made.dir / "since.cp"
    since.write_bytes(b"pool.example/test\n\xff\xfe\n")
    refused(verify_text(made, made.text, "--since", str(since)), "not UTF-8")
    since.write_text("pool.example/test\n" + "9" * 5000 + "\nAAAA\n\n— x y\n", encoding="utf-8")
    refused(verify_text(made, made.text, "--since", str(since)), "--since checkpoint does not verify")


# --- seeded mutations ---------------------------------------------------------------------------------------
def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*at, i))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _tweak(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([-1, 1, 1000])
    if isinstance(value, str) and value:
        i = rng.randrange(len(value))
        c = value[i]
        new = str((int(c) + 1) % 10) if c.isdigit() else rng.choice('AZaz09.,-"{}\\ ')
        return value[:i] + new + value[i + 1 :]
    return rng.choice([None, 0, "", [], {}, "x", True, 1.5])


def _mutate(doc: dict[str, Any], rng: random.Random, made: Made) -> None:
    kind = rng.randrange(7)
    paths = [p for p in _paths(doc) if p]
    if kind == 0:  # one value changed anywhere
        path = rng.choice(paths)
        _set(doc, path, _tweak(_get(doc, path), rng))
    elif kind == 1:  # one key removed, or one added
        holder = rng.choice([p for p in _paths(doc) if isinstance(_get(doc, p), dict)])
        target = _get(doc, holder)
        if target and rng.random() < 0.5:
            del target[rng.choice(list(target))]
        else:
            target["extra"] = "1.00"
    elif kind == 2:  # a figure of the statement changed, with or without lines of its own
        statement = doc["statement"]
        name = rng.choice(["gross", "admin_fee", "net"])
        statement[name] = _tweak(statement[name], rng)
        if rng.random() < 0.5:
            statement["lines"] = [{"licensee": "L1", "country": "CN", "gross": statement[name]}]
    elif kind == 3:  # entries dropped (proof remade half of the time)
        for _ in range(rng.randint(1, 4)):
            if len(doc["entries"]) > 1:
                doc["entries"].pop(rng.randrange(len(doc["entries"])))
        if rng.random() < 0.5:
            reprove(made, doc)
    elif kind == 4:  # entries reordered or repeated
        entries = doc["entries"]
        i, j = rng.randrange(len(entries)), rng.randrange(len(entries))
        if rng.random() < 0.5:
            entries[i], entries[j] = entries[j], entries[i]
        else:
            entries.insert(i, copy.deepcopy(entries[j]))
    elif kind == 5:  # a byte of an entry's text changed (of an entry an earlier mutation left whole)
        whole = [e for e in doc["entries"] if isinstance(e, dict) and isinstance(e.get("entry"), str)]
        if whole:
            entry = rng.choice(whole)
            entry["entry"] = _tweak(entry["entry"], rng)
    else:  # a whole subtree replaced by a value of another type
        path = rng.choice(paths)
        _set(doc, path, rng.choice([None, [], {}, "", 0, -1, [[]], {"a": {}}, "A" * 100]))


def _figures(statement: Any) -> Any:
    """The figures a verified statement shows (its lines recomputed from the member's part)."""
    return {name: statement[name] for name in FIGURES}


@pytest.mark.parametrize("block", range(4))
def test_seeded_mutations_never_pass_with_other_figures_nor_crash(made: Made, block: int) -> None:
    original = made.doc()
    truth = _figures(bundles.verify_bundle(original, made.vkey, None).document)
    accepted = 0
    for seed in range(block * 75, block * 75 + 75):
        rng = random.Random(seed)
        doc = copy.deepcopy(original)
        for _ in range(rng.randint(1, 2)):
            _mutate(doc, rng, made)
        verdict = bundles.verify_bundle(doc, made.vkey, None)  # raises nothing, whatever the input
        if verdict.ok:
            accepted += 1
            assert _figures(verdict.document) == truth, f"seed {seed} verified with other figures"
        else:
            assert verdict.problems and all(isinstance(p, str) for p in verdict.problems)
    assert accepted < 75  # most mutations must be refused: the check is not vacuous


def test_seeded_byte_flips_through_the_file_reader(made: Made) -> None:
    raw = made.text.encode("utf-8")
    truth = _figures(bundles.verify_bundle(made.doc(), made.vkey, None).document)
    for seed in range(60):
        rng = random.Random(1000 + seed)
        data = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = made.dir / "flipped.json"
        path.write_bytes(bytes(data))
        verdict = bundles.verify_bundle_file(path, made.vkey, None)
        if verdict.ok:  # a flip in insignificant whitespace, or in an unused copy: same figures
            assert _figures(verdict.document) == truth, seed


def test_verify_bundle_survives_any_json_value(made: Made) -> None:
    values: list[Callable[[], Any]] = [
        lambda: None,
        lambda: [],
        lambda: {"bundle_v": 1},
        lambda: {**made.doc(), "entries": [None]},
        lambda: {**made.doc(), "entries": [{"seq": 10**30, "entry": "{}"}]},
        lambda: {**made.doc(), "inclusion": ["!!"]},
        lambda: {**made.doc(), "statement": {**made.doc()["statement"], "lines": [[]]}},
    ]
    for make in values:
        assert not bundles.verify_bundle(make(), made.vkey, None).ok
