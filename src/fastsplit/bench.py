"""Side-by-side comparison: fastsplit against the floor and the approaches it replaces.

``fastsplit bench`` (or ``python -m fastsplit.bench``) times, in one process, on
the same angle-major data (4 float64 arrays, like phi, t1, t2, g2):

============================  ===============================================
``plain_copy``                the floor: ``np.array(a, copy=True)`` for each array
``fastsplit_copy``            ``fs.stratify(..., mode="copy")``, numba backend
``fastsplit_index``           ``fs.stratify(..., mode="index")``: order + bounds
``fastsplit_index_gather``    index mode, then ``s.take(a)`` for each array
``numpy_copy``                the numpy (reference) backend, copy mode
``naive_mask``                per-group masks, the O(n x groups) approach users had
``shuffle_gather``            random permutation + gather (nlsq >= 0.7.2, internally)
============================  ===============================================

Methods run interleaved (every round runs each method once, in rotating order),
so machine noise hits them alike; the table gives medians and minimums, each
method's ratio to the floor, points/s, GB/s and the extra peak memory of one
call. Peak memory is measured with :mod:`tracemalloc` in a separate, untimed
pass: numpy reports every array allocation to it, so it sees the outputs and
every n-sized temporary; the few kilobytes numba kernels allocate for
themselves (per-thread buffers of O(K + G)) are not seen.

``--all-targets`` also measures the other DESIGN.md section 9 figures: cost of
360 vs 3 groups, the scaling exponent over n, ``import fastsplit`` time, and the
stratify / fit time ratio inside :func:`fastsplit.fit` (when it is installed).

This module is a command: it prints its report (progress lines go to stderr).
It is never imported by ``import fastsplit``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from . import __version__
from ._api import stratify
from .errors import SparseGroupWarning

__all__ = [
    "METHODS",
    "Measurement",
    "Target",
    "add_arguments",
    "add_parser",
    "compare",
    "group_cost",
    "import_time",
    "main",
    "make_data",
    "naive_stratify",
    "plain_copy",
    "run",
    "scaling",
    "shuffle_gather",
]

DEFAULT_N = 3_000_000
DEFAULT_GROUPS = 23
DEFAULT_CHUNK_SIZE = 100_000
DEFAULT_REPEAT = 15
SCALING_N = (100_000, 300_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000)
HEAVY_MODULES = ("numba", "jax", "nlsq", "psutil", "scipy", "matplotlib")
_SLOW_SECONDS = 1.0  # a method slower than this runs in the first rounds only


# ------------------------------------------------------------------------------ data


def make_data(
    n: int, n_groups: int, *, seed: int = 0, dtype: Any = np.float64
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Angle-major XPCS-like data: labels and the 4 arrays (phi, t1, t2, g2).

    Parameters
    ----------
    n : int
        Number of points.
    n_groups : int
        Number of angles; their counts differ by at most one.
    seed : int
        Seed of the random values.
    dtype : dtype
        dtype of the 4 arrays.

    Returns
    -------
    labels : numpy.ndarray
        The angle of every point, angle-major (equal to the first array).
    arrays : tuple of numpy.ndarray
        ``(phi, t1, t2, g2)``.

    Examples
    --------
    >>> phi, arrays = make_data(10, 3)
    >>> np.unique(phi, return_counts=True)[1].tolist(), len(arrays)
    ([4, 3, 3], 4)
    """
    rng = np.random.default_rng(seed)
    # Non-integer angles spread over +-180 degrees, as real detectors give.
    step = 360.0 / n_groups
    angles = (np.arange(n_groups) * step - 180.0 + rng.uniform(0.1, 0.9, n_groups) * step).round(4)
    counts = np.full(n_groups, n // n_groups, dtype=np.int64)
    counts[: n % n_groups] += 1
    phi = np.repeat(angles, counts).astype(dtype)
    frames = max(2, math.isqrt(max(1, n // max(n_groups, 1))))
    t1 = (rng.integers(0, frames, n) * 0.1).astype(dtype)
    t2 = (rng.integers(0, frames, n) * 0.1).astype(dtype)
    g2 = (1.0 + 0.3 * rng.random(n)).astype(dtype)
    return phi, (phi, t1, t2, g2)


# ------------------------------------------------------------------------- baselines


def plain_copy(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The floor: every array copied into fresh memory, ``np.array(a, copy=True)``."""
    return [np.array(a, copy=True) for a in arrays]


def naive_stratify(
    labels: np.ndarray, *arrays: np.ndarray, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[np.ndarray, ...]:
    """The per-group-mask stratifier of the original release notes, O(n x groups).

    Written from the description in ``homodyne-v2.2-stratification-release-notes``:
    find every angle's points with one boolean mask per angle, cut each angle's
    points into as many consecutive slices as there are chunks (so every chunk
    holds a time slice of every angle), concatenate chunk by chunk into one index
    array and gather every array through it (the "index-based" path).

    Examples
    --------
    >>> phi = np.repeat([1.0, 2.0], 4)
    >>> naive_stratify(phi, np.arange(8), chunk_size=4)[0].tolist()
    [0, 1, 4, 5, 2, 3, 6, 7]
    """
    n = labels.shape[0]
    n_chunks = max(1, -(-n // chunk_size))
    angles = np.unique(labels)
    per_angle = [np.flatnonzero(labels == a) for a in angles]  # one pass over n per angle
    slices = [np.array_split(idx, n_chunks) for idx in per_angle]
    order = np.concatenate([s[k] for k in range(n_chunks) for s in slices])
    return tuple(a[order] for a in arrays)


def shuffle_gather(arrays: Sequence[np.ndarray], *, seed: int = 0) -> list[np.ndarray]:
    """A random permutation and one gather per array (what nlsq >= 0.7.2 does)."""
    permutation = np.random.default_rng(seed).permutation(arrays[0].shape[0])
    return [a[permutation] for a in arrays]


# ----------------------------------------------------------------------- the methods


@dataclass(frozen=True)
class Method:
    """One timed contender: a name, a one-line description and a zero-argument call."""

    name: str
    label: str
    call: Callable[[], Any]


METHODS = (
    "plain_copy",
    "fastsplit_copy",
    "fastsplit_index",
    "fastsplit_index_gather",
    "numpy_copy",
    "naive_mask",
    "shuffle_gather",
)
"""Names of the compared methods, in table order; ``plain_copy`` is the floor."""


def _quiet_stratify(*args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        return stratify(*args, **kwargs)


def _index_gather(labels: np.ndarray, arrays: tuple[np.ndarray, ...], chunk_size: int) -> Any:
    s = _quiet_stratify(labels, mode="index", backend="numba", chunk_size=chunk_size)
    return [s.take(a) for a in arrays]


def build_methods(
    labels: np.ndarray,
    arrays: tuple[np.ndarray, ...],
    chunk_size: int,
    *,
    fast_backend: str = "numba",
    names: Sequence[str] = METHODS,
) -> list[Method]:
    """The contenders of :data:`METHODS` bound to one data set."""
    c = chunk_size
    table = {
        "plain_copy": Method(
            "plain_copy", "plain copy x arrays (floor)", lambda: plain_copy(arrays)
        ),
        "fastsplit_copy": Method(
            "fastsplit_copy",
            f"fastsplit {fast_backend}, copy mode",
            lambda: _quiet_stratify(
                labels, *arrays, mode="copy", backend=fast_backend, chunk_size=c
            ),
        ),
        "fastsplit_index": Method(
            "fastsplit_index",
            f"fastsplit {fast_backend}, index mode (order + bounds)",
            lambda: _quiet_stratify(labels, mode="index", backend=fast_backend, chunk_size=c),
        ),
        "fastsplit_index_gather": Method(
            "fastsplit_index_gather",
            f"fastsplit {fast_backend}, index mode + gather x arrays",
            lambda: _index_gather(labels, arrays, c),
        ),
        "numpy_copy": Method(
            "numpy_copy",
            "fastsplit numpy backend, copy mode",
            lambda: _quiet_stratify(labels, *arrays, mode="copy", backend="numpy", chunk_size=c),
        ),
        "naive_mask": Method(
            "naive_mask",
            "naive per-group masks, O(n x groups)",
            lambda: naive_stratify(labels, *arrays, chunk_size=c),
        ),
        "shuffle_gather": Method(
            "shuffle_gather",
            "random shuffle + gather (nlsq >= 0.7.2)",
            lambda: shuffle_gather(arrays),
        ),
    }
    return [table[name] for name in names]


# --------------------------------------------------------------------- measurement


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


def _progress(message: str) -> None:
    print(f"[fastsplit bench] {message}", file=sys.stderr, flush=True)


def _time_once(call: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    del result  # freeing the output is not part of any method's cost
    return seconds


def time_interleaved(
    methods: Sequence[Method], repeat: int, *, progress: Callable[[str], None] | None = None
) -> dict[str, Measurement]:
    """Time every method ``repeat`` times, interleaved, after one untimed warm-up call.

    Round r runs the methods in an order rotated by r, so neither drift in the
    machine's load nor the method's position in a round favours one of them.
    Methods slower than a second run in the first three rounds only.
    """
    results = {m.name: Measurement(m.name, m.label) for m in methods}
    slow = set()
    for m in methods:  # warm-up: JIT compilation, first-touch effects
        if _time_once(m.call) > _SLOW_SECONDS:
            slow.add(m.name)
    for r in range(repeat):
        if progress is not None:
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


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One DESIGN.md section 9 figure against its target."""

    name: str
    value: float
    limit: float
    unit: str
    met: bool
    detail: str = ""
    lower: float | None = None  # for a range target (the scaling exponent)

    def line(self) -> str:
        verdict = "MET   " if self.met else "MISSED"
        bound = (
            f"in {self.lower:g} .. {self.limit:g}"
            if self.lower is not None
            else f"<= {self.limit:g}"
        )
        text = f"{verdict} {self.name}: {self.value:.4g} {self.unit} (target {bound} {self.unit})"
        return f"{text}; {self.detail}" if self.detail else text


def _kg_allowance(n: int, n_groups: int, chunk_size: int) -> int:
    """The O(K x G) term of the index-mode memory target, in bytes.

    16 bytes per (chunk, group) pair (a block start and a table entry) plus a
    fixed 256 KiB for O(1) state (per-thread buffers, Python objects).
    """
    k = max(1, -(-n // chunk_size))
    return 16 * k * n_groups + 256 * 1024


def comparison_targets(
    results: dict[str, Measurement], n: int, n_groups: int, chunk_size: int, n_arrays: int
) -> list[Target]:
    """The targets one comparison run measures: copy ratio, index time, memory."""
    note = (
        ""
        if (n, n_groups) == (DEFAULT_N, DEFAULT_GROUPS)
        else (f"measured at n={n:,}, {n_groups} groups (targets are defined at 3M, 23 groups)")
    )
    out = []
    floor = results["plain_copy"]
    if "fastsplit_copy" in results:
        copy = results["fastsplit_copy"]
        ratio = copy.median_s / floor.median_s
        out.append(
            Target(
                "copy mode vs plain copy",
                ratio,
                2.0,
                "x",
                ratio <= 2.0,
                f"median {1e3 * copy.median_s:.1f} vs {1e3 * floor.median_s:.1f} ms, "
                f"min ratio {copy.min_s / floor.min_s:.2f}x {note}".strip(),
            )
        )
        output_bytes = max(1, copy.retained_bytes)
        mem = copy.peak_bytes / output_bytes
        out.append(
            Target(
                "extra peak memory, copy mode",
                mem,
                1.1,
                "x outputs",
                mem <= 1.1,
                f"{copy.peak_bytes / 2**20:.1f} MiB peak for "
                f"{output_bytes / 2**20:.1f} MiB of output",
            )
        )
    if "fastsplit_index" in results:
        index = results["fastsplit_index"]
        ms = 1e3 * index.median_s
        out.append(
            Target(
                "index mode (order + bounds)",
                ms,
                10.0,
                "ms",
                ms <= 10.0,
                f"min {1e3 * index.min_s:.2f} ms {note}".strip(),
            )
        )
        allowance = _kg_allowance(n, n_groups, chunk_size)
        per_point = index.peak_bytes / max(n, 1)
        out.append(
            Target(
                "extra peak memory, index mode",
                per_point,
                6.0,
                "bytes/point",
                index.peak_bytes <= 6 * n + allowance,
                f"{index.peak_bytes / 2**20:.2f} MiB peak; allowance 6 B/point + "
                f"{allowance / 2**10:.0f} KiB for O(K x G)",
            )
        )
    return out


# ----------------------------------------------------------------- the comparison


def compare(
    n: int = DEFAULT_N,
    n_groups: int = DEFAULT_GROUPS,
    *,
    repeat: int = DEFAULT_REPEAT,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    names: Sequence[str] = METHODS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time and measure every method on one data set; return a JSON-ready report.

    Returns
    -------
    dict
        ``config``, ``machine``, ``methods`` (per method: times, median, min,
        points/s, GB/s, peak memory), ``ratios`` (median time / floor median
        time), ``ratios_min`` (min / min) and ``targets``.
    """
    if "plain_copy" not in names:
        names = ["plain_copy", *names]
    labels, arrays = make_data(n, n_groups, seed=seed)
    data_bytes = sum(a.nbytes for a in arrays)
    methods = build_methods(labels, arrays, chunk_size, names=names)
    if progress is not None:
        progress(
            f"n={n:,}, groups={n_groups}, chunk_size={chunk_size:,}, repeat={repeat}: "
            f"warm-up (JIT compile) and {len(methods)} methods"
        )
    results = time_interleaved(methods, repeat, progress=progress)
    if progress is not None:
        progress("peak memory (tracemalloc)")
    for m in methods:
        results[m.name].peak_bytes, results[m.name].retained_bytes = peak_memory(m.call)
    floor = results["plain_copy"]
    per_method = {}
    for name, res in results.items():
        per_method[name] = {
            "label": res.label,
            "times_s": res.times_s,
            "median_s": res.median_s,
            "min_s": res.min_s,
            "points_per_s": n / res.median_s,
            "gb_per_s": data_bytes / res.median_s / 1e9,
            "peak_bytes": res.peak_bytes,
            "peak_bytes_per_point": res.peak_bytes / max(n, 1),
            "retained_bytes": res.retained_bytes,
        }
    return {
        "fastsplit_version": __version__,
        "config": {
            "n": n,
            "groups": n_groups,
            "chunk_size": chunk_size,
            "repeat": repeat,
            "n_arrays": len(arrays),
            "dtype": str(arrays[0].dtype),
            "data_bytes": data_bytes,
            "seed": seed,
            "input": "angle-major",
        },
        "machine": machine_info(),
        "memory_method": "tracemalloc (numpy allocations; numba-internal scratch not seen)",
        "methods": per_method,
        "ratios": {k: results[k].median_s / floor.median_s for k in results},
        "ratios_min": {k: results[k].min_s / floor.min_s for k in results},
        "targets": [
            asdict(t) for t in comparison_targets(results, n, n_groups, chunk_size, len(arrays))
        ],
    }


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


# ------------------------------------------------------------ the other section 9 targets


def _fast_stratify(
    labels: np.ndarray, arrays: tuple[np.ndarray, ...], mode: str, chunk_size: int
) -> Callable[[], Any]:
    if mode == "copy":
        return lambda: _quiet_stratify(
            labels, *arrays, mode="copy", backend="numba", chunk_size=chunk_size
        )
    return lambda: _quiet_stratify(labels, mode="index", backend="numba", chunk_size=chunk_size)


def group_cost(
    n: int = DEFAULT_N,
    groups: tuple[int, int] = (3, 360),
    *,
    repeat: int = DEFAULT_REPEAT,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Stratify time with many groups over time with few, copy and index mode, interleaved."""
    methods = []
    for g in groups:
        labels, arrays = make_data(n, g)
        for mode in ("copy", "index"):
            methods.append(
                Method(
                    f"{mode}_{g}",
                    f"{mode} mode, {g} groups",
                    _fast_stratify(labels, arrays, mode, chunk_size),
                )
            )
    if progress is not None:
        progress(f"group cost: n={n:,}, groups {groups[0]} vs {groups[1]}")
    res = time_interleaved(methods, repeat)
    few, many = groups
    out: dict[str, Any] = {"n": n, "groups": list(groups)}
    for mode in ("copy", "index"):
        a, b = res[f"{mode}_{few}"], res[f"{mode}_{many}"]
        out[mode] = {
            "median_s": {str(few): a.median_s, str(many): b.median_s},
            "min_s": {str(few): a.min_s, str(many): b.min_s},
            "ratio": b.median_s / a.median_s,
            "ratio_min": b.min_s / a.min_s,
        }
    return out


def scaling(
    ns: Sequence[int] = SCALING_N,
    n_groups: int = DEFAULT_GROUPS,
    *,
    repeat: int = 7,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time copy mode, index mode and the floor over ``ns``; fit t = c n^e per method.

    The exponent is the least-squares slope of log(min time) on log(n): the
    minimum of the repeats is the measurement least disturbed by other load.
    """
    times: dict[str, list[float]] = {"copy": [], "index": [], "plain_copy": []}
    medians: dict[str, list[float]] = {k: [] for k in times}
    for n in ns:
        if progress is not None:
            progress(f"scaling: n={n:,}")
        labels, arrays = make_data(n, n_groups)
        methods = [
            Method("copy", "copy", _fast_stratify(labels, arrays, "copy", chunk_size)),
            Method("index", "index", _fast_stratify(labels, arrays, "index", chunk_size)),
            Method("plain_copy", "floor", functools.partial(plain_copy, arrays)),
        ]
        res = time_interleaved(methods, repeat)
        for k in times:
            times[k].append(res[k].min_s)
            medians[k].append(res[k].median_s)
        del labels, arrays, methods, res
    log_n = np.log(np.asarray(ns, dtype=np.float64))
    exponents = {
        k: float(np.polyfit(log_n, np.log(np.asarray(v)), 1)[0]) if len(ns) > 1 else float("nan")
        for k, v in times.items()
    }
    return {
        "n": list(ns),
        "groups": n_groups,
        "min_s": times,
        "median_s": medians,
        "exponent": exponents,
    }


def import_time(repeat: int = 7) -> dict[str, Any]:
    """``import fastsplit`` in fresh interpreters: median seconds and heavy modules loaded."""
    code = (
        "import sys, time; t = time.perf_counter(); import fastsplit; "
        "t = time.perf_counter() - t; "
        f"print(t, ','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    seconds = []
    heavy: set[str] = set()
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        seconds.append(float(out[0]))
        if len(out) > 1:
            heavy.update(out[1].split(","))
    return {
        "median_s": float(np.median(seconds)),
        "min_s": float(np.min(seconds)),
        "times_s": seconds,
        "heavy_modules": sorted(heavy),
    }


def fit_overhead(
    n_frames: int = 361,
    n_groups: int = 23,
    *,
    mode: Literal["static", "laminar_flow"] = "static",
    warm: bool = True,
) -> dict[str, Any]:
    """Stratify time / fit time as :func:`fastsplit.fit` reports it, on a synthetic XPCS fit.

    The static two-time model (3 shared + 2 x ``n_groups`` per-group parameters)
    on ``n_groups x n_frames**2`` points (default 23 x 361^2 = 2,997,383, the
    section 9 size), fitted within the physical bounds from the start point of
    ``fastsplit demo`` (D0 = 1e4, alpha = -0.8, D_offset = 500; the truth is
    19,230, -1.06, 879): starting at the truth would make the fit, and so the
    denominator, unrealistically short. With ``warm`` the fit runs once first, so JAX
    compilation is not counted as fit time (it would flatter the ratio).

    Raises
    ------
    ImportError
        When the fit adapter or its optional dependencies (nlsq) are missing.
    """
    from . import xpcs
    from ._fit import fit

    data = xpcs.synthesize(n_angles=n_groups, n_frames=n_frames, mode=mode, seed=0)
    model = data.model
    p0 = {**model.default_p0(), "D0": 1.0e4, "alpha": -0.8, "D_offset": 500.0}
    if mode == "laminar_flow":
        p0.update(gamma_dot_t0=1e-3, beta=0.0, gamma_dot_t_offset=0.0, phi0=0.0)

    def once() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit(
                model,
                data.x,
                data.g2,
                groups=data.phi,
                p0=p0,
                per_group=("contrast", "offset"),
                sigma=data.sigma,
                bounds=model.default_bounds(),
            )

    if warm:
        once()
    result = once()
    timings = result.timings
    return {
        "nfev": int(getattr(result, "nfev", -1)),
        "stratify_s": float(timings.stratify),
        "fit_s": float(timings.fit),
        "ratio": float(timings.stratify / timings.fit),
        "n": data.n_points,
        "groups": n_groups,
        "mode": mode,
        "strategy": str(getattr(result, "strategy", "")),
    }


def all_targets(
    n: int,
    *,
    repeat: int,
    chunk_size: int,
    scaling_ns: Sequence[int] = SCALING_N,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[Target]]:
    """Measure the section 9 figures a single comparison does not: groups, scaling, import, fit."""
    extra: dict[str, Any] = {}
    targets = []
    extra["group_cost"] = gc_ = group_cost(
        n, repeat=repeat, chunk_size=chunk_size, progress=progress
    )
    for mode in ("copy", "index"):
        ratio = gc_[mode]["ratio"]
        targets.append(
            Target(
                f"360 vs 3 groups, {mode} mode",
                ratio,
                1.3,
                "x",
                ratio <= 1.3,
                f"median {1e3 * gc_[mode]['median_s']['360']:.1f} vs "
                f"{1e3 * gc_[mode]['median_s']['3']:.1f} ms; "
                f"min ratio {gc_[mode]['ratio_min']:.2f}x",
            )
        )
    extra["scaling"] = sc = scaling(scaling_ns, chunk_size=chunk_size, progress=progress)
    for mode in ("copy", "index"):
        e = sc["exponent"][mode]
        targets.append(
            Target(
                f"scaling exponent {scaling_ns[0]:.0e}..{scaling_ns[-1]:.0e}, {mode} mode",
                e,
                1.05,
                "",
                0.95 <= e <= 1.05,
                f"plain copy's own exponent {sc['exponent']['plain_copy']:.3f}",
                lower=0.95,
            )
        )
    if progress is not None:
        progress("import time")
    extra["import"] = imp = import_time()
    targets.append(
        Target(
            "import fastsplit",
            imp["median_s"],
            0.15,
            "s",
            imp["median_s"] <= 0.15 and not imp["heavy_modules"],
            "heavy modules imported: " + (", ".join(imp["heavy_modules"]) or "none"),
        )
    )
    if progress is not None:
        progress("fit overhead")
    try:
        fit: dict[str, Any] | None = fit_overhead()
    except ImportError as exc:
        fit = None
        reason = str(exc)
    extra["fit_overhead"] = fit
    if fit is None:
        targets.append(
            Target(
                "stratify / fit time in fs.fit",
                float("nan"),
                0.1,
                "%",
                False,
                f"not measured: fastsplit.fit unavailable ({reason})",
            )
        )
    else:
        pct = 100 * fit["ratio"]
        targets.append(
            Target(
                "stratify / fit time in fs.fit",
                pct,
                0.1,
                "%",
                pct <= 0.1,
                f"{1e3 * fit['stratify_s']:.2f} ms of {fit['fit_s']:.2f} s "
                f"({fit['n']:,} points, {fit['groups']} groups)",
            )
        )
    return extra, targets


# -------------------------------------------------------------------------- output


def format_table(report: dict[str, Any]) -> str:
    """The comparison as a text table, with ratios to the floor."""
    cfg = report["config"]
    rows = [
        f"fastsplit {report['fastsplit_version']} bench: n={cfg['n']:,}, groups={cfg['groups']}, "
        f"chunk_size={cfg['chunk_size']:,}, {cfg['n_arrays']} x {cfg['dtype']} arrays "
        f"({cfg['data_bytes'] / 1e6:,.0f} MB), {cfg['input']}, repeat={cfg['repeat']}",
        f"{'method':<46} {'median ms':>10} {'min ms':>9} {'x floor':>8} {'x fl.min':>8} "
        f"{'Mpts/s':>8} {'GB/s':>6} {'peak MiB':>9}",
    ]
    for name, m in report["methods"].items():
        rows.append(
            f"{m['label']:<46} {1e3 * m['median_s']:>10.2f} {1e3 * m['min_s']:>9.2f} "
            f"{report['ratios'][name]:>8.2f} {report['ratios_min'][name]:>8.2f} "
            f"{m['points_per_s'] / 1e6:>8.1f} {m['gb_per_s']:>6.2f} "
            f"{m['peak_bytes'] / 2**20:>9.1f}"
        )
    rows.append(
        "x floor = median time / median time of the plain copy (x fl.min: min / min); "
        "GB/s = bytes of the input arrays / median time; peak = extra peak memory of one "
        f"call, {report['memory_method']}."
    )
    return "\n".join(rows)


def save_png(report: dict[str, Any], path: str | Path) -> None:
    """Bar charts of time (with ratio to the floor) and extra peak memory per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = report["methods"]
    names = list(methods)
    labels = [methods[k]["label"] for k in names]
    ms = [1e3 * methods[k]["median_s"] for k in names]
    mib = [methods[k]["peak_bytes"] / 2**20 for k in names]
    colours = [
        "tab:gray"
        if k == "plain_copy"
        else "tab:blue"
        if k.startswith("fastsplit")
        else "tab:cyan"
        if k == "numpy_copy"
        else "tab:orange"
        for k in names
    ]
    cfg = report["config"]
    fig, (ax_t, ax_m) = plt.subplots(
        1, 2, figsize=(12, 0.55 * len(names) + 1.8), sharey=True, layout="constrained"
    )
    y = np.arange(len(names))
    ax_t.barh(y, ms, color=colours)
    ax_t.set_xscale("log")
    ax_t.set_yticks(y, labels)
    ax_t.invert_yaxis()
    ax_t.set_xlabel("median time (ms, log scale)")
    for yi, (t, name) in enumerate(zip(ms, names, strict=True)):
        ax_t.text(t, yi, f" {t:.1f} ms ({report['ratios'][name]:.2f}x)", va="center", fontsize=8)
    ax_t.set_xlim(right=max(ms) * 8)
    ax_m.barh(y, mib, color=colours)
    ax_m.set_xlabel("extra peak memory of one call (MiB, tracemalloc)")
    for yi, v in enumerate(mib):
        ax_m.text(v, yi, f" {v:.0f}", va="center", fontsize=8)
    ax_m.set_xlim(right=max(mib) * 1.25 if max(mib) > 0 else 1)
    fig.suptitle(
        f"fastsplit bench: {cfg['n']:,} points, {cfg['groups']} groups, "
        f"{cfg['n_arrays']} x {cfg['dtype']}, chunk_size {cfg['chunk_size']:,}"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# ------------------------------------------------------------------------------ CLI


def _positive_int(text: str) -> int:
    value = int(float(text))  # accept 3e6
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``fastsplit bench``."""
    parser.add_argument(
        "--n",
        type=_positive_int,
        default=DEFAULT_N,
        help="number of points (default 3e6; 3e6 is where the targets are set)",
    )
    parser.add_argument(
        "--groups",
        type=_positive_int,
        default=DEFAULT_GROUPS,
        help="number of groups (angles), default 23",
    )
    parser.add_argument(
        "--repeat",
        type=_positive_int,
        default=DEFAULT_REPEAT,
        help="timed rounds, interleaved across methods (default 15)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=DEFAULT_CHUNK_SIZE,
        help="chunk_size passed to every stratifier (default 100000)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(METHODS),
        metavar="METHOD",
        help=f"subset of: {', '.join(METHODS)}",
    )
    parser.add_argument(
        "--all-targets",
        action="store_true",
        help="also measure 3 vs 360 groups, the scaling exponent "
        "(1e5..3e7), import time and the fit overhead",
    )
    parser.add_argument(
        "--scaling-n",
        type=_positive_int,
        nargs="+",
        default=list(SCALING_N),
        metavar="N",
        help="sizes for the scaling exponent (with --all-targets)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    parser.add_argument("--png", metavar="PATH", help="write a bar chart (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``bench`` on the ``fastsplit`` command's subparsers."""
    parser = subparsers.add_parser(
        "bench",
        help="time fastsplit side by side with plain copy and the naive approaches",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the comparison described by parsed ``args``; print the report. Returns 0."""
    progress = None if args.quiet else _progress
    if "numba" not in _available():
        print("fastsplit bench needs numba (pip install numba)", file=sys.stderr)
        return 1
    report = compare(
        args.n,
        args.groups,
        repeat=args.repeat,
        chunk_size=args.chunk_size,
        names=args.methods,
        progress=progress,
    )
    targets = [Target(**t) for t in report["targets"]]
    if args.all_targets:
        extra, more = all_targets(
            args.n,
            repeat=args.repeat,
            chunk_size=args.chunk_size,
            scaling_ns=args.scaling_n,
            progress=progress,
        )
        report.update(extra)
        targets += more
        report["targets"] = [asdict(t) for t in targets]
    print(format_table(report))
    print()
    print("DESIGN.md section 9 targets:")
    for t in targets:
        print("  " + t.line())
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=_json_default) + "\n")
        if progress is not None:
            progress(f"wrote {args.json}")
    if args.png:
        save_png(report, args.png)
        if progress is not None:
            progress(f"wrote {args.png}")
    return 0


def _available() -> dict[str, str]:
    from .backends import available_backends

    return {k: v for k, v in available_backends().items() if v == "available"}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fastsplit.bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m fastsplit.bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
