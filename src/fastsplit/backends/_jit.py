"""Everything about running numba kernels: compile options, threads, the compile guard.

Caching is on by default so that compiled kernels survive between processes
(cold compile is seconds, a cached load milliseconds). ``FASTSPLIT_NUMBA_CACHE=0``
turns it off; it is also turned off, with a debug log line, when no cache
directory is writable (a read-only install), instead of failing at import.

Kernels release the GIL and run on a small thread pool, one input segment per
thread (:func:`segment_bounds`); :func:`parallel` compiles a new type signature
first, alone and timed (:func:`compile_seconds`), because numba compiles on first
call and two threads compiling one dispatcher at once can corrupt it.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
import time
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


def jit(*, inline: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit`` with fastsplit's options: cached, GIL released, no Python errors.

    ``inline``: a small helper inlined into its callers at numba's IR level. It is
    then not compiled on its own (each compiled function costs ~50 ms cold) and
    its callers pass it arrays without reference counting.
    """
    return numba.njit(
        cache=CACHE,
        nogil=True,
        error_model="numpy",
        boundscheck=False,
        inline="always" if inline else "never",
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
_clock = threading.local()


def compile_seconds() -> float:
    """Seconds this thread has spent compiling kernels or loading them from the cache.

    Read before and after a call: the difference is that call's compilation, which
    :func:`fastsplit.stratify` reports apart from its own time.
    """
    return float(getattr(_clock, "seconds", 0.0))


def _signature(arg: Any) -> Any:
    """What numba dispatches on, cheaply (``numba.typeof`` costs ~10 us an argument)."""
    if isinstance(arg, np.ndarray):
        return (arg.dtype.str, arg.ndim, arg.flags.c_contiguous, arg.flags.writeable)
    if isinstance(arg, tuple):
        return tuple(_signature(a) for a in arg)
    return type(arg)


def _ensure_compiled(kernel: Any, job: tuple[Any, ...]) -> None:
    """Compile (or load from the cache) ``kernel`` for ``job``'s types, once, timed.

    Done in the calling thread, alone: numba compiles on first call, and two threads
    compiling one dispatcher at once can corrupt it.
    """
    key = (kernel, *(_signature(arg) for arg in job))
    if key in _compiled:
        return
    with _compile_lock:
        if key in _compiled:
            return
        start = time.perf_counter()
        kernel.compile(tuple(numba.typeof(arg) for arg in job))
        _clock.seconds = compile_seconds() + time.perf_counter() - start
        _compiled.add(key)


def parallel(kernel: Any, jobs: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``kernel`` on each argument tuple, one thread each; return the results in order.

    Every kernel call goes through here, so that compilation is timed apart
    (:func:`compile_seconds`) and never happens in two threads at once.
    """
    if not jobs:
        return []
    _ensure_compiled(kernel, jobs[0])
    if len(jobs) == 1:
        return [kernel(*jobs[0])]
    futures = [_pool().submit(kernel, *job) for job in jobs[1:]]
    first = kernel(*jobs[0])  # the calling thread does its share
    return [first, *(future.result() for future in futures)]


__all__ = ["CACHE", "compile_seconds", "jit", "num_threads", "parallel", "segment_bounds"]
