"""Memory policy: what is available, and whether a stratification fits, in one place.

Every backend owns a model of the bytes its kernels allocate for a shape
(``backends/_numpy.py``, ``_numba_sizes.py``, ``_jax_sizes.py``); this module reads
what is really available (the least of psutil, the cgroup limit and
``RLIMIT_AS``/``RLIMIT_DATA``), and :func:`decide` turns the two into the mode to
use: ``stratify(mode="auto")`` copies when that is safe, falls back to index mode
when only that is safe, and raises :class:`~fastsplit.errors.MemoryBudgetError`
before allocating anything when neither is. :func:`budget` is the same budget for
everything else that sizes its work by memory (``fastsplit.fit``).

psutil is imported on first use only (``import fastsplit`` stays light).
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._available import available_memory
from ._labels import code_dtype
from ._plan import DEFAULT_CHUNK_SIZE
from ._validate import check_fraction
from .backends import memory_model, resolve
from .backends._interface import Inputs, Parts, Shape
from .errors import InvalidArgumentError, InvalidTypeError, MemoryBudgetError

log = logging.getLogger("fastsplit")

DEFAULT_MAX_MEMORY_FRACTION = 0.7

UNCHECKED_BYTES = 64 * 2**20
"""With the default fraction, calls needing less than this (outputs + permutation +
codes) skip the memory check: reading psutil and the limits costs ~0.25 ms a call."""


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


def budget(max_memory_fraction: float = DEFAULT_MAX_MEMORY_FRACTION) -> int:
    """Bytes one operation may use here: ``max_memory_fraction`` of :func:`available_memory`.

    Examples
    --------
    >>> budget(0.5) <= available_memory()[0]
    True
    """
    return int(check_fraction(max_memory_fraction) * available_memory()[0])


# ------------------------------------------------------------------------- the policy


def estimate(
    shape: Shape,
    *,
    mode: str,
    backend: str,
    code_bytes: int,
    inputs: Inputs,
    max_memory_fraction: float,
    available: tuple[int, str] | None = None,
) -> MemoryEstimate:
    """The backend's model for ``shape`` against what is available; picks the mode for auto."""
    need = memory_model(backend).need(shape, code_bytes=code_bytes, inputs=inputs)
    room, source = available_memory() if available is None else available
    host_budget = max_memory_fraction * room
    device_budget = None if inputs.device_free is None else max_memory_fraction * inputs.device_free

    def fits(host: Parts, device: Parts) -> bool:
        if sum(host.values()) > host_budget:
            return False
        return device_budget is None or sum(device.values()) <= device_budget

    chosen = mode
    if mode == "auto":
        chosen = "copy" if fits(need.copy, need.copy_device) else "index"
    host, device = (
        (need.copy, need.copy_device) if chosen == "copy" else (need.index, need.index_device)
    )
    return MemoryEstimate(
        n=shape.n,
        mode=chosen,
        backend=backend,
        data_bytes=shape.n * sum(inputs.itemsizes),
        copy_bytes=sum(need.copy.values()),
        index_bytes=sum(need.index.values()),
        peak_bytes=sum(host.values()),
        breakdown=host,
        available_bytes=int(room),
        available_source=source,
        max_memory_fraction=max_memory_fraction,
        safe=fits(host, device),
        device_bytes=sum(device.values()),
        device_available_bytes=inputs.device_free,
    )


def worth_checking(n: int, inputs: Inputs, max_memory_fraction: float) -> bool:
    """Whether a call is big enough for the check to matter (any call, if the fraction is set).

    A request far below any machine's memory is not worth the psutil and limit reads;
    an explicit ``max_memory_fraction`` is always honoured.
    """
    if max_memory_fraction != DEFAULT_MAX_MEMORY_FRACTION:
        return True
    return n * (sum(inputs.itemsizes) + 16) >= UNCHECKED_BYTES  # outputs, order, codes


