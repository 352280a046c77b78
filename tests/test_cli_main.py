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
from patentpool.cash import CashError
from patentpool.errors import PoolError
from patentpool.fields import FieldError
from patentpool.imports import ImportFailed
from patentpool.owners import OwnersError
from patentpool.staleness import StaleError


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
        (ImportFailed, PoolError),
        (OwnersError, PoolError),
        (CashError, PoolError),
        (StaleError, PoolError),
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


# Not under a root on purpose: SplitError is a caller's bug (shown with its class and the --verbose hint),
# _Bad never leaves licenses.numbers.
NOT_FOR_THE_USER = {"patentpool.splits.SplitError", "licenses.numbers._Bad"}


def test_every_error_class_of_a_package_is_under_its_root() -> None:
    # A new error class that is not under its package's root would reach the user as an "unexpected" error
    # with a traceback hint instead of one `Error:` line: cli.py catches only the roots.
    import importlib
    import inspect
    import pkgutil

    roots = {"ledger": LedgerError, "licenses": LicenseError, "patentpool": PoolError}
    stray = []
    for package, root in roots.items():
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__, f"{package}."):
            if info.name.endswith("__main__"):
                continue  # importing it runs the CLI
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if not (inspect.isclass(value) and issubclass(value, Exception)):
                    continue
                if value.__module__ != info.name or f"{info.name}.{name}" in NOT_FOR_THE_USER:
                    continue
                if not issubclass(value, root):
                    stray.append(f"{info.name}.{name}")
    assert stray == [], f"subclass the package's root error (ledger/licenses/patentpool errors.py): {stray}"
