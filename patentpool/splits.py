"""Largest-remainder splits of integer cents (spec section 6 step 10), many at a time.

Pure and light: used by the allocation and by `verify-statement`, which must start fast (numpy is imported
only when a split is large enough to need it).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from licenses.money import largest_remainder


class SplitError(ValueError):
    """A split called with nothing to split over: a caller's bug, not a user's input, so deliberately not a
    PoolError (the CLI shows it with its class name and the --verbose hint)."""


def integer_weights(weights: list[Fraction]) -> list[int]:
    """The same proportions as whole numbers, so a split can run in integer arithmetic."""
    den = 1
    for w in weights:
        den = den * w.denominator // math.gcd(den, w.denominator)
    return [w.numerator * (den // w.denominator) for w in weights]


def split_totals(totals: list[int], weights: list[int]) -> list[int]:
    """Column sums of split_rows: what each bucket gets over all the rows (lines) of a group."""
    rows = _split(totals, weights)
    if isinstance(rows, list):
        return [sum(column) for column in zip(*rows, strict=True)] if rows else [0] * len(weights)
    column_sums: list[int] = rows.sum(axis=0).tolist()
    return column_sums


def split_group_totals(groups: list[list[int]], weights: list[int]) -> list[list[int]]:
    """`split_totals` of every group (each a non-empty list of row totals) over the same weights, as one
    vectorised split: an allocation splits thousands of licensees' lines over one country's buckets, and a
    numpy call per licensee cost more than its arithmetic."""
    if any(not group for group in groups):
        raise SplitError("groups: each needs at least one row")
    # Whole groups a chunk at a time: one matrix of every line of a country times its owners would run to
    # gigabytes at a million lines, and a few million cells already make numpy's calls cheap.
    out: list[list[int]] = []
    chunk: list[list[int]] = []
    cells = 0
    for group in groups:
        chunk.append(group)
        cells += len(group) * len(weights)
        if cells >= SPLIT_CELLS:
            out += _split_groups(chunk, weights)
            chunk, cells = [], 0
    if chunk:
        out += _split_groups(chunk, weights)
    return out


SPLIT_CELLS = 1 << 20


def _split_groups(groups: list[list[int]], weights: list[int]) -> list[list[int]]:
    rows = _split([t for group in groups for t in group], weights)
    if isinstance(rows, list):
        out, at = [], 0
        for group in groups:
            part = rows[at : at + len(group)]
            out.append([sum(column) for column in zip(*part, strict=True)])
            at += len(group)
        return out
    import numpy as np

    starts = np.cumsum([0] + [len(group) for group in groups[:-1]])
    sums: list[list[int]] = np.add.reduceat(rows, starts, axis=0).tolist()
    return sums


def split_rows(totals: list[int], weights: list[int]) -> list[list[int]]:
    """largest_remainder(total, weights) for every total, vectorised with numpy where it is exact.

    Each row: floor of each exact share, then one cent each to the largest remainders, ties to the earlier
    column: the same as licenses.money.largest_remainder, checked by the tests. int64 is exact while
    total x sum(weights) < 2^62; otherwise (or for negative totals) each row goes through Python integers.
    """
    rows = _split(totals, weights)
    result: list[list[int]] = rows if isinstance(rows, list) else rows.tolist()
    return result


def _split(totals: list[int], weights: list[int]) -> Any:
    weight_sum = sum(weights)
    if not totals:
        return []
    if weight_sum <= 0 or min(weights) < 0:
        raise SplitError("weights: nothing to split over")
    if min(totals) < 0 or max(totals) * weight_sum >= 2**62 or len(totals) * len(weights) < 64:
        return [largest_remainder(t, weights) if t else [0] * len(weights) for t in totals]
    import numpy as np  # pandas' own array library; imported only where volume matters

    t = np.asarray(totals, dtype=np.int64)[:, None]
    w = np.asarray(weights, dtype=np.int64)[None, :]
    product = t * w
    base = product // weight_sum
    remainder = product - base * weight_sum
    left = t[:, 0] - base.sum(axis=1)
    order = np.argsort(-remainder, axis=1, kind="stable")  # stable: equal remainders keep column order
    bonus = np.arange(len(weights))[None, :] < left[:, None]
    rows = np.arange(len(totals))[:, None]
    base[rows, order] += bonus
    return base
