"""Spec 7 and 9 on the commands a review found short of them, on both backends:

- `checkpoint`, `key show`, `prove inclusion` and `prove consistency` take -f/--format and -o like every read
  command; `checkpoint` and `key show` still print the text members keep unless -f is given; `export -f`;
- `verify --from-export` without `--checkpoint` is a usage error, and a bad checkpoint file is named as such;
- a refused import says once that nothing was written, and its summary is not another `Error:` line;
- `prove consistency` serves proofs only from signed tree sizes, as `prove inclusion --size` does;
- `key revoke` takes the bare 8-hex key id that `log` shows;
- no passphrase and no terminal is one error, not a prompt;
- currencies are ISO 4217 codes wherever they are entered.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Pool, build_pool, shared_pool
from ledger_support import seeded_key

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.keyring import KeyringError, key_ref
from ledger.keys import VerifierKey
from patentpool import fields

ORIGIN = "pool.example/test"


def build(pool: Pool) -> None:
    # Members seq 2-3 (size 2 is never signed), program XR 4, L1's licence 5.
    members_ = ("A,Aurora Optics Co.,licensor", "L1,Lumen Headsets Co.,licensee")
    build_pool(pool, members_=members_, tiers="1000:0,*:0.1", patents_=())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    with shared_pool(request, tmp_path_factory, "contract", build) as built:
        yield built


def one_error(result: Any) -> str:
    """The single stderr line of a refused command, which must be an `Error:` line."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    line: str = lines[0]
    return line


def fields_of(csv_text: str) -> dict[str, str]:
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows and list(rows[0]) == ["field", "value"]
    return {r["field"]: r["value"] for r in rows}


# --- 1. formats of checkpoint, key show, prove, export ------------------------------------------------------
def test_checkpoint_prints_its_note_by_default_and_takes_every_format(pool: Pool) -> None:
    note = pool.run("checkpoint").stdout
    size, root = pool.size_and_root()
    assert note.splitlines()[:3] == [ORIGIN, str(size), root] and note.endswith("\n")

    data = json.loads(pool.run("checkpoint", "-f", "json").stdout)
    assert data == {"origin": ORIGIN, "size": size, "root": root, "note": note}
    assert fields_of(pool.run("checkpoint", "--format", "csv").stdout) == {
        "origin": ORIGIN,
        "size": str(size),
        "root": root,
        "note": note,
    }
    table = pool.run("checkpoint", "-f", "table").stdout
    assert f"Checkpoint {size}" in table and root in table and "\x1b[" not in table
    older = json.loads(pool.run("checkpoint", "--size", "1", "-f", "json").stdout)
    assert older["size"] == 1 and older["note"] == pool.run("checkpoint", "--size", "1").stdout

    # -o FILE without -f keeps the note file members are told to keep; with -f, that format.
    kept = pool.workdir / "latest.cp"
    assert pool.run("checkpoint", "-o", str(kept)).stdout == ""
    assert kept.read_text(encoding="utf-8") == note
    as_json = pool.workdir / "latest.json"
    assert pool.run("checkpoint", "-f", "json", "-o", str(as_json)).stdout == ""
    assert json.loads(as_json.read_text(encoding="utf-8")) == data


def test_key_show_prints_the_verifier_key_by_default_and_takes_every_format(pool: Pool) -> None:
    text = pool.run("key", "show").stdout
    vkey = VerifierKey.parse(text.strip())
    assert text == f"{vkey}\n"
    want = {"name": ORIGIN, "key_id": vkey.key_id.hex(), "author": vkey.keyid_string, "vkey": str(vkey)}
    assert json.loads(pool.run("key", "show", "-f", "json").stdout) == want
    assert fields_of(pool.run("key", "show", "-f", "csv").stdout) == want
    assert str(vkey) in pool.run("key", "show", "-f", "table").stdout
    target = pool.workdir / "pool.vkey"
    assert pool.run("key", "show", "-o", str(target)).stdout == ""
    assert target.read_text(encoding="utf-8") == text


