"""The full-data objective of a fit on dask arrays: a map over the blocks, a tree sum.

Each call maps the compiled pass of ``fastsplit._fit._kernels`` over the persisted
blocks (``_fit_blocks``) and sums the results in a tree of :data:`FAN_IN`
terms per task, on the active scheduler (``dask.compute``: the distributed client
when one is active, else dask's default). Only ``P x P``-sized terms travel; the
client assembles the normal equations and the solver steps there. Exact sums do
not depend on the order of points, so the result is the in-memory one to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._fit._normal import NormalEquations, assemble
from ._fit_blocks import KernelSpec, add_terms, block_cluster_scores, block_cost, block_normal

__all__ = ["FAN_IN", "DaskObjective"]

FAN_IN = 8
"""Terms summed by one task of the tree."""


class DaskObjective:
    """Cost and exact normal equations over persisted blocks (``n_cost``, ``n_jac``: passes)."""

    def __init__(
        self, blocks: tuple[Any, ...], spec: KernelSpec, clusters: tuple[Any, ...] = ()
    ) -> None:
        self.blocks = blocks
        self.clusters = clusters
        self.spec = spec
        self.layout = spec.layout
        self.n_cost = 0
        self.n_jac = 0
        self.devices: tuple[Any, ...] = ()
        """None of this process's: the passes run on the workers, one device each."""

    def _total(self, per_block: Callable[..., Any], flat: np.ndarray, *extra: Any) -> Any:
        import dask

        flat = np.asarray(flat, dtype=np.float64)
        parts = [
            dask.delayed(per_block, pure=False)(self.spec, b, flat, *extra) for b in self.blocks
        ]
        while len(parts) > 1:
            parts = [
                dask.delayed(add_terms, pure=False)(*parts[i : i + FAN_IN])
                for i in range(0, len(parts), FAN_IN)
            ]
        (total,) = dask.compute(parts[0])
        return total

    def cost(self, flat: np.ndarray) -> float:
        """The (robust) cost over every point."""
        self.n_cost += 1
        return float(self._total(block_cost, flat))

    def normal(self, flat: np.ndarray) -> NormalEquations:
        """Exact ``J^T J``, ``J^T r`` and cost over every point."""
        self.n_jac += 1
        a, b, cm, bs, bg, cost = self._total(block_normal, flat)
        return assemble(self.layout, a, b, cm, bs, bg, cost=float(cost))

    def cluster_scores(
        self, flat: np.ndarray, sizes: tuple[int, ...], codes: tuple[Any, ...] | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per cluster term, the scores summed per cluster: per block on the workers,
        tree-summed like the normal equations (``codes`` must be ``None``: the
        persisted code stacks of the blocks are used)."""
        import dask

        if codes is not None:
            raise RuntimeError("a Dask fit takes its cluster codes from the blocks")
        self.n_jac += 1
        flat = np.asarray(flat, dtype=np.float64)
        parts = [
            dask.delayed(block_cluster_scores, pure=False)(self.spec, b, c, flat, sizes)
            for b, c in zip(self.blocks, self.clusters, strict=True)
        ]
        while len(parts) > 1:
            parts = [
                dask.delayed(add_terms, pure=False)(*parts[i : i + FAN_IN])
                for i in range(0, len(parts), FAN_IN)
            ]
        (total,) = dask.compute(parts[0])
        return [(total[2 * i], total[2 * i + 1]) for i in range(len(sizes))]
