"""The demo's PNG figures (needs matplotlib: ``pip install 'fastsplit[plot]'``).

* ``composition.png``: points of every angle in every chunk, input order vs stratified;
* ``data_vs_fit.png``: data and fit along ``t1 = 0`` for a few angles;
* ``raw_nlsq_chunked.png``: per-angle contrast of nlsq's own chunked path vs the truth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._progress import Progress
from .._versions import installed
from ._synthetic import SyntheticXPCS

__all__ = ["write_figures"]

_DPI = 110


def write_figures(
    out: Path,
    data: SyntheticXPCS,
    result: Any,
    plan: Any,
    raw: tuple[Any, SyntheticXPCS] | None,
    progress: Progress,
) -> list[Path]:
    """Write the figures into the folder ``out``; returns their paths.

    ``plan`` is the :class:`~fastsplit.ChunkPlan` of the fit, ``raw`` the result
    of nlsq's own chunked path with its data (no third figure when ``None``).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figures = [
        (_composition(plt, data, plan), out / "composition.png"),
        (_data_vs_fit(plt, data, result), out / "data_vs_fit.png"),
    ]
    if raw is not None:
        figures.append((_raw_contrast(plt, *raw), out / "raw_nlsq_chunked.png"))
    for fig, path in figures:
        fig.savefig(path, dpi=_DPI)
        plt.close(fig)
        progress(f"wrote {path}")
    return [path for _, path in figures]


def _counts(codes: np.ndarray, bounds: np.ndarray, n_groups: int) -> np.ndarray:
    """Points of every group in every chunk, ``(chunks, groups)``."""
    k = bounds.shape[0] - 1
    out = np.zeros((k, n_groups), dtype=np.int64)
    for i in range(k):
        out[i] = np.bincount(codes[bounds[i] : bounds[i + 1]], minlength=n_groups)
    return out


def _composition(plt: Any, data: SyntheticXPCS, plan: Any) -> Any:
    angles = data.angles
    k = plan.n_chunks
    even = np.linspace(0, data.n_points, k + 1).round().astype(np.int64)
    before = _counts(np.searchsorted(angles, data.phi), even, angles.size)
    share = data.counts() / k
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True, sharey=True)
    for ax, matrix, title in (
        (axes[0], before, "input order (angle-major): what a plain chunker sees"),
        (axes[1], plan.counts_matrix, "fastsplit.stratify: every chunk holds every angle"),
    ):
        ratio = np.where(matrix > 0, matrix / share[None, :], np.nan)
        image = ax.imshow(
            ratio.T,
            aspect="auto",
            cmap="viridis",
            vmin=0,
            vmax=2,
            interpolation="nearest",
            origin="lower",
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"chunk ({k} chunks of <= {plan.chunk_size:,} points)")
    axes[0].set_ylabel("angle index")
    fig.colorbar(image, ax=axes, label="points / even share (white: absent)")
    return fig


def _data_vs_fit(plt: Any, data: SyntheticXPCS, result: Any) -> Any:
    model = data.model
    angles = data.angles
    picks = np.unique(np.linspace(0, angles.size - 1, min(4, angles.size)).round().astype(int))
    fig, axes = plt.subplots(
        1, len(picks), figsize=(3.6 * len(picks), 3.4), constrained_layout=True, squeeze=False
    )
    for ax, g in zip(axes[0], picks, strict=True):
        sel = (data.phi == angles[g]) & (data.t1 == 0.0) & (data.t2 > 0)
        t2 = data.t2[sel]
        params = {name: result.params[name] for name in model.shared_names}
        params.update({name: result.params[name][g] for name in model.per_group_names})
        fitted = model((data.phi[sel], data.t1[sel], t2), **params)
        ax.plot(t2, data.g2[sel], ".", ms=3, color="0.55", label="data")
        ax.plot(t2, fitted, "-", color="C3", lw=1.5, label="fastsplit.fit")
        ax.set_xscale("log")
        ax.set_title(f"phi = {angles[g]:.2f} deg", fontsize=10)
        ax.set_xlabel("t2 - t1 (s), t1 = 0")
    axes[0][0].set_ylabel("g2")
    axes[0][0].legend(fontsize=8)
    return fig


def _raw_contrast(plt: Any, raw_result: Any, raw_data: SyntheticXPCS) -> Any:
    fig, ax = plt.subplots(figsize=(6.5, 3.8), constrained_layout=True)
    idx = np.arange(raw_data.angles.size)
    ax.plot(idx, raw_data.truth["contrast"], "o", color="k", label="truth")
    ax.plot(
        idx + 0.1,
        raw_result.params["contrast"],
        "s",
        color="C3",
        label=f"nlsq {installed('nlsq')} chunked path ({raw_result.message[:40]})",
    )
    ax.set_xticks(idx, [f"{a:.1f}" for a in raw_data.angles])
    ax.set_xlabel("angle (deg)")
    ax.set_ylabel("contrast")
    ax.set_title("per-angle contrast on angle-major data", fontsize=10)
    ax.legend(fontsize=8)
    return fig
