"""The numpy backend: the reference implementation and test oracle.

It states the ordering contract as directly as possible: every point gets its
group, its rank inside the group, its chunk and its place inside the chunk, and
one ``np.lexsort`` puts the points in order. O(n log n), short, obviously right;
every other backend must reproduce its output bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._labels import Grouping, code_dtype, index_dtype, non_finite_error
from .._plan import BLOCK, ChunkPlan

name = "numpy"


def factorize(labels: np.ndarray) -> Grouping:
    """Ascending unique labels, counts and per-point codes."""
    if labels.dtype.kind == "f":
        finite = np.isfinite(labels)
        if not finite.all():
            raise non_finite_error(labels, int(np.flatnonzero(~finite)[0]))
        labels = labels + labels.dtype.type(0.0)  # -0.0 + 0.0 == +0.0: one group
    groups, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    codes = inverse.reshape(-1).astype(code_dtype(groups.size))
    return Grouping(codes=codes, groups=groups, counts=counts.astype(np.int64))


def remap(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[codes]``."""
    return table[codes]


def _chunk_and_rank(codes: np.ndarray, plan: ChunkPlan) -> tuple[np.ndarray, ...]:
    """Per point: group, chunk, rank within (chunk, group), points of its group in its chunk."""
    group = codes.astype(np.int64)
    by_group = np.argsort(group, kind="stable")
    group_start = np.cumsum(plan.counts) - plan.counts
    rank = np.empty(plan.n, dtype=np.int64)
    rank[by_group] = np.arange(plan.n) - group_start[group[by_group]]
    n_chunks = plan.n_chunks
    if plan.layout == "strided":
        # Ranks step by K inside a chunk: a systematic sample of the group (C4).
        slot = rank % n_chunks
        chunk = plan.chunk_of_slot(slot, group)
        within = rank // n_chunks
        size = plan.pair_count(slot, group)
    else:
        # Each chunk takes the next consecutive run of the group's points.
        matrix = plan.counts_matrix
        ends = np.cumsum(matrix, axis=0).T + (np.arange(plan.n_groups) * (plan.n + 1))[:, None]
        flat_pos = np.searchsorted(ends.ravel(), rank + group * (plan.n + 1), side="right")
        chunk = flat_pos - group * n_chunks
        within = rank - plan.contiguous_starts[chunk, group]
        size = matrix[chunk, group]
    return group, chunk, within, size


def order(grouping: Grouping, plan: ChunkPlan) -> np.ndarray:
    """The stratified permutation: ``order[p]`` is the input index of output point p."""
    if plan.n == 0:
        return np.empty(0, dtype=index_dtype(0))
    group, chunk, within, size = _chunk_and_rank(grouping.codes, plan)
    # Inside a chunk, blocks of BLOCK points are laid out by key i / a (C5).
    key = (within // BLOCK).astype(np.float64) / size
    return np.lexsort((within, group, key, chunk)).astype(index_dtype(plan.n))


def take(array: Any, indices: np.ndarray) -> np.ndarray:
    """``array[indices]`` into fresh memory, dtype (and byte order) preserved."""
    out = np.empty(indices.shape[0], dtype=array.dtype)
    np.take(array, indices, out=out, mode="clip")
    return out


def reorder(
    grouping: Grouping, plan: ChunkPlan, arrays: tuple[Any, ...], order_cache: Callable[[], Any]
) -> tuple[np.ndarray, ...]:
    """Copy mode: every array in stratified order (the permutation, then one gather each)."""
    permutation = order_cache()
    return tuple(take(a, permutation) for a in arrays)
