"""The benchmark data: XPCS-like arrays in detector (angle-major) order.

Every benchmark here and the ASV suite (``asv_benchmarks/``) time the same data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["make_data"]


def make_data(
    n: int, n_groups: int, *, seed: int = 0, dtype: Any = np.float64
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Angle-major XPCS-like data: labels and the 4 arrays (phi, t1, t2, g2).

    Parameters
    ----------
    n : int
        Number of points.
    n_groups : int
        Number of angles; their counts differ by at most one.
    seed : int
        Seed of the random values.
    dtype : dtype
        dtype of the 4 arrays.

    Returns
    -------
    labels : numpy.ndarray
        The angle of every point, angle-major (equal to the first array).
    arrays : tuple of numpy.ndarray
        ``(phi, t1, t2, g2)``.

    Examples
    --------
    >>> phi, arrays = make_data(10, 3)
    >>> np.unique(phi, return_counts=True)[1].tolist(), len(arrays)
    ([4, 3, 3], 4)
    """
    rng = np.random.default_rng(seed)
    # Non-integer angles spread over +-180 degrees, as real detectors give.
    step = 360.0 / n_groups
    angles = (np.arange(n_groups) * step - 180.0 + rng.uniform(0.1, 0.9, n_groups) * step).round(4)
    counts = np.full(n_groups, n // n_groups, dtype=np.int64)
    counts[: n % n_groups] += 1
    phi = np.repeat(angles, counts).astype(dtype)
    frames = max(2, math.isqrt(max(1, n // max(n_groups, 1))))
    t1 = (rng.integers(0, frames, n) * 0.1).astype(dtype)
    t2 = (rng.integers(0, frames, n) * 0.1).astype(dtype)
    g2 = (1.0 + 0.3 * rng.random(n)).astype(dtype)
    return phi, (phi, t1, t2, g2)
