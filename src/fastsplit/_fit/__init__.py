"""``fastsplit.fit``: a thin NLSQ adapter for models with shared and per-group parameters.

>>> from fastsplit import fit, curve_fit, FitResult
>>> from fastsplit._fit import choose_strategy, GroupFit, StrategyChoice

Importing this package is cheap; nlsq, JAX and SciPy are imported on the first
fit. See :func:`fit` and ``docs/fit.md``. This module is the fit package's
interface for the rest of fastsplit: other modules import from here only.
"""

from __future__ import annotations

from ._baseline import nlsq_chunked_baseline
from ._checks import FitQualityWarning, ParameterAtBoundWarning, SolutionCheck
from ._curve_fit import curve_fit
from ._dryrun import StrategyChoice, choose_strategy
from ._fit import fit
from ._loss import LOSSES
from ._numeric import FiniteDifferenceWarning
from ._options import FitOptions
from ._result import FitResult, GroupFit, Timings

__all__ = [
    "LOSSES",
    "FiniteDifferenceWarning",
    "FitOptions",
    "FitQualityWarning",
    "FitResult",
    "GroupFit",
    "ParameterAtBoundWarning",
    "SolutionCheck",
    "StrategyChoice",
    "Timings",
    "choose_strategy",
    "curve_fit",
    "fit",
    "nlsq_chunked_baseline",
]
