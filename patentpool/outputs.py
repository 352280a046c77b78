"""Every file patentpool writes on a user's request (-o FILE, --bundle FILE, export -o, checkpoint -o) goes
through `open_output`, so one set of rules protects the files a pool cannot lose:

- an existing file is replaced only with `--force`;
- the open SQLite database (and its -wal, -shm and -journal files), the --key file, the PATENTPOOL_ROOT_KEY
  file and any file that reads as a patentpool key file are never replaced, even with `--force`;
- the output is written to a temporary file beside the target and renamed over it only once complete, so a
  failed or refused write leaves the old file whole and no half-written one.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ledger.keys import KEY_FILE_FORMAT
from patentpool.errors import PoolError

# A key file is a small JSON document: more than this is not one (and is not read whole to find out).
_KEY_FILE_MAX = 64 << 10
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


class OutputError(PoolError, ValueError):
    """A file the user named cannot or must not be written."""


@dataclass(frozen=True)
class Guard:
    """What the command must not overwrite: `protected` files (the open database, key files) never, any
    other existing file only with `force`."""

    protected: tuple[Path, ...] = ()
    force: bool = False


# The guard of the command running: the CLI sets it (`use_guard`) so that a writer deep in the pool's code
# (an HTML or PDF document) is held to the same rules without the guard passed down to it.
_CURRENT: ContextVar[Guard | None] = ContextVar("patentpool_output_guard", default=None)


@contextmanager
def use_guard(guard: Guard) -> Iterator[None]:
    token = _CURRENT.set(guard)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def guard_for(db_url: str | None, key_paths: Sequence[Path | str | None], force: bool) -> Guard:
    """The guard of a command run on `db_url` with these key files."""
    protected: list[Path] = []
    if db_url:
        from ledger.store import normalise_url, sqlite_path

        try:
            db = sqlite_path(normalise_url(db_url))
        except Exception:  # an unparsable URL has no file to protect; the command reports it itself
            db = None
        if db is not None:
            protected += [db.with_name(db.name + suffix) for suffix in _SQLITE_SIDE_FILES]
    protected += [Path(p) for p in key_paths if p]
    return Guard(tuple(protected), force)


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.abspath(a) == os.path.abspath(b) or a.resolve() == b.resolve()


def is_key_file(path: Path) -> bool:
    """Does `path` read as a patentpool key file (JSON with our format tag)?"""
    try:
        if not path.is_file() or path.stat().st_size > _KEY_FILE_MAX:
            return False
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("format") == KEY_FILE_FORMAT


def check_target(path: Path, guard: Guard) -> None:
    """Raise OutputError unless `path` may be written under `guard`."""
    for protected in guard.protected:
        if _same(path, protected):
            raise OutputError(
                f"{path}: refusing to write over the pool's database or key file (even with --force)"
            )
    if is_key_file(path):
        raise OutputError(f"{path}: refusing to write over a patentpool key file (even with --force)")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory")
    if os.path.lexists(path) and not guard.force:
        raise OutputError(f"{path}: already exists; give --force to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: no such directory {parent}")


@contextmanager
def open_output(path: Path, guard: Guard | None = None, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle on a temporary file beside `path`, renamed to `path` when the block ends without an
    exception (removed otherwise). The target is checked before anything is written and again just before
    the rename (another process may have created it meanwhile). Without `guard`, the running command's."""
    guard = guard if guard is not None else (_CURRENT.get() or Guard())
    check_target(path, guard)
    parent = path.parent if str(path.parent) else Path(".")
    tmp = parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write there: {exc.strerror}") from None
    try:
        if binary:
            handle: IO[Any] = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        check_target(path, guard)
        _publish(tmp, path, guard.force)
    finally:
        tmp.unlink(missing_ok=True)


def _publish(tmp: Path, path: Path, force: bool) -> None:
    if force:
        os.replace(tmp, path)
        return
    # Without --force a hard link publishes the file only if the name is still free: no race can make it
    # replace a file created since the check.
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputError(f"{path}: already exists; give --force to replace it") from None
    except OSError:  # a file system without hard links
        if os.path.lexists(path):
            raise OutputError(f"{path}: already exists; give --force to replace it") from None
        os.replace(tmp, path)


def write_text(path: Path, text: str, guard: Guard | None = None) -> None:
    with open_output(path, guard) as handle:
        handle.write(text)


def check_new_directory(directory: Path) -> None:
    """A directory a command fills with files of its own (`demo DIR`): absent or empty, never one in use."""
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory}: not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        raise OutputError(f"{directory}: not empty; give a new or empty directory")
