"""Labels -> grouping for the entry points, and the grouping behind each plan.

:func:`group` validates the labels and has the backend factorize them (with
``decimals`` rounding and ``atol`` merging), or takes group-major run lengths, or
the grouping a plan was made from: :func:`fastsplit.plan` remembers it
(:func:`remember`) so that ``stratify(plan, ...)`` does not read the labels again.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _validate as v
from ._labels import (
    VALUE_KINDS,
    Grouping,
    categorical_parts,
    code_dtype,
    encode,
    from_group_sizes,
    merge_close,
    missing_value_error,
    prepare_labels,
)
from ._plan import ChunkPlan
from .backends import serve
from .backends._interface import Backend
from .errors import InvalidArgumentError, InvalidLabelsError, LengthMismatchError

__all__ = ["group", "group_labels", "remember"]


def group(
    labels: Any,
    n_hint: int | None,
    *,
    decimals: int | None,
    atol: float | None,
    group_sizes: Sequence[int] | np.ndarray | None,
    backend: Backend,
) -> Grouping:
    """Labels, group sizes or a plan from :func:`fastsplit.plan` -> codes, groups, counts."""
    if isinstance(labels, ChunkPlan):
        return _grouping_of(labels, n_hint, decimals=decimals, atol=atol, group_sizes=group_sizes)
    if labels is None:
        if group_sizes is None:
            raise InvalidArgumentError(
                "labels is None: pass the group label of every point, or group_sizes=[...] "
                "with the length of each group-major run."
            )
        return from_group_sizes(v.check_group_sizes(group_sizes, n_hint))
    if group_sizes is not None:
        raise InvalidArgumentError(
            "pass labels or group_sizes, not both (group_sizes replaces labels for "
            "group-major data: stratify(None, *arrays, group_sizes=[...]))."
        )
    categorical = categorical_parts(labels)
    labels = v.check_labels(categorical[0] if categorical else labels, values=True)
    if n_hint is not None and labels.shape[0] != n_hint:
        raise LengthMismatchError(
            f"labels have {labels.shape[0]} points but arrays[0] has {n_hint}; every "
            "array must have one value per label (flatten all arrays in the same order)."
        )
    if categorical is not None or labels.dtype.kind in VALUE_KINDS:
        return _group_values(labels, categorical, decimals=decimals, atol=atol, backend=backend)
    grouping = backend.factorize(prepare_labels(labels, decimals))
    if atol is not None:
        grouping = merge_close(grouping, atol, backend.remap)
    return grouping


def _group_values(
    labels: np.ndarray,
    categorical: tuple[np.ndarray, np.ndarray] | None,
    *,
    decimals: int | None,
    atol: float | None,
    backend: Backend,
) -> Grouping:
    """Strings, objects or a pandas categorical: codes in sorted order, then the usual path.

    The codes go through the backend's ``factorize`` like integer labels (so the
    order is the one of these codes, bit for bit); the groups are then the values.
    """
    if decimals is not None or atol is not None:
        raise InvalidArgumentError(
            f"decimals= and atol= merge near-equal numeric labels; these labels are "
            f"{'categorical' if categorical else labels.dtype}, grouped by equal values. "
            "Drop decimals/atol, or pass numeric labels."
        )
    if categorical is None:
        codes, values = encode(labels)
    else:
        codes, values = _categorical_codes(*categorical)
    grouping = backend.factorize(codes.astype(code_dtype(values.size), copy=False))
    return dataclasses.replace(grouping, groups=values[grouping.groups])


def _categorical_codes(codes: np.ndarray, categories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A categorical's codes renumbered in the sorted order of the categories present.

    O(n) for the codes (a count and one table lookup), O(G log G) for the sort: the
    values themselves are never read point by point.
    """
    if codes.size and int(codes.min()) < 0:
        raise missing_value_error(int(np.count_nonzero(codes < 0)), "NaN")
    counts = np.bincount(codes, minlength=categories.size) if codes.size else codes[:0]
    used = np.flatnonzero(counts)
    present = categories[used]
    try:
        rank = np.argsort(present, kind="stable")
    except TypeError as exc:
        raise InvalidLabelsError(
            f"the categories of labels cannot be sorted ({exc}); groups are reported in "
            "sorted order. Use categories of one type, e.g. labels.astype(str)."
        ) from None
    table = np.zeros(categories.size, dtype=np.int64)
    table[used[rank]] = np.arange(rank.size)
    return table[codes], present[rank]


def _grouping_of(
    counted: ChunkPlan,
    n_hint: int | None,
    *,
    decimals: int | None,
    atol: float | None,
    group_sizes: Any,
) -> Grouping:
    """The grouping a plan was made from: its labels are not read again."""
    if decimals is not None or atol is not None or group_sizes is not None:
        raise InvalidArgumentError(
            "labels is a plan: its labels were grouped by fastsplit.plan(), with the "
            "decimals/atol/group_sizes given there; do not pass them again."
        )
    if n_hint is not None and counted.n != n_hint:
        raise LengthMismatchError(
            f"the plan has {counted.n} points but arrays[0] has {n_hint}; pass the plan of "
            "these arrays' labels."
        )
    grouping = _GROUPINGS.get(counted)
    if grouping is None:  # planned from group sizes: the codes are the runs
        return from_group_sizes(counted.counts)
    return grouping


# The grouping behind each plan that plan() made, for stratify(plan) to reuse; held
# only as long as the plan itself lives.
_GROUPINGS: weakref.WeakKeyDictionary[ChunkPlan, Grouping] = weakref.WeakKeyDictionary()


def remember(counted: ChunkPlan, grouping: Grouping) -> None:
    """Keep the grouping ``counted`` was made from, for as long as the plan lives."""
    _GROUPINGS[counted] = grouping


def group_labels(labels: Any, *, backend: str) -> Grouping:
    """The validated grouping of ``labels`` (codes, groups, counts), for callers that keep it.

    :func:`fastsplit.batches` groups its labels once and orders them once per epoch;
    it holds the grouping itself, so a copied or pickled sampler keeps it.
    """
    n = len(labels) if hasattr(labels, "__len__") else 0
    kernels = serve(backend, (), n)[1]
    return group(labels, None, decimals=None, atol=None, group_sizes=None, backend=kernels)
