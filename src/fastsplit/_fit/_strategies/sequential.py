"""``sequential``: the per-group fallback. Fit each group alone, combine only what is shared.

* Each group is fitted on its own points only (``scipy.optimize.least_squares``,
  JAX Jacobians, the fit's loss), with all shared parameters and that group's
  per-group ones. Every group's own fit (values, errors, cost, success) is kept
  on the result (``FitResult.group_fits``).
* Whether a group's fit constrains a parameter is decided from its Jacobian
  (a zero or linearly dependent column), never from its residual: a group the
  model fits exactly is the best kind, not an unconstrained one.
* Shared parameters are combined over the successful fits that constrain them.
  ``inverse_variance`` (default) weights each group's estimate by its
  information matrix on the shared parameters (the inverse of their block of
  its covariance, so correlated parameters such as D0 and alpha combine as a
  joint fit would, to first order; per parameter, the weight shown is its
  diagonal); ``uniform`` and ``n_points`` weight each parameter by 1 or by the
  group's points. A group's residual variance scales its information (the
  pooled one where a group fits better than a millionth of it, so exact fits
  keep finite weights).
* A group's per-group parameters come from its own fit only; they are never
  averaged with anything. After the shared parameters are combined, each
  group's per-group parameters are refined once more on the group's own points
  with the shared ones held at the combined values (still its own data only).
* A shared parameter no single group constrains (laminar flow: at one angle
  the shear rate and ``phi0`` only enter together) fails the fit with an error
  that names it, its partners, and the ``chunked`` strategy, which constrains
  it through the differences between groups. :func:`lone_group_gaps` finds such
  parameters before fitting, so ``auto`` never picks this strategy for them.
* Fewer successful group fits than ``min_success_rate`` fails the fit.

Each group's points are taken from the inputs through the chunking (its
members), padded to a power-of-two length with weight 0 (``_groups``).
"""

from __future__ import annotations

import logging

import numpy as np

from .._common import degrees_of_freedom
from .._groups import GroupProblem, fit_group, gap_sentence, solve_trf
from .._model import ParameterLayout
from .._problem import Outcome, Problem
from .._result import GroupFit

log = logging.getLogger("fastsplit")

__all__ = ["run"]


def run(problem: Problem) -> Outcome:
    """Fit every group alone, then combine the shared parameters and refine the groups."""
    settings = problem.settings.sequential
    layout, inputs, loss = problem.layout, problem.inputs, problem.loss
    ns = layout.n_shared
    groups = problem.chunking.groups
    group_problem = GroupProblem(problem.model, layout, inputs)
    members = problem.chunking.members()
    names = [*layout.shared, *layout.per_group]

    fits: list[GroupFit] = []
    information: list[np.ndarray] = []  # of the shared parameters, per group (see OwnFit)
    gaps: dict[str, list[str]] = {}
    nfev = 0
    for g in range(layout.n_groups):
        data = group_problem.data(members[g])
        slots = layout.group_index(g)
        theta0 = np.concatenate([problem.start[:ns], problem.start[slots]])
        lo = np.concatenate([problem.lower[:ns], problem.lower[slots]])
        hi = np.concatenate([problem.upper[:ns], problem.upper[slots]])
        label = groups[g].item() if hasattr(groups[g], "item") else groups[g]
        n_g = int(members[g].shape[0])
        own = fit_group(group_problem, data, theta0, lo, hi, problem)
        nfev += own.nfev
        dof = degrees_of_freedom(n_g, own.constrained)
        scale = 1.0 if problem.absolute_sigma else 2.0 * own.cost / dof
        with np.errstate(invalid="ignore"):
            errors = np.sqrt(np.diag(own.inverse) * scale)
        fits.append(
            GroupFit(
                label=label,
                n_points=n_g,
                success=own.success,
                message=own.message,
                params=dict(zip(names, map(float, own.x), strict=True)),
                errors=dict(zip(names, map(float, errors), strict=True)),
                unconstrained=tuple(
                    n for n, c in zip(names, own.constrained, strict=True) if not c
                ),
                cost=own.cost,
                nfev=own.nfev,
            )
        )
        information.append(own.information)
        for name in layout.shared:
            if name in own.partners:
                gaps.setdefault(name, own.partners[name])
        status = "ok" if own.success else f"FAILED ({own.message})"
        problem.progress(
            f"sequential: group {g + 1}/{layout.n_groups} (label {label!r}, {n_g} points) {status}"
        )

    combined, weights, uncombined = _combine(fits, information, layout, problem)
    x_out = problem.start.copy()
    x_out[:ns] = combined
    failed = [g for g, f in enumerate(fits) if not f.success]
    for g, f in enumerate(fits):
        slots = layout.group_index(g)
        values = np.array([f.params[name] for name in layout.per_group])
        if not f.success:
            x_out[slots] = np.nan
            continue
        x_out[slots], nf = _refine(group_problem, members[g], combined, values, slots, problem)
        nfev += nf

    success_rate = float(np.mean([f.success for f in fits])) if fits else 0.0
    problems = []
    if success_rate < settings.min_success_rate:
        problems.append(
            f"only {100 * success_rate:.0f} % of the per-group fits succeeded "
            f"(min_success_rate {100 * settings.min_success_rate:.0f} %)."
        )
    if uncombined:
        problems.append(gap_sentence({name: gaps.get(name, []) for name in uncombined}))
    log.info(
        "sequential fallback: %d/%d groups fitted (%s loss), shared parameters combined "
        "with %s weights",
        len(fits) - len(failed),
        len(fits),
        loss.name,
        settings.weighting,
    )
    return Outcome(
        x_out,
        nfev,
        not problems,
        "sequential per-group fits combined",
        info={
            "success_rate": success_rate,
            "weighting": settings.weighting,
            "weights": {k: v.tolist() for k, v in weights.items()},
        },
        failed_groups=tuple(failed),
        problems=tuple(problems),
        # Nothing here minimised the full-data cost: a remaining step is a note.
        judge_convergence=False,
        group_fits=tuple(fits),
    )


