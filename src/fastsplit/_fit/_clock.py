"""JAX compilation time, so that a fit can report it apart from its own work.

JAX announces how long it spends tracing, lowering and compiling through
``jax.monitoring``; one listener, registered on the first fit, adds those
durations up. A fit reads the total before and after (the difference is what
it compiled, nlsq's functions included). Fits running at the same time in
several threads would see each other's compilations; that only moves seconds
between ``Timings.compile`` and ``Timings.fit``.
"""

from __future__ import annotations

import threading

__all__ = ["compile_seconds"]

_EVENTS = frozenset(
    {
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
        "/jax/compilation_cache/cache_retrieval_time_sec",
    }
)

_lock = threading.Lock()
_total = [0.0]
_registered = [False]


def _listen(event: str, duration_secs: float, **_: str | int) -> None:
    if event in _EVENTS:
        _total[0] += float(duration_secs)


def compile_seconds() -> float:
    """Seconds JAX has spent compiling in this process since the first call (imports jax)."""
    with _lock:
        if not _registered[0]:
            import jax.monitoring

            jax.monitoring.register_event_duration_secs_listener(_listen)
            _registered[0] = True
        return _total[0]
