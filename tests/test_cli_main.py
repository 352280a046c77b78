"""The CLI's one error handler: each package's root error, caught once, is one `Error:` line; `--verbose`
(read as a Click option, not from sys.argv) shows the traceback instead. No pool is built: fast."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from ledger.checkpoint import NoteError
from ledger.entry import EntryError
from ledger.errors import LedgerError
from ledger.keyring import KeyringError
from ledger.keys import KeyFileError, VerifierKeyError
from ledger.merkle import ProofError
from ledger.store import StoreError
from licenses.errors import LicenseError, TermError
from patentpool.allocation import AllocationError
from patentpool.books import BooksError
from patentpool.bundles import BundleError
from patentpool.errors import PoolError
from patentpool.fields import FieldError
from patentpool.imports import ImportFailed
from patentpool.member_view import ViewError
from patentpool.owners import OwnersError


@pytest.mark.parametrize(
    ("error", "root"),
    [
        (EntryError, LedgerError),
        (NoteError, LedgerError),
        (KeyringError, LedgerError),
        (KeyFileError, LedgerError),
        (VerifierKeyError, LedgerError),
        (ProofError, LedgerError),
        (StoreError, LedgerError),
        (TermError, LicenseError),
        (FieldError, PoolError),
        (AllocationError, PoolError),
        (BooksError, PoolError),
        (BundleError, PoolError),
        (ViewError, PoolError),
        (ImportFailed, PoolError),
        (OwnersError, PoolError),
    ],
)
def test_every_user_error_is_under_its_package_root(error: type[Exception], root: type[Exception]) -> None:
    assert issubclass(error, root)


def test_the_value_errors_stay_value_errors() -> None:
    # Code that catches ValueError around parsing keeps catching them.
    for error in (EntryError, NoteError, KeyringError, VerifierKeyError, TermError, FieldError, BundleError):
        assert issubclass(error, ValueError)


def test_a_root_error_is_one_line_and_verbose_shows_the_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'pool.db'}"
    quiet = CliRunner().invoke(main, ["--db", url, "log"], env={"PATENTPOOL_VERBOSE": ""})
    assert quiet.exit_code == 1
    assert quiet.stderr == f"Error: no pool ledger in {url}: run `patentpool init` first\n"

    # The option given on the command line (whatever sys.argv holds: here, pytest's) lets the error through.
    loud = CliRunner().invoke(main, ["--verbose", "--db", url, "log"], env={"PATENTPOOL_VERBOSE": ""})
    assert isinstance(loud.exception, StoreError)
    assert "no pool ledger" in str(loud.exception)
