"""Clusters for two-time data: blocks of frames of ``t1`` and of ``t2``.

The points of a two-time matrix share frames: ``c2(t1, t2)`` shares frame ``t1``
with its whole row and ``t2`` with its whole column, and frames closer than the
decay time are alike. Blocks of :data:`BLOCK_TIMES` correlation times (at least
:data:`MIN_BLOCK_FRAMES` frames) are nearly independent of each other, so the
two-way clusters (block of ``t1``, block of ``t2``) give error bars that hold
(``docs/errors.md``). The correlation time is read from the *fitted* decay: the
clusters are a function of the fitted parameters, which ``fastsplit.fit``
calls once at the solution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ._data import TwoTimePoints
from ._model import TwoTimeModel

__all__ = [
    "BLOCK_TIMES",
    "MIN_BLOCK_FRAMES",
    "block_frames_for",
    "block_plan",
    "correlation_frames",
    "frame_blocks",
]

BLOCK_TIMES = 2.0
"""Block length in correlation times of the intensity (``g1**2`` falling to 1/e).
On simulated speckle (``benchmarks/cluster_coverage.py``) blocks of 1, 2 and 3
correlation times all gave a spread of z within 0.85-1.25; 2 keeps more blocks."""

MIN_BLOCK_FRAMES = 4
"""The floor of the block length, in frames: shorter blocks hold too few frames for
the correlation between neighbouring blocks to be negligible."""


def correlation_frames(model: TwoTimeModel, params: Mapping[str, Any], angles: np.ndarray) -> float:
    """Frames over which ``g1**2`` of the fitted model falls to ``1/e``, the median over
    start frames spread through the run and over ``angles`` (``n_frames`` if it never does)."""
    n = model.n_frames
    starts = np.unique(np.linspace(0, n - 2, 9).astype(np.int64))
    lags = np.arange(1, n)
    shared = {name: float(params[name]) for name in model.shared_names}
    phi = np.asarray(angles, dtype=np.float64)[:8]
    # Every (angle, start frame, lag) in one call: rows of lags.
    rows = phi.size * starts.size
    first = np.tile(starts, phi.size)
    later = np.minimum(first[:, None] + lags[None, :], n - 1)
    x = (
        np.repeat(phi, starts.size)[:, None] * np.ones(lags.size),
        (first[:, None] * np.ones(lags.size)) * model.dt,
        later * model.dt,
    )
    with np.errstate(all="ignore"):
        g1 = np.asarray(model.g1(tuple(a.reshape(-1) for a in x), **shared), dtype=np.float64)
    below = g1.reshape(rows, lags.size) ** 2 < math.exp(-1.0)
    times = np.where(below.any(axis=1), lags[np.argmax(below, axis=1)], n).astype(np.float64)
    return float(np.median(times)) if times.size else float(n)


def block_frames_for(model: TwoTimeModel, params: Mapping[str, Any], angles: np.ndarray) -> int:
    """:data:`BLOCK_TIMES` correlation times of the fitted decay, at least
    :data:`MIN_BLOCK_FRAMES` frames."""
    tau = correlation_frames(model, params, angles)
    return max(MIN_BLOCK_FRAMES, math.ceil(BLOCK_TIMES * tau))


def block_plan(
    model: TwoTimeModel, params: Mapping[str, Any], angles: np.ndarray, span: int
) -> tuple[int, int]:
    """``(block length, wanted length)`` in frames for a run of ``span`` frames.

    The wanted length is :func:`block_frames_for`; it is cut to leave at least
    ``MIN_CLUSTERS`` blocks (a decay as long as the run leaves too few independent
    stretches: the errors are then rough, and the fit notes it).
    """
    from .._fit._cluster import MIN_CLUSTERS

    wanted = block_frames_for(model, params, angles)
    return max(1, min(wanted, span // MIN_CLUSTERS)), wanted


def frame_blocks(
    data: TwoTimePoints, model: TwoTimeModel, block_frames: int | None = None
) -> Callable[[Mapping[str, Any]], tuple[np.ndarray, np.ndarray]]:
    """The two-way clusters of two-time data, as ``fastsplit.fit(clusters=...)`` takes them.

    Returns a function of the fitted parameters giving ``(block of t1, block of
    t2)`` per point; ``block_frames`` fixes the block length (frames) instead of
    reading it from the fitted decay.

    Examples
    --------
    >>> from fastsplit.xpcs import synthesize
    >>> from fastsplit.xpcs._clusters import frame_blocks
    >>> d = synthesize(n_angles=1, n_frames=8)
    >>> a, b = frame_blocks(d, d.model, block_frames=4)({})
    >>> int(a.max()), int(b.max())
    (1, 1)
    """
    if block_frames is not None and (
        isinstance(block_frames, bool)
        or not isinstance(block_frames, int | np.integer)
        or block_frames < 1
    ):
        raise InvalidArgumentError(
            f"block_frames must be a positive int (frames per cluster block), got "
            f"{block_frames!r}; leave it out to size the blocks from the fitted decay."
        )

    def blocks(t: np.ndarray, size: int) -> np.ndarray:
        frame = np.asarray(t, dtype=np.float64) / model.dt  # one temporary, then in place
        np.rint(frame, out=frame)
        np.floor_divide(frame, size, out=frame)
        return frame.astype(np.int32)

    # Only the extremes are kept: the per-point frames are made when the rule is called.
    low = min(float(np.min(data.t1)), float(np.min(data.t2)))
    high = max(float(np.max(data.t1)), float(np.max(data.t2)))
    span = round((high - low) / model.dt) + 1
    phi = np.asarray(data.phi, dtype=np.float64)
    angles = np.unique(phi[:: phi.size // 100_000 + 1])  # a sample: the decay's angles

    def clusters(params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        if block_frames is None:
            size, wanted = block_plan(model, params, angles, span)
        else:
            size = wanted = int(block_frames)
        clusters.block_frames = int(size)  # type: ignore[attr-defined]
        clusters.wanted_frames = int(wanted)  # type: ignore[attr-defined]
        return blocks(data.t1, size), blocks(data.t2, size)

    clusters.block_frames = block_frames  # type: ignore[attr-defined]
    clusters.wanted_frames = block_frames  # type: ignore[attr-defined]
    clusters.span = span  # type: ignore[attr-defined]
    return clusters
