"""``fastsplit.fit`` on dask arrays: the data step (docs/scaling-out.md, "Fitting on a cluster").

:func:`set_up_dask` is what ``fastsplit._fit._setup`` calls instead of the
in-memory checks and count when any input is a dask array. On the client it
checks every array's shape and dtype and aligns their blocks; then one pass on the
workers (:func:`~fastsplit.dask._fit_blocks.prepare_block`) checks the values,
groups the labels and pads each block into chunks, and the blocks are persisted:
they stay on the workers for the whole fit. The groups of all blocks are merged on
the client exactly as ``fastsplit.dask.stratify`` merges them, and each block's
codes are mapped to the fit's groups once. :class:`DaskData` then gives the
objective (``_objective``), the chunking the judge reports and a small sample for
the model checks. Exact normal equations do not depend on the order of points:
nothing is shuffled.
"""

from __future__ import annotations

import numbers
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._fit._data import Chunking, ChunkStacks
from .._fit._inputs import (
    Inputs,
    Options,
    check_positive,
    data_scale,
    holds_dask,
    weights_of,
)
from .._fit._loss import Loss
from .._fit._model import REAL, ParameterLayout
from .._plan import ChunkPlan
from .._validate import check_1d
from ..errors import InvalidArgumentError, InvalidShapeError, LengthMismatchError
from ._fit_blocks import KernelSpec, block_sample, prepare_block, with_global_codes
from ._graph import count_pass
from ._inputs import BACKENDS, as_dask, host_kernels, meta_of, require_dask
from ._layout import empty_grouping, global_plan
from ._objective import DaskObjective

__all__ = ["DaskData", "plan_dask", "set_up_dask"]

SAMPLE_POINTS = 64
"""Points the model checks run on (``_normal.check_model``)."""


@dataclass(frozen=True, eq=False)
class DaskData:
    """The persisted blocks of one fit and what the client knows about them."""

    blocks: tuple[Any, ...]
    """One persisted ``dask.delayed`` :class:`~fastsplit.dask._fit_blocks.Block` per block."""
    chunk_len: int
    n_chunks: int
    sample: tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]
    clusters: tuple[Any, ...] = ()
    """One persisted tuple of cluster code stacks per block (``_clusters``), if any."""

    def objective(
        self, model: Callable[..., Any], layout: ParameterLayout, x_is_tuple: bool, loss: Loss
    ) -> DaskObjective:
        """The full-data objective over the blocks, on the active scheduler."""
        spec = KernelSpec(uuid.uuid4().hex, model, layout, x_is_tuple, loss)
        return DaskObjective(self.blocks, spec, self.clusters)

    def sample_stacks(self) -> ChunkStacks:
        """The first points of the first block as a one-chunk stack (for the model checks)."""
        import jax.numpy as jnp

        xs, y, codes = self.sample
        m = int(y.shape[1])
        return ChunkStacks(
            x=tuple(jnp.asarray(a) for a in xs),
            y=jnp.asarray(y),
            weight=jnp.ones_like(jnp.asarray(y)),
            codes=jnp.asarray(codes),
            n_points=m,
            n_chunks=1,
            chunk_len=m,
        )

    def chunking(self, plan: ChunkPlan, seconds: float) -> Chunking:
        """The chunks as the judge reports them: the blocks' own, in input order."""
        return Chunking(
            plan=plan, order=None, codes=np.empty(0, np.int32), diagnostics=None, seconds=seconds
        )


