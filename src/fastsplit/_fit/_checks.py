"""Never silent: judge any solution on the full data, whatever produced it.

After a strategy returns, fit evaluates the exact normal equations over every
point (chunk by chunk) at the solution and at the start, and looks for what a
chunked optimiser gets wrong without telling:

* a parameter that no data point constrains (its Jacobian column is zero:
  for a per-group parameter, the group was never exercised);
* a solution that did not move from ``p0``, or a group whose per-group
  parameters were all left exactly at ``p0``, while the data pull them away;
* a cost above the starting cost (beyond rounding);
* a solution that is not a minimum: the remaining Gauss-Newton step is larger
  than ``max_step_sigma`` standard errors for some parameter (parameters held
  on a bound are exempt);
* non-finite values.

A parameter held on an active bound (on it, with the gradient pushing
outward) is *noted*, never failed: the minimum may lie beyond the bound, so
the user is told to widen it (:class:`ParameterAtBoundWarning`).

Right both ways: the standard error a remaining step is measured against uses
the larger of the fit's own residual scale, ``1`` when ``sigma`` is given
(sigma-based errors) and the solver's precision floor, so noise-free data,
whose statistical errors vanish, still pass once the step is below what the
solver can resolve. A wrong answer leaves a step of many such errors.

Each finding names the parameters and, for per-group ones, the group label.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FitFailedError
from ._common import at_bound, degrees_of_freedom, listing, on_active_bound, unit_diagonal
from ._model import ParameterLayout
from ._normal import NormalEquations

__all__ = [
    "FitQualityWarning",
    "ParameterAtBoundWarning",
    "SolutionCheck",
    "check_solution",
    "raise_or_warn",
]


class FitQualityWarning(RuntimeWarning):
    """A fit result cannot be trusted; raised as FitFailedError unless on_failure="warn"."""


class ParameterAtBoundWarning(FitQualityWarning):
    """A parameter sits on an active bound: the minimum may lie beyond it (a note, not a
    failure; ``result.check.at_bounds`` names them)."""


@dataclass
class SolutionCheck:
    """What the never-silent checks found.

    Attributes
    ----------
    ok : bool
        No problem found.
    problems : list of str
        One sentence per problem, naming parameters and groups.
    notes : list of str
        Findings that do not fail the fit (for example sparse groups).
    unconstrained : list of str
        Flat names of parameters no data point constrains.
    untouched_groups : list
        Labels of groups whose per-group parameters never left ``p0``.
    not_converged : list of str
        Flat names whose remaining Gauss-Newton step exceeds ``max_step_sigma``.
    max_step_sigma : float
        Largest remaining step, in standard errors.
    cost_start, cost : float
        Full-data cost at ``p0`` and at the solution.
    gradient_norm : float
        ``|J^T r|`` at the solution (free parameters).
    at_bounds : list of str
        Parameters on an active bound, e.g. ``"D0 at its upper bound 1e+05"``: the
        data pull them outside the box. A note, not a failure.
    """

    ok: bool
    problems: list[str]
    notes: list[str]
    unconstrained: list[str]
    untouched_groups: list[Any]
    not_converged: list[str]
    max_step_sigma: float
    cost_start: float
    cost: float
    gradient_norm: float
    step_sigma: np.ndarray = field(repr=False)
    at_bounds: list[str] = field(default_factory=list)


def _label(names: list[str], layout: ParameterLayout, groups: list[Any], i: Any) -> str:
    i = int(i)
    if i < layout.n_shared:
        return names[i]
    g = (i - layout.n_shared) % layout.n_groups
    return f"{names[i]} (group {groups[g]!r})"


def information_inverse(hessian: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(inverse of J^T J, constrained mask)``; unconstrained rows and columns are NaN.

    A parameter is unconstrained when its Jacobian column is zero, or when it
    takes part in a (near-)null direction of ``J^T J`` (the data fix only a
    combination of it with others). A pseudo-inverse would give such parameters
    a finite, much too small variance; here they get NaN. Whether a parameter is
    constrained is decided from the Jacobian alone, never from the residual: a
    zero residual is a perfect fit, not an unconstrained one.
    """
    h = hessian
    size = h.shape[0]
    diag = np.diag(h)
    # An unexercised parameter has an exactly zero column. Any relative threshold on
    # the diagonal would depend on units (D0 ~ 1e4 and phi0 ~ 1 differ by 1e15 in
    # J^T J); near-degeneracy is judged scale-free below, on the unit-diagonal matrix.
    constrained = (diag > 0) & np.isfinite(diag)
    inverse = np.full((size, size), np.nan)
    idx = np.flatnonzero(constrained)
    if idx.size:
        # Scale to unit diagonal before inverting: D0 ~ 1e4 next to alpha ~ 1.
        scaled, d = unit_diagonal(h[np.ix_(idx, idx)])
        lam, vec = np.linalg.eigh(scaled)
        small = lam <= 1e-12 * max(float(lam.max()), 1e-300)
        degenerate = (vec[:, small] ** 2).sum(axis=1) > 1e-6
        keep = ~small
        inv = (vec[:, keep] / lam[keep]) @ vec[:, keep].T
        block = inv * d[:, None] * d[None, :]
        block[degenerate, :] = np.nan
        block[:, degenerate] = np.nan
        inverse[np.ix_(idx, idx)] = block
        constrained[idx[degenerate]] = False
    return inverse, constrained


