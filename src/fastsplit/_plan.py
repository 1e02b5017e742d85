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

Within-chunk positions (contract C5) are defined here too, once: the a points of
group g in a chunk are cut into blocks of ``BLOCK`` (the last one shorter); block
i gets the key ``i / a`` (float64), and blocks are laid out by increasing key, ties
broken by group code. Each group's blocks are thus spread evenly through the chunk,
in runs of at most ``BLOCK``. :func:`place_blocks` is that rule for one chunk; the
numba backend compiles it, the numpy oracle states it as one sort key.

With a seed, each group's places are refilled in a shuffled order
(:mod:`._shuffle`): the counts and the block layout stay those above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._shuffle import permutation_keys

DEFAULT_CHUNK_SIZE = 100_000
"""Points per chunk when nobody says otherwise (stratify, plan, fit, the CLI, the config)."""

BLOCK = 16
"""Longest run of one group inside a chunk (contract C5); 16 float64 = 2 cache lines."""


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
    seed : tuple of int or None
        Shuffles the order inside every group (see :mod:`fastsplit._shuffle`); ``None``
        keeps the input order.
    compile_seconds : float
        Seconds :func:`fastsplit.plan` spent loading or compiling the backend's
        kernels to count the groups (first call only; 0 otherwise).
    """

    n: int
    chunk_size: int
    layout: str
    groups: np.ndarray
    counts: np.ndarray
    seed: tuple[int, ...] | None = None
    compile_seconds: float = field(default=0.0, repr=False)
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
    def permutation(self) -> np.ndarray | None:
        """G x (1 + 2 ROUNDS) keys of each group's rank permutation (``None`` without a seed)."""
        return None if self.seed is None else permutation_keys(self.seed, self.counts)

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
            "seed": self.seed,
        }


def contiguous_start(k: int, q: int, r: int, shift: int, n_chunks: int) -> int:
    """First within-group rank in chunk k (contiguous layout) of a group with (q, r, shift).

    Every chunk takes q points; the r extras go to chunks shift, shift + 1, ... (mod K):
    those below k are the ones in [shift, min(shift + r, K)) plus, when they wrap, those
    in [0, shift + r - K). Plain Python, written for numba to compile.

    Examples
    --------
    >>> p = ChunkPlan(10, 3, "contiguous", np.arange(1), np.array([10]))
    >>> [contiguous_start(k, 2, 2, 0, 4) for k in range(5)], p.contiguous_starts[:, 0].tolist()
    ([0, 3, 6, 8, 10], [0, 3, 6, 8])
    """
    head = min(max(k - shift, 0), min(r, n_chunks - shift))
    wrapped = min(k, max(shift + r - n_chunks, 0))
    return q * k + head + wrapped


def place_blocks(
    share: np.ndarray, starts: np.ndarray, scratch: np.ndarray, keys: np.ndarray
) -> int:
    """The in-chunk placement rule (contract C5) for one chunk; returns its block count.

    ``share[g]`` points of group g are in the chunk. Block i of group g (its points
    ``BLOCK * i`` to ``BLOCK * i + BLOCK - 1`` in the chunk) gets the key
    ``i / share[g]``; blocks are laid out by increasing key, ties by group. Writes the
    chunk offset of every block to ``starts``, group-major: block i of group g is
    ``starts[(blocks of groups before g) + i]``.

    ``scratch`` (int64, 4 x (blocks + 1)) and ``keys`` (float64, 2 x blocks + 2) are
    work space. Plain Python on NumPy arrays, written for numba to compile (the numba
    backend runs it compiled); O(blocks) by a bucket sort: keys lie in [0, 1/16), and
    bucketing by ``floor(key * 16 * B)`` over B buckets is monotone in the key (IEEE
    multiplication by a positive constant is), so a counting sort on buckets plus an
    insertion sort inside each (about one block per bucket) gives exactly the
    (key, group) order.

    Examples
    --------
    >>> share = np.array([40, 8])           # group 0: blocks of 16, 16, 8; group 1: one of 8
    >>> starts = np.zeros(4, dtype=np.int64)
    >>> int(place_blocks(share, starts, np.zeros((4, 5), np.int64), np.zeros(10)))
    4
    >>> starts.tolist()                     # keys 0, 1/40, 2/40 and 0: g0 b0, g1 b0, g0 b1, g0 b2
    [0, 24, 40, 16]
    """
    n_groups = share.shape[0]
    total = 0
    for g in range(n_groups):
        total += (share[g] + BLOCK - 1) // BLOCK
    start = scratch[0]  # bucket b holds sorted slots start[b] .. start[b + 1] - 1
    fill = scratch[1]
    bucket_of = scratch[2]  # per block, group-major
    sorted_block = scratch[3]  # per sorted slot: the group-major block number
    for b in range(total + 1):
        start[b] = 0
    scale = 16.0 * total
    u = 0
    for g in range(n_groups):
        a = np.float64(share[g])
        for i in range((share[g] + BLOCK - 1) // BLOCK):
            key = np.float64(i) / a
            b = int(key * scale)
            keys[u] = key
            bucket_of[u] = b
            start[b + 1] += 1
            u += 1
    for b in range(total):
        start[b + 1] += start[b]
    for b in range(total):
        fill[b] = start[b]
    u = 0
    for g in range(n_groups):
        for _ in range((share[g] + BLOCK - 1) // BLOCK):
            b = bucket_of[u]
            key = keys[u]
            slot = fill[b]
            fill[b] += 1
            # Insertion sort by (key, group) inside the bucket: blocks arrive in
            # group-major order, so an equal key never moves past an earlier group.
            while slot > start[b] and keys[total + slot - 1] > key:
                keys[total + slot] = keys[total + slot - 1]
                sorted_block[slot] = sorted_block[slot - 1]
                slot -= 1
            keys[total + slot] = key
            sorted_block[slot] = u
            u += 1
    # Sorting done: reuse ``fill`` and ``bucket_of`` for each block's group and index.
    u = 0
    for g in range(n_groups):
        for i in range((share[g] + BLOCK - 1) // BLOCK):
            fill[u] = g
            bucket_of[u] = i
            u += 1
    p = 0
    for v in range(total):
        blk = sorted_block[v]
        starts[blk] = p
        p += min(BLOCK, share[fill[blk]] - BLOCK * bucket_of[blk])
    return total