def _combine(
    fits: list[GroupFit],
    information: list[np.ndarray],
    layout: ParameterLayout,
    problem: Problem,
) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """The combined shared values, the weight of every group per parameter, and the
    shared parameters no successful group constrains (left at ``p0``)."""
    weighting = problem.settings.sequential.weighting
    succeeded = np.array([f.success for f in fits])
    costs = np.array([f.cost for f in fits])
    dof = np.array(
        [max(f.n_points - (len(f.params) - len(f.unconstrained)), 1) for f in fits], dtype=float
    )
    own = np.where(succeeded, 2.0 * np.nan_to_num(costs) / dof, 0.0)
    pooled = float(own[succeeded].sum() / dof[succeeded].sum()) if succeeded.any() else 0.0
    if problem.absolute_sigma or pooled <= 0:
        residual_variance = np.ones(len(fits))
    else:
        residual_variance = np.maximum(own, 1e-6 * pooled)

    ns = layout.n_shared
    values = np.nan_to_num(np.array([[f.params[name] for name in layout.shared] for f in fits]))
    matrices = [
        i / v if ok else np.zeros((ns, ns))
        for i, v, ok in zip(information, residual_variance, succeeded, strict=True)
    ]
    usable = np.array([np.diag(m) > 0 for m in matrices]).reshape(len(fits), ns)
    if weighting == "inverse_variance":
        # Independent groups: the information-weighted mean of their estimates (matrix
        # weights, so correlated shared parameters such as D0 and alpha are combined
        # as a joint fit of all groups would, to first order).
        per_parameter = np.array([np.diag(m) for m in matrices]).reshape(len(fits), ns)
    elif weighting == "uniform":
        per_parameter = usable.astype(np.float64)
    else:
        per_parameter = usable * np.array([[f.n_points] for f in fits], dtype=np.float64)
    weights = {name: per_parameter[:, k] for k, name in enumerate(layout.shared)}
    found = per_parameter.sum(axis=0) > 0
    uncombined = [name for name, ok in zip(layout.shared, found, strict=True) if not ok]
    combined = problem.start[:ns].copy()
    if weighting == "inverse_variance":
        total = sum(matrices, np.zeros((ns, ns)))
        pulled = sum((m @ v for m, v in zip(matrices, values, strict=True)), np.zeros(ns))
        idx = np.flatnonzero(found)
        combined[idx] = np.linalg.lstsq(total[np.ix_(idx, idx)], pulled[idx], rcond=None)[0]
    else:
        with np.errstate(invalid="ignore"):
            mean = (per_parameter * values).sum(axis=0) / per_parameter.sum(axis=0)
        combined[found] = mean[found]
    lower, upper = problem.lower[:ns], problem.upper[:ns]
    return np.clip(combined, lower, upper), weights, uncombined


def _refine(
    group_problem: GroupProblem,
    index: np.ndarray,
    shared: np.ndarray,
    own: np.ndarray,
    slots: np.ndarray,
    problem: Problem,
) -> tuple[np.ndarray, int]:
    """The group's per-group values refitted on its own points, shared ones held fixed."""
    xs, ys, w = group_problem.data(index)
    lower, upper = problem.lower[slots], problem.upper[slots]

    def fun(local: np.ndarray) -> np.ndarray:
        return np.asarray(group_problem.residual_fixed(local, shared, xs, ys, w))

    def jac(local: np.ndarray) -> np.ndarray:
        return np.asarray(group_problem.jacobian_fixed(local, shared, xs, ys, w))

    start = np.clip(own, lower, upper)
    try:
        res = solve_trf(fun, jac, start, lower, upper, problem)
    except (ValueError, np.linalg.LinAlgError):
        return own, 0
    return (np.asarray(res.x) if res.success else own), int(res.nfev)
