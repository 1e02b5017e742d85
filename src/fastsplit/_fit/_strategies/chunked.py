"""``chunked``: Levenberg-Marquardt on the exact normal equations, summed chunk by chunk.

Exact (the same minimum as ``full``) with the memory of one chunk's Jacobian:
the solver (``_lm``) only ever sees ``J^T J``, ``J^T r`` and the cost, which
the objective (``_normal``) accumulates over the stratified chunks. A robust
loss rescales every point's row of those sums at every iteration (``_loss``),
so the solver minimises the robust cost as scipy's ``least_squares`` does.
"""

from __future__ import annotations

from .._lm import Termination, levenberg_marquardt
from .._model import ParameterLayout
from .._problem import Outcome, Problem

__all__ = ["TOLERANCE", "chunk_bytes", "run"]

BYTES_PER_POINT_PER_TANGENT = 64
"""Bytes per point of one chunk and forward tangent (tangents, products, data)."""

TOLERANCE = 1e-10
"""The solver's ``xtol`` and ``ftol``."""


def chunk_bytes(chunk_points: int, layout: ParameterLayout) -> float:
    """Memory one chunk of ``chunk_points`` points needs at the peak of a pass."""
    tangents = layout.n_shared + layout.n_per_group * (layout.n_per_group + 2)
    return float(chunk_points) * tangents * BYTES_PER_POINT_PER_TANGENT


def run(problem: Problem) -> Outcome:
    """Minimise the full-data cost from ``problem.start`` inside the bounds."""
    objective = problem.objective

    def on_iteration(iteration: int, cost: float) -> None:
        problem.progress(f"chunked LM iteration {iteration}: cost {cost:.8g}")

    lm = levenberg_marquardt(
        objective.normal,
        objective.cost,
        problem.start,
        problem.lower,
        problem.upper,
        max_nfev=problem.max_nfev,
        ftol=TOLERANCE,
        xtol=TOLERANCE,
        progress=on_iteration,
    )
    return Outcome(
        lm.x,
        lm.nfev,
        lm.success,
        lm.message,
        info={
            "iterations": lm.nit,
            "njev": lm.njev,
            "termination": lm.status,
            "cost_history": lm.history,
            "devices": max(len(objective.devices), 1),
        },
        normal=lm.normal,
        cost_start=lm.history[0],
        tolerance=TOLERANCE,
        budget=lm.status == Termination.BUDGET,
        njev=lm.njev,
    )
