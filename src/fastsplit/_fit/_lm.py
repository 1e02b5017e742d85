"""Levenberg-Marquardt on exact normal equations: MINPACK's trust region, bounds by projection.

The solver only ever sees ``J^T J``, ``J^T r`` and the cost, so the data can be
any size: the caller accumulates them chunk by chunk. It follows MINPACK's
``lmder`` (Moré 1978) where that matters on hard problems:

* **Scaling**: ``D = max over iterations of sqrt(diag(J^T J))`` (never
  shrinking), so steps are invariant to parameter units (D0 ~ 1e4 next to
  alpha ~ 1) and a parameter whose column is momentarily flat keeps a sane
  scale.
* **Trust region**: the step solves ``min g.p + p.H.p / 2`` with
  ``|D p| <= delta``; the radius starts at ``100 |D x0|`` (far starts move
  quickly) and grows or shrinks with the ratio of actual to predicted
  reduction. The subproblem is solved exactly on the eigen-decomposition of
  the scaled ``P x P`` matrix (Levenberg parameter by Newton's method on
  ``1/|p|``, as ``lmpar`` does).
* **Termination**: MINPACK's tests, ``gtol`` on the largest cosine between
  ``r`` and a column of ``J``, ``ftol`` on the relative actual and predicted
  reductions, ``xtol`` on the radius against ``|D x|``; and the budget
  ``max_nfev``, counted in evaluations of the cost as scipy and MINPACK count
  them (the Jacobian passes at accepted points are ``njev``). A stop on the
  budget is never a success.

Bounds are handled by an active set: a parameter on a bound whose gradient
pushes it outward is frozen for that step, and trial points are clipped into
the box (the reduction is judged at the clipped point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._common import at_bound
from ._normal import NormalEquations

__all__ = [
    "CONVERGED",
    "LMResult",
    "Termination",
    "converged_at",
    "default_max_nfev",
    "levenberg_marquardt",
    "remaining_step",
]

BUDGET_PER_PARAMETER = 100
"""Default ``max_nfev``: this many cost evaluations per free parameter, plus as many
(MINPACK's ``lmder`` default, ``100 (P + 1)``)."""

RADIUS_FACTOR = 0.1
"""Initial trust radius, times ``|D x0|`` (MINPACK's ``factor``, whose default is 100).
Measured on NIST StRD (``python -m benchmarks.nist``) and on the 30 laminar-flow
data sets of ``tests/test_fit_errors.py`` from a rough start: 100 solved 50/54
NIST cases (the first steps of the far starts of BoxBOD, MGH09 and MGH10 jump to
where the model saturates); 1 solved 53/54 but walked one laminar-flow fit onto
a bound where the shear rate stops acting; 0.1 solved 53/54 and all 30."""

ACCEPT = 1e-4
"""Smallest ratio of actual to predicted reduction for which a step is taken."""

_RANK = 1e-14
"""Eigenvalues of the unit-scaled ``J^T J`` below this times the largest are null."""


class Termination:
    """Why the solver stopped: one constant per reason, with whether it converged."""

    GTOL = "gtol"
    FTOL = "ftol"
    XTOL = "xtol"
    EXACT = "exact"
    BUDGET = "budget"
    NOT_FINITE = "not_finite"

    CONVERGED = frozenset({GTOL, FTOL, XTOL, EXACT})


@dataclass(frozen=True)
class LMResult:
    """Where the solver stopped, with the exact normal equations there.

    ``nfev`` counts cost evaluations (trial points and the start), ``njev`` the
    Jacobian passes (the normal equations at the start and at accepted points);
    ``status`` is one of :class:`Termination`'s constants.
    """

    x: np.ndarray
    cost: float
    normal: NormalEquations
    nit: int
    nfev: int
    njev: int
    success: bool
    status: str
    message: str
    history: list[float]


def default_max_nfev(n_free: int) -> int:
    """``100 (P + 1)`` cost evaluations for ``P`` free parameters (MINPACK's default)."""
    return BUDGET_PER_PARAMETER * (max(int(n_free), 1) + 1)


def _scaled_gradient(normal: NormalEquations, free: np.ndarray) -> float:
    """max_j |g_j| / sqrt(H_jj * 2 cost): the cosine between J column j and r."""
    h = np.diag(normal.hessian)
    # Two square roots, not one of the product: that overflows on data near 1e150.
    denom = np.sqrt(np.maximum(h, 0.0)) * np.sqrt(max(2.0 * normal.cost, np.finfo(float).tiny))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denom > 0, np.abs(normal.gradient) / denom, 0.0)
    return float(ratio[free].max()) if free.any() else 0.0


