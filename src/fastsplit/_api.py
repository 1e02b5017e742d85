"""The public entry points: :func:`stratify`, :func:`plan` and :func:`warmup`.

Labels become a grouping in ``_grouping``; the plan, the memory decision and the
kernels follow here.

Data flows one way: validate -> codes -> plan -> mode decision -> kernel -> result.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _memory
from . import _validate as v
from ._grouping import group, remember
from ._labels import Grouping
from ._plan import DEFAULT_CHUNK_SIZE, ChunkPlan
from ._result import Stratified
from .backends import get_backend, host_backend, resolve, serve
from .backends._interface import Backend, Shape

log = logging.getLogger("fastsplit")


def _resolve_layout(layout: str, arrays: tuple[Any, ...]) -> str:
    if layout != "auto":
        return layout
    # Memory-mapped inputs want each chunk to read only its own pages.
    return "contiguous" if any(isinstance(a, np.memmap) for a in arrays) else "strided"


def _serve(backend: Any, arrays: tuple[Any, ...], n: int) -> tuple[str, Backend, float]:
    """The backend of a call of ``n`` points, its kernels and their first load's seconds
    (``backends.serve``: the numpy reference while numba's kernels compile)."""
    loading = time.perf_counter()
    loads = get_backend.cache_info().misses
    name, kernels = serve(backend, arrays, n)
    loaded = time.perf_counter() - loading if get_backend.cache_info().misses > loads else 0.0
    return name, kernels, loaded


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
    >>> p.counts_matrix.tolist()       # chunks x groups: 33.0 has 2 points for 3 chunks
    [[2, 2, 0], [2, 1, 1], [1, 2, 1]]
    """
    chunk_size = v.check_chunk_size(chunk_size)
    v.check_choice("layout", layout, v.LAYOUTS)
    decimals, atol = v.check_rounding(decimals, atol)
    resolve(backend)  # a wrong name is refused even where no kernel runs
    if labels is None and group_sizes is not None:
        # Run lengths are the counts already: a plan is O(groups), no code per point.
        counts = v.check_group_sizes(group_sizes, None)
        groups = np.arange(counts.size, dtype=np.int64)
        compiling = 0.0
    else:
        _, kernels, loaded = _serve(backend, (), _points(labels, (), group_sizes))
        compiled = kernels.compile_seconds()
        grouping = group(
            labels,
            None,
            decimals=decimals,
            atol=atol,
            group_sizes=group_sizes,
            backend=kernels,
        )
        groups, counts = grouping.groups, grouping.counts
        compiling = loaded + kernels.compile_seconds() - compiled
    result = ChunkPlan(
        n=int(counts.sum()),
        chunk_size=chunk_size,
        layout="strided" if layout == "auto" else layout,
        groups=groups,
        counts=counts,
        compile_seconds=compiling,
    )
    if not (labels is None or isinstance(labels, ChunkPlan)):
        remember(result, grouping)
    return result


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
    seed: int | Sequence[int] | None = None,
    check_memory_safety: bool = True,
    max_memory_fraction: float = _memory.DEFAULT_MAX_MEMORY_FRACTION,
) -> Stratified:
    """Reorder data so that every chunk holds every group in proportion.

    Parameters
    ----------
    labels : array_like, None or ChunkPlan
        Group label of every point: float angles (exact equality, -0.0 == 0.0),
        integers, or ``None`` with ``group_sizes`` for group-major data. A plan
        from :func:`plan` stands for the labels it was made from, which are then
        not grouped again (plan first, pick ``chunk_size``, then stratify).
    *arrays : array_like
        Arrays with one value (1-D) or one row (2-D, shape (n, d)) per label,
        reordered together (copy mode). Labels themselves are always 1-D.
    chunk_size : int, default 100_000
        Largest chunk. There are K = ceil(n / chunk_size) chunks of equal size (+-1).
    mode : {"auto", "copy", "index"}
        ``copy`` returns reordered arrays; ``index`` only the permutation and
        bounds (chunks are gathered on demand); ``auto`` copies when that fits in
        memory, else uses index mode (see ``check_memory_safety``).
    layout : {"strided", "contiguous", "auto"}
        ``strided``: each chunk is a systematic sample of every group (spans the
        whole time range). ``contiguous``: each chunk takes consecutive runs of
        every group (what out-of-core reading wants). ``auto``: contiguous for
        memory-mapped inputs, else strided.
    backend : {"auto", "numba", "numpy", "jax"}
        ``auto``: ``jax`` for JAX arrays, else numba when installed, else numpy
        (``$FASTSPLIT_BACKEND`` overrides the last two). While numba's kernels
        are not compiled yet (a fresh install), ``auto`` serves calls of up to 4M
        points with numpy, the same output, and compiles numba's in the
        background (``$FASTSPLIT_COLD_START=wait``: in the call). ``jax`` gathers
        on the data's device and returns JAX arrays; only the labels come to the host.
    decimals : int, optional
        Round float labels to this many decimals before grouping.
    atol : float, optional
        Merge groups whose sorted labels differ by at most ``atol``.
    group_sizes : sequence of int, optional
        Lengths of the group-major runs, replacing ``labels``.
    seed : int or tuple of int, optional
        Shuffle the points inside every group with this seed (a non-negative int,
        or a tuple such as ``(seed, epoch)``) before placing them: the chunks keep
        every guarantee (docs/contract.md), and the same labels and seed give the
        same order on every backend and thread count. ``None`` keeps the input
        order inside each group.
    check_memory_safety : bool, default True
        Compare the memory this call needs (see :func:`fastsplit.estimate_memory`)
        with what is available before allocating anything: ``mode="auto"`` falls
        back to index mode when copying does not fit, and a mode that does not fit
        raises :class:`~fastsplit.errors.MemoryBudgetError`. ``False`` skips it.
    max_memory_fraction : float, default 0.7
        Share of available memory the peak may use.

    Returns
    -------
    Stratified
        ``order``, ``bounds``, ``arrays``, ``groups``, ``counts``, ``chunks()``,
        ``take()``, ``diagnostics``, ``report()``.

    Raises
    ------
    MemoryBudgetError
        When the requested mode (for ``"auto"``: even index mode) does not fit in
        ``max_memory_fraction`` of available memory; raised before allocating.

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
    >>> chunk0 = s.arrays[0][s.bounds[0]:s.bounds[1]]
    >>> np.bincount((chunk0 // 1000).astype(int)).tolist()
    [167, 167, 166]
    """
    start = time.perf_counter()
    chunk_size = v.check_chunk_size(chunk_size)
    v.check_choice("mode", mode, v.MODES)
    v.check_choice("layout", layout, v.LAYOUTS)
    decimals, atol = v.check_rounding(decimals, atol)
    fraction = v.check_fraction(max_memory_fraction)
    check_memory_safety = v.check_flag("check_memory_safety", check_memory_safety)
    seed_key = v.check_seed(seed)
    n_hint = None
    if arrays:
        arrays = v.check_arrays(arrays, None, rows=True)
        n_hint = arrays[0].shape[0]
        if any(a.shape[0] != n_hint for a in arrays):
            v.check_arrays(arrays, n_hint, rows=True)  # raises, naming the array
    name, kernels, loaded = _serve(backend, arrays, _points(labels, arrays, group_sizes))
    compiled = kernels.compile_seconds()
    kernels.validate(arrays)  # backend-specific refusals, before any work
    layout = _resolve_layout(layout, arrays)
    chosen = "copy" if mode == "auto" else mode
    decide = None
    if check_memory_safety:
        inputs = kernels.memory_inputs(arrays)
        n_lower, groups_lower = _lower_bound(labels, arrays, group_sizes)
        if _memory.worth_checking(n_lower, inputs, fraction):
            decide = functools.partial(
                _memory.decide,
                mode=mode,
                backend=name,
                inputs=inputs,
                max_memory_fraction=fraction,
                # read once: the memory available before this call allocated anything
                available=_memory.available_memory(),
            )
            # Before labels -> codes (n bytes or more): the least this can need.
            decide(Shape.balanced(n_lower, groups_lower, chunk_size, layout), code_bytes=1)
    grouping = group(
        labels, n_hint, decimals=decimals, atol=atol, group_sizes=group_sizes, backend=kernels
    )
    chunk_plan = ChunkPlan(
        n=int(grouping.counts.sum()),
        chunk_size=chunk_size,
        layout=layout,
        groups=grouping.groups,
        counts=grouping.counts,
        seed=seed_key,
    )
    if decide is not None:
        # Groups and codes are known now: the exact model, before the big allocations.
        shape = Shape.of_plan(chunk_plan, mixed=grouping.mixed)
        chosen = decide(shape, code_bytes=grouping.codes.dtype.itemsize)
    order: np.ndarray | None = None
    out_arrays: tuple[Any, ...] | None = None
    if chosen == "index":
        order = kernels.order(grouping, chunk_plan)
    else:
        out_arrays, order = kernels.reorder(grouping, chunk_plan, arrays)
    compiling = loaded + kernels.compile_seconds() - compiled
    seconds = time.perf_counter() - start - compiling
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
        compile_seconds=compiling,
    )
    if log.isEnabledFor(logging.DEBUG):
        log.debug("stratified %s in %.2f ms", chunk_plan.summary(), 1e3 * seconds)
    result.warn_if_sparse()
    return result


def order_of(grouping: Grouping, counted: ChunkPlan, *, backend: str) -> np.ndarray:
    """The permutation of ``stratify`` in index mode for a grouping and plan made already.

    No validation, memory check or sparse-group warning: the caller did those once.
    """
    return serve(backend, (), counted.n)[1].order(grouping, counted)


def _lower_bound(labels: Any, arrays: tuple[Any, ...], group_sizes: Any) -> tuple[int, int]:
    """(points, groups) as far as they are known before labels become codes (0: unknown).

    The group count is not known before labels become codes, so one group is
    assumed (the fewest bytes); the exact check follows factorize.
    """
    if arrays:
        return int(arrays[0].shape[0]), 1
    if isinstance(labels, ChunkPlan):
        return labels.n, max(labels.n_groups, 1)
    if labels is None and group_sizes is not None:
        sizes = np.asarray(group_sizes)
        if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or (sizes < 0).any():
            return 0, 1  # validation reports it
        return int(sizes.sum()), max(int(sizes.size), 1)
    shape = getattr(labels, "shape", None)
    if shape is None or len(shape) != 1:
        return 0, 1  # validation reports it
    return int(shape[0]), 1


def _points(labels: Any, arrays: tuple[Any, ...], group_sizes: Any) -> int:
    """The number of points of a call, before validation (0 if it cannot be told)."""
    n = _lower_bound(labels, arrays, group_sizes)[0]
    if not n and isinstance(labels, Sequence):
        n = len(labels)
    return n


def warmup(backend: str = "auto", *, models: Any = ()) -> None:
    """Compile (or load from cache) the kernels for common inputs ahead of time.

    Numba compiles a kernel the first time it sees a type signature: seconds cold,
    milliseconds once cached on disk. The numba kernels are compiled per code width
    (up to 256 groups, up to 65,536) and per label item size, never per data dtype
    or number of arrays, so this covers every call with float64, float32 or integer
    labels, whatever the data arrays. Call it at start-up (or once after installing)
    to keep compilation out of timed or interactive work. For ``"jax"`` this warms
    the host kernels that compute its order; JAX compiles its gather for each new
    array shape on first use (and reuses it afterwards).

    ``models`` also compiles the passes of :func:`fastsplit.fit` (JAX), kept in
    JAX's persistent cache for later processes (``docs/fit.md``, "Compilation"):

    * ``"static"``, ``"laminar_flow"``: the XPCS two-time model, as
      ``fastsplit demo --small`` fits it (its geometry and sizes);
    * ``(model, sample)``: your model, fitted once on ``sample``, a mapping of
      :func:`fastsplit.fit` keyword arguments (``x``, ``y``, ``groups``, ``p0``,
      ``per_group``, ...) with the size of the data your fits get (a pass is
      compiled per chunk shape; similar sizes share one).

    Examples
    --------
    >>> import fastsplit
    >>> fastsplit.warmup("numpy")
    """
    name = resolve(backend)
    entries: list[Any] = []
    if models is not None and not (isinstance(models, tuple | list) and not models):
        from ._fit._warmup import model_entries

        entries = model_entries(models)  # checked before anything compiles
    if name == "jax":
        name = host_backend()  # what jax runs on the host; its gather compiles per shape
    few = np.repeat(np.array([-1.5, 0.0, 2.5]), 100)  # uint8 codes
    many = np.repeat(np.arange(300.0), 20)  # 300 groups: uint16 codes
    ints = np.repeat(np.arange(3), 100)
    for labels in (few, few.astype(np.float32), ints, many, many.astype(np.float32)):
        data = np.arange(labels.size, dtype=np.float64)
        size = labels.size // 5
        for lay in ("strided", "contiguous"):
            index = stratify(labels, data, mode="index", layout=lay, backend=name, chunk_size=size)
            index.take(data, data)  # the gather through the permutation
            stratify(labels, data, mode="copy", layout=lay, backend=name, chunk_size=size)
            for mode in ("index", "copy"):  # the seeded walk (fastsplit.batches)
                stratify(labels, data, mode=mode, layout=lay, backend=name, seed=0)
    # group sizes (codes counted by the scatter itself) and, on two threads or more,
    # segments that meet the groups in different orders (their codes renumbered)
    stratify(None, np.arange(300.0), group_sizes=[100, 200], backend=name, chunk_size=64)
    shuffled = np.random.default_rng(0).permutation(np.repeat(np.arange(3.0), 50_000))
    stratify(shuffled, mode="index", backend=name)
    # labels in random order are filled from member lists (per code width)
    stratify(np.random.default_rng(0).permutation(many), mode="index", backend=name)
    if entries:
        from ._fit._warmup import warm_models

        warm_models(entries, backend)
