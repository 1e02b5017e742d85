"""One place that owns every ``numba.njit`` option used by fastsplit.

Caching is on by default so that compiled kernels survive between processes
(cold compile is seconds, a cached load milliseconds). ``FASTSPLIT_NUMBA_CACHE=0``
turns it off; it is also turned off, with a debug log line, when no cache
directory is writable (a read-only install), instead of failing at import.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba

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


__all__ = ["CACHE", "jit", "num_threads"]
