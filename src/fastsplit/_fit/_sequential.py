"""The sequential per-group fallback: fit each group alone, combine only what is shared.

* Each group is fitted on its own points only (``scipy.optimize.least_squares``,
  JAX Jacobians), with all shared parameters and that group's per-group ones.
* A group's per-group parameters come from its own fit only; they are never
  averaged with anything. After the shared parameters are combined, each
  group's per-group parameters are refined once more on the group's own points
  with the shared ones held at the combined values (still its own data only).
* Shared parameters are combined per parameter with ``inverse_variance``
  (default), ``uniform`` or ``n_points`` weights, over the successful fits that
  constrain that parameter (finite, positive variance). A fit that cannot
  constrain a parameter never contributes to it.
* Fewer successful group fits than ``min_success_rate`` fails the fit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import SequentialSettings
from ._checks import covariance_from
from ._model import ParameterLayout
from ._normal import NormalEquations

log = logging.getLogger("fastsplit")

__all__ = ["GroupFit", "SequentialOutcome", "fit_sequential"]


@dataclass
class GroupFit:
    """The own fit of one group."""

    label: Any
    n_points: int
    success: bool
    message: str
    x: np.ndarray
    variance: np.ndarray
    cost: float
    nfev: int


@dataclass
class SequentialOutcome:
    x: np.ndarray
    nfev: int
    success_rate: float
    group_fits: list[GroupFit]
    failed_groups: list[int]
    uncombined_shared: list[str]
    weights: dict[str, np.ndarray]


def _scale(theta: np.ndarray) -> np.ndarray:
    # Characteristic scale of each parameter from its starting value (D0 ~ 1e4 next
    # to alpha ~ 1); x_scale="jac" was seen to wander off along flat valleys.
    return np.where(np.abs(theta) > 0, np.abs(theta), 1.0)


def _bucket(n: int) -> int:
    # Pad group sizes to powers of two: a handful of compilations for any group sizes.
    return max(256, 1 << max(int(n - 1).bit_length(), 0))


class _GroupProblem:
    """JIT-compiled residuals and Jacobians of one group's own fit."""

    def __init__(
        self, model: Callable[..., Any], layout: ParameterLayout, x_is_tuple: bool
    ) -> None:
        import jax
        import jax.numpy as jnp

        shared_names, group_names = layout.shared, layout.per_group
        ns = layout.n_shared

        def residual(theta: Any, xs: Any, y: Any, w: Any) -> Any:
            params = {name: theta[i] for i, name in enumerate(shared_names)}
            for j, name in enumerate(group_names):
                params[name] = jnp.broadcast_to(theta[ns + j], y.shape)
            pred = model(xs if x_is_tuple else xs[0], **params)
            return (jnp.asarray(pred, dtype=jnp.float64) - y) * w

        def residual_fixed(local: Any, shared: Any, xs: Any, y: Any, w: Any) -> Any:
            return residual(jnp.concatenate([shared, local]), xs, y, w)

        self.residual = jax.jit(residual)
        self.jacobian = jax.jit(jax.jacfwd(residual))
        self.residual_fixed = jax.jit(residual_fixed)
        self.jacobian_fixed = jax.jit(jax.jacfwd(residual_fixed))


def _pad(arrays: list[np.ndarray], weight: np.ndarray, size: int) -> tuple[list[Any], Any]:
    import jax.numpy as jnp

    n = weight.shape[0]
    out = []
    for a in arrays:
        padded = np.empty(size, dtype=np.float64)
        padded[:n] = a
        padded[n:] = a[-1] if n else 0.0
        out.append(jnp.asarray(padded))
    w = np.zeros(size)
    w[:n] = weight
    return out, jnp.asarray(w)