def test_proofs_take_every_format_and_an_output_file(pool: Pool) -> None:
    size = pool.size_and_root()[0]
    for args in (("prove", "inclusion", "2"), ("prove", "consistency", "1", str(size))):
        data = json.loads(pool.run(*args).stdout)  # piped: JSON, as before
        assert json.loads(pool.run(*args, "-f", "json").stdout) == data
        assert data["proof"], args
        got = fields_of(pool.run(*args, "-f", "csv").stdout)
        assert [got[f"proof[{i}]"] for i in range(len(data["proof"]))] == data["proof"]
        assert "proof" not in got
        scalars = {k: v for k, v in data.items() if k != "proof"}
        assert {k: got[k] for k in scalars} == {k: str(v) for k, v in scalars.items()}
        assert data["proof"][0] in pool.run(*args, "-f", "table").stdout
        target = pool.workdir / "proof.json"
        assert pool.run(*args, "-o", str(target), "--force").stdout == ""  # the loop writes it twice
        assert json.loads(target.read_text(encoding="utf-8")) == data


def test_export_takes_the_short_format_option(pool: Pool) -> None:
    short, long = pool.workdir / "short.jsonl", pool.workdir / "long.jsonl"
    pool.run("export", "-f", "jsonl", "-o", str(short))
    pool.run("export", "--format", "jsonl", "-o", str(long))
    assert short.read_bytes() == long.read_bytes() and short.read_bytes().count(b"\n") == 5
    assert "Error: " in pool.run("export", "-f", "csv", expect=2).stderr


# --- 2. verify --from-export --------------------------------------------------------------------------------
def test_verify_from_export_needs_a_checkpoint_and_names_a_bad_one(pool: Pool) -> None:
    export = pool.workdir / "verify.jsonl"
    pool.run("export", "-o", str(export))
    result = pool.run("verify", "--from-export", str(export), expect=2)
    assert "Error: --from-export needs --checkpoint" in result.stderr and result.stdout == ""

    garbage = pool.write("garbage.cp", "garbage\n")
    line = one_error(pool.run("verify", "--from-export", str(export), "--checkpoint", str(garbage), expect=1))
    assert line.startswith(f"Error: {garbage}: note has no blank line"), line

    # A well-formed checkpoint signed by another key: the checkpoint is what does not fit, not the export.
    size, root = pool.size_and_root()
    forged = sign_checkpoint(Checkpoint(ORIGIN, size, base64.b64decode(root)), seeded_key(ORIGIN, 21))
    other = pool.write("other-key.cp", forged)
    line = one_error(pool.run("verify", "--from-export", str(export), "--checkpoint", str(other), expect=1))
    assert line.startswith(f"Error: {other}: "), line
    assert str(export) not in line

    good = pool.write("good.cp", pool.run("checkpoint").stdout)
    data = json.loads(pool.run("verify", "--from-export", str(export), "--checkpoint", str(good)).stdout)
    assert data["result"] == "ok"


# --- 3. a refused import ------------------------------------------------------------------------------------
def test_a_refused_import_says_once_that_nothing_was_written(pool: Pool) -> None:
    before = pool.size_and_root()
    one = pool.write("one-bad.csv", "id,name,role\nD,Delta,owner\nE,Echo,both\n")
    line = one_error(pool.run("member", "import", str(one), expect=1))
    assert line.startswith(f"Error: {one}:2: role: ") and line.endswith("; nothing was written"), line

    two = pool.write("two-bad.csv", "id,name,role\nD,Delta,owner\nE,,both\n")
    lines = pool.run("member", "import", str(two), expect=1).stderr.strip().splitlines()
    assert [line.split(": ")[0:2] for line in lines[:-1]] == [["Error", f"{two}:2"], ["Error", f"{two}:3"]]
    assert lines[-1] == "2 problems: nothing was written"
    assert pool.size_and_root() == before


# --- 4. consistency proofs only from signed sizes -----------------------------------------------------------
def test_prove_consistency_refuses_an_old_size_that_was_never_signed(pool: Pool) -> None:
    size = pool.size_and_root()[0]
    for old in ("2", "0"):
        result = pool.run("prove", "consistency", old, str(size), expect=1)
        line = one_error(result)
        assert line.startswith(f"Error: no signed checkpoint at tree size {old}"), line
        assert result.stdout == ""
    # The same rule as inclusion proofs against an older tree.
    line = one_error(pool.run("prove", "inclusion", "1", "--size", "2", expect=1))
    assert line.startswith("Error: no signed checkpoint at tree size 2")
    assert json.loads(pool.run("prove", "consistency", "3", str(size)).stdout)["old_checkpoint"]


