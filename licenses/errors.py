"""Errors raised by the licence-terms values."""

from __future__ import annotations


class LicenseError(Exception):
    """The licenses package's root error: every error it raises for the user is a LicenseError."""


class TermError(LicenseError, ValueError):
    """A licence term, amount, rate, date rule or patent number that cannot be accepted.

    The message names the field and the offending value but not the file or line: the caller knows where
    the value came from and prefixes that, so one message reads well from the CLI, a CSV import and tests.
    """
