"""The measurements behind the targets a side-by-side run does not give.

* :func:`group_cost`: stratify time with 360 groups over time with 3;
* :func:`scaling`: copy mode, index mode and the floor over n, and the fitted
  exponent of t ~ n^e;
* :func:`fixed_cost`: the intercept a of t = a + b n over small n, the cost of a
  call that does not depend on its size (validation, plan, kernel dispatch);
* :func:`first_call`: the first copy + index call of a fresh interpreter, with
  numba's on-disk cache empty or populated, and numba's own start-up apart;
* :func:`import_time`: ``import fastsplit`` in fresh interpreters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fastsplit._plan import DEFAULT_CHUNK_SIZE
from fastsplit._progress import Progress

from .data import make_data
from .harness import Method, time_interleaved
from .methods import build_methods

__all__ = [
    "FIXED_N",
    "HEAVY_MODULES",
    "SCALING_N",
    "first_call",
    "fixed_cost",
    "group_cost",
    "import_time",
    "scaling",
]

SCALING_N = (100_000, 300_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000)
FIXED_N = (1_000, 3_000, 10_000, 30_000, 100_000)
HEAVY_MODULES = ("numba", "jax", "nlsq", "psutil", "scipy", "matplotlib")
_MODES = {"copy": "fastsplit_copy", "index": "fastsplit_index"}


def _timed(
    labels: Any, arrays: tuple[Any, ...], chunk_size: int, names: dict[str, str]
) -> list[Method]:
    """The methods ``names.values()`` on one data set, renamed to the keys of ``names``."""
    built = build_methods(labels, arrays, chunk_size, names=list(names.values()))
    return [Method(key, m.label, m.call) for key, m in zip(names, built, strict=True)]


def group_cost(
    n: int,
    groups: tuple[int, int] = (3, 360),
    *,
    repeat: int = 7,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Stratify time with many groups over time with few, copy and index mode, interleaved."""
    methods = []
    for g in groups:
        labels, arrays = make_data(n, g)
        methods += _timed(labels, arrays, chunk_size, {f"{m}_{g}": k for m, k in _MODES.items()})
    Progress.of(progress)(f"group cost: n={n:,}, groups {groups[0]} vs {groups[1]}")
    res = time_interleaved(methods, repeat)
    few, many = groups
    out: dict[str, Any] = {"n": n, "groups": list(groups)}
    for mode in _MODES:
        a, b = res[f"{mode}_{few}"], res[f"{mode}_{many}"]
        out[mode] = {
            "median_s": {str(few): a.median_s, str(many): b.median_s},
            "min_s": {str(few): a.min_s, str(many): b.min_s},
            "ratio": b.median_s / a.median_s,
            "ratio_min": b.min_s / a.min_s,
        }
    return out


def _sizes(
    ns: Sequence[int], n_groups: int, repeat: int, chunk_size: int, progress: Progress
) -> dict[str, dict[str, list[float]]]:
    names = {**_MODES, "plain_copy": "plain_copy"}
    times: dict[str, dict[str, list[float]]] = {k: {"min": [], "median": []} for k in names}
    for n in ns:
        progress(f"n={n:,}")
        labels, arrays = make_data(n, n_groups)
        res = time_interleaved(_timed(labels, arrays, chunk_size, names), repeat)
        for k in names:
            times[k]["min"].append(res[k].min_s)
            times[k]["median"].append(res[k].median_s)
        del labels, arrays, res
    return times


