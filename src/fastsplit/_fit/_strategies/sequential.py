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
members), padded to a power-of-two length with weight 0.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .._checks import degenerate_partners, information_inverse
from .._common import degrees_of_freedom, listing, padded_gather
from .._inputs import Inputs
from .._model import Model, ParameterLayout, evaluate
from .._problem import Outcome, Problem
from .._result import GroupFit

log = logging.getLogger("fastsplit")

__all__ = ["gap_names", "gap_sentence", "group_bytes", "lone_group_gaps", "run"]

SAMPLE_POINTS = 2048
"""Points per group on which :func:`lone_group_gaps` evaluates the Jacobian."""


def _scale(theta: np.ndarray) -> np.ndarray:
    # Characteristic scale of each parameter from its starting value (D0 ~ 1e4 next
    # to alpha ~ 1); x_scale="jac" was seen to wander off along flat valleys.
    return np.where(np.abs(theta) > 0, np.abs(theta), 1.0)


def _bucket(n: int) -> int:
    # Pad group sizes to powers of two: a handful of compilations for any group sizes.
    return max(256, 1 << max(int(n - 1).bit_length(), 0))


def group_bytes(n_points: int, layout: ParameterLayout) -> float:
    """Memory one group's own fit needs at its peak (its Jacobian, held a few times)."""
    return float(_bucket(n_points)) * (layout.n_shared + layout.n_per_group + 4) * 8 * 4


class _GroupProblem:
    """JIT-compiled residuals and Jacobians of one group's own fit."""

    def __init__(self, model: Model, layout: ParameterLayout, inputs: Inputs) -> None:
        import jax
        import jax.numpy as jnp

        ns = layout.n_shared
        self.inputs = inputs

        def residual(theta: Any, xs: Any, y: Any, w: Any) -> Any:
            per_point = [jnp.broadcast_to(v, y.shape) for v in theta[ns:]]
            pred = evaluate(model, layout, inputs.x_is_tuple, xs, theta[:ns], per_point)
            return (jnp.asarray(pred, dtype=jnp.float64) - y) * w

        def residual_fixed(local: Any, shared: Any, xs: Any, y: Any, w: Any) -> Any:
            return residual(jnp.concatenate([shared, local]), xs, y, w)

        self.residual = jax.jit(residual)
        self.jacobian = jax.jit(jax.jacfwd(residual))
        self.residual_fixed = jax.jit(residual_fixed)
        self.jacobian_fixed = jax.jit(jax.jacfwd(residual_fixed))

    def data(self, index: np.ndarray) -> tuple[tuple[Any, ...], Any, Any]:
        """``(xs, y, w)`` of the points ``index``, padded with weight 0."""
        n_g = int(index.shape[0])
        size = _bucket(n_g)
        padded = np.concatenate([index, np.full(size - n_g, index[-1])])
        valid = np.arange(size) < n_g
        inputs = self.inputs
        (*xs, ys), w = padded_gather([*inputs.x, inputs.y], inputs.weight, padded, valid)
        return tuple(xs), ys, w


def lone_group_gaps(
    model: Model,
    layout: ParameterLayout,
    inputs: Inputs,
    members: Sequence[np.ndarray],
    start: np.ndarray,
) -> dict[str, list[str]]:
    """Shared parameters that no group alone constrains at ``start``, with their partners.

    Evaluated on up to :data:`SAMPLE_POINTS` evenly spread points of each group:
    ``{name: [parameters it only enters together with]}``; empty when every
    shared parameter is constrained by at least one group on its own.
    """
    if layout.n_shared == 0:
        return {}
    problem = _GroupProblem(model, layout, inputs)
    names = list(layout.shared) + list(layout.per_group)
    covered = np.zeros(layout.n_shared, dtype=bool)
    partners: dict[str, list[str]] = {}
    for g, index in enumerate(members):
        pick = index[np.unique(np.linspace(0, index.shape[0] - 1, SAMPLE_POINTS).astype(np.int64))]
        theta = np.concatenate([start[: layout.n_shared], start[layout.group_index(g)]])
        j = np.asarray(problem.jacobian(theta, *problem.data(pick)))
        hessian = j.T @ j
        _, constrained = information_inverse(hessian)
        covered |= constrained[: layout.n_shared]
        if not partners:
            partners = degenerate_partners(hessian, names)
        if covered.all():
            return {}
    return {
        name: partners.get(name, [])
        for name, c in zip(layout.shared, covered, strict=True)
        if not c
    }


def gap_names(gaps: dict[str, list[str]]) -> str:
    """``"phi0 (only together with gamma_dot_t0), beta"``."""
    parts = []
    for name, with_ in gaps.items():
        parts.append(f"{name} (only together with {listing(with_)})" if with_ else name)
    return listing(parts)


