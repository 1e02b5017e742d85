"""Warming the XPCS models: the computations of ``fastsplit demo --small``, without its output.

``fastsplit.warmup(models=("static", "laminar_flow"))`` and ``fastsplit warmup
--fit`` run the demo's fits (nlsq's own chunked path on the raw case, then
``fastsplit.fit``) quietly, so that their compiled passes are in JAX's
persistent cache (``fastsplit._fit._compile_cache``) and the first
``fastsplit demo --small`` of a new install reads them from disk. A compiled
pass belongs to one geometry (frames, ``q``, ``dt``) and shape: a file of your
own is warmed by its own first ``fastsplit fit``.
"""

from __future__ import annotations

import argparse
import time
import warnings

from .._fit._warmup import Warmed
from .._plan import DEFAULT_CHUNK_SIZE
from .._progress import Progress

__all__ = ["demo_arguments", "warm_mode"]


def demo_arguments(mode: str, *, small: bool = True) -> argparse.Namespace:
    """The options of ``fastsplit demo [--small] --mode MODE --no-plots``, as parsed."""
    return argparse.Namespace(
        n_angles=23,
        n_frames=361,
        small=small,
        backend=None,
        mode=mode,
        chunk_size=DEFAULT_CHUNK_SIZE,
        noise=0.01,
        seed=0,
        raw_n_frames=None,
        raw_max_nfev=None,
        no_raw=False,
        out="fastsplit-demo",
        no_plots=True,
        force=False,
        quiet=True,
    )


def warm_mode(mode: str, backend: str = "auto") -> list[Warmed]:
    """Run the demo's fits of ``mode`` quietly (``backend``: the demo's own choice)."""
    del backend  # the demo picks its backend; the numba kernels are warmed apart
    from .._fit._clock import compile_seconds
    from . import _demo

    start = time.perf_counter()
    compiled = compile_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _demo.run(demo_arguments(mode), Progress(False), lambda line: None)
    return [
        Warmed(
            f"XPCS {mode} (demo --small)",
            time.perf_counter() - start,
            compile_seconds() - compiled,
        )
    ]
