"""Everything about running numba kernels: compile options, threads, the compile guard.

Caching is on by default so that compiled kernels survive between processes
(cold compile is seconds, a cached load milliseconds). ``FASTSPLIT_NUMBA_CACHE=0``
turns it off; it is also turned off, with a debug log line, when no cache
directory is writable (a read-only install), instead of failing at import.

Kernels release the GIL and run on a small thread pool, one input segment per
thread (:func:`segment_bounds`), through :func:`parallel`. The time spent compiling
(or loading from the cache) is measured per thread (:func:`compile_seconds`) so
that a call can report it apart from its own time.
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
from numba.core import event

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


def start_up() -> None:
    """numba's own start-up, now instead of in the first kernel load of a process.

    The first kernel numba compiles or loads from its cache fills its CPU target's
    typing and lowering registries first (~0.45 s here, importing much of numba);
    a command that imports JAX and nlsq before its work does this beside them.
    """
    from numba.core.registry import cpu_target

    cpu_target.typing_context.refresh()
    cpu_target.target_context.refresh()


def num_threads() -> int:
    """Threads numba will use (respects ``NUMBA_NUM_THREADS``)."""
    return int(numba.get_num_threads())


def segment_bounds(n: int) -> tuple[tuple[int, int], ...]:
    """The input segments (lo, hi), one per thread (fewer when segments would be small)."""
    count = segment_count(n, num_threads())
    return tuple((n * i // count, n * (i + 1) // count) for i in range(count))


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=num_threads(), thread_name_prefix="fastsplit")


class _CompileClock(event.Listener):
    """Time each thread spends compiling kernels or loading them from the cache.

    numba holds its global compiler lock while it compiles or loads a cached
    kernel, and announces every acquisition as a ``numba:compiler_lock`` event;
    the outermost one of each thread is timed (waiting for the lock included: a
    thread that waits for another's compilation is waiting for compilation).
    """

    def __init__(self) -> None:
        self.local = threading.local()

    def on_start(self, event: Any) -> None:
        depth = getattr(self.local, "depth", 0)
        if depth == 0:
            self.local.start = time.perf_counter()
        self.local.depth = depth + 1

    def on_end(self, event: Any) -> None:
        self.local.depth -= 1
        if self.local.depth == 0:
            seconds = getattr(self.local, "seconds", 0.0)
            self.local.seconds = seconds + time.perf_counter() - self.local.start


_clock = _CompileClock()
event.register("numba:compiler_lock", _clock)


def compile_seconds() -> float:
    """Seconds this thread has spent compiling kernels or loading them from the cache.

    Read before and after a call: the difference is that call's compilation, which
    :func:`fastsplit.stratify` reports apart from its own time.
    """
    return float(getattr(_clock.local, "seconds", 0.0))


def parallel(kernel: Any, jobs: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``kernel`` on each argument tuple, one thread each; return the results in order.

    The calling thread runs the first job itself. A kernel met with new types
    compiles on its first call; numba compiles under a global lock and checks for
    an existing compilation first, so concurrent first calls compile once.
    """
    if len(jobs) <= 1:
        return [kernel(*job) for job in jobs]
    futures = [_pool().submit(kernel, *job) for job in jobs[1:]]
    first = kernel(*jobs[0])
    return [first, *(future.result() for future in futures)]


__all__ = [
    "CACHE",
    "compile_seconds",
    "jit",
    "num_threads",
    "parallel",
    "segment_bounds",
    "start_up",
]
