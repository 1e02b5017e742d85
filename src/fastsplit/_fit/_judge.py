"""Never silent: turn a strategy's outcome into a :class:`FitResult`, judged on all the data.

Whatever the strategy, the verdict is reached here and only here: the exact
normal equations at the solution over every point, the covariance from them,
the checks of ``_checks``, and ``success`` = no problem found. A strategy that
reports it did not converge fails the fit only when the full-data checks do
not show a minimum themselves (they are the stronger test); otherwise its
message is kept as a note.

The standard error a remaining step is measured against is
``sqrt(diag((J^T J)^-1)) * max(s_fit, s_sigma, s_floor)``: ``s_fit`` the
residual scale ``sqrt(2 cost / (n - P))`` (the reported errors use it, unless
``absolute_sigma``), ``s_sigma = 1`` when ``sigma`` was given (the sigma-based
errors), and ``s_floor = tolerance * scale``, the residual the solver can
resolve (its relative ``tolerance``, at least :data:`MODEL_PRECISION`). On
noise-free data ``s_fit`` is ~0 and the floor decides. ``scale`` is the size of
what is being subtracted: ``rms(y / sigma)`` plus the root mean square of the
model's terms, ``sqrt(sum_j H_jj x_j^2 / n)`` (each parameter's contribution
``x_j dr/dx_j``), so a model that returns residuals fitted to ``y = 0`` gets the
floor of the values it subtracted internally, not of its (zero) output. The
cost may rise above the start by rounding: ``sum r dr + dr^2 / 2`` with
``|dr| <= s_floor``.

A stop on the optimiser's evaluation budget passes only when MINPACK's
convergence tests hold at the solution (``_lm.converged_at``): a fit that ran
out of evaluations short of the minimum is refused even where the remaining
step is below a standard error.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import _nlsq
from ._checks import check_solution, information_inverse
from ._choose import Choice
from ._clock import compile_seconds
from ._cluster import with_cluster_errors
from ._common import degrees_of_freedom, shown_labels
from ._lm import converged_at
from ._normal import NormalEquations
from ._problem import Outcome, Problem
from ._result import FitResult, Timings

__all__ = ["MODEL_PRECISION", "Clock", "judge"]

MODEL_PRECISION = 1e-10
"""Relative precision of a float64 model evaluation (cumulative sums, exp): no
solver can pin the residual down further than this times the data's size."""


@dataclass(frozen=True)
class Clock:
    """When the fit started, and how much compiling JAX had done by then."""

    started: float
    compiled: float

    @classmethod
    def now(cls, already: float = 0.0) -> Clock:
        """Started ``already`` seconds ago (work done before JAX was imported)."""
        return cls(time.perf_counter() - already, compile_seconds())


def _budget_words(message: str) -> str:
    """``"stopped on its budget of ..."`` whatever the optimiser's own wording."""
    if message.startswith("stopped on its budget"):
        return message
    return f"stopped on its evaluation budget ({message.rstrip('.')})"


def _scale(data_scale: float, normal: NormalEquations, x: np.ndarray, n: int) -> float:
    """Size of the values the residuals are differences of: ``rms(y / sigma)`` plus the
    root mean square of the model's terms ``x_j dr/dx_j`` (from ``J^T J``)."""
    finite = np.isfinite(x)
    terms = float(np.sum(np.diag(normal.hessian)[finite] * x[finite] ** 2))
    return data_scale + (math.sqrt(terms / n) if math.isfinite(terms) and terms > 0 else 0.0)


