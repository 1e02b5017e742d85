"""Never silent: turn a strategy's outcome into a :class:`FitResult`, judged on all the data.

Whatever the strategy, the verdict is reached here and only here: the exact
normal equations at the solution over every point, the covariance from them,
the checks of ``_checks``, and ``success`` = the strategy's own verdict **and**
no problem found.
"""

from __future__ import annotations

import time

import numpy as np

from . import _nlsq
from ._checks import check_solution, covariance_from
from ._choose import Choice
from ._common import degrees_of_freedom, shown_labels
from ._problem import Outcome, Problem
from ._result import FitResult, Timings

__all__ = ["judge"]


def judge(
    outcome: Outcome, problem: Problem, choice: Choice, *, max_step_sigma: float, clock: float
) -> FitResult:
    """The result of ``outcome``; ``clock`` is when the fit started (``time.perf_counter``)."""
    layout, grouping, objective = problem.layout, problem.grouping, problem.objective
    start, n = problem.start, problem.inputs.n_points
    x = np.asarray(outcome.x, dtype=np.float64)
    evaluate_at = np.where(np.isfinite(x), x, start)
    normal = outcome.normal if outcome.normal is not None else objective.normal(evaluate_at)
    cost_start = outcome.cost_start if outcome.cost_start is not None else objective.cost(start)
    covariance, constrained = covariance_from(normal, n, problem.absolute_sigma)
    check = check_solution(
        layout,
        grouping.groups,
        evaluate_at,
        start,
        problem.lower,
        problem.upper,
        normal,
        cost_start,
        covariance,
        constrained,
        max_step_sigma=max_step_sigma,
        judge_convergence=outcome.judge_convergence,
        failed_groups=list(outcome.failed_groups),
    )
    check.problems.extend(outcome.problems)
    if grouping.sparse.any():
        exact = choice.strategy == "chunked"
        check.notes.append(
            f"sparse group(s) {shown_labels(grouping.groups, grouping.sparse, 8)}: fewer points "
            f"than the {grouping.n_chunks} chunks, so absent from some chunks"
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
            "n_chunks": grouping.n_chunks,
            "nlsq_version": ".".join(map(str, _nlsq.nlsq_version())),
            "constrained": constrained,
        }
    )
    fit_seconds = time.perf_counter() - clock - grouping.seconds
    return FitResult(
        params=layout.unpack(x),
        errors=layout.unpack(errors_flat),
        covariance=covariance,
        x=x,
        param_names=layout.flat_names(),
        groups=grouping.groups,
        counts=grouping.counts,
        cost=float(normal.cost),
        cost_start=float(cost_start),
        gradient_norm=check.gradient_norm,
        reduced_chi2=2.0 * float(normal.cost) / degrees_of_freedom(n, constrained),
        n_points=n,
        nfev=int(outcome.nfev),
        strategy=choice.strategy,
        reason=choice.reason,
        success=bool(outcome.success and check.ok),
        message=outcome.message,
        check=check,
        diagnostics=grouping.diagnostics if stratification.collect_diagnostics else None,
        timings=Timings(stratify=grouping.seconds, fit=fit_seconds),
        info=info,
    )
