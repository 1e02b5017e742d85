"""Figures (matplotlib is imported here, on demand only)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._plan import ChunkPlan


def composition_heatmap(
    plan: ChunkPlan, path: str | os.PathLike[str] | None = None, *, max_chunks: int = 200
) -> Any:
    """Heatmap of points per (chunk, group), normalised by each group's even share.

    A perfectly stratified plan is uniform (every cell 1.0); empty cells (a group
    missing from a chunk) stand out in white. Returns the matplotlib figure and
    saves it to ``path`` when given.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    k = min(plan.n_chunks, max_chunks)
    matrix = plan.counts_matrix[:k].astype(np.float64)
    share = np.where(plan.counts > 0, plan.counts / max(plan.n_chunks, 1), 1.0)
    ratio = np.where(matrix > 0, matrix / share[None, :], np.nan)
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    image = ax.imshow(
        ratio.T, aspect="auto", cmap="viridis", vmin=0.0, vmax=2.0, interpolation="nearest"
    )
    ax.set_xlabel(f"chunk (first {k} of {plan.n_chunks})" if k < plan.n_chunks else "chunk")
    ax.set_ylabel("group")
    labels = plan.groups
    if labels.size <= 30:
        ax.set_yticks(range(labels.size), [_tick(g) for g in labels.tolist()])
    ax.set_title("points per chunk / even share (1.0 = proportional; white = missing)")
    fig.colorbar(image, ax=ax, label="share")
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _tick(label: Any) -> str:
    """A group label for an axis: numbers to 4 significant digits, text as it is."""
    if isinstance(label, bytes):
        return label.decode(errors="replace")
    if isinstance(label, float | int) and not isinstance(label, bool):
        return f"{label:.4g}"
    return str(label)
