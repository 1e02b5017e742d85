"""Memory policy: what a stratification needs, what is available, copy or index.

:func:`estimate_memory` models, byte for byte, what each backend allocates on top
of the inputs at its peak, and compares it with the memory that is really
available. ``stratify(mode="auto")`` copies when that is safe, falls back to index
mode when only that is safe, and raises :class:`~fastsplit.errors.MemoryBudgetError`
before allocating anything when neither is.

The model, per backend (n points, code width c = 1, 2, 4 or 8 bytes by group
count, index width i = 4 below 2**31 points else 8):

* numba, index mode: codes ``n c`` + permutation ``n i`` + block table
  (int32 per block of at most 16 points of one group in one chunk, about
  ``n / 16 + K G`` blocks) + per-thread scratch ``32 (C / 16 + G)``.
* numba, copy mode: codes + the output arrays + block table + scratch; the
  permutation is never built (except for dtypes wider than 8 bytes).
* numpy (the oracle, written to be obviously right, not lean): its sorts keep
  several int64 temporaries per point: 65 bytes per point (strided layout) or
  56 (contiguous) plus the codes, measured with tracemalloc on numpy 2.x; copy
  mode needs the larger of that and codes + permutation + outputs.
* jax: the host part of the numba (or numpy) index model, plus, on the device,
  the permutation and the gathered outputs (and any NumPy input moved there).
  On a CPU device both live in host memory and are added up; on a GPU the device
  part is compared with the device's own free memory.

Both phases are covered: labels -> codes (two code arrays while codes are
remapped) and the scatter. Every figure is checked against tracemalloc's peak in
the test suite (within 10 %).

psutil is imported on first use only (``import fastsplit`` stays light).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._labels import code_dtype, index_dtype
from ._plan import BLOCK, ChunkPlan, segment_count
from .errors import InvalidArgumentError, MemoryBudgetError

log = logging.getLogger("fastsplit")

DEFAULT_MAX_MEMORY_FRACTION = 0.7

UNCHECKED_BYTES = 64 * 2**20
"""Calls needing less than this (outputs + permutation + codes) skip the memory check."""

NUMPY_SORT_BYTES_PER_POINT = {"strided": 65, "contiguous": 56}
"""Peak temporaries of the numpy oracle's order pass (int32 permutation included)."""


