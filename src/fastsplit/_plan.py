"""The chunk plan: how many points of each group go to each chunk, in O(K + G).

With n points, G groups of c_g points and chunk_size C there are K = ceil(n / C)
chunks. Group g puts q_g = c_g // K points in every chunk and r_g = c_g % K
*extra* points in r_g distinct chunks. Laying all groups' extras end to end and
dealing them round-robin over the chunks (extra number e goes to chunk e mod K)
gives every chunk floor(R/K) or ceil(R/K) extras (R = sum r_g), which is exactly
the even split of contract C2, while each group keeps floor/ceil(c_g / K) per chunk
(C3). Group g's extras start at chunk ``shift[g] = (r_0 + ... + r_{g-1}) mod K``.

Every backend works from the same per-group numbers (q, r, shift); the K x G
matrix is never needed by the kernels and is only built on request.

Within-chunk positions (contract C5) are defined here too, once, in words that
every backend implements: the a points of group g in a chunk are cut into blocks
of ``BLOCK`` (the last one shorter); block i gets the key ``i / a`` (float64), and
blocks are laid out by increasing key, ties broken by group code. Each group's
blocks are thus spread evenly through the chunk, in runs of at most ``BLOCK``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

DEFAULT_CHUNK_SIZE = 100_000
"""Points per chunk when nobody says otherwise (stratify, plan, fit, the CLI, the config)."""

BLOCK = 16
"""Longest run of one group inside a chunk (contract C5); 16 float64 = 2 cache lines."""

MIN_SEGMENT = 1 << 16
"""Fewest points a thread gets: below this, starting threads costs more than they give."""


def segment_count(n: int, threads: int) -> int:
    """How many input segments (one per thread) a parallel backend cuts n points into.

    Shared by the numba backend and the memory model, which must agree on it.
    """
    return max(1, min(threads, n // MIN_SEGMENT))


@dataclass(frozen=True, eq=False)
class ChunkPlan:
    """Counts and chunk layout for one stratification; no data is moved.

    Attributes
    ----------
    n : int
        Number of points.
    chunk_size : int
        Largest allowed chunk (the ``chunk_size`` argument).
    layout : str
        ``"strided"`` or ``"contiguous"``.
    groups : numpy.ndarray
        Group labels, ascending.
    counts : numpy.ndarray
        Points per group (int64), aligned with ``groups``.
    """

    n: int
    chunk_size: int
    layout: str
    groups: np.ndarray
    counts: np.ndarray
    n_chunks: int = field(init=False)
    per_chunk: np.ndarray = field(init=False, repr=False)  # q_g
    extra: np.ndarray = field(init=False, repr=False)  # r_g
    shift: np.ndarray = field(init=False, repr=False)  # first chunk of g's extras
    bounds: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts, dtype=np.int64)
        n_chunks = -(-self.n // self.chunk_size) if self.n else 0
        k = max(n_chunks, 1)
        q, r = np.divmod(counts, k)
        shift = (np.cumsum(r) - r) % k
        total_extra = int(r.sum())
        sizes = np.full(n_chunks, int(q.sum()) + total_extra // k, dtype=np.int64)
        sizes[: total_extra % k] += 1
        bounds = np.zeros(n_chunks + 1, dtype=np.int64)
        np.cumsum(sizes, out=bounds[1:])
        for name, value in (
            ("counts", counts),
            ("n_chunks", n_chunks),
            ("per_chunk", q),
            ("extra", r),
            ("shift", shift.astype(np.int64)),
            ("bounds", bounds),
        ):
            object.__setattr__(self, name, value)

    @property
    def n_groups(self) -> int:
        """Number of groups G."""
        return int(self.counts.size)

    @property
    def chunk_sizes(self) -> np.ndarray:
        """Points in each chunk (int64, length K)."""
        return np.diff(self.bounds)

    @property
    def sparse(self) -> np.ndarray:
        """Boolean mask of groups with fewer points than chunks (missing from some chunks)."""
        return self.counts < self.n_chunks

    @property
    def sparse_groups(self) -> np.ndarray:
        """Labels of the sparse groups."""
        return self.groups[self.sparse]

    @cached_property
    def counts_matrix(self) -> np.ndarray:
        """K x G matrix: points of group g in chunk k (built on request, O(K x G))."""
        k = np.arange(self.n_chunks, dtype=np.int64)[:, None]
        slot = (k - self.shift[None, :]) % max(self.n_chunks, 1)
        return self.per_chunk[None, :] + (slot < self.extra[None, :])

    def pair_count(self, slot: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Points of ``group`` in the chunk reached at ``slot`` = (k - shift) mod K."""
        return self.per_chunk[group] + (slot < self.extra[group])

    def chunk_of_slot(self, slot: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Chunk index of (group, slot)."""
        return (slot + self.shift[group]) % max(self.n_chunks, 1)

    @cached_property
    def contiguous_starts(self) -> np.ndarray:
        """K x G: first within-group rank that chunk k takes from g (contiguous layout)."""
        m = self.counts_matrix
        return np.cumsum(m, axis=0) - m

    def summary(self) -> dict[str, object]:
        """Plain-Python description (for logs and JSON)."""
        sizes = self.chunk_sizes
        return {
            "n": self.n,
            "n_groups": self.n_groups,
            "n_chunks": self.n_chunks,
            "chunk_size": self.chunk_size,
            "layout": self.layout,
            "min_chunk": int(sizes.min()) if sizes.size else 0,
            "max_chunk": int(sizes.max()) if sizes.size else 0,
            "n_sparse_groups": int(self.sparse.sum()),
        }
