"""Everything about running numba kernels: compile options, threads, the compile guard.

Caching is on by default so that compiled kernels survive between processes
(cold compile is seconds, a cached load milliseconds). ``FASTSPLIT_NUMBA_CACHE=0``
turns it off; it is also turned off, with a debug log line, when no cache
directory is writable (a read-only install), instead of failing at import.

Kernels release the GIL and run on a small thread pool, one input segment per
thread (:func:`segment_bounds`); :func:`parallel` runs the first call of a new type
signature alone, because numba compiles on first call and two threads compiling
one dispatcher at once can corrupt it.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numba
import numpy as np

from ._numba_sizes import segment_count

log = logging.getLogger("fastsplit")

_FALSE = {"0", "false", "no", "off"}


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            return True
    except OSError:
        return False


def cache_enabled() -> bool:
    """Whether compiled kernels are cached on disk."""
    if os.environ.get("FASTSPLIT_NUMBA_CACHE", "1").strip().lower() in _FALSE:
        return False
    if os.environ.get("NUMBA_CACHE_DIR"):
        return _writable(Path(os.environ["NUMBA_CACHE_DIR"]))
    # numba tries __pycache__ beside the source, then a per-user cache directory.
    here = Path(__file__).resolve().parent / "__pycache__"
    if _writable(here):
        return True
    from numba.misc.appdirs import AppDirs

    user_dir = Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)
    if _writable(user_dir):
        return True
    log.debug("no writable numba cache directory: fastsplit kernels compile every process")
    return False


CACHE = cache_enabled()


def jit(*, parallel: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit`` with fastsplit's options: cached, GIL released, no Python errors."""
    return numba.njit(
        cache=CACHE,
        nogil=True,
        parallel=parallel,
        error_model="numpy",
        boundscheck=False,
    )


def num_threads() -> int:
    """Threads numba will use (respects ``NUMBA_NUM_THREADS``)."""
    return int(numba.get_num_threads())


def segment_bounds(n: int) -> np.ndarray:
    """Bounds of the input segments, one per thread (fewer when segments would be small)."""
    return np.linspace(0, n, segment_count(n, num_threads()) + 1).astype(np.int64)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=num_threads(), thread_name_prefix="fastsplit")


_compiled: set[tuple[Any, ...]] = set()
_compile_lock = threading.Lock()


def _signature(arg: Any) -> Any:
    """What numba dispatches on, cheaply (``numba.typeof`` costs ~10 us an argument)."""
    if isinstance(arg, np.ndarray):
        return (arg.dtype.str, arg.ndim, arg.flags.c_contiguous, arg.flags.writeable)
    if isinstance(arg, tuple):
        return tuple(_signature(a) for a in arg)
    return type(arg)


def parallel(kernel: Any, jobs: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``kernel`` on each argument tuple, one thread each; return the results in order."""
    results: list[Any] = []
    if len(jobs) <= 1:  # nothing runs concurrently: no compile guard needed
        return [kernel(*job) for job in jobs]
    key = (kernel, *(_signature(arg) for arg in jobs[0]))
    if key not in _compiled:
        with _compile_lock:
            results.append(kernel(*jobs[0]))
            _compiled.add(key)
        jobs = jobs[1:]
    if len(jobs) == 1:
        results.append(kernel(*jobs[0]))
    elif jobs:
        results += [future.result() for future in [_pool().submit(kernel, *j) for j in jobs]]
    return results


__all__ = ["CACHE", "jit", "num_threads", "parallel", "segment_bounds"]
