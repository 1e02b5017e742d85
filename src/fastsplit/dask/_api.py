"""The front end of :func:`fastsplit.dask.stratify`.

Validate -> count pass (now, on the active scheduler) -> global plan on the
client -> the lazy split/combine graph -> the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from .. import _validate as v
from .._plan import DEFAULT_CHUNK_SIZE
from ..errors import InvalidArgumentError
from ._graph import count_pass, reorder
from ._inputs import aligned, host_kernels
from ._layout import empty_grouping, global_plan
from ._result import DaskStratified
from ._tasks import VALUE_KINDS

log = logging.getLogger("fastsplit")


def stratify(
    labels: Any,
    *arrays: Any,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    layout: str = "strided",
    chunks_per_block: int = 1,
    decimals: int | None = None,
    atol: float | None = None,
    seed: int | Sequence[int] | None = None,
    backend: str = "auto",
) -> DaskStratified:
    """Stratify dask arrays: the in-memory result, bit for bit, as dask arrays.

    Every chunk holds every group in proportion (contract C1-C6, as
    :func:`fastsplit.stratify`), and the output arrays are cut into blocks of
    ``chunks_per_block`` whole chunks, for consumers that step per chunk. The
    labels are read now, once, to count the groups of every input block (the
    block sizes of the result depend on them); the arrays are reordered lazily,
    with per-task memory proportional to a block (docs/scaling-out.md).

    Parameters
    ----------
    labels : dask.array.Array or array_like
        Group label of every point, 1-D: float angles, integers, booleans, or values
        that sort (strings, bytes, objects such as ``str``); groups are reported by
        their own values, ascending. NumPy inputs are cut into the blocks of the
        first dask array given.
    *arrays : dask.array.Array or array_like
        1-D arrays with one value per label (numbers, or fixed-size strings and
        bytes); rechunked to the labels' blocks.
    chunk_size : int, default 100_000
        Largest chunk; K = ceil(n / chunk_size) chunks of equal size (+-1).
    layout : {"strided", "contiguous", "auto"}
        As in :func:`fastsplit.stratify` (``"auto"`` is ``"strided"`` here).
    chunks_per_block : int, default 1
        Chunks in each block of the output arrays. Tasks grow as input blocks x
        output blocks: at 1e9 points use blocks of about 1e7 points on both sides.
    decimals, atol
        Merge near-equal float labels, as in :func:`fastsplit.stratify`; ``atol``
        merges on the union of every block's labels.
    seed : int or tuple of int, optional
        Shuffle the points inside every group, as :func:`fastsplit.stratify` does with
        the same seed (e.g. ``(seed, epoch)``): the same order, bit for bit. Each
        point's shuffled rank is found where its block is split, so the cost stays
        O(block) per task.
    backend : {"auto", "numba", "numpy"}
        Kernels that run on the workers; ``auto``: numba when installed.

    Returns
    -------
    DaskStratified
        ``arrays`` (dask arrays), ``bounds``, ``block_bounds``, ``groups``,
        ``counts``, ``sparse_groups``, ``n_chunks``, ``chunks()``, ``report()``.

    Warns
    -----
    SparseGroupWarning
        When some groups have fewer points than there are chunks.

    Examples
    --------
    >>> import dask.array as da, numpy as np, fastsplit.dask
    >>> phi = da.from_array(np.repeat([-45.0, 0.0, 45.0], 1000), chunks=700)
    >>> y = da.arange(3000.0, chunks=700)
    >>> s = fastsplit.dask.stratify(phi, y, chunk_size=500, chunks_per_block=2)
    >>> s.n_chunks, s.arrays[0].chunks
    (6, ((1000, 1000, 1000),))
    >>> chunk0 = s.arrays[0][:500].compute()
    >>> np.bincount((chunk0 // 1000).astype(int)).tolist()
    [167, 167, 166]
    """
    start = time.perf_counter()
    chunk_size = v.check_chunk_size(chunk_size)
    layout = v.check_choice("layout", layout, v.LAYOUTS)
    layout = "strided" if layout == "auto" else layout
    chunks_per_block = v.check_count("chunks_per_block", chunks_per_block, minimum=1)
    decimals, atol = v.check_rounding(decimals, atol)
    seed_key = v.check_seed(seed)
    name = host_kernels(backend)
    labels, arrays = aligned(labels, arrays)
    if labels.dtype.kind in VALUE_KINDS and (decimals is not None or atol is not None):
        raise InvalidArgumentError(
            f"decimals= and atol= round or merge numeric labels; labels of dtype "
            f"{labels.dtype} are grouped by exact equality: drop decimals= and atol=."
        )
    counted = count_pass(labels, decimals=decimals, backend=name)
    plan, blocks = global_plan(
        counted,
        tuple(int(size) for size in labels.chunks[0]),
        empty_grouping(labels.dtype, decimals=decimals, backend=name),
        chunk_size=chunk_size,
        layout=layout,
        atol=atol,
        backend=name,
        seed=seed_key,
    )
    out = reorder(
        labels,
        arrays,
        plan,
        blocks,
        backend=name,
        decimals=decimals,
        chunks_per_block=chunks_per_block,
    )
    seconds = time.perf_counter() - start
    result = DaskStratified(
        plan=plan, arrays=out, chunks_per_block=chunks_per_block, backend=name, seconds=seconds
    )
    log.debug("planned a dask stratification %s in %.2f ms", plan.summary(), 1e3 * seconds)
    result.warn_if_sparse()
    return result


__all__ = ["stratify"]
