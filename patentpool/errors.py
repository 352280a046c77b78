"""The pool package's root error: every refusal the pool's code raises for the user is a PoolError.

A caller (the CLI) catches this one class to print one `Error:` line; the subclasses (FieldError,
AllocationError, AwardsError, BooksError, BundleError, CashError, StaleError, ImportFailed) say which part
refused.
`SplitError` is deliberately not one: it means a caller passed a split nothing to split over, a bug to be
shown as one.
"""

from __future__ import annotations


class PoolError(Exception):
    """A refusal the user can act on; the CLI prints it as one `Error:` line."""