def degenerate_partners(hessian: np.ndarray, names: list[str]) -> dict[str, list[str]]:
    """For each parameter in a null direction of ``hessian``: the others in that direction.

    Says *why* a parameter is unconstrained: it only enters the model in a
    combination with those (their Jacobian columns are linearly dependent).
    """
    diag = np.diag(hessian)
    idx = np.flatnonzero((diag > 0) & np.isfinite(diag))
    partners: dict[str, list[str]] = {}
    if not idx.size:
        return partners
    scaled, _ = unit_diagonal(hessian[np.ix_(idx, idx)])
    lam, vec = np.linalg.eigh(scaled)
    for k in np.flatnonzero(lam <= 1e-12 * max(float(lam.max()), 1e-300)):
        members = [names[idx[i]] for i in np.flatnonzero(vec[:, k] ** 2 > 1e-6)]
        for name in members:
            partners.setdefault(name, [])
            partners[name].extend(m for m in members if m != name and m not in partners[name])
    return partners


def covariance_from(
    normal: NormalEquations, n_points: int, absolute_sigma: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(covariance, constrained mask)`` from ``J^T J``; unconstrained rows are NaN.

    Scaled by the reduced chi-square ``2 cost / (n - P)`` unless ``absolute_sigma``
    (see :func:`information_inverse`).
    """
    inverse, constrained = information_inverse(normal.hessian)
    if absolute_sigma:
        return inverse, constrained
    return inverse * (2.0 * normal.cost / degrees_of_freedom(n_points, constrained)), constrained


def check_solution(
    layout: ParameterLayout,
    groups: np.ndarray,
    x: np.ndarray,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    normal: NormalEquations,
    cost_start: float,
    inverse: np.ndarray,
    constrained: np.ndarray,
    *,
    error_scale: float,
    cost_floor: float = 0.0,
    max_step_sigma: float = 1.0,
    judge_convergence: bool = True,
    failed_groups: list[int] | None = None,
    stopped: str = "",
) -> SolutionCheck:
    """Run every check; see the module docstring.

    ``inverse`` is ``(J^T J)^-1`` (see :func:`information_inverse`); a remaining
    step is measured in units of ``sqrt(diag(inverse)) * error_scale``, where
    ``error_scale`` is the larger of the fit's residual scale, 1 when ``sigma`` is
    given, and the solver's precision floor (see ``_judge``). A cost above
    ``cost_start`` by more than ``cost_floor`` (rounding) is a problem.
    ``stopped`` says how the optimiser stopped, for the diagnosis of a
    degenerate Jacobian.
    """
    names = layout.flat_names()
    labels_of: list[Any] = np.asarray(groups).tolist()
    problems: list[str] = []
    notes: list[str] = []

    bad = [_label(names, layout, labels_of, i) for i in np.flatnonzero(~np.isfinite(x))]
    if bad:
        problems.append(f"non-finite parameter values: {listing(bad)}.")

    unconstrained_idx = np.flatnonzero(~constrained)
    unconstrained = [names[i] for i in unconstrained_idx]
    if unconstrained_idx.size:
        problems.append(
            _unconstrained_sentence(layout, names, labels_of, normal, constrained, stopped)
        )

    if failed_groups:
        labels = [repr(labels_of[g]) for g in failed_groups]
        problems.append(
            f"the own fit of group(s) {listing(labels)} failed, so their per-group "
            f"parameters {list(layout.per_group)} are unknown (NaN)."
        )

    # Remaining Gauss-Newton step in units of standard error, free parameters only.
    h, g = normal.hessian, normal.gradient
    free = constrained & ~at_bound(x, g, lower, upper) & np.isfinite(x)
    step_sigma = np.zeros(layout.size)
    idx = np.flatnonzero(free)
    if idx.size and np.isfinite(normal.cost):
        scaled, d = unit_diagonal(h[np.ix_(idx, idx)])
        step = -(np.linalg.pinv(scaled, rcond=1e-13, hermitian=True) @ (g[idx] * d)) * d
        # A step below the float64 resolution of the parameter is no step at all.
        resolution = 1e-12 * np.maximum(np.abs(x[idx]), np.abs(p0[idx]))
        step = np.where(np.abs(step) <= resolution, 0.0, step)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(np.diag(inverse)[idx]) * error_scale
            step_sigma[idx] = np.where(sd > 0, np.abs(step) / sd, np.where(step == 0, 0.0, np.inf))
    step_sigma = np.nan_to_num(step_sigma, nan=np.inf)
    gradient_norm = float(np.linalg.norm(g[free])) if free.any() else 0.0
    worst = float(step_sigma.max(initial=0.0))
    not_converged_idx = np.flatnonzero(step_sigma > max_step_sigma)
    not_converged = [names[i] for i in not_converged_idx]
    if not_converged_idx.size:
        order = not_converged_idx[np.argsort(-step_sigma[not_converged_idx])]
        labels = [f"{_label(names, layout, labels_of, i)}: {step_sigma[i]:.3g}" for i in order]
        sentence = (
            f"not a minimum of the full-data cost: the remaining Gauss-Newton step is "
            f"{worst:.3g} standard errors (limit {max_step_sigma:g}); per parameter "
            f"{listing(labels)}."
        )
        (problems if judge_convergence else notes).append(sentence)

    moved = ~np.isclose(x, p0, rtol=1e-12, atol=0.0)
    pulled = step_sigma > max_step_sigma
    if not moved.any() and layout.size and pulled.any():
        problems.insert(0, "the fit did not move from p0 although the data pull it away.")
    untouched: list[Any] = []
    if layout.n_per_group and moved.any():
        for grp in range(layout.n_groups):
            if failed_groups and grp in failed_groups:
                continue  # already reported as a failed own fit
            slots = layout.group_index(grp)
            if not moved[slots].any() and pulled[slots].any():
                untouched.append(labels_of[grp])
        if untouched:
            problems.append(
                f"group(s) {listing([repr(u) for u in untouched])} kept their per-group "
                f"parameters {list(layout.per_group)} exactly at p0 while the data pull them "
                "away: the optimiser never exercised them."
            )

    if np.isfinite(cost_start) and normal.cost > cost_start * (1 + 1e-9) + cost_floor + 1e-300:
        problems.append(
            f"the full-data cost rose from {cost_start:.6g} at p0 to {normal.cost:.6g}."
        )
    if not np.isfinite(cost_start):
        problems.append(
            "the full-data cost is not finite at p0: the model gives NaN or infinite values "
            "there, or residuals too large to square in float64. Start where it is finite, "
            "bound the parameters so that it stays finite, or rescale the data."
        )
    elif not np.isfinite(normal.cost):
        problems.append("the full-data cost is not finite at the solution.")

    held = np.flatnonzero(on_active_bound(x, g, lower, upper) & np.isfinite(x))
    at_bounds = [
        f"{_label(names, layout, labels_of, i)} at its "
        + (f"lower bound {lower[i]:.6g}" if g[i] > 0 else f"upper bound {upper[i]:.6g}")
        for i in held
    ]
    if at_bounds:
        notes.append(
            f"{listing(at_bounds)}: the minimum may lie beyond; widen the bound"
            + ("s" if len(at_bounds) > 1 else "")
            + " if the physics allows it."
        )

    return SolutionCheck(
        ok=not problems,
        problems=problems,
        notes=notes,
        unconstrained=unconstrained,
        untouched_groups=untouched,
        not_converged=not_converged,
        max_step_sigma=worst,
        cost_start=float(cost_start),
        cost=float(normal.cost),
        gradient_norm=gradient_norm,
        step_sigma=step_sigma,
        at_bounds=at_bounds,
    )


def _unconstrained_sentence(
    layout: ParameterLayout,
    names: list[str],
    labels_of: list[Any],
    normal: NormalEquations,
    constrained: np.ndarray,
    stopped: str,
) -> str:
    """Why parameters are unconstrained, as the Jacobian at the final point says it.

    A zero column: no point exercises the parameter. Dependent columns: the data
    there fix only a combination; that is either a redundant parametrisation or a
    flat region the optimiser stalled in, and the sentence says both.
    """
    diag = np.diag(normal.hessian)
    zero = np.flatnonzero(~constrained & ~(diag > 0))
    dependent = np.flatnonzero(~constrained & (diag > 0))
    parts = []
    if zero.size:
        labels = [_label(names, layout, labels_of, i) for i in zero]
        parts.append(
            f"the data do not constrain {listing(labels)}: "
            + ("its Jacobian column is" if len(labels) == 1 else "their Jacobian columns are")
            + " zero at the solution"
            + (
                " (for a per-group parameter: no point of its group exercises it)"
                if layout.n_per_group
                else ""
            )
            + ". Fix p0 or the bounds, or drop them."
        )
    if dependent.size:
        labels = [_label(names, layout, labels_of, i) for i in dependent]
        how = f" (the optimiser stopped: {stopped})" if stopped else ""
        parts.append(
            f"where the fit stopped, the Jacobian columns of {listing(labels)} are linearly "
            "dependent to float64 precision: the data there fix only a combination of them. "
            "If the model has redundant parameters, fix or drop one of them; otherwise the "
            f"optimiser stalled in a flat region of the cost{how}: try a better start, "
            "bounds, or more evaluations (max_nfev)."
        )
    return " ".join(parts)


def raise_or_warn(check: SolutionCheck, strategy: str, on_failure: str, result: Any) -> None:
    """Raise :class:`FitFailedError` (carrying ``result``) or warn, when a problem was found;
    a parameter on an active bound is a :class:`ParameterAtBoundWarning` either way."""
    if check.at_bounds:
        warnings.warn(
            f"fastsplit.fit: {listing(check.at_bounds)}; the minimum may lie beyond: widen "
            "the bound (result.check.at_bounds).",
            ParameterAtBoundWarning,
            stacklevel=3,
        )
    if check.ok:
        return
    text = f"fastsplit.fit ({strategy} strategy) cannot be trusted:\n  - " + "\n  - ".join(
        check.problems
    )
    if on_failure == "warn":
        warnings.warn(text, FitQualityWarning, stacklevel=3)
        return
    error = FitFailedError(
        text + "\nPass on_failure='warn' to get the result anyway (result.check has details)."
    )
    error.result = result  # type: ignore[attr-defined]
    raise error
