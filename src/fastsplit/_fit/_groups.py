"""One group's own fit, on its own points: what the ``sequential`` strategy is made of.

Compiled residuals and Jacobians of a group's model (once per model and
layout), its points padded to a power-of-two length (weight 0), its own fit
with scipy's ``least_squares`` (the fit's loss), and :func:`lone_group_gaps`:
which shared parameters no group alone can constrain, found from the
Jacobian on a sample of every group before anything is fitted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ._checks import degenerate_partners, information_inverse
from ._common import ModelCache, call_weakly, listing, padded_gather
from ._inputs import Inputs
from ._model import Model, ParameterLayout, evaluate
from ._problem import Problem

__all__ = [
    "SAMPLE_POINTS",
    "GroupProblem",
    "OwnFit",
    "fit_group",
    "gap_names",
    "gap_sentence",
    "group_bytes",
    "lone_group_gaps",
    "scale_of",
    "solve_trf",
]

SAMPLE_POINTS = 2048
"""Points per group on which :func:`lone_group_gaps` evaluates the Jacobian."""


def scale_of(theta: np.ndarray) -> np.ndarray:
    # Characteristic scale of each parameter from its starting value (D0 ~ 1e4 next
    # to alpha ~ 1); x_scale="jac" was seen to wander off along flat valleys.
    return np.where(np.abs(theta) > 0, np.abs(theta), 1.0)


def solve_trf(
    fun: Callable[[np.ndarray], np.ndarray],
    jac: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    problem: Problem,
) -> Any:
    """scipy's ``least_squares`` (trf) with the fit's loss, scaling and evaluation limit."""
    from scipy.optimize import least_squares

    return least_squares(
        fun,
        start,
        jac=jac,
        bounds=(lower, upper),
        method="trf",
        x_scale=scale_of(start),
        max_nfev=problem.max_nfev,
        loss=problem.loss.name,
        f_scale=problem.loss.f_scale,
    )


def _bucket(n: int) -> int:
    # Pad group sizes to powers of two: a handful of compilations for any group sizes.
    return max(256, 1 << max(int(n - 1).bit_length(), 0))


def group_bytes(n_points: int, layout: ParameterLayout) -> float:
    """Memory one group's own fit needs at its peak (its Jacobian, held a few times)."""
    return float(_bucket(n_points)) * (layout.n_shared + layout.n_per_group + 4) * 8 * 4


class _GroupKernels(NamedTuple):
    """JIT-compiled residuals and Jacobians of one group's own fit."""

    residual: Callable[..., Any]
    jacobian: Callable[..., Any]
    residual_fixed: Callable[..., Any]
    jacobian_fixed: Callable[..., Any]


_KERNELS = ModelCache()


def _group_kernels(model: Model, layout: ParameterLayout, x_is_tuple: bool) -> _GroupKernels:
    """Compiled once per model and layout, reused by every group and later fits."""
    return _KERNELS.get(
        model, (layout, x_is_tuple), lambda ref: _build(call_weakly(ref), layout, x_is_tuple)
    )


def _build(model: Model, layout: ParameterLayout, x_is_tuple: bool) -> _GroupKernels:
    import jax
    import jax.numpy as jnp

    ns = layout.n_shared

    def residual(theta: Any, xs: Any, y: Any, w: Any) -> Any:
        per_point = [jnp.broadcast_to(v, y.shape) for v in theta[ns:]]
        pred = evaluate(model, layout, x_is_tuple, xs, theta[:ns], per_point)
        return (jnp.asarray(pred, dtype=jnp.float64) - y) * w

    def residual_fixed(local: Any, shared: Any, xs: Any, y: Any, w: Any) -> Any:
        return residual(jnp.concatenate([shared, local]), xs, y, w)

    return _GroupKernels(
        residual=jax.jit(residual),
        jacobian=jax.jit(jax.jacfwd(residual)),
        residual_fixed=jax.jit(residual_fixed),
        jacobian_fixed=jax.jit(jax.jacfwd(residual_fixed)),
    )


class GroupProblem:
    """One group's own fit: the compiled kernels and its points."""

    def __init__(self, model: Model, layout: ParameterLayout, inputs: Inputs) -> None:
        kernels = _group_kernels(model, layout, inputs.x_is_tuple)
        self.residual = kernels.residual
        self.jacobian = kernels.jacobian
        self.residual_fixed = kernels.residual_fixed
        self.jacobian_fixed = kernels.jacobian_fixed
        self.inputs = inputs

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
    problem = GroupProblem(model, layout, inputs)
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


class OwnFit(NamedTuple):
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


def fit_group(
    group_problem: GroupProblem,
    data: tuple[Any, ...],
    theta0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    problem: Problem,
) -> OwnFit:
    """One group's own fit on its own points, with every shared parameter."""
    size = theta0.shape[0]
    ns = problem.layout.n_shared
    names = [*problem.layout.shared, *problem.layout.per_group]

    def fun(theta: np.ndarray) -> np.ndarray:
        return np.asarray(group_problem.residual(theta, *data))

    def jac(theta: np.ndarray) -> np.ndarray:
        return np.asarray(group_problem.jacobian(theta, *data))

    try:
        res = solve_trf(fun, jac, theta0, lo, hi, problem)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return OwnFit(
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
    return OwnFit(
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
