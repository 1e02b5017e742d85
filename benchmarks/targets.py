"""The performance targets of ``docs/benchmarks.md`` measured: one :class:`Target` each.

:func:`comparison_targets` judges one side-by-side run (copy-mode ratio, index
time, peak memory); :func:`all_targets` measures the rest (360 vs 3 groups, the
scaling exponent over n, ``import fastsplit`` time, the stratify / fit ratio
inside :func:`fastsplit.fit`).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastsplit._plan import DEFAULT_CHUNK_SIZE
from fastsplit._progress import Progress
from fastsplit.xpcs import Mode, fit_two_time, synthesize

from .data import make_data
from .harness import Measurement, Method, time_interleaved
from .methods import build_methods

__all__ = [
    "DEFAULT_GROUPS",
    "DEFAULT_N",
    "DEFAULT_REPEAT",
    "SCALING_N",
    "Target",
    "all_targets",
    "comparison_targets",
    "fit_overhead",
    "group_cost",
    "import_time",
    "scaling",
]

DEFAULT_N = 3_000_000
DEFAULT_GROUPS = 23
DEFAULT_REPEAT = 15
SCALING_N = (100_000, 300_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000)
HEAVY_MODULES = ("numba", "jax", "nlsq", "psutil", "scipy", "matplotlib")


@dataclass(frozen=True)
class Target:
    """One figure of ``docs/benchmarks.md`` against its target."""

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


# The stratify modes timed by group_cost and scaling, by their name in build_methods.
_MODES = {"copy": "fastsplit_copy", "index": "fastsplit_index"}


def _timed(
    labels: Any, arrays: tuple[Any, ...], chunk_size: int, names: dict[str, str]
) -> list[Method]:
    """The methods ``names.values()`` on one data set, renamed to the keys of ``names``."""
    built = build_methods(labels, arrays, chunk_size, names=list(names.values()))
    return [Method(key, m.label, m.call) for key, m in zip(names, built, strict=True)]


def group_cost(
    n: int = DEFAULT_N,
    groups: tuple[int, int] = (3, 360),
    *,
    repeat: int = DEFAULT_REPEAT,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Stratify time with many groups over time with few, copy and index mode, interleaved."""
    methods = []
    for g in groups:
        labels, arrays = make_data(n, g)
        methods += _timed(
            labels, arrays, chunk_size, {f"{mode}_{g}": name for mode, name in _MODES.items()}
        )
    Progress.of(progress)(f"group cost: n={n:,}, groups {groups[0]} vs {groups[1]}")
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
    progress: Progress | Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time copy mode, index mode and the floor over ``ns``; fit t = c n^e per method.

    The exponent is the least-squares slope of log(min time) on log(n): the
    minimum of the repeats is the measurement least disturbed by other load.
    """
    progress = Progress.of(progress)
    names = {**_MODES, "plain_copy": "plain_copy"}
    times: dict[str, list[float]] = {k: [] for k in names}
    medians: dict[str, list[float]] = {k: [] for k in times}
    for n in ns:
        progress(f"scaling: n={n:,}")
        labels, arrays = make_data(n, n_groups)
        methods = _timed(labels, arrays, chunk_size, names)
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
    mode: Mode = "static",
    warm: bool = True,
) -> dict[str, Any]:
    """Stratify time / fit time as :func:`fastsplit.fit` reports it, on a synthetic XPCS fit.

    The static two-time model (3 shared + 2 x ``n_groups`` per-group parameters)
    on ``n_groups x n_frames**2`` points (default 23 x 361^2 = 2,997,383, the
    size of the targets), fitted within the physical bounds from the start point
    of ``fastsplit demo`` (:meth:`~fastsplit.xpcs.TwoTimeModel.rough_p0`):
    starting at the truth would make the fit, and so the denominator,
    unrealistically short. With ``warm`` the fit runs once first, so JAX
    compilation is not counted as fit time (it would flatter the ratio).

    Raises
    ------
    ImportError
        When the fit adapter or its optional dependencies (nlsq) are missing.
    """
    data = synthesize(n_angles=n_groups, n_frames=n_frames, mode=mode, seed=0)
    model = data.model

    def once() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit_two_time(model, data, p0=model.rough_p0())

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
    progress: Progress | Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[Target]]:
    """Measure the targets a single comparison does not: groups, scaling, import, fit."""
    progress = Progress.of(progress)
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