def gap_sentence(gaps: dict[str, list[str]]) -> str:
    """Why the sequential strategy cannot work for these parameters, and what to use."""
    return (
        f"no single group constrains the shared parameter(s) {gap_names(gaps)}: within one "
        "group their Jacobian columns are zero or linearly dependent, so a per-group fit "
        "cannot determine them (in the XPCS laminar-flow model one angle alone cannot "
        "separate phi0 from the shear rate). Use strategy='chunked', which fits all groups "
        "together and constrains them through the differences between groups."
    )


def run(problem: Problem) -> Outcome:
    """Fit every group alone, then combine the shared parameters and refine the groups."""
    settings = problem.settings.sequential
    layout, inputs, loss = problem.layout, problem.inputs, problem.loss
    ns = layout.n_shared
    groups = problem.chunking.groups
    group_problem = _GroupProblem(problem.model, layout, inputs)
    members = problem.chunking.members()
    names = [*layout.shared, *layout.per_group]

    fits: list[GroupFit] = []
    information: list[np.ndarray] = []  # of the shared parameters, per group (see _OwnFit)
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
        own = _fit_group(group_problem, data, theta0, lo, hi, problem)
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


class _OwnFit(NamedTuple):
    """What one group's own fit found."""

    x: np.ndarray
    cost: float
    nfev: int
    success: bool
    message: str
    inverse: np.ndarray
    constrained: np.ndarray
    information: np.ndarray
    """What the group says about the shared parameters, the others profiled out: the
    inverse of their block of ``(J^T J)^-1`` (0 where unconstrained), ``(ns, ns)``."""
    partners: dict[str, list[str]]
    """For each unconstrained parameter, those it only enters together with."""


def _fit_group(
    group_problem: _GroupProblem,
    data: tuple[Any, ...],
    theta0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    problem: Problem,
) -> _OwnFit:
    """One group's own fit on its own points, with every shared parameter."""
    from scipy.optimize import least_squares

    size = theta0.shape[0]
    ns = problem.layout.n_shared
    names = [*problem.layout.shared, *problem.layout.per_group]

    def fun(theta: np.ndarray) -> np.ndarray:
        return np.asarray(group_problem.residual(theta, *data))

    def jac(theta: np.ndarray) -> np.ndarray:
        return np.asarray(group_problem.jacobian(theta, *data))

    try:
        res = least_squares(
            fun,
            theta0,
            jac=jac,
            bounds=(lo, hi),
            method="trf",
            x_scale=_scale(theta0),
            max_nfev=problem.max_nfev,
            loss=problem.loss.name,
            f_scale=problem.loss.f_scale,
        )
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return _OwnFit(
            x=theta0.copy(),
            cost=float("nan"),
            nfev=0,
            success=False,
            message=f"{type(exc).__name__}: {exc}",
            inverse=np.full((size, size), np.nan),
            constrained=np.zeros(size, dtype=bool),
            information=np.zeros((ns, ns)),
            partners={},
        )
    j = np.asarray(res.jac)  # loss-scaled for a robust loss: J^T J is its Gauss-Newton Hessian
    hessian = j.T @ j
    inverse, constrained = information_inverse(hessian)
    information = np.zeros((ns, ns))
    known = np.flatnonzero(constrained[:ns])
    if known.size:
        information[np.ix_(known, known)] = np.linalg.pinv(
            inverse[np.ix_(known, known)], hermitian=True
        )
    return _OwnFit(
        x=np.asarray(res.x, dtype=np.float64),
        cost=float(res.cost),
        nfev=int(res.nfev),
        success=bool(res.success) and bool(np.all(np.isfinite(res.x))),
        message=str(res.message),
        inverse=inverse,
        constrained=constrained,
        information=information,
        partners=degenerate_partners(hessian, names) if not constrained.all() else {},
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
    group_problem: _GroupProblem,
    index: np.ndarray,
    shared: np.ndarray,
    own: np.ndarray,
    slots: np.ndarray,
    problem: Problem,
) -> tuple[np.ndarray, int]:
    """The group's per-group values refitted on its own points, shared ones held fixed."""
    from scipy.optimize import least_squares

    xs, ys, w = group_problem.data(index)
    lower, upper = problem.lower[slots], problem.upper[slots]

    def fun(local: np.ndarray) -> np.ndarray:
        return np.asarray(group_problem.residual_fixed(local, shared, xs, ys, w))

    def jac(local: np.ndarray) -> np.ndarray:
        return np.asarray(group_problem.jacobian_fixed(local, shared, xs, ys, w))

    start = np.clip(own, lower, upper)
    try:
        res = least_squares(
            fun,
            start,
            jac=jac,
            bounds=(lower, upper),
            method="trf",
            x_scale=_scale(start),
            max_nfev=problem.max_nfev,
            loss=problem.loss.name,
            f_scale=problem.loss.f_scale,
        )
    except (ValueError, np.linalg.LinAlgError):
        return own, 0
    return (np.asarray(res.x) if res.success else own), int(res.nfev)
