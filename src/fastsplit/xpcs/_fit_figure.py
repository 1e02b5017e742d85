"""The figure of a two-time fit (needs matplotlib: ``pip install 'fastsplit[plot]'``).

Top row: ``g2`` along the first frame (``t1`` = the earliest time) against the
lag ``t2 - t1`` for up to three angles, data and model; below each, the
residuals. Right: the two-time map of one angle, data above the diagonal and
the fitted model below it, so that a misfit shows as a broken mirror image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._data import TwoTimeData
from ._model import TwoTimeModel
from ._synthetic import SyntheticXPCS

__all__ = ["fit_figure"]

_MAX_CUTS = 3


def _params_at(result: Any, model: TwoTimeModel, angle: float) -> dict[str, Any]:
    g = int(np.searchsorted(np.asarray(result.groups), angle))
    params = {name: float(result.params[name]) for name in model.shared_names}
    params.update({name: float(result.params[name][g]) for name in model.per_group_names})
    return params


def fit_figure(
    plt: Any, data: TwoTimeData | SyntheticXPCS, model: TwoTimeModel, result: Any
) -> Any:
    """Data, model and residuals for a few angles, and one two-time map; returns the figure.

    ``plt`` is ``matplotlib.pyplot`` (the caller picks the backend).
    """
    angles = data.angles
    picks = np.unique(
        np.linspace(0, angles.size - 1, min(_MAX_CUTS, angles.size)).round().astype(int)
    )
    fig = plt.figure(figsize=(3.4 * len(picks) + 4.6, 5.6), layout="constrained")
    grid = fig.add_gridspec(
        2, len(picks) + 1, height_ratios=(2.2, 1.0), width_ratios=[1] * len(picks) + [1.35]
    )
    first = float(data.t1.min())
    sigma = data.sigma
    top_axis = None
    bottom_axis = None
    for column, g in enumerate(picks):
        angle = float(angles[g])
        sel = (data.phi == angle) & (data.t1 == first) & (data.t2 > first)
        order = np.argsort(data.t2[sel])
        t2 = data.t2[sel][order]
        lag = t2 - first
        observed = data.g2[sel][order]
        fitted = np.asarray(
            model(
                (np.full(t2.shape, angle), np.full(t2.shape, first), t2),
                **_params_at(result, model, angle),
            )
        )
        top = fig.add_subplot(grid[0, column], sharey=top_axis)
        top_axis = top_axis or top
        top.plot(lag, observed, ".", ms=3, color="0.55", label="data")
        top.plot(lag, fitted, "-", color="C3", lw=1.5, label="fit")
        top.set_xscale("log")
        top.set_title(f"phi = {angle:.2f} deg", fontsize=10)
        bottom = fig.add_subplot(grid[1, column], sharex=top, sharey=bottom_axis)
        bottom_axis = bottom_axis or bottom
        residual = observed - fitted
        if sigma is not None:
            residual = residual / sigma[sel][order]
        bottom.axhline(0.0, color="0.3", lw=0.8)
        bottom.plot(lag, residual, ".", ms=3, color="C0")
        bottom.set_xlabel(f"lag t2 - t1 (s), t1 = {first:g} s")
        if column == 0:
            top.set_ylabel("g2")
            bottom.set_ylabel("residual / sigma" if sigma is not None else "residual")
            top.legend(fontsize=8, loc="best")
    _two_time_map(
        fig.add_subplot(grid[:, -1]),
        fig,
        data,
        model,
        result,
        float(angles[picks[len(picks) // 2]]),
    )
    status = "OK" if result.success else "NOT TRUSTED"
    fig.suptitle(
        f"fastsplit fit, {model.mode}, q = {model.q:.5g} 1/A, dt = {model.dt:g} s, "
        f"{angles.size} angles, strategy {result.strategy}: {status}\n"
        + errors_line(result, model),
        fontsize=10,
    )
    return fig


def errors_line(result: Any, model: TwoTimeModel) -> str:
    """The shared parameters with the errors shown, and the other kind in brackets.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from fastsplit.xpcs import TwoTimeModel
    >>> r = SimpleNamespace(params={"D0": 2e4, "alpha": -1.0, "D_offset": 900.0},
    ...     errors={"D0": 300.0, "alpha": 0.01, "D_offset": 50.0}, error_kind="cluster",
    ...     errors_model={"D0": 40.0, "alpha": 0.002, "D_offset": 9.0})
    >>> line = errors_line(r, TwoTimeModel(10))
    >>> line.startswith("cluster-robust errors: D0 = 2e+04 +- 3e+02 [40], alpha = -1 +- 0.01")
    True
    """
    kind = getattr(result, "error_kind", "model")
    other = getattr(result, "errors_model" if kind == "cluster" else "errors_cluster", None)
    parts = []
    for name in model.shared_names:
        text = f"{name} = {float(result.params[name]):.4g} +- {float(result.errors[name]):.2g}"
        if other is not None:
            text += f" [{float(other[name]):.2g}]"
        parts.append(text)
    shown = "cluster-robust errors" if kind == "cluster" else "independent-point errors"
    beside = ""
    if other is not None:
        beside = (
            "  ([ ]: independent-point errors)" if kind == "cluster" else "  ([ ]: cluster-robust)"
        )
    return f"{shown}: " + ", ".join(parts) + beside


def _two_time_map(
    ax: Any,
    fig: Any,
    data: TwoTimeData | SyntheticXPCS,
    model: TwoTimeModel,
    result: Any,
    angle: float,
) -> None:
    n = model.n_frames
    dt = model.dt
    grid = np.full((n, n), np.nan)
    sel = data.phi == angle
    i = np.clip(np.rint(data.t1[sel] / dt).astype(np.int64), 0, n - 1)
    j = np.clip(np.rint(data.t2[sel] / dt).astype(np.int64), 0, n - 1)
    upper = j > i
    grid[i[upper], j[upper]] = data.g2[sel][upper]
    lower_i, lower_j = np.tril_indices(n, -1)
    modelled = model(
        (np.full(lower_i.shape, angle), lower_j * dt, lower_i * dt),
        **_params_at(result, model, angle),
    )
    grid[lower_i, lower_j] = np.asarray(modelled)
    finite = grid[np.isfinite(grid)]
    low, high = np.percentile(finite, (1, 99)) if finite.size else (0.0, 1.0)
    image = ax.imshow(
        grid.T,
        origin="lower",
        extent=(-0.5 * dt, (n - 0.5) * dt, -0.5 * dt, (n - 0.5) * dt),
        cmap="viridis",
        vmin=low,
        vmax=high,
        interpolation="nearest",
    )
    ax.set_xlabel("t1 (s)")
    ax.set_ylabel("t2 (s)")
    ax.set_title(f"phi = {angle:.2f} deg: data (t2 > t1) | model (t2 < t1)", fontsize=9)
    fig.colorbar(image, ax=ax, label="g2", shrink=0.8)