def decide(
    shape: Shape,
    *,
    mode: str,
    backend: str,
    code_bytes: int,
    inputs: Inputs,
    max_memory_fraction: float,
    available: tuple[int, str],
) -> str:
    """The mode to run (``"copy"`` or ``"index"``), or :class:`MemoryBudgetError`.

    Called before anything is allocated: once with a lower bound (before labels
    become codes, one group), once with the exact groups.
    """
    result = estimate(
        shape,
        mode=mode,
        backend=backend,
        code_bytes=code_bytes,
        inputs=inputs,
        max_memory_fraction=max_memory_fraction,
        available=available,
    )
    if not result.safe:
        raise MemoryBudgetError(
            f"not enough memory to stratify: {result.report()} "
            f"Ways out: {'; '.join(_ways_out(result, mode))}."
        )
    if mode == "auto" and result.mode == "index":
        log.info("copy mode does not fit in memory, using index mode: %s", result.report())
    return result.mode


def _ways_out(result: MemoryEstimate, requested_mode: str) -> list[str]:
    ways = []
    if result.mode == "copy" and requested_mode == "copy":
        ways.append(
            f"mode='index' (needs {format_bytes(result.index_bytes)}: chunks are gathered "
            "one at a time from the inputs)"
        )
    if result.backend == "numpy":
        ways.append("backend='numba' (the numpy oracle needs about 12x more for its sorts)")
    ways += [
        "a machine (or job allocation) with more memory",
        "smaller pieces read from disk: pass np.memmap arrays with mode='index' and "
        "layout='auto' so each chunk reads only its own pages, or stratify a subset",
        f"max_memory_fraction above {result.max_memory_fraction} or "
        "check_memory_safety=False to try anyway",
    ]
    return ways


def estimate_memory(
    n: int,
    *,
    n_arrays: int = 1,
    itemsize: int | Sequence[int] = 8,
    mode: str = "auto",
    backend: str = "auto",
    n_groups: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    layout: str = "strided",
    max_memory_fraction: float = DEFAULT_MAX_MEMORY_FRACTION,
    available: int | None = None,
    seed: int | Sequence[int] | None = None,
    grouped: bool = True,
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
        for all arrays or one per array; a 2-D array of d columns counts d x its
        item size (a row is one point).
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
    seed : int or tuple of int, optional
        As in :func:`fastsplit.stratify`: a seeded order also holds each group's
        member list (one index, 4 or 8 bytes, a point) on the numba backend, and
        copy mode builds the order. The list is not built when every group is one
        run of the input (angle-major data); the estimate assumes it is.
    grouped : bool, default True
        Whether the labels come in runs of one group (angle-major data, sorted
        labels). ``False`` (labels in random order): the numba backend fills the
        order from each group's member list, one index a point more, which is
        ~3x faster there than scattering point by point.

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

    n = v.check_count("n", n, wrong_type=InvalidArgumentError)
    v.check_choice("mode", mode, v.MODES)
    v.check_choice("layout", layout, v.LAYOUTS)
    chunk_size = v.check_chunk_size(chunk_size)
    fraction = check_fraction(max_memory_fraction)
    n_groups = v.check_count("n_groups", n_groups, minimum=1)
    if isinstance(itemsize, numbers.Integral) and not isinstance(itemsize, bool | np.bool_):
        sizes = [v.check_count("itemsize", itemsize, minimum=1)] * v.check_count(
            "n_arrays", n_arrays
        )
    elif isinstance(itemsize, Sequence | np.ndarray) and v.as_array("itemsize", itemsize).ndim == 1:
        sizes = [v.check_count(f"itemsize[{i}]", s, minimum=1) for i, s in enumerate(itemsize)]
    else:
        raise InvalidTypeError(
            f"itemsize must be an int (bytes per value, e.g. 8 for float64) or one int per "
            f"array, got {itemsize!r}."
        )
    room = None
    if available is not None:
        room = (v.check_count("available", available), "given")
    seeded = v.check_seed(seed) is not None
    mixed = not v.check_flag("grouped", grouped)
    return estimate(
        Shape.balanced(n, n_groups, chunk_size, layout, seeded=seeded, mixed=mixed),
        mode=mode,
        backend=resolve(backend),
        code_bytes=code_dtype(n_groups).itemsize,
        inputs=Inputs(itemsizes=tuple(sizes)),
        max_memory_fraction=fraction,
        available=room,
    )


__all__ = [
    "DEFAULT_MAX_MEMORY_FRACTION",
    "MemoryEstimate",
    "available_memory",
    "budget",
    "decide",
    "estimate",
    "estimate_memory",
    "format_bytes",
    "worth_checking",
]
