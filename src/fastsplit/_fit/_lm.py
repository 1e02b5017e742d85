"""Levenberg-Marquardt on exact normal equations, with bounds by projection.

The solver only ever sees ``J^T J``, ``J^T r`` and the cost, so the data can be
any size: the caller accumulates them chunk by chunk. Scaling is Marquardt's
(``diag(J^T J)``), which makes the steps invariant to parameter units (D0 ~ 1e4
next to alpha ~ 1). Bounds are handled by an active set: a parameter on a bound
whose gradient pushes it outward is frozen for that step, and trial points are
clipped into the box.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._common import at_bound
from ._normal import NormalEquations

__all__ = ["LMResult", "levenberg_marquardt"]


@dataclass(frozen=True)
class LMResult:
    """Where the solver stopped, with the exact normal equations there."""

    x: np.ndarray
    cost: float
    normal: NormalEquations
    nit: int
    nfev: int
    njev: int
    success: bool
    message: str
    history: list[float]


def _scaled_gradient(normal: NormalEquations, free: np.ndarray) -> float:
    """max_j |g_j| / sqrt(H_jj * 2 cost): the cosine between J column j and r."""
    h = np.diag(normal.hessian)
    # Two square roots, not one of the product: that overflows on data near 1e150.
    denom = np.sqrt(np.maximum(h, 0.0)) * np.sqrt(max(2.0 * normal.cost, np.finfo(float).tiny))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denom > 0, np.abs(normal.gradient) / denom, 0.0)
    return float(ratio[free].max()) if free.any() else 0.0


def levenberg_marquardt(
    normal_fn: Callable[[np.ndarray], NormalEquations],
    cost_fn: Callable[[np.ndarray], float],
    x0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_iter: int = 100,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
    progress: Callable[[int, float], None] | None = None,
) -> LMResult:
    """Minimise ``0.5 * |r(x)|^2`` inside ``[lower, upper]``.

    ``normal_fn(x)`` returns the exact normal equations at ``x``; ``cost_fn(x)``
    only the cost (cheaper, used for trial steps).
    """
    x = np.clip(np.asarray(x0, dtype=np.float64), lower, upper)
    normal = normal_fn(x)
    nfev, njev = 1, 1
    history = [normal.cost]
    lam = 1e-3
    nu = 2.0
    message = "maximum number of iterations reached"
    success = False
    nit = 0
    if not np.isfinite(normal.cost):
        return LMResult(
            x, normal.cost, normal, 0, nfev, njev, False, "cost is not finite at p0", history
        )
    for nit in range(1, max_iter + 1):
        g = normal.gradient
        h = normal.hessian
        free = ~at_bound(x, g, lower, upper)
        if _scaled_gradient(normal, free) <= gtol:
            success, message = True, "gradient tolerance reached"
            break
        diag = np.diag(h).copy()
        scale = np.maximum(diag, 1e-12 * max(float(diag.max(initial=0.0)), 1e-300))
        idx = np.flatnonzero(free)
        accepted = False
        while True:
            step = np.zeros_like(x)
            system = h[np.ix_(idx, idx)] + lam * np.diag(scale[idx])
            try:
                step[idx] = -np.linalg.solve(system, g[idx])
            except np.linalg.LinAlgError:
                step[idx] = -np.linalg.lstsq(system, g[idx], rcond=None)[0]
            trial = np.clip(x + step, lower, upper)
            actual_step = trial - x
            predicted = -(g @ actual_step + 0.5 * actual_step @ h @ actual_step)
            trial_cost = cost_fn(trial)
            nfev += 1
            actual = normal.cost - trial_cost
            if np.isfinite(trial_cost) and actual > 0 and predicted > 0:
                rho = actual / predicted
                lam *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                accepted = True
                break
            lam *= nu
            nu *= 2.0
            small_step = np.all(np.abs(actual_step) <= xtol * (np.abs(x) + xtol))
            if small_step or lam > 1e16:
                break
        if not accepted:
            success = True
            message = "no further decrease possible (step below xtol)"
            break
        previous_cost = normal.cost
        x = trial
        normal = normal_fn(x)
        njev += 1
        history.append(normal.cost)
        if progress is not None:
            progress(nit, normal.cost)
        if actual <= ftol * previous_cost and abs(predicted) <= ftol * previous_cost:
            success, message = True, "relative cost reduction below ftol"
            break
        if np.all(np.abs(actual_step) <= xtol * (np.abs(x) + xtol)):
            success, message = True, "relative step below xtol"
            break
    return LMResult(
        x=x,
        cost=normal.cost,
        normal=normal,
        nit=nit,
        nfev=nfev,
        njev=njev,
        success=success,
        message=message,
        history=history,
    )
