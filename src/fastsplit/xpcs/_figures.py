"""The demo's PNG figures (needs matplotlib: ``pip install 'fastsplit[plot]'``).

* ``composition.png``: points of every angle in every chunk, input order vs stratified;
* ``data_vs_fit.png``: data and fit along ``t1 = 0`` for a few angles;
* ``raw_nlsq_chunked.png``: per-angle contrast of nlsq's own chunked path, fastsplit's
  answer on the same data and the truth.

Each figure goes through ``save(figure, path)`` (the command writes it whole or not at all).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import Progress
from .._versions import installed
from ._synthetic import SyntheticXPCS

__all__ = ["write_figures"]

_DPI = 110


FIGURES = ("composition.png", "data_vs_fit.png", "raw_nlsq_chunked.png")
Save = Callable[[Any, Path], Any]


def write_figures(
    out: Path,
    data: SyntheticXPCS,
    result: Any,
    plan: Any,
    raw: tuple[Any, Any, SyntheticXPCS] | None,
    progress: Progress,
    save: Save | None = None,
) -> list[Path]:
    """Write the figures into the folder ``out``; returns their paths.

    ``plan`` is the :class:`~fastsplit.ChunkPlan` of the fit, ``raw`` nlsq's own
    chunked result, fastsplit's on the same data, and that data (no third figure
    when ``None``). ``save(figure, path)`` writes one figure (default: savefig).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    def savefig(fig: Any, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=_DPI)

    figures = [
        (_composition(plt, data, plan), out / FIGURES[0]),
        (_data_vs_fit(plt, data, result), out / FIGURES[1]),
    ]
    if raw is not None:
        figures.append((_raw_contrast(plt, *raw), out / FIGURES[2]))
    for fig, path in figures:
        (save or savefig)(fig, path)
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
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

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
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    rows = np.unique(np.linspace(0, angles.size - 1, min(angles.size, 12)).round().astype(int))
    axes[0].yaxis.set_major_locator(FixedLocator(rows.tolist()))
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda y, _: _angle_label(angles, y)))
    axes[0].set_ylabel("angle phi (deg)")
    fig.colorbar(image, ax=axes, label="points / even share (white: absent)")
    return fig


def _angle_label(angles: np.ndarray, position: float) -> str:
    row = round(position)
    return f"{angles[row]:.1f}" if 0 <= row < angles.size else ""


def _data_vs_fit(plt: Any, data: SyntheticXPCS, result: Any) -> Any:
    from ._fit_figure import fit_figure

    return fit_figure(plt, data, data.model, result)


def _raw_contrast(plt: Any, raw_result: Any, fixed: Any, raw_data: SyntheticXPCS) -> Any:
    fig, ax = plt.subplots(figsize=(7.0, 4.6), layout="constrained")
    idx = np.arange(raw_data.angles.size)
    nlsq_says = "success" if raw_result.info.get("success") else "failure"
    ax.plot(idx, raw_data.truth["contrast"], "o", ms=9, color="k", label="truth")
    ax.plot(
        idx - 0.12,
        raw_result.params["contrast"],
        "s",
        color="C3",
        label=f"nlsq {installed('nlsq')} own chunked path (it reports {nlsq_says})",
    )
    ax.plot(
        idx + 0.12,
        fixed.params["contrast"],
        "D",
        color="C2",
        label=f"fastsplit.fit, same data ({'OK' if fixed.success else 'NOT TRUSTED'})",
    )
    # nlsq's values can be off by orders of magnitude: linear near the truth, log beyond.
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xticks(idx, [f"{a:.1f}" for a in raw_data.angles])
    ax.set_xlim(-0.6, idx[-1] + 0.6)
    ax.set_xlabel("angle phi (deg)")
    ax.set_ylabel("contrast")
    ax.set_title("per-angle contrast, angle-major data, one angle per chunk", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1, frameon=False)
    return fig
