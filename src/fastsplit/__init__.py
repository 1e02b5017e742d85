"""fastsplit: stratified chunking of large grouped datasets.

Reorder data so that every chunk holds every group in proportion, in O(n), and
fit chunked least-squares models that never fail silently.

>>> import numpy as np, fastsplit
>>> s = fastsplit.stratify(np.repeat([0.0, 90.0], 10), np.arange(20.0), chunk_size=5)
>>> s.n_chunks
4
"""

from __future__ import annotations

import importlib
from typing import Any

from ._api import plan, stratify, warmup
from ._batches import Batches, batches
from ._memory import MemoryEstimate, estimate_memory
from ._plan import ChunkPlan
from ._result import Diagnostics, Stratified
from .backends import available_backends

__version__ = "0.1.0"

# Fitting and configuration are imported on first use: ``import fastsplit`` stays
# small for users who only stratify (PEP 562 module __getattr__).
_LAZY = {
    "fit": "._fit",
    "curve_fit": "._fit",
    "FiniteDifferenceWarning": "._fit",
    "choose_strategy": "._fit",
    "StrategyChoice": "._fit",
    "GroupFit": "._fit",
    "FitResult": "._fit",
    "FitQualityWarning": "._fit",
    "ParameterAtBoundWarning": "._fit",
    "SolutionCheck": "._fit",
    "Timings": "._fit",
    "load_config": ".config",
    "Settings": ".config",
}


# Subpackages reachable as attributes (``fastsplit.xpcs.synthesize``), imported on
# first use as scipy does with ``scipy.optimize``; neither imports a heavy library.
_SUBMODULES = ("dask", "xpcs")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'fastsplit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = [
    "Batches",
    "ChunkPlan",
    "Diagnostics",
    "FiniteDifferenceWarning",
    "FitQualityWarning",
    "FitResult",
    "GroupFit",
    "MemoryEstimate",
    "ParameterAtBoundWarning",
    "Settings",
    "SolutionCheck",
    "StrategyChoice",
    "Stratified",
    "Timings",
    "__version__",
    "available_backends",
    "batches",
    "choose_strategy",
    "curve_fit",
    "estimate_memory",
    "fit",
    "load_config",
    "plan",
    "stratify",
    "warmup",
]
