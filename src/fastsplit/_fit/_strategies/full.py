"""``full``: ``nlsq.curve_fit`` on every point at once. Exact; memory O(n x P)."""

from __future__ import annotations

from .. import _nlsq
from .._model import ParameterLayout
from .._problem import Outcome, Problem, nlsq_outcome

__all__ = ["TOLERANCE", "peak_bytes", "run"]

BYTES_PER_ENTRY = 80
"""Bytes per (point x parameter) nlsq.curve_fit needs: measured 9.8 GB peak for
3.0M points x 49 parameters (about 67 B), rounded up."""

TOLERANCE = 1e-8
"""nlsq's default ``xtol``."""


def peak_bytes(n_points: int, layout: ParameterLayout) -> float:
    """Memory the ``full`` strategy needs at its peak."""
    return float(n_points) * layout.size * BYTES_PER_ENTRY


def run(problem: Problem) -> Outcome:
    """Fit every point with ``nlsq.curve_fit``; a robust loss is folded into the residuals
    (``Loss.signed_root``), the same on every nlsq release line."""
    f, xdata, y = _nlsq.weighted_data(
        problem.model,
        problem.layout,
        problem.x_is_tuple,
        problem.stacks_in_memory(),
        point_major=False,
        loss=problem.loss,
    )
    popt, info = _nlsq.curve_fit_full(
        f, xdata, y, problem.start, problem.lower, problem.upper, max_nfev=problem.max_nfev
    )
    return nlsq_outcome(popt, info, TOLERANCE)
