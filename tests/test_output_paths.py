"""Output files (patentpool.outputs): -o FILE, --bundle FILE, export -o and checkpoint -o never replace an
existing file without --force, never the open database or a key file even with it, and a failed write leaves
the old file whole. `demo DIR` needs an empty directory. Output paths do not depend on the backend: SQLite
(the backend whose database is a file that could be overwritten)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import Pool, build_example

from patentpool import outputs


@pytest.fixture
def pool(tmp_path: Path, pool_factory: Any) -> Pool:
    made: Pool = pool_factory(f"sqlite:///{tmp_path / 'pool.db'}")
    made.run("member", "add", "A", "--name", "Aurora", "--role", "both")
    return made


def one_error(result: Any, *phrases: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return str(lines[0])


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith((".tmp", ".partial")))


def test_an_existing_file_is_replaced_only_with_force(pool: Pool) -> None:
    target = pool.write("members.json", "kept by someone\n")
    one_error(pool.run("member", "list", "-o", str(target), expect=1), "already exists", "--force")
    assert target.read_text(encoding="utf-8") == "kept by someone\n"
    pool.run("member", "list", "-o", str(target), "--force")
    assert '"Aurora"' in target.read_text(encoding="utf-8")
    fresh = pool.workdir / "fresh.json"
    pool.run("member", "list", "-o", str(fresh))
    assert fresh.read_text(encoding="utf-8") == target.read_text(encoding="utf-8")
    assert leftovers(pool.workdir) == []


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_the_open_database_is_never_an_output(pool: Pool, suffix: str) -> None:
    db = pool.workdir / f"pool.db{suffix}"
    before = db.read_bytes() if db.exists() else None
    for extra in ([], ["--force"]):
        one_error(pool.run("member", "list", "-o", str(db), *extra, expect=1), "database or key file")
    assert (db.read_bytes() if db.exists() else None) == before
    pool.run("verify")


def test_a_key_file_is_never_an_output(pool: Pool) -> None:
    before = pool.key.read_bytes()
    for extra in ([], ["--force"]):
        one_error(pool.run("member", "list", "-o", str(pool.key), *extra, expect=1), "key file")
        one_error(pool.run("key", "show", "-o", str(pool.key), *extra, expect=1), "key file")
    # Any file that reads as a patentpool key file, under any name, even one the command was not given.
    spare = pool.workdir / "backup.json"
    shutil.copy(pool.key, spare)
    one_error(pool.run("checkpoint", "-o", str(spare), "--force", expect=1), "key file")
    assert pool.key.read_bytes() == before and spare.read_bytes() == before
    # The root key named by PATENTPOOL_ROOT_KEY too, even when it does not exist yet.
    pool.env["PATENTPOOL_ROOT_KEY"] = str(pool.workdir / "root.key")
    one_error(pool.run("checkpoint", "-o", str(pool.workdir / "root.key"), expect=1), "key file")
    assert not (pool.workdir / "root.key").exists()


def test_checkpoint_export_and_bundle_outputs_are_guarded(tmp_path: Path, pool_factory: Any) -> None:
    pool: Pool = pool_factory(f"sqlite:///{tmp_path / 'pool.db'}")
    build_example(pool)
    # A writer checks its -o before it appends: a refused output appends nothing.
    taken, size = pool.write("taken.json", "x\n"), pool.size_and_root()[0]
    allocate = ["allocate", "--program", "XR", "--period", "2025Q1"]
    one_error(pool.run(*allocate, "-o", str(taken), expect=1), "already exists")
    assert pool.size_and_root()[0] == size and taken.read_text(encoding="utf-8") == "x\n"
    pool.run(*allocate, "-o", str(pool.workdir / "allocation.json"))
    assert pool.size_and_root()[0] > size  # the allocation's entries (summary and parts)
    kept = pool.write("kept.cp", "a member's kept checkpoint\n")
    one_error(pool.run("checkpoint", "-o", str(kept), expect=1), "already exists")
    assert kept.read_text(encoding="utf-8") == "a member's kept checkpoint\n"
    export = pool.write("ledger.jsonl", "old export\n")
    one_error(pool.run("export", "-o", str(export), expect=1), "already exists")
    assert export.read_text(encoding="utf-8") == "old export\n"
    pool.run("export", "-o", str(export), "--force")
    assert export.read_text(encoding="utf-8").count("\n") == pool.size_and_root()[0]
    bundle = pool.write("bundle.json", "old bundle\n")
    args = ["statement", "--member", "C", "--period", "2025Q1", "--bundle", str(bundle)]
    one_error(pool.run(*args, "-f", "json", expect=1), "already exists")
    assert bundle.read_text(encoding="utf-8") == "old bundle\n"
    pool.run(*args, "-f", "json", "--force")
    assert json.loads(bundle.read_text(encoding="utf-8"))["kind"] == "statement"
    # The statement's -o is checked before the bundle is written: nothing is written when either is refused.
    bundle2 = pool.workdir / "bundle2.json"
    cmd = ["statement", "--member", "C", "--period", "2025Q1", "--bundle", str(bundle2), "-o", str(taken)]
    one_error(pool.run(*cmd, expect=1), "taken.json", "already exists")
    assert not bundle2.exists()
    assert leftovers(pool.workdir) == []


def test_export_into_a_missing_directory_is_one_clean_line(pool: Pool) -> None:
    target = pool.workdir / "missing" / "dir" / "ledger.jsonl"
    line = one_error(pool.run("export", "-o", str(target), expect=1), "no such directory")
    assert ".partial" not in line and ".tmp" not in line
    assert not (pool.workdir / "missing").exists()


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("the old report\n", encoding="utf-8")
    guard = outputs.Guard(force=True)
    with pytest.raises(RuntimeError), outputs.open_output(target, guard) as handle:
        handle.write("half of the new rep")
        raise RuntimeError("the disk filled up")
    assert target.read_text(encoding="utf-8") == "the old report\n"
    assert leftovers(tmp_path) == []
    with outputs.open_output(target, guard) as handle:
        handle.write("the new report\n")
    assert target.read_text(encoding="utf-8") == "the new report\n"


def test_a_file_created_meanwhile_is_not_replaced_without_force(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    refused = pytest.raises(outputs.OutputError, match="already exists")
    with refused, outputs.open_output(target, outputs.Guard()) as handle:
        handle.write("mine\n")
        target.write_text("theirs\n", encoding="utf-8")  # another process, between check and rename
    assert target.read_text(encoding="utf-8") == "theirs\n"
    assert leftovers(tmp_path) == []


def test_a_symlink_to_the_database_is_refused(pool: Pool) -> None:
    link = pool.workdir / "innocent.json"
    os.symlink(pool.workdir / "pool.db", link)
    one_error(pool.run("member", "list", "-o", str(link), "--force", expect=1), "database or key file")
    pool.run("verify")


def test_demo_needs_an_empty_directory(pool: Pool, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "members.csv").write_text("id,name,role\nA,Mine,both\n", encoding="utf-8")
    one_error(pool.run("demo", str(busy), expect=1), "not empty")
    assert (busy / "members.csv").read_text(encoding="utf-8") == "id,name,role\nA,Mine,both\n"
    afile = pool.write("plain.txt", "x")
    assert "is a file" in pool.run("demo", str(afile), expect=2).stderr  # click refuses it as usage
    with pytest.raises(outputs.OutputError, match="not a directory"):
        outputs.check_new_directory(afile)
