"""Data, sizes and helpers shared by every benchmark of the ASV suite.

The suite runs against every commit of the project's history, so it only uses
what every version offers (``fastsplit.stratify`` with ``mode``/``backend``/
``chunk_size``). The data comes from the benchmark harness in the working tree
(``benchmarks/data.py``), so the suite and ``make bench`` time the same data.

Sizes: ``FASTSPLIT_ASV_FULL=1`` runs 1e5, 1e6, 3e6, 1e7 and 3e7 points (the full
range of the targets in docs/benchmarks.md); without it only 1e5 and 3e6, so that
``asv run --quick`` (the CI smoke run) stays under a minute.

numba is imported here, at suite import: asv's forkserver imports the suite once
and forks a process per benchmark, so children start with numba loaded. Nothing
is compiled or run here (old versions start numba's thread pool on their first
parallel call, which must not happen before a fork): that is each ``setup``'s job.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
import time
import warnings
from functools import lru_cache
from pathlib import Path

# asv imports the suite without the repository root on sys.path; add it for the
# harness in benchmarks/. With the src layout the root holds no fastsplit package,
# so the version under test (installed in asv's environment) is still the one imported.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import data

with contextlib.suppress(ImportError):
    import numba  # noqa: F401  (see the module docstring)

FULL = os.environ.get("FASTSPLIT_ASV_FULL", "").strip().lower() in {"1", "true", "yes", "on"}

SIZES = [100_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000] if FULL else [100_000, 3_000_000]
GROUPS = [3, 23, 360]
MODES = ["copy", "index"]
BACKENDS = ["numba", "numpy"]
# Fixed here rather than read from the library: a tracked series must not change
# its meaning when the library's default chunk size does.
CHUNK_SIZE = 100_000
TARGET_N = 3_000_000  # the targets in docs/benchmarks.md are defined at 3M points, 23 groups
REAL_N = 23 * 1001 * 1001  # and at the real size: 23 angles x 1001 x 1001 frames
TARGET_GROUPS = 23
# The O(n log n) oracle: half a second a call at 3e6, minutes at 3e7.
NUMPY_MAX_N = 3_000_000 if FULL else 1_000_000
SCALING_SIZES = [100_000, 300_000, 1_000_000, 3_000_000] + (
    [10_000_000, 30_000_000] if FULL else []
)
HEAVY_MODULES = ("numba", "jax", "nlsq", "psutil", "scipy", "matplotlib")


# Benchmarks of one class share their data (asv calls setup once per parameter set).
make_data = lru_cache(maxsize=2)(data.make_data)


def require_backend(backend: str, n: int = 0) -> None:
    """Skip (NotImplementedError in setup) what this environment or size does not run."""
    import fastsplit

    status = fastsplit.available_backends().get(backend, "unknown backend")
    if status != "available":
        raise NotImplementedError(status)
    if backend == "numpy" and n > NUMPY_MAX_N:
        raise NotImplementedError(f"numpy backend is only timed up to {NUMPY_MAX_N:.0e} points")


def stratify(labels, arrays, mode, backend, chunk_size=CHUNK_SIZE):
    """One stratification; copy mode reorders ``arrays``, index mode only orders labels."""
    import fastsplit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sparse-group warnings at small n
        if mode == "copy":
            return fastsplit.stratify(
                labels, *arrays, mode="copy", backend=backend, chunk_size=chunk_size
            )
        return fastsplit.stratify(labels, mode="index", backend=backend, chunk_size=chunk_size)


def warm(labels, arrays, mode, backend):
    """JIT-compile (or load from numba's cache) the kernels this call needs: run it once."""
    stratify(labels, arrays, mode, backend)


def best_time(func, repeat=5):
    """Minimum wall time of ``repeat`` calls (the one least disturbed by other load)."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (this environment's) and return its stdout."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def run_file(script, env) -> str:
    """Run a script file (numba caches nothing from ``-c``) in a fresh interpreter."""
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{script.name} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def take_all(result, arrays):
    """Every array in stratified order from an index-mode result: one fused call where the
    version has ``take(a, b, ...)``, else one ``take`` per array."""
    try:
        return result.take(*arrays)
    except TypeError:  # versions whose take accepts one array
        return [result.take(a) for a in arrays]
