"""The result of :func:`fastsplit.dask.stratify`: lazy arrays and an eager plan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .._plan import ChunkPlan
from .._result import Diagnostics, PlanView


class DaskStratified(PlanView):
    """Dask arrays in stratified order, cut into blocks of whole chunks.

    Returned by :func:`fastsplit.dask.stratify`; see there for an example. The plan
    (``bounds``, ``groups``, ``counts``, the block sizes) is known now; the arrays
    are computed when asked for, block by block.

    Attributes
    ----------
    arrays : tuple of dask.array.Array
        The reordered arrays, same dtypes; block j holds chunks
        ``j * chunks_per_block`` to ``(j + 1) * chunks_per_block - 1``.
    bounds : numpy.ndarray
        Chunk offsets (int64, length K + 1), as in memory.
    block_bounds : numpy.ndarray
        Offsets of the output blocks (int64): ``bounds[::chunks_per_block]`` and n.
    groups, counts : numpy.ndarray
        Group labels (ascending) and points per group.
    chunks_per_block, layout, backend : int, str, str
        What was asked for and which kernels run on the workers.
    diagnostics : Diagnostics
        As in memory; ``seconds`` is the count pass and planning (the reordering
        itself is lazy), ``memory_bytes`` the size of all output arrays together.
    """

    def __init__(
        self,
        *,
        plan: ChunkPlan,
        arrays: tuple[Any, ...],
        chunks_per_block: int,
        backend: str,
        seconds: float,
    ) -> None:
        self._plan = plan
        self.arrays = arrays
        self.chunks_per_block = chunks_per_block
        self.backend = backend
        memory = sum(int(a.nbytes) for a in arrays)
        self.diagnostics = Diagnostics.from_plan(plan, seconds, memory, "dask", backend)

    @property
    def block_bounds(self) -> np.ndarray:
        return np.append(self._plan.bounds[: -1 : self.chunks_per_block], self._plan.n)

    def chunks(self) -> Iterator[tuple[np.ndarray, ...]]:
        """Yield one tuple of NumPy arrays per chunk, an output block at a time.

        The arrays are persisted first (on the cluster's workers with a
        ``dask.distributed`` client, else in this process), so that the split runs
        once and not once per block; then each block is fetched when reached.
        """
        import dask

        bounds = self._plan.bounds
        if not self.arrays:
            for _ in range(self._plan.n_chunks):
                yield ()
            return
        arrays = dask.persist(*self.arrays)
        step = self.chunks_per_block
        for j, k0 in enumerate(range(0, self._plan.n_chunks, step)):
            values = dask.compute(*(a.blocks[j] for a in arrays))
            for k in range(k0, min(k0 + step, self._plan.n_chunks)):
                lo, hi = int(bounds[k] - bounds[k0]), int(bounds[k + 1] - bounds[k0])
                yield tuple(x[lo:hi] for x in values)

    def report(self) -> str:
        """Readable text report of :attr:`diagnostics`."""
        return self.diagnostics.report()

    def __repr__(self) -> str:
        plan = self._plan
        return (
            f"DaskStratified(n={plan.n}, groups={plan.n_groups}, chunks={plan.n_chunks}, "
            f"blocks={self.block_bounds.size - 1}, layout={plan.layout!r}, "
            f"backend={self.backend!r})"
        )


__all__ = ["DaskStratified"]
