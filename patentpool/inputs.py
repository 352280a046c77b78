"""Small text files the user hands a command (a kept checkpoint, a verifier key file), read strictly: a file
that is not UTF-8 text, or far too large to be one, is one clear error rather than a decoding traceback."""

from __future__ import annotations

from pathlib import Path

from patentpool.errors import PoolError

# A signed checkpoint or a verifier key is a few hundred bytes; a note with 100 signatures a few kilobytes.
MAX_NOTE_BYTES = 1 << 20


class InputError(PoolError, ValueError):
    """A file given on the command line cannot be what the option needs."""


def read_text(path: Path, what: str) -> str:
    """The text of the small file `path` given as `what` (an option name, for the message)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_NOTE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{what} {path}: {exc.strerror}") from None
    if len(data) > MAX_NOTE_BYTES:
        raise InputError(f"{what} {path}: larger than {MAX_NOTE_BYTES} bytes: not a checkpoint or key")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path}: not UTF-8 text (byte {exc.start})") from None


def key_text(value: str, what: str) -> str:
    """A verifier key string as given (`--vkey`), or the text of the file it names."""
    path = Path(value)
    return read_text(path, what).strip() if path.is_file() else value.strip()