def fit_sequential(
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    x: list[np.ndarray],
    y: np.ndarray,
    weight: np.ndarray,
    codes: np.ndarray,
    groups: np.ndarray,
    p0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    settings: SequentialSettings,
    *,
    absolute_sigma: bool,
    max_nfev: int | None,
    progress: Callable[[str], None] | None = None,
) -> SequentialOutcome:
    """Fit every group alone and combine the shared parameters; see the module docstring."""
    from scipy.optimize import least_squares

    ns, npg, n_groups = layout.n_shared, layout.n_per_group, layout.n_groups
    problem = _GroupProblem(model, layout, x_is_tuple)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)])
    shared_p0 = p0[:ns]
    shared_lo, shared_hi = lower[:ns], upper[:ns]

    def group_data(g: int) -> tuple[list[Any], Any, Any, int]:
        idx = order[starts[g] : starts[g + 1]]
        n_g = int(idx.shape[0])
        size = _bucket(n_g)
        xs, w = _pad([a[idx] for a in x], weight[idx], size)
        (ys,), _ = _pad([y[idx]], weight[idx], size)
        return xs, ys, w, n_g

    fits: list[GroupFit] = []
    nfev = 0
    for g in range(n_groups):
        xs, ys, w, n_g = group_data(g)
        slots = layout.group_index(g)
        theta0 = np.concatenate([shared_p0, p0[slots]])
        lo = np.concatenate([shared_lo, lower[slots]])
        hi = np.concatenate([shared_hi, upper[slots]])
        xs_t = tuple(xs)

        def fun(theta: np.ndarray, xs_t: Any = xs_t, ys: Any = ys, w: Any = w) -> np.ndarray:
            return np.asarray(problem.residual(theta, xs_t, ys, w))

        def jac(theta: np.ndarray, xs_t: Any = xs_t, ys: Any = ys, w: Any = w) -> np.ndarray:
            return np.asarray(problem.jacobian(theta, xs_t, ys, w))

        label = groups[g].item() if hasattr(groups[g], "item") else groups[g]
        try:
            res = least_squares(
                fun,
                theta0,
                jac=jac,
                bounds=(lo, hi),
                method="trf",
                x_scale=_scale(theta0),
                max_nfev=max_nfev,
            )
            j = np.asarray(res.jac)
            normal = NormalEquations(hessian=j.T @ j, gradient=j.T @ res.fun, cost=float(res.cost))
            cov, constrained = covariance_from(normal, n_g, absolute_sigma)
            variance = np.where(constrained, np.diag(cov), np.inf)
            if n_g <= len(theta0):  # fewer points than parameters: nothing is determined
                variance = np.full(len(theta0), np.inf)
            ok = bool(res.success) and bool(np.all(np.isfinite(res.x)))
            fits.append(
                GroupFit(
                    label,
                    n_g,
                    ok,
                    str(res.message),
                    np.asarray(res.x),
                    variance,
                    float(res.cost),
                    int(res.nfev),
                )
            )
            nfev += int(res.nfev)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            fits.append(
                GroupFit(
                    label,
                    n_g,
                    False,
                    f"{type(exc).__name__}: {exc}",
                    theta0.copy(),
                    np.full(len(theta0), np.inf),
                    float("nan"),
                    0,
                )
            )
        if progress is not None:
            status = "ok" if fits[-1].success else f"FAILED ({fits[-1].message})"
            progress(
                f"sequential: group {g + 1}/{n_groups} (label {label!r}, {n_g} points) {status}"
            )

    succeeded = [f.success for f in fits]
    success_rate = float(np.mean(succeeded)) if fits else 0.0
    failed = [g for g, ok in enumerate(succeeded) if not ok]

    # Combine each shared parameter over the fits that succeeded and constrain it.
    combined = shared_p0.copy()
    weights: dict[str, np.ndarray] = {}
    uncombined: list[str] = []
    for k, name in enumerate(layout.shared):
        values = np.array([f.x[k] for f in fits])
        var = np.array([f.variance[k] for f in fits])
        usable = np.array(succeeded) & np.isfinite(var) & (var > 0) & np.isfinite(values)
        if settings.weighting == "inverse_variance":
            w_k = np.where(usable, 1.0 / np.where(usable, var, 1.0), 0.0)
        elif settings.weighting == "uniform":
            w_k = usable.astype(np.float64)
        else:
            w_k = np.where(usable, [f.n_points for f in fits], 0).astype(np.float64)
        weights[name] = w_k
        if w_k.sum() > 0:
            combined[k] = float(np.sum(w_k * values) / w_k.sum())
        else:
            uncombined.append(name)
    combined = np.clip(combined, shared_lo, shared_hi)

    # Refine each group's own parameters with the combined shared values held fixed.
    x_out = p0.copy()
    x_out[:ns] = combined
    shared_dev = np.asarray(combined)
    for g, f in enumerate(fits):
        slots = layout.group_index(g)
        if not f.success:
            x_out[slots] = np.nan
            continue
        xs, ys, w, _ = group_data(g)
        xs_t = tuple(xs)

        def fun_l(local: np.ndarray, xs_t: Any = xs_t, ys: Any = ys, w: Any = w) -> np.ndarray:
            return np.asarray(problem.residual_fixed(local, shared_dev, xs_t, ys, w))

        def jac_l(local: np.ndarray, xs_t: Any = xs_t, ys: Any = ys, w: Any = w) -> np.ndarray:
            return np.asarray(problem.jacobian_fixed(local, shared_dev, xs_t, ys, w))

        start = np.clip(f.x[ns:], lower[slots], upper[slots])
        try:
            res = least_squares(
                fun_l,
                start,
                jac=jac_l,
                bounds=(lower[slots], upper[slots]),
                method="trf",
                x_scale=_scale(start),
                max_nfev=max_nfev,
            )
            x_out[slots] = res.x if res.success else f.x[ns:]
            nfev += int(res.nfev)
        except (ValueError, np.linalg.LinAlgError):
            x_out[slots] = f.x[ns:]
    log.info(
        "sequential fallback: %d/%d groups fitted, shared parameters combined with %s weights",
        len(fits) - len(failed),
        len(fits),
        settings.weighting,
    )
    _ = npg
    return SequentialOutcome(
        x=x_out,
        nfev=nfev,
        success_rate=success_rate,
        group_fits=fits,
        failed_groups=failed,
        uncombined_shared=uncombined,
        weights=weights,
    )
