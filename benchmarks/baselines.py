"""The approaches fastsplit replaces, and the floor it is measured against.

Benchmark baselines, not library API: they reorder correctly (the tests check
that) but in the ways fastsplit was written to avoid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fastsplit._plan import DEFAULT_CHUNK_SIZE

__all__ = ["naive_stratify", "plain_copy", "shuffle_gather"]


def plain_copy(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The floor: every array copied into fresh memory, ``np.array(a, copy=True)``."""
    return [np.array(a, copy=True) for a in arrays]


def naive_stratify(
    labels: np.ndarray, *arrays: np.ndarray, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[np.ndarray, ...]:
    """The per-group-mask stratifier of the original release notes, O(n x groups).

    Written from the description in ``homodyne-v2.2-stratification-release-notes``:
    find every angle's points with one boolean mask per angle, cut each angle's
    points into as many consecutive slices as there are chunks (so every chunk
    holds a time slice of every angle), concatenate chunk by chunk into one index
    array and gather every array through it (the "index-based" path).

    Examples
    --------
    >>> phi = np.repeat([1.0, 2.0], 4)
    >>> naive_stratify(phi, np.arange(8), chunk_size=4)[0].tolist()
    [0, 1, 4, 5, 2, 3, 6, 7]
    """
    n = labels.shape[0]
    n_chunks = max(1, -(-n // chunk_size))
    angles = np.unique(labels)
    per_angle = [np.flatnonzero(labels == a) for a in angles]  # one pass over n per angle
    slices = [np.array_split(idx, n_chunks) for idx in per_angle]
    order = np.concatenate([s[k] for k in range(n_chunks) for s in slices])
    return tuple(a[order] for a in arrays)


def shuffle_gather(arrays: Sequence[np.ndarray], *, seed: int = 0) -> list[np.ndarray]:
    """A random permutation and one gather per array (what nlsq >= 0.7.2 does)."""
    permutation = np.random.default_rng(seed).permutation(arrays[0].shape[0])
    return [a[permutation] for a in arrays]
