"""The numba backend: O(n) counting-sort kernels, same output as the numpy oracle.

Computed without any n-length sort, in three passes over the data:

1. labels -> codes (``_numba_factorize``): a hash table per thread, with a fast
   path over runs of equal labels;
2. the block layout of every chunk (``_numba_scatter``, from the placement rule
   of ``_plan``): O(blocks), chunks in parallel;
3. the scatter walk (``_numba_scatter``): every point straight to its output slot,
   its index in index mode, every array's value in copy mode.

Threads, compile options and the compile guard live in ``_jit``; what this
backend allocates, in ``_numba_sizes`` (importable without numba).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._labels import Grouping, index_dtype
from .._plan import ChunkPlan
from ._interface import Backend, Reordered
from ._numba_factorize import BITS, factorize, remap
from ._numba_scatter import Tables
from ._numpy import take


def _kernel_view(a: np.ndarray) -> np.ndarray | None:
    """The array's bytes as native unsigned ints (numba has no big-endian floats)."""
    if a.dtype.itemsize not in BITS or a.dtype.hasobject:
        return None
    return a.view(BITS[a.dtype.itemsize])


class NumbaBackend(Backend):
    """Counting sort and a direct scatter, in parallel over input segments."""

    name = "numba"

    def __init__(self, host: Backend | None = None) -> None:
        del host  # computes everything itself

    def factorize(self, labels: np.ndarray) -> Grouping:
        return factorize(labels)

    def remap(self, codes: np.ndarray, table: np.ndarray) -> np.ndarray:
        return remap(codes, table)

    def order(self, grouping: Grouping, plan: ChunkPlan) -> np.ndarray:
        out = np.empty(plan.n, dtype=index_dtype(plan.n))
        if plan.n:
            Tables(grouping, plan).run(grouping.codes, out)
        return out

    def take(self, array: Any, indices: np.ndarray) -> np.ndarray:
        return take(array, indices)

    def reorder(self, grouping: Grouping, plan: ChunkPlan, arrays: tuple[Any, ...]) -> Reordered:
        """Copy mode: scatter every array straight into its output slot, no permutation."""
        outs = tuple(np.empty(plan.n, dtype=np.asarray(a).dtype) for a in arrays)
        if plan.n == 0 or not arrays:
            return Reordered(outs, None)
        pairs = []
        wide = []
        for a, out in zip(arrays, outs, strict=True):
            view = _kernel_view(np.asarray(a))
            if view is None:
                wide.append((a, out))
            else:
                pairs.append((view, _kernel_view(out)))
        if pairs:
            Tables(grouping, plan).run(grouping.codes, tuple(pairs))
        if not wide:
            return Reordered(outs, None)
        order = self.order(grouping, plan)
        for a, out in wide:  # e.g. complex128: gathered through the permutation
            np.take(a, order, out=out, mode="clip")
        return Reordered(outs, order)


__all__ = ["NumbaBackend"]
