"""The one place that imports nlsq, and the differences between its release lines.

Importing nlsq has side effects that fastsplit documents rather than hides: it
turns on ``jax_enable_x64`` (fastsplit itself never does), sets XLA/JAX
environment variables and a persistent compilation cache, and configures
logging handlers. It is imported on the first fit only, never by
``import fastsplit``.

Release lines (both supported, both tested):

* 0.6.x: ``curve_fit_large`` / ``LargeDatasetFitter`` fits the chunks one after
  another, in input order, each chunk's fit starting from the previous one and
  the last chunk's parameters returned. On group-major data a per-group
  parameter is only moved by the chunks that hold its group.
* 0.7.x (>= 0.7.2): the same path first shuffles all points randomly and
  combines the chunk fits weighted by their information matrices.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError

__all__ = ["import_nlsq", "nlsq_version", "x64"]

log = logging.getLogger("fastsplit")


def import_nlsq() -> ModuleType:
    """Import nlsq (and so jax), or say which extra to install."""
    try:
        import nlsq
    except ImportError as exc:
        raise BackendUnavailableError(
            "fastsplit.fit needs the optional nlsq dependency (and JAX); install it with "
            f"`pip install 'fastsplit[fit]'` (import failed: {exc})."
        ) from None
    return nlsq


def nlsq_version() -> tuple[int, int, int]:
    """The installed nlsq version as a tuple (0, 0, 0 when unknown)."""
    nlsq = import_nlsq()
    parts = []
    for piece in str(getattr(nlsq, "__version__", "0.0.0")).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def chunked_path_shuffles() -> bool:
    """Whether nlsq's own chunked path shuffles the points first (0.7.2 and later)."""
    return nlsq_version() >= (0, 7, 2)


@contextlib.contextmanager
def x64() -> Iterator[None]:
    """float64 in JAX for the duration of a fit.

    Importing nlsq normally turns ``jax_enable_x64`` on already; when something
    turned it off again this enables it locally instead of globally.
    """
    import_nlsq()
    import jax

    if jax.config.jax_enable_x64:
        yield
        return
    with jax.enable_x64(True):
        yield


def _result_fields(res: Any) -> dict[str, Any]:
    def get(name: str, default: Any = None) -> Any:
        try:
            return res[name]
        except (KeyError, TypeError, IndexError):
            return getattr(res, name, default)

    return {
        "nfev": int(get("nfev", 0) or 0),
        "success": bool(get("success", False)),
        "message": str(get("message", "")),
    }


def curve_fit_full(
    flat_model: Callable[..., Any],
    xdata: np.ndarray,
    y: np.ndarray,
    p0: np.ndarray,
    sigma: np.ndarray | None,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_nfev: int | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """``nlsq.curve_fit`` on every point at once (exact; memory O(n x P))."""
    nlsq = import_nlsq()
    kwargs: dict[str, Any] = {}
    if max_nfev is not None:
        kwargs["max_nfev"] = int(max_nfev)
    bounds = (lower, upper)
    res = nlsq.curve_fit(
        flat_model, xdata, y, p0=p0, sigma=sigma, bounds=bounds, absolute_sigma=True, **kwargs
    )
    popt = np.asarray(res[0] if isinstance(res, tuple) else res.x, dtype=np.float64)
    info = _result_fields(res) if not isinstance(res, tuple) else {"nfev": 0, "success": True}
    return popt, info


def hybrid_streaming(
    flat_model: Callable[..., Any],
    xdata: np.ndarray,
    y: np.ndarray,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    chunk_size: int,
    max_nfev: int | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """nlsq's adaptive hybrid streaming optimiser over the (stratified) points.

    ``xdata`` is point-major ``(n, k)``: nlsq slices batches along axis 0. The
    caller folds the weights into model and ``y`` (0.7.x refuses ``sigma`` here).
    Checkpoint files are turned off; fastsplit never writes behind the caller.
    """
    import_nlsq()
    from nlsq.streaming.adaptive_hybrid import AdaptiveHybridStreamingOptimizer
    from nlsq.streaming.hybrid_config import HybridStreamingConfig

    wanted: dict[str, Any] = {
        "chunk_size": int(chunk_size),
        "enable_checkpoints": False,
        "verbose": 0,
        "enable_multistart": False,
        # nlsq's 200-step L-BFGS warm-up costs ~0.45 s a step on CPU; the streaming
        # Gauss-Newton phase that follows converges from a short warm-up.
        "warmup_iterations": 20,
        "max_warmup_iterations": 40,
    }
    if max_nfev is not None:
        wanted["gauss_newton_max_iterations"] = int(max_nfev)
    known = {f.name for f in dataclasses.fields(HybridStreamingConfig)}
    config = HybridStreamingConfig(**{k: v for k, v in wanted.items() if k in known})
    optimizer: Any = AdaptiveHybridStreamingOptimizer(config=config)
    finite = np.isfinite(lower) | np.isfinite(upper)
    bounds = (lower, upper) if finite.any() else None
    out = optimizer.fit(
        data_source=(xdata, y),
        func=flat_model,
        p0=p0,
        bounds=bounds,
        verbose=0,
    )
    popt = np.asarray(out["x"], dtype=np.float64)
    diagnostics = out.get("streaming_diagnostics") or {}
    info = {
        "nfev": int(out.get("nfev", 0) or diagnostics.get("total_iterations", 0) or 0),
        "success": bool(out.get("success", False)),
        "message": str(out.get("message", "")),
    }
    return popt, info


def raw_chunked_curve_fit(
    flat_model: Callable[..., Any],
    xdata: np.ndarray,
    y: np.ndarray,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    chunk_size: int,
    max_nfev: int | None = None,
    sigma: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """nlsq's own large-dataset chunked path, configured as ``curve_fit_large`` does.

    ``LargeDatasetFitter`` is called directly (``curve_fit_large`` drops its
    ``success``/``message``). ``xdata`` must be 1-D: nlsq cuts x along axis 0
    and hands each slice to ``curve_fit``.
    """
    import_nlsq()
    from nlsq.streaming.large_dataset import LargeDatasetFitter, LDMemoryConfig

    n = int(y.shape[0])
    memory_gb = 8.0
    config = LDMemoryConfig(
        memory_limit_gb=memory_gb,
        min_chunk_size=min(max(1000, n // 10000), int(chunk_size)),
        max_chunk_size=int(chunk_size),
    )
    fitter = LargeDatasetFitter(memory_limit_gb=memory_gb, config=config)
    kwargs: dict[str, Any] = {}
    if max_nfev is not None:
        kwargs["max_nfev"] = int(max_nfev)
    if sigma is not None:
        kwargs["sigma"] = sigma
    res = fitter.fit(flat_model, xdata, y, p0=p0, bounds=(lower, upper), method="trf", **kwargs)
    popt = np.asarray(res.get("popt", res.get("x")), dtype=np.float64)
    info = _result_fields(res)
    info["n_chunks"] = int(res.get("n_chunks", 1) or 1)
    info["success_rate"] = float(res.get("success_rate", 1.0) or 0.0)
    return popt, info