def judge(
    outcome: Outcome, problem: Problem, choice: Choice, *, max_step_sigma: float, clock: Clock
) -> FitResult:
    """The result of ``outcome``; ``clock`` was read when the fit started."""
    layout, chunking, objective = problem.layout, problem.chunking, problem.objective
    inputs = problem.inputs
    start, n = problem.start, inputs.n_points
    x = np.asarray(outcome.x, dtype=np.float64)
    evaluate_at = np.where(np.isfinite(x), x, start)
    normal = outcome.normal if outcome.normal is not None else objective.normal(evaluate_at)
    cost_start = outcome.cost_start if outcome.cost_start is not None else objective.cost(start)
    inverse, constrained = information_inverse(normal.hessian)
    fit_scale = math.sqrt(max(2.0 * normal.cost, 0.0) / degrees_of_freedom(n, constrained))
    covariance = inverse if problem.absolute_sigma else inverse * fit_scale**2
    floor = max(outcome.tolerance, MODEL_PRECISION) * _scale(inputs.data_scale, normal, x, n)
    cost_floor = 0.5 * n * floor**2 + math.sqrt(2.0 * max(normal.cost, 0.0) * n) * floor
    given = 1.0 if (inputs.sigma_given or problem.absolute_sigma) else 0.0
    reported = 1.0 if problem.absolute_sigma else fit_scale
    check = check_solution(
        layout,
        chunking.groups,
        evaluate_at,
        start,
        problem.lower,
        problem.upper,
        normal,
        cost_start,
        inverse,
        constrained,
        error_scale=max(reported, given, floor),
        cost_floor=cost_floor,
        max_step_sigma=max_step_sigma,
        judge_convergence=outcome.judge_convergence,
        failed_groups=list(outcome.failed_groups),
        stopped=f"{outcome.message}, after {outcome.nfev} evaluations",
    )
    check.problems[:0] = outcome.problems  # the strategy knows the root cause: first
    if outcome.budget and not converged_at(normal, evaluate_at, problem.lower, problem.upper):
        check.problems.insert(
            0,
            f"the {choice.strategy} optimiser {_budget_words(outcome.message)} short of the "
            "minimum: the convergence tests (gradient, remaining step) do not hold at its "
            f"last point. Pass max_nfev={10 * max(outcome.nfev, 10)} (it counts evaluations "
            "of the cost, as scipy's does) or start closer to the minimum.",
        )
    elif not outcome.success:
        stopped = f"the {choice.strategy} optimiser stopped without converging: {outcome.message}"
        if outcome.judge_convergence:
            check.notes.append(stopped + "; the full-data checks judge the result on their own.")
        elif not check.problems:
            check.problems.append(stopped + ".")
    if chunking.sparse.any():
        exact = choice.strategy == "chunked"
        check.notes.append(
            f"sparse group(s) {shown_labels(chunking.groups, chunking.sparse, 8)}: fewer points "
            f"than the {chunking.n_chunks} chunks, so absent from some chunks"
            + ("; the exact normal equations still include every point of them." if exact else ".")
        )
    stratification = problem.settings.stratification
    if stratification.enabled is False:
        check.notes.append("stratification disabled by the config: chunks follow input order.")
    check.ok = not check.problems
    variance = np.diag(covariance)
    errors_flat = np.sqrt(np.where(variance >= 0, variance, np.nan))
    info = dict(outcome.info)
    info.update(
        {
            "chunk_size": choice.chunk_size,
            "n_chunks": chunking.n_chunks,
            "nlsq_version": ".".join(map(str, _nlsq.nlsq_version())),
            "constrained": constrained,
            "loss": problem.loss.name,
            "njev": outcome.njev,
            "sigma_given": bool(inputs.sigma_given),
            "f_scale": problem.loss.f_scale,
        }
    )
    compiling = compile_seconds() - clock.compiled
    elapsed = time.perf_counter() - clock.started
    result = FitResult(
        params=layout.unpack(x),
        errors=layout.unpack(errors_flat),
        covariance=covariance,
        x=x,
        param_names=layout.flat_names(),
        groups=chunking.groups,
        counts=chunking.counts,
        cost=float(normal.cost),
        cost_start=float(cost_start),
        gradient_norm=check.gradient_norm,
        reduced_chi2=2.0 * float(normal.cost) / degrees_of_freedom(n, constrained),
        n_points=n,
        nfev=int(outcome.nfev),
        strategy=choice.strategy,
        reason=choice.reason,
        success=check.ok,
        message=outcome.message,
        check=check,
        diagnostics=chunking.diagnostics if stratification.collect_diagnostics else None,
        timings=Timings(
            stratify=chunking.seconds,
            fit=max(elapsed - chunking.seconds - chunking.compile_seconds - compiling, 0.0),
            compile=compiling + chunking.compile_seconds,
        ),
        info=info,
        group_fits=outcome.group_fits,
    )
    return with_cluster_errors(result, problem, evaluate_at, inverse)
