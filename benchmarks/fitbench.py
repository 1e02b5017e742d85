"""The fit figures: :func:`fastsplit.fit` against nlsq's ``curve_fit`` on the same points.

Both fits run on the same synthetic XPCS data (:func:`fastsplit.xpcs.synthesize`,
23 angles x ``n_frames``\\ :sup:`2` points, from the demo's rough start point),
each in a fresh interpreter so that its peak memory is its own: the child
synthesizes the data, reads its resident set, fits once (JAX compiles), fits
again (timed), and reports the second fit's time, the final cost
``sum(((model - g2) / sigma)^2) / 2`` evaluated here with NumPy for both, and
the peak resident set above what it held before fitting.

``fastsplit`` goes through :func:`fastsplit.xpcs.fit_two_time` (strategy
``auto``); nlsq's ``curve_fit`` gets the same model as a flat function of all
points (``f(X, *theta)``, one column per x array plus the angle index) and the
same ``sigma`` and bounds: what a user without fastsplit writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from typing import Any

from fastsplit.xpcs import Mode, fit_two_time, synthesize

__all__ = ["STRATEGIES", "fit_child", "fit_overhead", "fit_strategies", "fit_vs_curve_fit"]

_CHILD = r"""
import json, sys
sys.path.insert(0, {root!r})
from benchmarks.fitbench import fit_child
print(json.dumps(fit_child({kind!r}, {n_frames}, {mode!r})))
"""

STRATEGIES = ("full", "chunked", "streaming", "sequential")


def _rss_bytes(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _cost(model: Any, data: Any, params: dict[str, Any]) -> float:
    """Half the weighted sum of squares at ``params``, in NumPy (the same judge for both)."""
    import numpy as np

    codes = np.searchsorted(data.angles, data.phi)
    shared = {k: float(params[k]) for k in model.shared_names}
    per_group = {k: np.asarray(params[k], dtype=np.float64)[codes] for k in model.per_group_names}
    residual = (model(data.x, **shared, **per_group) - data.g2) / data.sigma
    return 0.5 * float(residual @ residual)


def _curve_fit(model: Any, data: Any, p0: dict[str, Any]) -> dict[str, Any]:
    """nlsq's ``curve_fit`` on every point at once, as a user without fastsplit would call it."""
    import jax.numpy as jnp
    import nlsq
    import numpy as np

    n_groups = data.angles.size
    shared, per_group = model.shared_names, model.per_group_names
    codes = np.searchsorted(data.angles, data.phi)
    xdata = np.vstack([*data.x, codes.astype(np.float64)])

    def flat(x: Any, *theta: Any) -> Any:
        values = dict(zip(shared, theta[: len(shared)], strict=True))
        index = x[3].astype(jnp.int32)
        for j, name in enumerate(per_group):
            start = len(shared) + j * n_groups
            values[name] = jnp.stack(theta[start : start + n_groups])[index]
        return model((x[0], x[1], x[2]), **values)

    bounds = model.default_bounds()
    names = [*shared, *(name for name in per_group for _ in range(n_groups))]
    start = [float(p0[name]) for name in names]
    lower = [bounds[name][0] for name in names]
    upper = [bounds[name][1] for name in names]
    res = nlsq.curve_fit(flat, xdata, data.g2, p0=start, sigma=data.sigma, bounds=(lower, upper))
    # (popt, pcov) on some releases, a result object with .x on others
    popt = np.asarray(res[0] if isinstance(res, tuple) else res.x, dtype=np.float64)
    params: dict[str, Any] = dict(zip(shared, popt[: len(shared)], strict=True))
    for j, name in enumerate(per_group):
        params[name] = popt[len(shared) + j * n_groups : len(shared) + (j + 1) * n_groups]
    return params


