"""``fastsplit.fit``: a thin NLSQ adapter for models with shared and per-group parameters.

>>> from fastsplit import fit, FitResult

Importing this package is cheap; nlsq, JAX and SciPy are imported on the first
fit. See :func:`fit` and ``docs/fit.md``. This module is the fit package's
interface for the rest of fastsplit: other modules import from here only.
"""

from __future__ import annotations

from ._baseline import nlsq_chunked_baseline
from ._checks import FitQualityWarning, SolutionCheck
from ._fit import fit
from ._result import FitResult, Timings

__all__ = [
    "FitQualityWarning",
    "FitResult",
    "SolutionCheck",
    "Timings",
    "fit",
    "nlsq_chunked_baseline",
]