# --- 5. key revoke by the bare key id -----------------------------------------------------------------------
def test_key_revoke_takes_the_bare_key_id(pool: Pool) -> None:
    vkey = seeded_key(ORIGIN, 22).verifier()
    pool.run("key", "add", "--vkey", str(vkey), "--role", "auditor")
    before = pool.size_and_root()
    line = one_error(pool.run("key", "revoke", "deadbeef", expect=1))
    assert line == "Error: key: 'deadbeef' names no key of this pool"
    assert pool.size_and_root() == before

    pool.run("key", "revoke", vkey.key_id.hex(), "--reason", "left the pool")
    revoked = json.loads(pool.run("log", "--kind", "key.revoke", "-f", "json").stdout)
    assert revoked[-1]["body"] == {"key": vkey.keyid_string, "reason": "left the pool"}
    # Once revoked, the bare id still names it, and the keyring says why it cannot be revoked again.
    line = one_error(pool.run("key", "revoke", vkey.key_id.hex(), expect=1))
    assert "already revoked" in line


def test_a_bare_key_id_must_name_exactly_one_key() -> None:
    keys = ["pool.example/a+0123abcd", "pool.example/b+0123abcd", "pool.example/a+99999999"]
    assert key_ref(keys, " 99999999 ") == "pool.example/a+99999999"
    assert key_ref(keys, "pool.example/zz+12345678") == "pool.example/zz+12345678"  # the keyring judges it
    with pytest.raises(KeyringError, match="names several keys"):
        key_ref(keys, "0123ABCD")
    with pytest.raises(KeyringError, match="'12345678' names no key"):
        key_ref(keys, "12345678")


# --- 6. no passphrase, no terminal --------------------------------------------------------------------------
def test_no_passphrase_and_no_terminal_is_one_error(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATENTPOOL_PASSPHRASE", raising=False)
    script = Pool(pool.db, pool.key, pool.workdir)
    script.env.pop("PATENTPOOL_PASSPHRASE")
    before = pool.size_and_root()
    result = script.run("member", "add", "Z", "--name", "Zed", "--role", "both", expect=1, input="guess\n")
    assert result.stderr == "Error: no passphrase: set PATENTPOOL_PASSPHRASE or run on a terminal\n"
    assert "GetPassWarning" not in result.stderr and result.stdout == ""
    assert pool.size_and_root() == before


# --- 7. currencies ------------------------------------------------------------------------------------------
def test_currencies_are_iso_4217_codes_in_upper_case() -> None:
    for given, code in (("USD", "USD"), (" eur ", "EUR"), ("cny", "CNY"), ("XCG", "XCG"), ("ZWG", "ZWG")):
        assert fields.currency(given, "currency") == code
    for bad in ("ZZZ", "UDS", "HRK", "EURO", "US$", ""):
        with pytest.raises(fields.FieldError, match="currency: "):
            fields.currency(bad, "currency")
    assert len(fields.LEDGER_CURRENCIES) == 178
    assert all(len(c) == 3 and c.isupper() for c in fields.LEDGER_CURRENCIES)


def test_lower_case_currency_is_stored_upper_case(pool: Pool) -> None:
    pool.run("program", "add", "LC", "--currency", "eur", "--tiers", "*:0.1")
    programs = {p["name"]: p for p in pool.json("program", "list")}
    assert programs["LC"]["currency"] == "EUR"


def test_a_payment_file_with_an_unknown_currency_is_refused(pool: Pool, tmp_path: Path) -> None:
    before = pool.size_and_root()
    path = pool.write(
        "payments-zzz.csv",
        "licensee,date,amount,currency,reference\nL1,2025-04-28,750.00,ZZZ,L1-2025Q1\n",
    )
    line = one_error(pool.run("payment", "import", str(path), expect=1))
    assert line == (
        f"Error: {path}:2: currency: 'ZZZ' is not an ISO 4217 currency code; nothing was written"
    ), line
    assert pool.size_and_root() == before


def test_a_file_gets_json_by_default_even_from_a_terminal(
    pool: Pool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import types

    from patentpool import render

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    # What render sees as stdout is a terminal; the CLI's output still goes to the runner.
    monkeypatch.setattr(render, "sys", types.SimpleNamespace(stdout=Terminal(), stderr=io.StringIO()))
    assert "Members" in pool.run("member", "list").stdout  # a table for the person at the terminal
    out = tmp_path / "members.json"
    pool.run("member", "list", "-o", str(out))
    assert [m["id"] for m in json.loads(out.read_text(encoding="utf-8"))]
    out = tmp_path / "log.json"
    pool.run("log", "-o", str(out))
    assert json.loads(out.read_text(encoding="utf-8"))[0]["kind"] == "pool.genesis"