def fit_child(kind: str, n_frames: int, mode: Mode) -> dict[str, Any]:
    """One fit measured from inside a fresh interpreter (run by :func:`fit_vs_curve_fit`)."""
    import time

    data = synthesize(n_angles=23, n_frames=n_frames, mode=mode, seed=0)
    model = data.model
    p0 = model.rough_p0()

    def once() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "fastsplit":
                return dict(fit_two_time(model, data, p0=p0).params)
            return _curve_fit(model, data, p0)

    before = _rss_bytes("VmRSS")
    once()  # JAX compiles: charged to memory, not to time
    start = time.perf_counter()
    params = once()
    seconds = time.perf_counter() - start
    return {
        "kind": kind,
        "mode": mode,
        "n": int(data.n_points),
        "seconds": seconds,
        "peak_bytes": _rss_bytes("VmHWM") - before,
        "cost": _cost(model, data, params),
    }


def _in_child(kind: str, n_frames: int, mode: str, timeout: float) -> dict[str, Any]:
    from pathlib import Path

    code = _CHILD.format(
        root=str(Path(__file__).resolve().parents[1]), kind=kind, n_frames=n_frames, mode=mode
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )
    if out.returncode != 0:
        last = out.stderr.strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"{kind} fit failed in its child process: {last[0]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def fit_vs_curve_fit(
    n_frames: int = 101, mode: Mode = "static", *, timeout: float = 3600
) -> dict[str, Any]:
    """fastsplit's fit and nlsq's ``curve_fit`` on the same points: time, memory, cost."""
    ours = _in_child("fastsplit", n_frames, mode, timeout)
    theirs = _in_child("curve_fit", n_frames, mode, timeout)
    return {
        "mode": mode,
        "n": ours["n"],
        "fastsplit": ours,
        "curve_fit": theirs,
        "speedup": theirs["seconds"] / ours["seconds"],
        "memory_ratio": ours["peak_bytes"] / max(theirs["peak_bytes"], 1),
        "cost_ratio": ours["cost"] / theirs["cost"],
    }


def fit_overhead(
    n_frames: int = 361, n_groups: int = 23, *, mode: Mode = "static", warm: bool = True
) -> dict[str, Any]:
    """Stratify time / fit time as :func:`fastsplit.fit` reports it, on a synthetic XPCS fit.

    The two-time model on ``n_groups x n_frames**2`` points (default 23 x 361^2 =
    2,997,383, the size of the targets), fitted within the physical bounds from the
    start point of ``fastsplit demo`` (:meth:`~fastsplit.xpcs.TwoTimeModel.rough_p0`):
    starting at the truth would make the fit, and so the denominator, unrealistically
    short. With ``warm`` the fit runs once first, so compilation (JAX, numba) is not
    counted.

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


def fit_strategies(n_frames: int = 101, mode: Mode = "static", repeat: int = 2) -> dict[str, Any]:
    """Time ``strategy="auto"`` and every fixed strategy on the same data (best of ``repeat``).

    Each runs once untimed first (JAX compiles per strategy). A strategy that
    refuses the problem (e.g. ``sequential`` when one angle alone cannot
    constrain a shared parameter) is recorded with its error, not timed.
    """
    import time

    data = synthesize(n_angles=23, n_frames=n_frames, mode=mode, seed=0)
    model = data.model
    seconds: dict[str, float] = {}
    refused: dict[str, str] = {}
    chosen = ""
    for strategy in ("auto", *STRATEGIES):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = fit_two_time(model, data, p0=model.rough_p0(), strategy=strategy)
                best = float("inf")
                for _ in range(repeat):
                    start = time.perf_counter()
                    fit_two_time(model, data, p0=model.rough_p0(), strategy=strategy)
                    best = min(best, time.perf_counter() - start)
        except Exception as exc:  # a strategy may refuse a problem; that is a result
            refused[strategy] = f"{type(exc).__name__}: {exc}"[:200]
            continue
        seconds[strategy] = best
        if strategy == "auto":
            chosen = str(getattr(result, "strategy", ""))
    timed = {k: v for k, v in seconds.items() if k != "auto"}
    fastest = min(timed, key=timed.__getitem__) if timed else ""
    return {
        "n": int(data.n_points),
        "mode": mode,
        "seconds": seconds,
        "refused": refused,
        "auto_chose": chosen,
        "fastest": fastest,
        "auto_over_fastest": seconds.get("auto", float("nan")) / timed[fastest]
        if fastest
        else float("nan"),
    }
