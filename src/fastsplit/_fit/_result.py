"""The result of :func:`fastsplit.fit`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checks import SolutionCheck

__all__ = ["FitResult", "GroupFit", "Timings"]


@dataclass(frozen=True)
class Timings:
    """Wall-clock seconds of a fit, first-call compilation counted apart.

    ``stratify`` is grouping the labels (to size the chunks) and the
    :func:`fastsplit.stratify` call; ``fit`` is everything else: gathering the
    chunks, the optimiser and the full-data checks; ``compile`` is first-call
    compilation (JAX tracing and XLA compilation of the model's passes, nlsq's
    own, and what stratify reports of its kernels), 0 when everything was
    compiled by an earlier fit. ``ratio = stratify / fit``.
    """

    stratify: float
    fit: float
    compile: float = 0.0

    @property
    def total(self) -> float:
        return self.stratify + self.fit + self.compile

    @property
    def ratio(self) -> float:
        return self.stratify / self.fit if self.fit > 0 else float("inf")

    def as_dict(self) -> dict[str, float]:
        return {
            "stratify": self.stratify,
            "fit": self.fit,
            "compile": self.compile,
            "ratio": self.ratio,
            "total": self.total,
        }


@dataclass(frozen=True)
class GroupFit:
    """One group's own fit (the ``sequential`` strategy), on that group's points only.

    Attributes
    ----------
    label : object
        The group label.
    n_points : int
        Points of the group.
    success : bool
        The group's fit converged to finite values.
    message : str
        Its optimiser's message.
    params, errors : dict
        Values and standard errors by name: every shared parameter and the
        group's own per-group ones, as floats (errors NaN where this group alone
        does not constrain a parameter).
    unconstrained : tuple of str
        Shared parameters this group alone cannot determine (their Jacobian
        columns are zero or linearly dependent within the group).
    cost : float
        The group's cost at its own solution.
    nfev : int
        Its optimiser's function evaluations.
    """

    label: Any
    n_points: int
    success: bool
    message: str
    params: dict[str, float]
    errors: dict[str, float]
    unconstrained: tuple[str, ...]
    cost: float
    nfev: int


@dataclass(frozen=True)
class FitResult:
    """What :func:`fastsplit.fit` found, and how far to trust it.

    Attributes
    ----------
    params : dict
        Best-fit values by name: floats for shared parameters, arrays indexed
        like ``groups`` for per-group ones.
    errors : dict
        Standard errors, same layout (NaN where a parameter is unconstrained).
    covariance : numpy.ndarray
        ``P x P`` covariance of the flat vector ``x`` (labels in ``param_names``).
    x : numpy.ndarray
        Flat parameter vector: shared parameters, then each per-group name for
        every group.
    param_names : list of str
        Label of each entry of ``x`` (``"contrast[3]"`` is group ``groups[3]``).
    groups, counts : numpy.ndarray
        Group labels (ascending) and points per group.
    cost, cost_start : float
        ``0.5 * sum(((model - y) / sigma)**2)`` over all points, at the solution
        and at ``p0``.
    gradient_norm : float
        ``|J^T r|`` over all points at the solution (free parameters).
    reduced_chi2 : float
        ``2 * cost / (n - P)``.
    nfev : int
        Model evaluations over the data made by the strategy.
    strategy, reason : str
        Which strategy ran, and why ``auto`` chose it.
    success : bool
        The strategy converged **and** the never-silent checks passed.
    message : str
        The strategy's own termination message.
    check : SolutionCheck
        Findings of the full-data checks (problems, notes, remaining step).
    diagnostics : fastsplit.Diagnostics or None
        Stratification diagnostics (chunks, coverage, sparse groups).
    timings : Timings
        ``stratify``, ``fit`` and ``compile`` seconds, and the stratify/fit ratio.
    info : dict
        Strategy details (chunk size, chunks, nlsq version, loss, ...).
    group_fits : tuple of GroupFit
        Each group's own fit when the ``sequential`` strategy ran, else empty.
    fixed : tuple of str
        Parameters held fixed (``fixed=`` or equal bounds): at their value, error 0.
    grouped : bool
        Whether the fit had groups (``groups=None``: one group, an ordinary fit).
    error_kind : str
        Which errors ``errors`` and ``covariance`` hold: ``"model"`` (points
        independent) or ``"cluster"`` (cluster-robust, see ``docs/errors.md``).
    errors_model, covariance_model : dict, numpy.ndarray or None
        The independent-point errors and covariance, when clusters were given.
    errors_cluster, covariance_cluster : dict, numpy.ndarray or None
        The cluster-robust ones, when clusters were given (details in
        ``info["clusters"]``).
    """

    params: dict[str, Any]
    errors: dict[str, Any]
    covariance: np.ndarray
    x: np.ndarray
    param_names: list[str]
    groups: np.ndarray
    counts: np.ndarray
    cost: float
    cost_start: float
    gradient_norm: float
    reduced_chi2: float
    n_points: int
    nfev: int
    strategy: str
    reason: str
    success: bool
    message: str
    check: SolutionCheck
    diagnostics: Any
    timings: Timings
    info: dict[str, Any] = field(default_factory=dict)
    group_fits: tuple[GroupFit, ...] = ()
    fixed: tuple[str, ...] = ()
    grouped: bool = True
    error_kind: str = "model"
    errors_model: dict[str, Any] | None = None
    covariance_model: np.ndarray | None = None
    errors_cluster: dict[str, Any] | None = None
    covariance_cluster: np.ndarray | None = None

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def report(self) -> str:
        """Readable text summary: parameters with errors, checks, timings."""
        rule = "=" * 72
        t = self.timings
        lines = [
            rule,
            f"fastsplit.fit  strategy={self.strategy}  ({self.reason})",
            rule,
            f"points {self.n_points:,}   "
            + (f"groups {len(self.groups)}   " if self.grouped else "")
            + f"parameters {len(self.x)}"
            + (f" (fixed: {', '.join(self.fixed)})" if self.fixed else "")
            + f"   nfev {self.nfev}",
            f"cost {self.cost:.6g} (start {self.cost_start:.6g})   reduced chi2 "
            f"{self.reduced_chi2:.4f}   |grad| {self.gradient_norm:.3g}",
            f"status: {'OK' if self.success else 'NOT TRUSTED'}   {self.message}",
        ]
        if self.info.get("sigma_given") is False:
            lines.insert(
                5,
                "note: no sigma was given, so sigma was taken as 1 for every point: reduced "
                "chi2 is the mean squared residual, not a goodness of fit, and the errors are "
                "scaled by the fit's residuals (as scipy's curve_fit does with "
                "absolute_sigma=False)",
            )
        other = self.errors_model if self.error_kind == "cluster" else self.errors_cluster
        other_kind = "model" if self.error_kind == "cluster" else "cluster"
        if other is not None:
            lines.append(f"errors: {_KIND[self.error_kind]}; in [ ]: {_KIND[other_kind]}")
        for name, value in self.params.items():
            err = self.errors[name]
            beside = f"   [{_median(other[name]):.3g}]" if other is not None else ""
            if name in self.fixed:
                shown = f"{value:>14.6g}" if np.ndim(value) == 0 else f"[{np.size(value)} groups]"
                lines.append(f"  {name:<22s} {shown} (fixed)")
            elif np.ndim(value) == 0:
                lines.append(f"  {name:<22s} {value:>14.6g} +- {err:.3g}{beside}")
            else:
                arr = np.asarray(value)
                e = np.asarray(err)
                lines.append(
                    f"  {name:<22s} [{len(arr)} groups] {np.nanmin(arr):.6g} .. "
                    f"{np.nanmax(arr):.6g}   (median error {np.nanmedian(e):.3g}){beside}"
                )
        for p in self.check.problems:
            lines.append(f"PROBLEM: {p}")
        for n in self.check.notes:
            lines.append(f"note: {n}")
        lines.append(
            f"timings: stratify {1e3 * t.stratify:.2f} ms, fit {t.fit:.3f} s, "
            f"ratio {100 * t.ratio:.4f} %, compilation {t.compile:.2f} s"
        )
        lines.append(rule)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"FitResult(strategy={self.strategy!r}, success={self.success}, "
            f"cost={self.cost:.6g}, n_points={self.n_points}"
            + (f", groups={len(self.groups)})" if self.grouped else ")")
        )


_KIND = {
    "model": "independent-point (model) errors",
    "cluster": "cluster-robust (sandwich) errors",
}


def _median(errors: Any) -> float:
    values = np.asarray(errors, dtype=np.float64)
    return float(np.nanmedian(values)) if values.size and np.isfinite(values).any() else np.nan
