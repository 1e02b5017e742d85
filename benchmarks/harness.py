"""Timing and memory measurement: interleaved rounds, tracemalloc peaks, the machine.

Methods run interleaved (every round runs each method once, in rotating order),
so machine noise hits them alike. Peak memory is measured with
:mod:`tracemalloc` in a separate, untimed pass: numpy reports every array
allocation to it, so it sees the outputs and every n-sized temporary; the few
kilobytes numba kernels allocate for themselves (per-thread buffers of
O(K + G)) are not seen.
"""

from __future__ import annotations

import gc
import os
import platform
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import fastsplit
from fastsplit._progress import Progress
from fastsplit.errors import SparseGroupWarning

__all__ = [
    "Measurement",
    "Method",
    "machine_info",
    "peak_memory",
    "quiet_stratify",
    "time_interleaved",
]

SLOW_SECONDS = 1.0
"""A method slower than this runs in the first three rounds only."""


@dataclass(frozen=True)
class Method:
    """One timed contender: a name, a one-line description and a zero-argument call."""

    name: str
    label: str
    call: Callable[[], Any]


def quiet_stratify(*args: Any, **kwargs: Any) -> Any:
    """:func:`fastsplit.stratify` without its sparse-group warnings (small benchmark sizes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        return fastsplit.stratify(*args, **kwargs)


@dataclass
class Measurement:
    """Times and memory of one method in one run."""

    name: str
    label: str
    times_s: list[float] = field(default_factory=list)
    peak_bytes: int = 0
    retained_bytes: int = 0

    @property
    def median_s(self) -> float:
        return float(np.median(self.times_s))

    @property
    def min_s(self) -> float:
        return float(np.min(self.times_s))


def _time_once(call: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    del result  # freeing the output is not part of any method's cost
    return seconds


def time_interleaved(
    methods: Sequence[Method],
    repeat: int,
    *,
    progress: Progress | Callable[[str], None] | None = None,
) -> dict[str, Measurement]:
    """Time every method ``repeat`` times, interleaved, after one untimed warm-up call.

    Round r runs the methods in an order rotated by r, so neither drift in the
    machine's load nor the method's position in a round favours one of them.
    Methods slower than :data:`SLOW_SECONDS` run in the first three rounds only.
    """
    progress = Progress.of(progress)
    results = {m.name: Measurement(m.name, m.label) for m in methods}
    slow = set()
    for m in methods:  # warm-up: JIT compilation, first-touch effects
        if _time_once(m.call) > SLOW_SECONDS:
            slow.add(m.name)
    for r in range(repeat):
        progress(f"round {r + 1}/{repeat}")
        shift = r % len(methods)
        for m in [*methods[shift:], *methods[:shift]]:
            if m.name in slow and r >= 3:
                continue
            results[m.name].times_s.append(_time_once(m.call))
    return results


def peak_memory(call: Callable[[], Any]) -> tuple[int, int]:
    """(extra peak bytes during ``call``, bytes still held by its result), by tracemalloc."""
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = call()
        after, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak - before, after - before


def machine_info() -> dict[str, Any]:
    """Versions and hardware, for the JSON report."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
    }
    try:
        import numba

        info["numba"] = numba.__version__
        info["numba_threads"] = numba.get_num_threads()
    except ImportError:
        info["numba"] = None
    try:
        import psutil

        info["memory_total"] = psutil.virtual_memory().total
        info["load_average"] = os.getloadavg()
    except (ImportError, OSError):
        pass
    return info
