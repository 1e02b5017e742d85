"""Labels -> group codes: the parts every backend shares.

A backend's ``factorize`` turns labels into ascending unique values, their
counts and one compact code per point. This module owns what must be identical
everywhere: which label values are the same group (-0.0 and 0.0 are one group;
NaN and inf are refused), rounding with ``decimals``, merging with ``atol``,
run lengths given as ``group_sizes``, and the width of the code type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .errors import InvalidArgumentError, InvalidLabelsError


@dataclass(frozen=True)
class Grouping:
    """Labels resolved to groups.

    ``codes[i]`` is the index in ``groups`` of point i's group. ``scatter_hint`` is
    opaque: what a backend's factorize learned that its own scatter can reuse (the
    numba backend leaves its per-thread segment counts, so the scatter need not count
    again); other code never reads it. ``cache``, when a dict, is where a backend
    keeps what it derives from the codes and would otherwise compute again on every
    call with this grouping (the numba backend: the member lists and the block
    layout of a seeded order, which a sampler's epochs share); ``None`` keeps nothing.
    """

    codes: np.ndarray
    groups: np.ndarray
    counts: np.ndarray
    scatter_hint: Any = None
    cache: dict[Any, Any] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def mixed(self) -> bool:
        """:func:`short_runs` of the codes, judged once (the model and the backend ask)."""
        return short_runs(self.codes)


def code_dtype(n_groups: int) -> np.dtype:
    """Smallest unsigned integer type that holds codes 0 .. n_groups - 1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n_groups <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def index_dtype(n: int) -> np.dtype:
    """int32 positions while they fit, int64 beyond 2**31 - 1 points."""
    return np.dtype(np.int32 if n < 2**31 else np.int64)


def non_finite_error(labels: np.ndarray, position: int) -> InvalidLabelsError:
    """The error for a NaN or infinite label at ``position``."""
    bad = int(np.count_nonzero(~np.isfinite(labels)))
    return InvalidLabelsError(
        f"labels contain {bad} NaN or infinite value(s), first at index {position} "
        f"(value {labels[position]!r}); a NaN angle belongs to no group. Drop those points "
        "first, e.g. keep = np.isfinite(labels); labels, *arrays = labels[keep], "
        "*(a[keep] for a in arrays)."
    )


def prepare_labels(labels: np.ndarray, decimals: int | None) -> np.ndarray:
    """Labels in native byte order, rounded to ``decimals`` if asked (copy only then)."""
    if not labels.dtype.isnative:
        labels = labels.astype(labels.dtype.newbyteorder("="))
    if decimals is not None and labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            raise non_finite_error(labels, int(np.flatnonzero(~np.isfinite(labels))[0]))
        with np.errstate(over="ignore", invalid="ignore"):
            labels = np.round(labels, decimals)
        if not np.isfinite(labels).all():  # x * 10**decimals overflowed
            raise InvalidArgumentError(
                f"decimals={decimals} is too many for these labels: rounding them overflows "
                f"{labels.dtype}. Use fewer decimals (the labels' own precision is about 15 "
                "significant digits)."
            )
    return labels


def merge_close(grouping: Grouping, atol: float, remap: object) -> Grouping:
    """Merge groups whose ascending labels differ by at most ``atol`` (chained).

    Each merged group is labelled by its smallest member. ``remap(codes, table)``
    is the backend's O(n) relabelling pass.
    """
    groups = grouping.groups
    if groups.size < 2:
        return grouping
    new_cluster = np.diff(groups.astype(np.float64)) > atol
    if new_cluster.all():
        return grouping
    cluster = np.concatenate(([0], np.cumsum(new_cluster)))
    first = np.concatenate(([True], new_cluster))
    n_merged = int(cluster[-1]) + 1
    counts = np.bincount(cluster, weights=grouping.counts, minlength=n_merged).astype(np.int64)
    table = cluster.astype(code_dtype(n_merged))
    codes = remap(grouping.codes, table)  # type: ignore[operator]
    return Grouping(codes=codes, groups=groups[first], counts=counts)


def from_group_sizes(sizes: np.ndarray) -> Grouping:
    """Group-major run lengths -> codes 0..G-1 (empty runs keep their code)."""
    n_groups = sizes.size
    codes = np.repeat(np.arange(n_groups, dtype=code_dtype(n_groups)), sizes)
    return Grouping(codes=codes, groups=np.arange(n_groups, dtype=np.int64), counts=sizes)


SAMPLE_WINDOWS = 16
"""Windows of the codes :func:`short_runs` looks at (1024 codes each, spread evenly)."""


def short_runs(codes: np.ndarray) -> bool:
    """Whether the labels come in short runs (mixed order), judged from a sample.

    Up to 16 windows of 1024 codes, spread over the input: runs of fewer than 16
    points on average (a block of the placement rule) mean the points of a group
    are scattered through the input. The numba backend then fills the order from
    each group's member list instead of scattering point by point (for labels in
    random order at 23M points, about 4x faster, for one more index a point). A
    pure function of the codes, so a backend and the memory model agree on it;
    either answer gives the same order.

    Examples
    --------
    >>> short_runs(np.repeat(np.arange(3, dtype=np.uint8), 5000))
    False
    >>> short_runs(np.random.default_rng(0).integers(0, 3, 15000).astype(np.uint8))
    True
    """
    n = codes.shape[0]
    width = 1024
    if n < 2:
        return False
    starts = np.unique(np.linspace(0, max(n - width, 0), SAMPLE_WINDOWS).astype(np.int64))
    sampled = changes = 0
    for lo in starts.tolist():
        window = codes[lo : lo + width]
        changes += int(np.count_nonzero(window[1:] != window[:-1]))
        sampled += window.shape[0]
    return sampled < 16 * (changes + len(starts))


# -- labels that are not numbers ----------------------------------------------------

VALUE_KINDS = "USOMm"
"""dtype kinds grouped by their values: strings, bytes, Python objects, dates and durations.

Numeric labels (``fiub``) go to the backend's ``factorize`` as they are (its fast
paths); these are first turned into integer codes in the sorted order of their
values, once, and the codes then go the same way.
"""


def categorical_parts(labels: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, categories)`` of a pandas Categorical or categorical Series, else None.

    Read through their attributes (pandas is never imported): the codes are small
    integers already, so no pass over the values is needed.
    """
    if isinstance(labels, np.ndarray) or not type(labels).__module__.startswith("pandas"):
        return None  # at once: a numpy dtype's name is built on every read (~5 us)
    dtype = getattr(labels, "dtype", None)
    if getattr(dtype, "name", None) != "category":
        return None
    cat = getattr(labels, "cat", labels)  # a Series holds its Categorical behind .cat
    codes, categories = getattr(cat, "codes", None), getattr(cat, "categories", None)
    if codes is None or categories is None:
        return None
    return np.asarray(codes), np.asarray(categories)


def missing_value_error(count: int, example: Any) -> InvalidLabelsError:
    """The error for missing labels (None, NaN, pandas NA, NaT)."""
    return InvalidLabelsError(
        f"labels contain {count} missing value(s) ({example!r}); a missing label belongs to "
        "no group. Drop those points first (with pandas: df = df.dropna(subset=['label'])), "
        "or give them a group of their own, e.g. labels.fillna('unknown')."
    )


def encode(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels of a :data:`VALUE_KINDS` dtype -> (integer codes, sorted distinct values).

    ``values[codes]`` equals ``labels``; the codes number the values in their sorted
    order, so grouping the codes gives the same groups, in the same order, as the
    values themselves. One ``np.unique`` (a sort: O(n log n)).

    Examples
    --------
    >>> codes, values = encode(np.array(["north", "south", "north", "east"]))
    >>> codes.tolist(), values.tolist()
    ([1, 2, 1, 0], ['east', 'north', 'south'])
    """
    try:
        values, inverse = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        _refuse_missing(labels)
        raise InvalidLabelsError(
            f"labels of dtype {labels.dtype} cannot be sorted ({exc}); groups are reported "
            "in sorted order, so every label must compare with every other. Use one type "
            "for all of them, e.g. labels.astype(str)."
        ) from None
    if labels.dtype.kind in "OMm":
        if any(_is_missing(value) for value in values.tolist()):
            _refuse_missing(labels)
        if labels.dtype.kind == "O":
            for value in values.tolist():
                _check_hashable(value)
    return inverse.reshape(-1), values


def _is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas.NA (which refuses to be a bool)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: "boolean value of NA is ambiguous"
        return True


def _refuse_missing(labels: np.ndarray) -> None:
    """Raise :func:`missing_value_error` when any label is missing (a pass in Python)."""
    items = labels.tolist() if labels.dtype.kind == "O" else labels
    missing = [value for value in items if _is_missing(value)]
    if missing:
        raise missing_value_error(len(missing), missing[0])


def _check_hashable(value: Any) -> None:
    try:
        hash(value)
    except TypeError as exc:
        raise InvalidLabelsError(
            f"labels hold unhashable values such as {value!r} ({exc}); a label must be a "
            "hashable value (str, int, float, tuple). Convert them first, e.g. "
            "labels = np.array([str(x) for x in labels])."
        ) from None
