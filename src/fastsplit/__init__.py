"""fastsplit: stratified chunking of large grouped datasets.

Reorder data so that every chunk holds every group in proportion, in O(n), and
fit chunked least-squares models that never fail silently.

>>> import numpy as np, fastsplit
>>> s = fastsplit.stratify(np.repeat([0.0, 90.0], 10), np.arange(20.0), chunk_size=5)
>>> s.n_chunks
4
"""

from __future__ import annotations

from ._api import plan, stratify, warmup
from ._memory import MemoryEstimate, estimate_memory
from ._plan import ChunkPlan
from ._result import Diagnostics, Stratified
from .backends import available_backends

__version__ = "0.1.0"

__all__ = [
    "ChunkPlan",
    "Diagnostics",
    "MemoryEstimate",
    "Stratified",
    "__version__",
    "available_backends",
    "estimate_memory",
    "plan",
    "stratify",
    "warmup",
]
