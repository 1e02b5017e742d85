"""The public entry points: :func:`stratify`, :func:`plan` and :func:`warmup`.

Data flows one way: validate -> codes -> plan -> mode decision -> kernel -> result.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _validate as v
from ._labels import Grouping, from_group_sizes, merge_close, prepare_labels
from ._plan import ChunkPlan
from ._result import Stratified
from .backends import get_backend, resolve
from .errors import InvalidArgumentError, SparseGroupWarning

log = logging.getLogger("fastsplit")

DEFAULT_CHUNK_SIZE = 100_000


def _group(
    labels: Any,
    n_hint: int | None,
    *,
    decimals: int | None,
    atol: float | None,
    group_sizes: Sequence[int] | np.ndarray | None,
    kernels: Any,
) -> Grouping:
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
    labels = v.check_labels(labels)
    if n_hint is not None and labels.shape[0] != n_hint:
        from .errors import LengthMismatchError

        raise LengthMismatchError(
            f"labels have {labels.shape[0]} points but arrays[0] has {n_hint}; every "
            "array must have one value per label (flatten all arrays in the same order)."
        )
    grouping: Grouping = kernels.factorize(prepare_labels(labels, decimals))
    if atol is not None:
        grouping = merge_close(grouping, atol, kernels.remap)
    return grouping


def _resolve_layout(layout: str, arrays: tuple[Any, ...]) -> str:
    if layout != "auto":
        return layout
    # Memory-mapped inputs want each chunk to read only its own pages.
    return "contiguous" if any(isinstance(a, np.memmap) for a in arrays) else "strided"


def plan(
    labels: Any,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    layout: str = "strided",
    backend: str = "auto",
    decimals: int | None = None,
    atol: float | None = None,
    group_sizes: Sequence[int] | np.ndarray | None = None,
) -> ChunkPlan:
    """Count groups and plan the chunks without moving any data.

    Parameters
    ----------
    labels : array_like or None
        Group label of every point (float angles, integers); ``None`` with
        ``group_sizes``.
    chunk_size : int
        Largest number of points per chunk.
    layout, backend, decimals, atol, group_sizes
        As in :func:`stratify`.

    Returns
    -------
    ChunkPlan
        ``n_chunks``, ``bounds``, ``chunk_sizes``, ``counts_matrix`` (K x G),
        ``groups``, ``counts``, ``sparse_groups``.

    Examples
    --------
    >>> import numpy as np, fastsplit
    >>> p = fastsplit.plan(np.repeat([-10.5, 0.0, 33.0], [5, 5, 2]), chunk_size=4)
    >>> p.n_chunks, p.chunk_sizes.tolist(), p.sparse_groups.tolist()
    (3, [4, 4, 4], [33.0])
    >>> p.counts_matrix.tolist()
    [[2, 1, 1], [2, 2, 0], [1, 2, 1]]
    """
    chunk_size = v.check_chunk_size(chunk_size)
    v.check_choice("layout", layout, v.LAYOUTS)
    decimals, atol = v.check_rounding(decimals, atol)
    name = resolve(backend)
    kernels = get_backend("numba" if name == "jax" else name)
    grouping = _group(
        labels, None, decimals=decimals, atol=atol, group_sizes=group_sizes, kernels=kernels
    )
    n = int(grouping.counts.sum())
    return ChunkPlan(
        n=n,
        chunk_size=chunk_size,
        layout="strided" if layout == "auto" else layout,
        groups=grouping.groups,
        counts=grouping.counts,
    )


def stratify(
    labels: Any,
    *arrays: Any,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    mode: str = "auto",
    layout: str = "strided",
    backend: str = "auto",
    decimals: int | None = None,
    atol: float | None = None,
    group_sizes: Sequence[int] | np.ndarray | None = None,
) -> Stratified:
    """Reorder data so that every chunk holds every group in proportion.

    Parameters
    ----------
    labels : array_like or None
        Group label of every point: float angles (exact equality, -0.0 == 0.0),
        integers, or ``None`` with ``group_sizes`` for group-major data.
    *arrays : array_like
        1-D arrays with one value per label, reordered together (copy mode).
    chunk_size : int, default 100_000
        Largest chunk. There are K = ceil(n / chunk_size) chunks of equal size (+-1).
    mode : {"auto", "copy", "index"}
        ``copy`` returns reordered arrays; ``index`` only the permutation and
        bounds (chunks are gathered on demand); ``auto`` copies.
    layout : {"strided", "contiguous", "auto"}
        ``strided``: each chunk is a systematic sample of every group (spans the
        whole time range). ``contiguous``: each chunk takes consecutive runs of
        every group (what out-of-core reading wants). ``auto``: contiguous for
        memory-mapped inputs, else strided.
    backend : {"auto", "numba", "numpy", "jax"}
        ``auto``: numba when installed, else numpy (``$FASTSPLIT_BACKEND`` overrides).
    decimals : int, optional
        Round float labels to this many decimals before grouping.
    atol : float, optional
        Merge groups whose sorted labels differ by at most ``atol``.
    group_sizes : sequence of int, optional
        Lengths of the group-major runs, replacing ``labels``.

    Returns
    -------
    Stratified
        ``order``, ``bounds``, ``arrays``, ``groups``, ``counts``, ``chunks()``,
        ``take()``, ``diagnostics``, ``report()``.

    Warns
    -----
    SparseGroupWarning
        When some groups have fewer points than there are chunks.

    Examples
    --------
    >>> import numpy as np, fastsplit
    >>> phi = np.repeat([-45.0, 0.0, 45.0], 1000)        # angle-major
    >>> y = np.arange(3000.0)
    >>> s = fastsplit.stratify(phi, y, chunk_size=500)
    >>> s.n_chunks, len(s.bounds)
    (6, 7)
    >>> [np.unique(phi_k).size for (phi_k, _) in s.chunks()] if False else None
    >>> chunk0 = s.arrays[0][s.bounds[0]:s.bounds[1]]
    >>> np.bincount((chunk0 // 1000).astype(int)).tolist()
    [167, 167, 166]
    """
    start = time.perf_counter()
    chunk_size = v.check_chunk_size(chunk_size)
    v.check_choice("mode", mode, v.MODES)
    v.check_choice("layout", layout, v.LAYOUTS)
    decimals, atol = v.check_rounding(decimals, atol)
    n_hint = None
    if arrays:
        arrays = v.check_arrays(arrays, None)
        n_hint = arrays[0].shape[0]
        v.check_arrays(arrays, n_hint)
    name = resolve(backend, arrays)
    kernels = get_backend(name)
    grouping = _group(
        labels, n_hint, decimals=decimals, atol=atol, group_sizes=group_sizes, kernels=kernels
    )
    n = int(grouping.counts.sum())
    chunk_plan = ChunkPlan(
        n=n,
        chunk_size=chunk_size,
        layout=_resolve_layout(layout, arrays),
        groups=grouping.groups,
        counts=grouping.counts,
    )
    chosen = "copy" if mode == "auto" else mode
    order = None
    out_arrays = None
    if chosen == "index":
        order = kernels.order(grouping.codes, chunk_plan)
    else:
        cache: dict[str, np.ndarray] = {}

        def order_once() -> np.ndarray:
            if "order" not in cache:
                cache["order"] = kernels.order(grouping.codes, chunk_plan)
            return cache["order"]

        out_arrays = kernels.reorder(grouping.codes, chunk_plan, arrays, order_once)
        order = cache.get("order")
    seconds = time.perf_counter() - start
    result = Stratified(
        plan=chunk_plan,
        grouping=grouping,
        sources=arrays,
        arrays=out_arrays,
        order=order,
        mode=chosen,
        backend=name,
        kernels=kernels,
        seconds=seconds,
    )
    log.debug("stratified %s in %.2f ms", chunk_plan.summary(), 1e3 * seconds)
    if chunk_plan.sparse.any():
        sparse = chunk_plan.sparse_groups
        shown = ", ".join(repr(x) for x in sparse[:5].tolist())
        warnings.warn(
            f"{sparse.size} group(s) have fewer points than the {chunk_plan.n_chunks} chunks "
            f"and are missing from some chunks: {shown}{' ...' if sparse.size > 5 else ''}. "
            "Use a larger chunk_size (fewer chunks) or fit those groups separately.",
            SparseGroupWarning,
            stacklevel=2,
        )
    return result


def warmup(backend: str = "auto") -> None:
    """Compile (or load from cache) the kernels for common inputs ahead of time.

    Numba compiles a kernel the first time it sees a type signature: seconds cold,
    milliseconds once cached on disk. Call this at start-up to keep that cost out
    of timed or interactive work.

    Examples
    --------
    >>> import fastsplit
    >>> fastsplit.warmup("numpy")
    """
    name = resolve(backend)
    phi = np.repeat(np.array([-1.5, 0.0, 2.5]), 100)
    for labels in (phi, phi.astype(np.float32), np.repeat(np.arange(3), 100)):
        for layout in ("strided", "contiguous"):
            stratify(labels, mode="index", layout=layout, backend=name, chunk_size=64)
    for dtype in (np.float64, np.float32):
        data = tuple(np.arange(300, dtype=dtype) for _ in range(4))
        for count in (1, 2, 3, 4):
            stratify(phi, *data[:count], mode="copy", backend=name, chunk_size=64)
