"""The contenders of the side-by-side comparison, bound to one data set.

============================  ===============================================
``plain_copy``                the floor: ``np.array(a, copy=True)`` for each array
``fastsplit_copy``            ``fs.stratify(..., mode="copy")``, numba backend
``fastsplit_index``           ``fs.stratify(..., mode="index")``: order + bounds
``fastsplit_index_gather``    index mode, then ``s.take(*arrays)`` (one fused gather)
``fastsplit_index_chunks``    index mode, then every chunk of ``s.chunks()``
``numpy_copy``                the numpy (reference) backend, copy mode
``naive_mask``                per-group masks, the O(n x groups) approach users had
``shuffle_gather``            random permutation + gather (nlsq >= 0.7.2, internally)
============================  ===============================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .baselines import naive_stratify, plain_copy, shuffle_gather
from .harness import Method, quiet_stratify

__all__ = ["METHODS", "build_methods"]

METHODS = (
    "plain_copy",
    "fastsplit_copy",
    "fastsplit_index",
    "fastsplit_index_gather",
    "fastsplit_index_chunks",
    "numpy_copy",
    "naive_mask",
    "shuffle_gather",
)
"""Names of the compared methods, in table order; ``plain_copy`` is the floor."""


def _index_gather(
    labels: np.ndarray, arrays: tuple[np.ndarray, ...], chunk_size: int, backend: str
) -> Any:
    s = quiet_stratify(labels, mode="index", backend=backend, chunk_size=chunk_size)
    return s.take(*arrays)


def _index_chunks(
    labels: np.ndarray, arrays: tuple[np.ndarray, ...], chunk_size: int, backend: str
) -> int:
    s = quiet_stratify(labels, *arrays, mode="index", backend=backend, chunk_size=chunk_size)
    return sum(chunk[0].shape[0] for chunk in s.chunks())  # each chunk freed when the next comes


def build_methods(
    labels: np.ndarray,
    arrays: tuple[np.ndarray, ...],
    chunk_size: int,
    *,
    fast_backend: str = "numba",
    names: Sequence[str] = METHODS,
) -> list[Method]:
    """The contenders of :data:`METHODS` bound to one data set."""
    c = chunk_size
    table = {
        "plain_copy": Method(
            "plain_copy", "plain copy x arrays (floor)", lambda: plain_copy(arrays)
        ),
        "fastsplit_copy": Method(
            "fastsplit_copy",
            f"fastsplit {fast_backend}, copy mode",
            lambda: quiet_stratify(
                labels, *arrays, mode="copy", backend=fast_backend, chunk_size=c
            ),
        ),
        "fastsplit_index": Method(
            "fastsplit_index",
            f"fastsplit {fast_backend}, index mode (order + bounds)",
            lambda: quiet_stratify(labels, mode="index", backend=fast_backend, chunk_size=c),
        ),
        "fastsplit_index_gather": Method(
            "fastsplit_index_gather",
            f"fastsplit {fast_backend}, index mode + take(*arrays)",
            lambda: _index_gather(labels, arrays, c, fast_backend),
        ),
        "fastsplit_index_chunks": Method(
            "fastsplit_index_chunks",
            f"fastsplit {fast_backend}, index mode + all chunks()",
            lambda: _index_chunks(labels, arrays, c, fast_backend),
        ),
        "numpy_copy": Method(
            "numpy_copy",
            "fastsplit numpy backend, copy mode",
            lambda: quiet_stratify(labels, *arrays, mode="copy", backend="numpy", chunk_size=c),
        ),
        "naive_mask": Method(
            "naive_mask",
            "naive per-group masks, O(n x groups)",
            lambda: naive_stratify(labels, *arrays, chunk_size=c),
        ),
        "shuffle_gather": Method(
            "shuffle_gather",
            "random shuffle + gather (nlsq >= 0.7.2)",
            lambda: shuffle_gather(arrays),
        ),
    }
    return [table[name] for name in names]