def scaling(
    ns: Sequence[int] = SCALING_N,
    n_groups: int = 23,
    *,
    repeat: int = 7,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time copy mode, index mode and the floor over ``ns``; fit t = c n^e per method.

    The exponent is the least-squares slope of log(min time) on log(n): the
    minimum of the repeats is the measurement least disturbed by other load.
    One size at a time: holding every size up to 3e7 alive together distorts the
    floor (fresh allocations of the largest outputs).
    """
    times = _sizes(ns, n_groups, repeat, chunk_size, Progress.of(progress))
    log_n = np.log(np.asarray(ns, dtype=np.float64))
    exponents = {
        k: float(np.polyfit(log_n, np.log(v["min"]), 1)[0]) if len(ns) > 1 else float("nan")
        for k, v in times.items()
    }
    return {
        "n": list(ns),
        "groups": n_groups,
        "min_s": {k: v["min"] for k, v in times.items()},
        "median_s": {k: v["median"] for k, v in times.items()},
        "exponent": exponents,
    }


def fixed_cost(
    ns: Sequence[int] = FIXED_N,
    n_groups: int = 23,
    *,
    repeat: int = 31,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The per-call cost that does not grow with n: intercept a of t = a + b n (min times)."""
    times = _sizes(ns, n_groups, repeat, chunk_size, Progress.of(progress))
    out: dict[str, Any] = {"n": list(ns), "min_s": {k: v["min"] for k, v in times.items()}}
    for k, v in times.items():
        slope, intercept = np.polyfit(np.asarray(ns, dtype=np.float64), v["min"], 1)
        out[k] = {"fixed_s": float(intercept), "per_point_s": float(slope)}
    return out


_FIRST_CALL = r"""
import json, os, time
start = time.perf_counter()
import numpy as np, fastsplit
imported = time.perf_counter()
if os.environ.get("START_NUMBA"):  # numba's own start-up first, timed apart
    from fastsplit.backends import _jit
    _jit.start_up()
started = time.perf_counter()
rng = np.random.default_rng(0)
labels = np.repeat(np.linspace(-170.0, 170.0, 23), 4348)
arrays = [rng.random(labels.size) for _ in range(4)]
ready = time.perf_counter()
copy = fastsplit.stratify(labels, *arrays, mode="copy")
index = fastsplit.stratify(labels, mode="index")
done = time.perf_counter()
from fastsplit.backends import _cold
while _cold._STATE._child_running():  # a background compile (empty cache): let it end
    time.sleep(0.05)
print(json.dumps({
    "backend": copy.backend,
    "import_s": imported - start,
    "numba_start_s": started - imported,
    "first_call_s": done - ready,
    "compile_s": copy.diagnostics.compile_seconds + index.diagnostics.compile_seconds,
    "stratify_s": copy.diagnostics.seconds + index.diagnostics.seconds,
}))
"""

_NUMBA_START = r"""
import json, time
import numpy as np
start = time.perf_counter()
import numba
@numba.njit(cache=True)
def first(a):
    return a[0]
first(np.zeros(1))
print(json.dumps({"numba_start_s": time.perf_counter() - start}))
"""


def _child(code: str, env: dict[str, str], cwd: str) -> dict[str, Any]:
    script = Path(cwd) / "first_call_child.py"  # a file: numba caches nothing from -c
    script.write_text(code)
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def first_call(repeat: int = 3) -> dict[str, Any]:
    """The first copy + index call (100k points, 4 float64 arrays) in fresh interpreters.

    ``empty``: numba's cache directory starts empty (``backend="auto"`` serves the
    call from numpy while the kernels compile in a background process, which the
    child waits for after its timing); ``populated``: the same directory after
    that run (they load from disk).
    ``numba_start_s`` is numba's own start-up in a fresh interpreter (import and
    the first load of a cached one-line kernel), which no numba library avoids;
    ``after_start``: the populated run again, numba started first in the same
    interpreter (import and its CPU target, ``_jit.start_up``), so that its
    ``first_call_s`` is fastsplit's own part, measured rather than subtracted.
    Medians of ``repeat`` runs; the empty-cache run is repeated with a new
    directory each time.
    """
    empty: list[dict[str, Any]] = []
    populated: list[dict[str, Any]] = []
    after_start: list[dict[str, Any]] = []
    numba_start: list[float] = []
    with tempfile.TemporaryDirectory() as work:
        for i in range(repeat):
            cache = Path(work) / f"cache{i}"
            env = {"NUMBA_CACHE_DIR": str(cache), "FASTSPLIT_NUMBA_CACHE": "1"}
            empty.append(_child(_FIRST_CALL, env, work))
            populated.append(_child(_FIRST_CALL, env, work))
            after_start.append(_child(_FIRST_CALL, {**env, "START_NUMBA": "1"}, work))
            _child(_NUMBA_START, env, work)  # fills the cache of the one-line kernel
            numba_start.append(_child(_NUMBA_START, env, work)["numba_start_s"])

    def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: float(np.median([r[k] for r in runs])) for k in runs[0] if k != "backend"
        }
        out["backend"] = "/".join(sorted({r["backend"] for r in runs}))
        return out

    return {
        "empty": median(empty),
        "populated": median(populated),
        "after_start": median(after_start),
        "numba_start_s": float(np.median(numba_start)),
        "points": 23 * 4348,
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