def set_up_dask(
    options: Options, x: Any, y: Any, groups: Any, sigma: Any
) -> tuple[Inputs, ChunkPlan, float, DaskData]:
    """Check the dask inputs, persist their blocks, count the groups.

    Returns the lazy inputs, the plan of the whole data (groups, counts, the
    chunk length), the seconds the pass took and the persisted data.
    """
    import dask

    da = require_dask()
    y_d, x_d, x_is_tuple, labels, weight, sigma_given = _aligned(da, x, y, groups, sigma)
    backend = host_kernels(options.backend if options.backend in BACKENDS else "auto")
    sizes = [int(s) for s in y_d.chunks[0]]
    chunk_len = min(options.chunk_size, max(sizes))
    names = ("y", *(f"x[{i}]" if x_is_tuple else "x" for i in range(len(x_d))))
    start = time.perf_counter()
    offsets = np.cumsum((0, *sizes))
    columns = [a.to_delayed(optimize_graph=False).ravel() for a in (labels, y_d, weight, *x_d)]
    tasks = [
        dask.delayed(prepare_block, pure=True)(
            b, int(offsets[b]), chunk_len, backend, names, *(c[b] for c in columns)
        )
        for b, size in enumerate(sizes)
        if size  # empty blocks add nothing
    ]
    kept = [size for size in sizes if size]
    persisted = dask.persist(*tasks)
    summaries = dask.compute(*(dask.delayed(_summary)(p) for p in persisted))
    plan, block_plans = global_plan(
        [(g, c) for g, c, _ in summaries],
        tuple(kept),
        empty_grouping(labels.dtype, decimals=None, backend=backend),
        chunk_size=chunk_len,
        layout="strided",
        atol=None,
        backend=backend,
    )
    blocks = dask.persist(
        *(
            dask.delayed(with_global_codes, pure=True)(p, bp.codes)
            for p, bp in zip(persisted, block_plans, strict=True)
        )
    )
    del persisted
    (sample,) = dask.compute(dask.delayed(block_sample)(blocks[0], SAMPLE_POINTS))
    seconds = time.perf_counter() - start
    n = int(sum(kept))
    inputs = Inputs(
        x=x_d,
        x_is_tuple=x_is_tuple,
        y=y_d,
        labels=labels,
        weight=weight,
        sigma_given=sigma_given,
        data_scale=data_scale(float(sum(s for _, _, s in summaries)), n),
    )
    n_chunks = sum(-(-size // chunk_len) for size in kept)
    return inputs, plan, seconds, DaskData(tuple(blocks), chunk_len, n_chunks, sample)


def plan_dask(
    options: Options, x: Any, y: Any, groups: Any, sigma: Any
) -> tuple[Inputs, ChunkPlan, float, int, int, int]:
    """The dry run's part of :func:`set_up_dask`: shapes, dtypes and the label counts.

    Only the labels are read (one count per block, as ``fastsplit.dask.stratify``
    counts them); ``x``, ``y`` and ``sigma`` are checked from their shapes and
    dtypes, never computed. Returns the lazy inputs (``data_scale`` unknown: NaN),
    the plan of the whole data, the seconds the count took, the chunk length, the
    number of chunks the fit would use and the number of (non-empty) blocks.
    """
    da = require_dask()
    y_d, x_d, x_is_tuple, labels, weight, sigma_given = _aligned(da, x, y, groups, sigma)
    backend = host_kernels(options.backend if options.backend in BACKENDS else "auto")
    sizes = [int(s) for s in y_d.chunks[0]]
    chunk_len = min(options.chunk_size, max(sizes))
    start = time.perf_counter()
    counted = count_pass(labels, decimals=None, backend=backend)
    kept = [size for size in sizes if size]
    plan, _ = global_plan(
        [pair for pair, size in zip(counted, sizes, strict=True) if size],
        tuple(kept),
        empty_grouping(labels.dtype, decimals=None, backend=backend),
        chunk_size=chunk_len,
        layout="strided",
        atol=None,
        backend=backend,
    )
    seconds = time.perf_counter() - start
    inputs = Inputs(
        x=x_d,
        x_is_tuple=x_is_tuple,
        y=y_d,
        labels=labels,
        weight=weight,
        sigma_given=sigma_given,
        data_scale=float("nan"),
    )
    n_chunks = sum(-(-size // chunk_len) for size in kept)
    return inputs, plan, seconds, chunk_len, n_chunks, len(kept)


def _summary(block: Any) -> tuple[np.ndarray, np.ndarray, float]:
    return block.groups, block.counts, block.sum_of_squares


def _aligned(
    da: Any, x: Any, y: Any, groups: Any, sigma: Any
) -> tuple[Any, tuple[Any, ...], bool, Any, Any, bool]:
    """``y``, ``x`` arrays, whether ``x`` is a tuple, labels, ``1 / sigma`` and whether
    ``sigma`` was given: 1-D dask arrays of real numbers cut into ``y``'s blocks."""
    x_is_tuple = isinstance(x, tuple | list)
    if isinstance(sigma, np.ndarray) and sigma.ndim == 0:
        sigma = sigma.item()
    if x_is_tuple and len(x) == 0:
        raise InvalidArgumentError("x is an empty sequence; pass the model's input arrays.")
    named: list[tuple[str, Any]] = [("y", y), ("groups", groups)]
    named += [(f"x[{i}]", a) for i, a in enumerate(x)] if x_is_tuple else [("x", x)]
    scalar_sigma = sigma is None or isinstance(sigma, numbers.Number)
    if not scalar_sigma:
        named.append(("sigma", sigma))
    for name, value in named:
        if np.ndim(value) == 2 and name.startswith("x"):
            raise InvalidShapeError(
                f"{name} must be 1-D, got shape {np.shape(value)}. Pass several input "
                "variables as a tuple of 1-D arrays, e.g. x=(phi, t1, t2)."
            )
    lazy = [v for _, v in named if holds_dask(v)]
    first = lazy[0] if lazy else None
    if first is not None and not type(first).__module__.startswith("dask"):
        first = first.data  # an xarray DataArray: its dask array
    chunks = first.chunks if first is not None and np.ndim(first) == 1 else "auto"
    arrays = {name: as_dask(da, name, value, chunks) for name, value in named}
    y_d = arrays["y"]
    n = int(y_d.shape[0])
    if n == 0:
        raise InvalidArgumentError("y is empty: there is nothing to fit.")
    for name, value in arrays.items():
        check_1d(name, meta_of(value), kinds=REAL)
        if value.shape[0] != n:
            raise LengthMismatchError(
                f"{name} has {value.shape[0]} points but y has {n}; every array must have "
                "one value per point (flatten all arrays in the same order)."
            )
    arrays = {k: a if a.chunks == y_d.chunks else a.rechunk(y_d.chunks) for k, a in arrays.items()}
    x_d = tuple(a for k, a in arrays.items() if k.startswith("x"))
    if sigma is None:
        weight = da.ones(n, chunks=y_d.chunks, dtype=np.float64)
    elif scalar_sigma:
        value = check_positive(
            "sigma", sigma, "the standard deviation of y, one number or one per point"
        )
        weight = da.full(n, 1.0 / value, chunks=y_d.chunks, dtype=np.float64)
    else:
        weight = arrays["sigma"].map_blocks(weights_of, dtype=np.float64)
    return y_d, x_d, x_is_tuple, arrays["groups"], weight, sigma is not None