def format_bytes(value: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a stratification needs at its peak, and whether that fits.

    Attributes
    ----------
    n : int
        Number of points.
    mode : str
        The mode this estimate is for: the requested one, or for ``"auto"`` the one
        it picks (``"copy"`` when safe, else ``"index"``).
    backend : str
        Backend the model is for.
    data_bytes : int
        Size of the input arrays (the copy-mode output has the same size).
    copy_bytes, index_bytes : int
        Peak bytes allocated on top of the inputs in copy and in index mode.
    peak_bytes : int
        ``copy_bytes`` or ``index_bytes``, for ``mode``.
    breakdown : dict
        What makes up ``peak_bytes`` (codes, order, outputs, block_table, ...).
    available_bytes : int
        Memory available to this process: the least of what psutil reports, the
        cgroup limit (containers, batch jobs) and ``RLIMIT_AS``/``RLIMIT_DATA``.
    available_source : str
        Which of those was the least.
    max_memory_fraction : float
        Share of ``available_bytes`` the peak may use.
    safe : bool
        ``peak_bytes <= max_memory_fraction * available_bytes`` (and the same on an
        accelerator, when the data lives on one).
    device_bytes : int
        Peak bytes on an accelerator (JAX on a GPU); 0 when everything is in host
        memory.
    device_available_bytes : int or None
        Free accelerator memory, when there is an accelerator.
    """

    n: int
    mode: str
    backend: str
    data_bytes: int
    copy_bytes: int
    index_bytes: int
    peak_bytes: int
    breakdown: dict[str, int] = field(compare=False)
    available_bytes: int
    available_source: str
    max_memory_fraction: float
    safe: bool
    device_bytes: int = 0
    device_available_bytes: int | None = None

    @property
    def budget_bytes(self) -> int:
        """``max_memory_fraction * available_bytes``: what the peak may use."""
        return int(self.max_memory_fraction * self.available_bytes)

    def report(self) -> str:
        """Readable one-paragraph summary."""
        parts = ", ".join(f"{k} {format_bytes(v)}" for k, v in self.breakdown.items() if v)
        text = (
            f"{self.mode} mode ({self.backend} backend, {self.n:,} points) needs "
            f"{format_bytes(self.peak_bytes)} at its peak ({parts or 'nothing'}); "
            f"copy mode {format_bytes(self.copy_bytes)}, index mode "
            f"{format_bytes(self.index_bytes)}. Available: "
            f"{format_bytes(self.available_bytes)} ({self.available_source}); budget "
            f"{self.max_memory_fraction:.0%} of it = {format_bytes(self.budget_bytes)}."
        )
        if self.device_available_bytes is not None:
            text += (
                f" On the accelerator: {format_bytes(self.device_bytes)} of "
                f"{format_bytes(self.device_available_bytes)} free."
            )
        return text + (" Safe." if self.safe else " NOT safe.")


# ------------------------------------------------------------------ what is available


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _inactive_file(stat: Path, key: str) -> int:
    try:
        for line in stat.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


@functools.cache
def _limited_cgroups() -> tuple[tuple[Path, tuple[str, str, str]], ...]:
    """Cgroup directories (this process's and every enclosing one) that set a memory limit.

    Found once per process: walking the hierarchy costs ~0.2 ms, and limits are set
    when a job starts. Usage is read again on every call.
    """
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return ()
    limited = []
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if controllers == "":  # cgroup v2
            root = Path("/sys/fs/cgroup")
            files = ("memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):
            root = Path("/sys/fs/cgroup/memory")
            files = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        level = root / rel.lstrip("/")
        while True:
            limit = _read_int(level / files[0])
            if limit is not None and limit < 2**60:  # "max" / 2**63-ish mean unlimited
                limited.append((level, files))
            if level == root or root not in level.parents:
                break
            level = level.parent
    return tuple(limited)


def _cgroup_available() -> int | None:
    """Least memory left under any enclosing cgroup limit (v1 or v2), if limited."""
    best: int | None = None
    for level, (limit_file, usage_file, inactive_key) in _limited_cgroups():
        limit = _read_int(level / limit_file)
        usage = _read_int(level / usage_file)
        if limit is None or usage is None:
            continue
        # page cache that can be dropped is available, as psutil counts it
        left = limit - usage + _inactive_file(level / "memory.stat", inactive_key)
        best = left if best is None else min(best, left)
    return best


def _rlimit_available() -> tuple[int | None, str]:
    """Room left under RLIMIT_AS / RLIMIT_DATA (``ulimit -v`` / ``-d``), if set."""
    try:
        import resource

        status = Path("/proc/self/status").read_text().splitlines()
    except (ImportError, OSError):
        return None, ""
    used = {}
    for line in status:
        key, _, value = line.partition(":")
        if key in ("VmSize", "VmData"):
            used[key] = int(value.split()[0]) * 1024
    best: int | None = None
    name = ""
    for limit_id, key, label in (
        (resource.RLIMIT_AS, "VmSize", "RLIMIT_AS"),
        (resource.RLIMIT_DATA, "VmData", "RLIMIT_DATA"),
    ):
        soft, _ = resource.getrlimit(limit_id)
        if soft != resource.RLIM_INFINITY and key in used:
            left = soft - used[key]
            if best is None or left < best:
                best, name = left, label
    return best, name


def available_memory() -> tuple[int, str]:
    """Bytes this process can still allocate, and which limit decides it.

    The least of psutil's ``virtual_memory().available``, the room under the
    cgroup memory limit and the room under ``RLIMIT_AS``/``RLIMIT_DATA``.
    """
    import psutil

    best, source = int(psutil.virtual_memory().available), "psutil available"
    cgroup = _cgroup_available()
    if cgroup is not None and cgroup < best:
        best, source = cgroup, "cgroup memory limit"
    rlimit, name = _rlimit_available()
    if rlimit is not None and rlimit < best:
        best, source = rlimit, name
    return max(best, 0), source


def budget(max_memory_fraction: float = DEFAULT_MAX_MEMORY_FRACTION) -> int:
    """Bytes one operation may use here: ``max_memory_fraction`` of :func:`available_memory`."""
    return int(check_fraction(max_memory_fraction) * available_memory()[0])


def device_available_memory(device: Any) -> int | None:
    """Free memory of an accelerator (JAX device), or None for the CPU / unknown."""
    if device is None or getattr(device, "platform", "cpu") == "cpu":
        return None
    try:
        stats = device.memory_stats()
    except Exception:  # backends without memory statistics
        return None
    if not stats or "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))


# ----------------------------------------------------------------------- the model


@dataclass(frozen=True, eq=False)
class Shape:
    """What the model needs to know about a stratification: O(G) numbers, no data.

    ``counts[i]`` points in each of ``weights[i]`` groups. Building a full
    :class:`~fastsplit._plan.ChunkPlan` would allocate O(K) arrays, which for a
    dataset that does not fit is already too much to allocate before refusing it.
    """

    n: int
    chunk_size: int
    layout: str
    counts: np.ndarray
    weights: np.ndarray

    @classmethod
    def of_plan(cls, plan: ChunkPlan) -> Shape:
        """The shape of an existing plan (exact group sizes)."""
        counts = np.asarray(plan.counts, dtype=np.int64)
        return cls(plan.n, plan.chunk_size, plan.layout, counts, np.ones_like(counts))

    @classmethod
    def balanced(cls, n: int, n_groups: int, chunk_size: int, layout: str) -> Shape:
        """``n`` points spread as evenly as possible over ``n_groups`` groups."""
        groups = max(1, min(n_groups, n)) if n else 1
        base, extra = divmod(n, groups)
        return cls(
            n,
            chunk_size,
            "strided" if layout == "auto" else layout,
            np.array([base, base + 1], dtype=np.int64),
            np.array([groups - extra, extra], dtype=np.int64),
        )


def _numba_threads(n: int) -> int:
    if "numba" in sys.modules:
        threads = int(sys.modules["numba"].get_num_threads())
    else:
        try:
            threads = int(os.environ.get("NUMBA_NUM_THREADS", "0")) or len(os.sched_getaffinity(0))
        except (AttributeError, ValueError):
            threads = os.cpu_count() or 1
    return segment_count(n, threads)


def _block_tables(shape: Shape) -> tuple[int, int]:
    """(block-table bytes, numba scratch bytes), sized exactly as the numba kernels size them."""
    if shape.n == 0:
        return 0, 0
    k = -(-shape.n // shape.chunk_size)
    q, r = np.divmod(shape.counts, k)
    nb1 = -(-(q + 1) // BLOCK)  # blocks of a (chunk, group) pair holding q + 1 points
    nb0 = -(-q // BLOCK)
    pairs = np.where(q > 0, k, r)  # pairs that hold any point of the group
    blocks = int((shape.weights * (r * nb1 + (pairs - r) * nb0)).sum())
    width = 4 if shape.chunk_size < 2**31 else 8
    scratch = _numba_threads(shape.n) * 32 * (int((shape.weights * nb1).sum()) + 1)
    return width * blocks, scratch


def _host_index_parts(
    backend: str, shape: Shape, code_bytes: int
) -> tuple[dict[str, int], dict[str, int]]:
    """(index-mode peak parts, parts still held when the permutation is done)."""
    n = shape.n
    order = n * index_dtype(n).itemsize
    codes = n * code_bytes
    if backend == "numpy":
        temporaries = n * NUMPY_SORT_BYTES_PER_POINT[shape.layout] + (order - 4 * n)
        return {"codes": codes, "sort_temporaries": temporaries}, {"codes": codes, "order": order}
    block_table, scratch = _block_tables(shape)
    peak = {"codes": codes, "order": order, "block_table": block_table, "scratch": scratch}
    return peak, {"codes": codes, "order": order}


def _model(
    shape: Shape,
    *,
    backend: str,
    code_bytes: int,
    itemsizes: Sequence[int],
    upload_bytes: int,
    device_sources: bool,
    on_accelerator: bool,
) -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int]]:
    """Peak parts: (copy host, index host, copy device, index device)."""
    n = shape.n
    if n == 0:
        return {}, {}, {}, {}
    outputs = n * sum(itemsizes)
    codes = n * code_bytes
    factorize = {"codes": 2 * codes}  # codes and their remapped copy
    host_backend = backend
    if backend == "jax":
        host_backend = "numba" if _has_numba() else "numpy"
    index_peak, after_order = _host_index_parts(host_backend, shape, code_bytes)
    index_host = _largest(factorize, index_peak)
    copy_device: dict[str, int] = {}
    index_device: dict[str, int] = {}
    if backend == "jax":
        order = n * index_dtype(n).itemsize
        copy_device = {"device_order": order, "outputs": outputs, "uploads": upload_bytes}
        if device_sources:
            index_device = {"device_order": order}
        copy_host = dict(index_host)
        if not on_accelerator:  # a CPU device: device buffers are host memory too
            copy_host = _plus(copy_host, copy_device)
            index_host = _plus(index_host, index_device)
            copy_device, index_device = {}, {}
        return copy_host, index_host, copy_device, index_device
    if backend == "numpy":
        copy_host = _largest(index_host, _plus(after_order, {"outputs": outputs}))
    else:
        block_table, scratch = _block_tables(shape)
        scatter = {"codes": codes, "outputs": outputs, "block_table": block_table}
        scatter["scratch"] = scratch
        if any(size not in (1, 2, 4, 8) for size in itemsizes):  # gathered via the order
            scatter = _plus(scatter, {"order": n * index_dtype(n).itemsize})
            scatter["block_table"] += block_table
        copy_host = _largest(factorize, scatter)
    return copy_host, index_host, copy_device, index_device


def _has_numba() -> bool:
    from .backends import _installed

    return _installed("numba")


def _plus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + value
    return out


def _largest(*phases: dict[str, int]) -> dict[str, int]:
    return max(phases, key=lambda parts: sum(parts.values()))


def _estimate(
    shape: Shape,
    *,
    mode: str,
    backend: str,
    code_bytes: int,
    itemsizes: Sequence[int],
    max_memory_fraction: float,
    available: int | None = None,
    source: str = "given",
    upload_bytes: int = 0,
    device_sources: bool = True,
    device: Any = None,
) -> MemoryEstimate:
    device_free = device_available_memory(device) if backend == "jax" else None
    copy_host, index_host, copy_device, index_device = _model(
        shape,
        backend=backend,
        code_bytes=code_bytes,
        itemsizes=itemsizes,
        upload_bytes=upload_bytes,
        device_sources=device_sources,
        on_accelerator=device_free is not None,
    )
    if available is None:
        available, source = available_memory()
    budget = max_memory_fraction * available
    device_budget = None if device_free is None else max_memory_fraction * device_free

    def fits(host: dict[str, int], dev: dict[str, int]) -> bool:
        ok = sum(host.values()) <= budget
        if device_budget is not None:
            ok = ok and sum(dev.values()) <= device_budget
        return ok

    chosen = mode
    if mode == "auto":
        chosen = "copy" if fits(copy_host, copy_device) else "index"
    host, dev = (copy_host, copy_device) if chosen == "copy" else (index_host, index_device)
    return MemoryEstimate(
        n=shape.n,
        mode=chosen,
        backend=backend,
        data_bytes=shape.n * sum(itemsizes),
        copy_bytes=sum(copy_host.values()),
        index_bytes=sum(index_host.values()),
        peak_bytes=sum(host.values()),
        breakdown=host,
        available_bytes=int(available),
        available_source=source,
        max_memory_fraction=max_memory_fraction,
        safe=fits(host, dev),
        device_bytes=sum(dev.values()),
        device_available_bytes=device_free,
    )


def check_fraction(max_memory_fraction: object) -> float:
    """``max_memory_fraction`` must be a number in (0, 1]."""
    if (
        isinstance(max_memory_fraction, bool)
        or not isinstance(max_memory_fraction, int | float | np.floating | np.integer)
        or not 0 < float(max_memory_fraction) <= 1
    ):
        raise InvalidArgumentError(
            f"max_memory_fraction must be a number in (0, 1], got {max_memory_fraction!r}; "
            "it is the share of available memory stratify may use, e.g. 0.7."
        )
    return float(max_memory_fraction)


def estimate_memory(
    n: int,
    *,
    n_arrays: int = 1,
    itemsize: int | Sequence[int] = 8,
    mode: str = "auto",
    backend: str = "auto",
    n_groups: int = 1,
    chunk_size: int = 100_000,
    layout: str = "strided",
    max_memory_fraction: float = DEFAULT_MAX_MEMORY_FRACTION,
    available: int | None = None,
) -> MemoryEstimate:
    """How much memory stratifying ``n`` points needs, and whether it fits here.

    Parameters
    ----------
    n : int
        Number of points.
    n_arrays : int, default 1
        Data arrays reordered together (ignored when ``itemsize`` is a sequence).
    itemsize : int or sequence of int, default 8
        Bytes per value of each array (8 for float64, 4 for float32), one number
        for all arrays or one per array.
    mode : {"auto", "copy", "index"}
        The mode to estimate; ``"auto"`` picks ``"copy"`` when it is safe, else
        ``"index"`` (as :func:`fastsplit.stratify` does).
    backend : {"auto", "numba", "numpy", "jax"}
        The backend to model (``"auto"`` as :func:`fastsplit.stratify` resolves it
        for NumPy input). The numpy oracle needs about 65 bytes per point.
    n_groups : int, default 1
        Number of groups (sets the code width and the block table size).
    chunk_size : int, default 100_000
        As in :func:`fastsplit.stratify`.
    layout : {"strided", "contiguous", "auto"}
        As in :func:`fastsplit.stratify`.
    max_memory_fraction : float, default 0.7
        Share of available memory the peak may use.
    available : int, optional
        Bytes available; by default measured (psutil, cgroup limit, rlimits).

    Returns
    -------
    MemoryEstimate
        ``copy_bytes``, ``index_bytes``, ``peak_bytes``, ``available_bytes``,
        ``safe``, the ``mode`` chosen, and a ``breakdown`` of the peak.

    Examples
    --------
    >>> import fastsplit
    >>> e = fastsplit.estimate_memory(3_000_000, n_arrays=4, itemsize=8, n_groups=23,
    ...                               backend="numba", available=2**30)
    >>> e.mode, e.breakdown["outputs"] == 3_000_000 * 4 * 8, e.index_bytes < e.copy_bytes / 6
    ('copy', True, True)
    >>> e.safe, fastsplit.estimate_memory(3_000_000, n_arrays=4, backend="numba",
    ...                                   available=2**26).mode
    (True, 'index')
    """
    from . import _validate as v
    from .backends import resolve

    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise InvalidArgumentError(f"n must be a non-negative int (number of points), got {n!r}.")
    v.check_choice("mode", mode, v.MODES)
    v.check_choice("layout", layout, v.LAYOUTS)
    chunk_size = v.check_chunk_size(chunk_size)
    fraction = check_fraction(max_memory_fraction)
    sizes = [int(itemsize)] * n_arrays if isinstance(itemsize, int | np.integer) else list(itemsize)
    if any(s <= 0 for s in sizes) or n_arrays < 0:
        raise InvalidArgumentError(
            f"itemsize and n_arrays must be positive, got itemsize={itemsize!r}, "
            f"n_arrays={n_arrays!r}."
        )
    if isinstance(n_groups, bool) or not isinstance(n_groups, int | np.integer) or n_groups < 1:
        raise InvalidArgumentError(f"n_groups must be an int >= 1, got {n_groups!r}.")
    name = resolve(backend)
    return _estimate(
        Shape.balanced(int(n), int(n_groups), chunk_size, layout),
        mode=mode,
        backend=name,
        code_bytes=code_dtype(int(n_groups)).itemsize,
        itemsizes=sizes,
        max_memory_fraction=fraction,
        available=available,
    )


def refuse(estimate: MemoryEstimate, requested_mode: str) -> None:
    """Raise :class:`MemoryBudgetError` unless ``estimate`` is safe (nothing allocated yet)."""
    if estimate.safe:
        return
    ways = []
    if estimate.mode == "copy" and requested_mode == "copy":
        ways.append(
            f"mode='index' (needs {format_bytes(estimate.index_bytes)}: chunks are gathered "
            "one at a time from the inputs)"
        )
    if estimate.backend == "numpy":
        ways.append("backend='numba' (the numpy oracle needs about 12x more for its sorts)")
    ways += [
        "a machine (or job allocation) with more memory",
        "smaller pieces read from disk: pass np.memmap arrays with mode='index' and "
        "layout='auto' so each chunk reads only its own pages, or stratify a subset",
        f"max_memory_fraction above {estimate.max_memory_fraction} or "
        "check_memory_safety=False to try anyway",
    ]
    raise MemoryBudgetError(
        f"not enough memory to stratify: {estimate.report()} Ways out: {'; '.join(ways)}."
    )


__all__ = [
    "DEFAULT_MAX_MEMORY_FRACTION",
    "MemoryEstimate",
    "Shape",
    "available_memory",
    "budget",
    "check_fraction",
    "device_available_memory",
    "estimate_memory",
    "format_bytes",
    "refuse",
]