class _Subproblem:
    """``min g.p + p.H.p / 2`` subject to ``|D p| <= delta``, for any ``delta``.

    Decomposed once per iteration: ``D^-1 H D^-1 = V diag(w) V^T``; then
    ``p(mu) = -D^-1 V (c / (w + mu))`` with ``c = V^T D^-1 g``, and ``mu`` is
    found by Newton's method on ``1/|D p(mu)| - 1/delta`` (as MINPACK's ``lmpar``).
    """

    def __init__(self, h: np.ndarray, g: np.ndarray, d: np.ndarray) -> None:
        scaled = h / d[:, None] / d[None, :]
        w, v = np.linalg.eigh(0.5 * (scaled + scaled.T))
        top = max(float(w.max(initial=0.0)), np.finfo(float).tiny)
        self.w = np.where(w > _RANK * top, w, 0.0)
        self.v, self.d = v, d
        self.c = v.T @ (g / d)
        null = self.w == 0.0
        # The Gauss-Newton step, minimum-norm on a (near-)singular system.
        self.gauss_newton = np.where(null, 0.0, -self.c / np.where(null, 1.0, self.w))
        self.gn_norm = float(np.linalg.norm(self.gauss_newton))
        self.singular = bool(null.any())

    def _norm(self, mu: float) -> tuple[float, float]:
        """``|D p(mu)|`` and its derivative in ``mu``."""
        q = self.c / (self.w + mu)
        norm = float(np.linalg.norm(q))
        slope = -float(np.sum(q * q / (self.w + mu))) / max(norm, np.finfo(float).tiny)
        return norm, slope

    def step(self, delta: float) -> tuple[np.ndarray, float]:
        """The step (unscaled) and the Levenberg parameter ``mu`` that gives it."""
        if self.gn_norm <= delta:
            return (self.v @ self.gauss_newton) / self.d, 0.0
        g_norm = float(np.linalg.norm(self.c))
        low, high = 0.0, g_norm / delta  # |D p(high)| <= delta since w >= 0
        mu = high if self.singular else max(0.0, (self.gn_norm - delta) / self.gn_norm * high)
        for _ in range(60):
            norm, slope = self._norm(mu)
            if abs(norm - delta) <= 0.1 * delta or high - low <= 1e-15 * high:
                break
            if norm > delta:
                low = mu
            else:
                high = mu
            # Newton on 1/|p| - 1/delta (nearly linear in mu).
            newton = mu - (norm - delta) / delta * norm / slope if slope < 0 else high
            mu = newton if low < newton < high else 0.5 * (low + high)
        p = -(self.v @ (self.c / (self.w + mu))) / self.d
        return p, mu


