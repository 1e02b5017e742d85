"""The numpy backend: the reference implementation and test oracle.

It states the ordering contract as directly as possible: every point gets its
group, its rank inside the group, its chunk and its place inside the chunk, and
one ``np.lexsort`` puts the points in order. O(n log n), short, obviously right;
every other backend must reproduce its output bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._labels import Grouping, code_dtype, index_dtype, non_finite_error
from .._plan import BLOCK, ChunkPlan
from .._shuffle import permute_ranks
from ._interface import Backend, Inputs, Need, Shape, largest, plus

SORT_BYTES_PER_POINT = {"strided": 65, "contiguous": 56}
"""Peak temporaries of the order pass (int32 permutation included), measured with
tracemalloc on numpy 2.x: the sorts keep several int64 arrays per point."""


PERMUTE_SLICE = 1 << 16
"""Points shuffled at a time by the oracle (the seeded order's temporaries: a few MiB)."""


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


def _shuffled(codes: np.ndarray, plan: ChunkPlan, order: np.ndarray) -> np.ndarray:
    """The seeded order: the place of group g's rank j gets the point of rank sigma_g(j).

    ``order`` is the unseeded order; it says which (group, rank) every place has.
    """
    by_group = np.argsort(codes, kind="stable")  # group g's points: by_group[start_g:][:c_g]
    start = np.cumsum(plan.counts) - plan.counts
    rank = np.empty(plan.n, dtype=np.int64)
    rank[by_group] = np.arange(plan.n) - start[codes[by_group]]
    keys = plan.permutation
    assert keys is not None
    out = np.empty_like(order)
    # in slices, so the shuffle's temporaries stay O(slice), not ~200 bytes per point
    for lo in range(0, plan.n, PERMUTE_SLICE):
        point = order[lo : lo + PERMUTE_SLICE]
        g = codes[point].astype(np.int64)
        j = permute_ranks(rank[point], plan.counts[g], keys[g])
        out[lo : lo + point.size] = by_group[start[g] + j]
    return out


class NumpyBackend(Backend):
    """The oracle: ``np.unique`` for the groups, one ``np.lexsort`` for the order."""

    name = "numpy"

    def __init__(self, host: Backend | None = None) -> None:
        del host  # computes everything itself

    def factorize(self, labels: np.ndarray) -> Grouping:
        if labels.dtype.kind == "f":
            finite = np.isfinite(labels)
            if not finite.all():
                raise non_finite_error(labels, int(np.flatnonzero(~finite)[0]))
            labels = labels + labels.dtype.type(0.0)  # -0.0 + 0.0 == +0.0: one group
        groups, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        codes = inverse.reshape(-1).astype(code_dtype(groups.size))
        return Grouping(codes=codes, groups=groups, counts=counts.astype(np.int64))

    def remap(self, codes: np.ndarray, table: np.ndarray) -> np.ndarray:
        return table[codes]

    def order(self, grouping: Grouping, plan: ChunkPlan) -> np.ndarray:
        if plan.n == 0:
            return np.empty(0, dtype=index_dtype(0))
        group, chunk, within, size = _chunk_and_rank(grouping.codes, plan)
        # Inside a chunk, blocks of BLOCK points are laid out by key i / a (C5).
        key = (within // BLOCK).astype(np.float64) / size
        order = np.lexsort((within, group, key, chunk))
        del group, chunk, within, size, key
        if plan.permutation is not None:
            order = _shuffled(grouping.codes, plan, order)
        return order.astype(index_dtype(plan.n))

    def gather(self, arrays: tuple[Any, ...], indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(take(a, indices) for a in arrays)


def take(array: Any, indices: np.ndarray) -> np.ndarray:
    """``array[indices]`` (rows of a 2-D array) into fresh memory, dtype (and byte order) kept."""
    if array.ndim == 2 and not array.flags.c_contiguous:
        # np.take would first copy the whole input to C order; indexing reads it in place.
        return np.asarray(array)[indices]
    out = np.empty((indices.shape[0], *array.shape[1:]), dtype=array.dtype)
    # mode="clip" skips the bounds check that the default mode pays for (2x faster).
    np.take(array, indices, axis=0, out=out, mode="clip")
    return out


class NumpySizes:
    """What the oracle allocates: its sorts dominate (about 65 bytes per point)."""

    def __init__(self, host: Any = None) -> None:
        del host

    def need(self, shape: Shape, *, code_bytes: int, inputs: Inputs) -> Need:
        n = shape.n
        if n == 0:
            return Need({}, {})
        codes = n * code_bytes
        order = n * index_dtype(n).itemsize
        factorize = {"codes": 2 * codes}  # codes and their remapped copy
        temporaries = n * SORT_BYTES_PER_POINT[shape.layout] + (order - 4 * n)
        index = largest(factorize, {"codes": codes, "sort_temporaries": temporaries})
        outputs = {"outputs": n * sum(inputs.itemsizes)}
        copy = largest(index, plus({"codes": codes, "order": order}, outputs))
        return Need(copy=copy, index=index)


__all__ = ["NumpyBackend", "NumpySizes", "take"]
