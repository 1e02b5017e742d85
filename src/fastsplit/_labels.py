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
    if labels.dtype == np.bool_:
        labels = labels.view(np.uint8)
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