def remaining_step(
    normal: NormalEquations, x: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """The Gauss-Newton step that is left at ``x`` (zero for parameters held on a bound)."""
    free = ~at_bound(x, normal.gradient, lower, upper)
    step = np.zeros_like(x)
    idx = np.flatnonzero(free & (np.diag(normal.hessian) > 0))
    if idx.size:
        h = normal.hessian[np.ix_(idx, idx)]
        d = np.sqrt(np.diag(h))
        sub = _Subproblem(h, normal.gradient[idx], d)
        step[idx] = (sub.v @ sub.gauss_newton) / d
    return step


CONVERGED = 1e-8
"""The tolerance of :func:`converged_at` (scipy's default ``gtol`` and ``xtol``)."""


def converged_at(
    normal: NormalEquations,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    tol: float = CONVERGED,
) -> bool:
    """MINPACK's convergence tests at ``x``, whatever the optimiser that got there.

    True when the largest cosine between ``r`` and a free column of ``J`` is
    at most ``tol`` (``gtol``), or the Gauss-Newton step that remains is at most
    ``tol`` of ``|D x|`` in the scaled norm (``xtol``), or the residuals vanish.
    """
    free = ~at_bound(x, normal.gradient, lower, upper)
    if normal.cost <= 0.0 or _scaled_gradient(normal, free) <= tol:
        return True
    d = np.sqrt(np.maximum(np.diag(normal.hessian), 0.0))
    step = remaining_step(normal, x, lower, upper)
    return bool(np.linalg.norm(d * step) <= tol * np.linalg.norm(d * x))


def levenberg_marquardt(
    normal_fn: Callable[[np.ndarray], NormalEquations],
    cost_fn: Callable[[np.ndarray], float],
    x0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_nfev: int | None = None,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
    progress: Callable[[int, float], None] | None = None,
) -> LMResult:
    """Minimise ``0.5 * |r(x)|^2`` inside ``[lower, upper]``.

    ``normal_fn(x)`` returns the exact normal equations at ``x``; ``cost_fn(x)``
    only the cost (cheaper, used for trial steps). ``max_nfev`` (default
    :func:`default_max_nfev`) bounds the evaluations of the cost.
    """
    x = np.clip(np.asarray(x0, dtype=np.float64), lower, upper)
    normal = normal_fn(x)
    budget = max_nfev if max_nfev is not None else default_max_nfev(x.size)
    nfev, njev, nit = 1, 1, 0
    history = [normal.cost]

    def done(status: str, message: str) -> LMResult:
        success = status in Termination.CONVERGED
        return LMResult(x, normal.cost, normal, nit, nfev, njev, success, status, message, history)

    if not np.isfinite(normal.cost):
        return done(Termination.NOT_FINITE, "the cost is not finite at p0")
    scale = np.sqrt(np.maximum(np.diag(normal.hessian), 0.0))
    scale = np.where(scale > 0, scale, 1.0)
    radius = RADIUS_FACTOR * float(np.linalg.norm(scale * x))
    radius = radius if radius > 0 else RADIUS_FACTOR
    while True:
        g, h = normal.gradient, normal.hessian
        free = ~at_bound(x, g, lower, upper)
        if normal.cost <= 0.0:
            return done(Termination.EXACT, "the residuals are exactly zero")
        if _scaled_gradient(normal, free) <= gtol:
            return done(Termination.GTOL, f"gradient below gtol={gtol:g}")
        if nfev >= budget:
            return done(Termination.BUDGET, _budget_message(budget))
        nit += 1
        scale = np.maximum(scale, np.sqrt(np.maximum(np.diag(h), 0.0)))
        idx = np.flatnonzero(free)
        sub = _Subproblem(h[np.ix_(idx, idx)], g[idx], scale[idx])
        while True:  # shrink the region until a step decreases the cost
            step = np.zeros_like(x)
            step[idx], _ = sub.step(radius)
            trial = np.clip(x + step, lower, upper)
            taken = trial - x
            taken_norm = float(np.linalg.norm(scale * taken))
            predicted = -(g @ taken + 0.5 * taken @ h @ taken)
            trial_cost = cost_fn(trial)
            nfev += 1
            actual = normal.cost - trial_cost if np.isfinite(trial_cost) else -np.inf
            ratio = actual / predicted if predicted > 0 else -np.inf
            if ratio < 0.25:
                radius = 0.25 * min(radius, max(taken_norm, 1e-300 * radius))
            elif ratio > 0.75 or taken_norm < 0.9 * radius:
                radius = max(radius, 2.0 * taken_norm)
            x_norm = float(np.linalg.norm(scale * x))
            if ratio >= ACCEPT:
                break
            if radius <= xtol * x_norm or radius == 0.0:
                return done(
                    Termination.XTOL,
                    f"no decrease within a trust region below xtol={xtol:g} of |x|",
                )
            if nfev >= budget:
                return done(Termination.BUDGET, _budget_message(budget))
        previous = normal.cost
        x = trial
        normal = normal_fn(x)
        njev += 1
        history.append(normal.cost)
        if progress is not None:
            progress(nit, normal.cost)
        relative_actual = abs(actual) / previous
        if relative_actual <= ftol and predicted / previous <= ftol and ratio <= 2.0:
            return done(Termination.FTOL, f"relative cost reduction below ftol={ftol:g}")
        if radius <= xtol * float(np.linalg.norm(scale * x)) or taken_norm <= xtol * x_norm:
            return done(Termination.XTOL, f"relative step below xtol={xtol:g}")


def _budget_message(budget: int) -> str:
    return f"stopped on its budget of max_nfev={budget} cost evaluations"
