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

With a seed, each group's places are refilled by a keyed bijection sigma_g on
[0, c_g) (:func:`permute_rank`): the place that within-group rank j has without
a seed receives the point of rank sigma_g(j). The chunk counts and the block
layout are those of the unseeded order, so C1-C5 hold with the *shuffled rank*
of the point of rank sigma_g(j) being j. sigma_g is ``ROUNDS`` rounds of a keyed
xor, a keyed odd multiplier and a xorshift on the smallest power of two >= c_g,
applied again while it lands at c_g or above (cycle walking, under 2 rounds on
average). It is a pure function of (seed, group, rank), not a stateful
generator, so every backend and every thread count computes the same order;
and it is branch-free and vectorizes (the numba backend hashes a whole block
of places at once). :func:`permute_ranks` is the same function on arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

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
        Shuffles the order inside every group (see :func:`permute_rank`); ``None``
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


# ------------------------------------------------------------------ seeded permutation

ROUNDS = 4
"""Rounds of (xor key, times odd key, xorshift): 3 left small groups visibly non-uniform.
(:func:`round_keys` spells out the 8 keys of 4 rounds.)"""

_M32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9


def _mix32(x: np.ndarray | int) -> np.ndarray | int:
    """A 32-bit integer hash (C. Wellons' hash prospector: 16 21f0aaad 15 735a2d97 15).

    Both multipliers are below 2**31, so the products of 32-bit values stay below
    2**63: the same numbers in Python ints, int64 scalars and int64 arrays.
    """
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & _M32
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & _M32
    return x ^ (x >> 15)


def permutation_keys(seed: tuple[int, ...], counts: np.ndarray) -> np.ndarray:
    """Per group: the bit width b of its domain, then per round a xor key and an odd multiplier.

    An int64 table, G x (1 + 2 ROUNDS). ``seed`` is a tuple of ints in [0, 2**64)
    (validated by the caller); every 64-bit value enters as two 32-bit words, so
    (1, 2) and (2, 1) differ. The xor keys are below 2**b; the multipliers are odd
    32-bit numbers (a product with a value of b <= 62 bits may wrap in int64, which
    the mask to b bits makes harmless: 2**b divides 2**64).
    """
    state = _GOLDEN
    for value in seed:
        for word in (value & _M32, value >> 32):
            state = int(_mix32((state ^ word) + _GOLDEN & _M32))
        state = int(_mix32(state ^ 0x5BD1E995))  # ends each value: (1, 0) != (1,)
    counts = np.asarray(counts, dtype=np.int64)
    g = np.arange(counts.size, dtype=np.int64)
    width = np.zeros(counts.size, dtype=np.int64)
    top = np.maximum(counts - 1, 0)
    for b in range(63):  # bit length of c_g - 1: the domain is [0, 2**width)
        width += (top >> b) > 0
    mask = (np.int64(1) << width) - 1
    table = np.empty((counts.size, 1 + 2 * ROUNDS), dtype=np.int64)
    table[:, 0] = width
    for i in range(2 * ROUNDS):
        round_key = int(_mix32(state ^ (_GOLDEN * (i + 1) & _M32)))
        hashed = np.asarray(_mix32(_mix32(round_key ^ (g & _M32)) ^ (g >> 32)), dtype=np.int64)
        table[:, 1 + i] = hashed | 1 if i % 2 else hashed & mask
    return table


def round_keys(keys: np.ndarray, group: int) -> tuple[int, ...]:
    """Row ``group`` of the table as a tuple of the 2 x ``ROUNDS`` round keys.

    A tuple, not a row view: compiled, its items are registers, so a loop that
    hashes many ranks of one group vectorizes (a view's loads could alias the
    loop's stores).
    """
    return (
        int(keys[group, 1]),
        int(keys[group, 2]),
        int(keys[group, 3]),
        int(keys[group, 4]),
        int(keys[group, 5]),
        int(keys[group, 6]),
        int(keys[group, 7]),
        int(keys[group, 8]),
    )


def scramble(x: int, mask: int, half: int, k: tuple[int, ...]) -> int:
    """One pass of the keyed bijection of [0, mask + 1) (``half`` = ceil(bits / 2)).

    Each round is a bijection of b-bit numbers: xor with a key below 2**b, times an
    odd number mod 2**b, then x ^ (x >> half), which carries the high bits down.
    ``k`` is :func:`round_keys`. Plain Python, written for numba to compile
    (inlined into a loop over ranks, it vectorizes).
    """
    for i in range(ROUNDS):
        x = ((x ^ k[2 * i]) * k[2 * i + 1]) & mask
        x = x ^ (x >> half)
    return x


def permute_rank(rank: int, count: int, keys: np.ndarray, group: int) -> int:
    """sigma_g(rank): the within-group rank whose point the seed puts at ``rank``'s place.

    A bijection on [0, count) keyed by row ``group`` of the table of
    :func:`permutation_keys`: :func:`scramble` on ``keys[group, 0]``-bit numbers,
    applied again while the result is ``count`` or more (cycle walking: a
    bijection of the larger domain, restricted to [0, count), stays a bijection).
    Plain Python on integers, written for numba to compile; :func:`permute_ranks`
    states it on arrays.

    Examples
    --------
    >>> keys = permutation_keys((7,), np.array([10]))
    >>> sorted(permute_rank(r, 10, keys, 0) for r in range(10)) == list(range(10))
    True
    """
    bits = int(keys[group, 0])  # Python ints in Python (no int64 overflow warning)
    mask = (1 << bits) - 1
    half = (bits + 1) >> 1
    k = round_keys(keys, group)
    x = scramble(rank, mask, half, k)
    while x >= count:
        x = scramble(x, mask, half, k)
    return x


def permute_ranks(ranks: np.ndarray, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """:func:`permute_rank` of every point at once (int64 arrays; ``keys`` per point).

    Examples
    --------
    >>> counts = np.array([5, 3])
    >>> table = permutation_keys((1, 2), counts)
    >>> group = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    >>> rank = np.array([0, 1, 2, 3, 4, 0, 1, 2])
    >>> one = [permute_rank(r, counts[g], table, g) for r, g in zip(rank, group)]
    >>> permute_ranks(rank, counts[group], table[group]).tolist() == one
    True
    """
    x = np.asarray(ranks, dtype=np.int64).copy()
    counts = np.asarray(counts, dtype=np.int64)
    bits = keys[:, 0]
    mask, half = (np.int64(1) << bits) - 1, (bits + 1) >> 1
    todo = np.arange(x.size)
    while todo.size:
        y = x[todo]
        m, h = mask[todo], half[todo]
        for i in range(ROUNDS):
            y = ((y ^ keys[todo, 1 + 2 * i]) * keys[todo, 2 + 2 * i]) & m
            y ^= y >> h
        x[todo] = y
        todo = todo[y >= counts[todo]]
    return x


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
