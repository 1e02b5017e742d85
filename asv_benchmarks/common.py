"""Data, sizes and helpers shared by every benchmark of the ASV suite.

The suite runs against every commit of the project's history, so it only uses
what every version offers (``fastsplit.stratify`` with ``mode``/``backend``/
``chunk_size``): the data generator lives here rather than in ``fastsplit.bench``,
which old versions do not have. It makes the same data as
``fastsplit.bench.make_data``.

Sizes: ``FASTSPLIT_ASV_FULL=1`` runs 1e5, 1e6, 3e6, 1e7 and 3e7 points (the full
DESIGN.md range); without it only 1e5 and 3e6, so that ``asv run --quick`` (the CI
smoke run) stays under a minute.

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

import numpy as np

with contextlib.suppress(ImportError):
    import numba  # noqa: F401  (see the module docstring)

FULL = os.environ.get("FASTSPLIT_ASV_FULL", "").strip().lower() in {"1", "true", "yes", "on"}

SIZES = [100_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000] if FULL else [100_000, 3_000_000]
GROUPS = [3, 23, 360]
MODES = ["copy", "index"]
BACKENDS = ["numba", "numpy"]
CHUNK_SIZE = 100_000
TARGET_N = 3_000_000  # DESIGN.md section 9 figures are defined at 3M points, 23 groups
TARGET_GROUPS = 23
# The O(n log n) oracle: half a second a call at 3e6, minutes at 3e7.
NUMPY_MAX_N = 3_000_000 if FULL else 1_000_000
SCALING_SIZES = [100_000, 300_000, 1_000_000, 3_000_000] + (
    [10_000_000, 30_000_000] if FULL else []
)
HEAVY_MODULES = ("numba", "jax", "nlsq", "psutil", "scipy", "matplotlib")


@lru_cache(maxsize=2)
def make_data(n: int, n_groups: int, seed: int = 0) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Angle-major labels and 4 float64 arrays (phi, t1, t2, g2); groups differ by <= 1 point."""
    rng = np.random.default_rng(seed)
    step = 360.0 / n_groups
    angles = (np.arange(n_groups) * step - 180.0 + rng.uniform(0.1, 0.9, n_groups) * step).round(4)
    counts = np.full(n_groups, n // n_groups, dtype=np.int64)
    counts[: n % n_groups] += 1
    phi = np.repeat(angles, counts)
    frames = max(2, math.isqrt(max(1, n // n_groups)))
    t1 = rng.integers(0, frames, n) * 0.1
    t2 = rng.integers(0, frames, n) * 0.1
    g2 = 1.0 + 0.3 * rng.random(n)
    return phi, (phi, t1, t2, g2)


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
