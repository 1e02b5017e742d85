"""The per-block kernels of ``fastsplit.dask`` in numba: O(block), no sort.

``shuffled_ranks`` (with a seed) walks the block once, counting each group's
ranks, and inverts the shuffle of each (``_shuffle.unscramble``, compiled).
``route`` walks the block once to count its points per chunk and once more to
give each point its chunk's next free slot (a stable counting sort);
a point's chunk follows from its within-group rank, kept per group as the walk
goes: a slot that steps by one (strided layout) or the current chunk and the rank
where it ends (contiguous layout, found by bisection on a closed form when the
walk crosses into a new chunk). ``place`` lays out one chunk at a time with the
placement rule of ``_plan`` (:func:`fastsplit._plan.place_blocks`, compiled here)
and counts each group's points as they arrive. ``scatter`` moves values to their
places as raw bits, one pass in input order (a gather through the inverse
permutation reads the block with stride K and was 3x slower). Same output as
``_blocks`` (numpy).
"""

from __future__ import annotations

import numpy as np

from .._plan import BLOCK, ChunkPlan, contiguous_start, place_blocks
from .._shuffle import inverse_multipliers, round_keys, unscramble
from ._jit import jit
from ._numba_moves import WORD_TYPES as BITS  # kernels move bits, not numbers

_NO_RANKS = np.empty(0, dtype=np.int64)  # unseeded: ranks follow from the walk

_place_blocks = jit()(place_blocks)
_chunk_start = jit()(contiguous_start)


@jit()
def _locate(j, q, r, s, n_chunks):
    """(chunk holding within-group rank j, first rank past that chunk), contiguous layout."""
    lo = 0
    hi = n_chunks - 1
    while lo < hi:  # the last chunk that starts at or before j
        mid = (lo + hi + 1) // 2
        if _chunk_start(mid, q, r, s, n_chunks) <= j:
            lo = mid
        else:
            hi = mid - 1
    return lo, _chunk_start(lo + 1, q, r, s, n_chunks)


_unscramble = jit(inline=True)(unscramble)
_round_keys = jit(inline=True)(round_keys)


@jit()
def _shuffled_ranks(codes, first_rank, counts, keys, inverse, out):
    """Each point's global rank in its group, then the shuffled rank that takes it.

    ``_shuffle.unpermute_rank``, point by point: the inverse rounds, walked again
    while they land at the group's count or above.
    """
    rank = first_rank.copy()
    for i in range(codes.size):
        g = codes[i]
        j = rank[g]
        rank[g] = j + 1
        bits = keys[g, 0]
        mask = (np.int64(1) << bits) - 1
        half = (bits + 1) >> 1
        k = _round_keys(keys, g)
        inv = (inverse[g, 0], inverse[g, 1], inverse[g, 2], inverse[g, 3])
        x = _unscramble(j, mask, half, k, inv)
        while x >= counts[g]:
            x = _unscramble(x, mask, half, k, inv)
        out[i] = x


@jit()
def _route(codes, first_rank, q, r, shift, n_chunks, strided, ranks, per_chunk, dest):
    """Count the block's points per chunk (``dest`` empty), or write ``dest`` (counts given).

    ``ranks`` (non-empty with a seed): each point's shuffled rank gives its chunk.
    """
    n_groups = q.size
    ranked = ranks.size > 0
    rank = first_rank.copy()
    state = np.zeros(n_groups, dtype=np.int64)  # strided: slot = rank mod K; else: chunk
    end = np.zeros(n_groups, dtype=np.int64)  # contiguous: first rank past the chunk
    if strided:
        for g in range(n_groups):
            state[g] = rank[g] % n_chunks
    fill = np.empty(n_chunks, dtype=np.int64)
    writing = dest.size > 0
    if writing:
        running = 0
        for k in range(n_chunks):
            fill[k] = running
            running += per_chunk[k]
    for i in range(codes.size):
        g = codes[i]
        if ranked:  # ranks in any order: each located on its own
            j = ranks[i]
            if strided:
                k = j % n_chunks + shift[g]
                if k >= n_chunks:
                    k -= n_chunks
            else:
                k, _ = _locate(j, q[g], r[g], shift[g], n_chunks)
        elif strided:
            t = state[g]
            k = t + shift[g]
            if k >= n_chunks:
                k -= n_chunks
            state[g] = t + 1 if t + 1 < n_chunks else 0
        else:
            j = rank[g]
            rank[g] = j + 1
            if j >= end[g]:
                chunk, past = _locate(j, q[g], r[g], shift[g], n_chunks)
                state[g] = chunk
                end[g] = past
            k = state[g]
        if writing:
            dest[i] = fill[k]
            fill[k] += 1
        else:
            per_chunk[k] += 1


@jit()
def _place(
    codes,
    piece_counts,
    q,
    r,
    shift,
    bounds,
    n_chunks,
    first_chunk,
    chunk_size,
    strided,
    ranks,
    dest,
):
    """Position of every point inside its output block; one chunk at a time.

    A point's rank m among its (chunk, group) is its arrival order, or with ``ranks``
    (non-empty with a seed) follows from its shuffled rank.
    """
    n_pieces, n_local = piece_counts.shape
    n_groups = q.size
    ranked = ranks.size > 0
    run_start = np.empty((n_pieces, n_local), dtype=np.int64)
    running = 0
    for p in range(n_pieces):
        for i in range(n_local):
            run_start[p, i] = running
            running += piece_counts[p, i]
    share = np.empty(n_groups, dtype=np.int64)
    first_block = np.empty(n_groups, dtype=np.int64)
    seen = np.empty(n_groups, dtype=np.int64)
    # A chunk holds at most chunk_size points: at most chunk_size / 16 + G blocks.
    max_blocks = (chunk_size + BLOCK - 1) // BLOCK + n_groups
    starts = np.empty(max_blocks, dtype=np.int64)
    scratch = np.empty((4, max_blocks + 1), dtype=np.int64)
    keys = np.empty(2 * max_blocks + 2, dtype=np.float64)
    for i in range(n_local):
        k = first_chunk + i
        blocks = 0
        for g in range(n_groups):
            t = k - shift[g]
            if t < 0:
                t += n_chunks
            share[g] = q[g] + (1 if t < r[g] else 0)
            first_block[g] = blocks
            blocks += (share[g] + BLOCK - 1) // BLOCK
            seen[g] = 0
        _place_blocks(share, starts, scratch, keys)
        origin = bounds[k] - bounds[first_chunk]
        for p in range(n_pieces):
            lo = run_start[p, i]
            for u in range(lo, lo + piece_counts[p, i]):
                g = codes[u]
                if not ranked:
                    m = seen[g]
                    seen[g] = m + 1
                elif strided:
                    m = ranks[u] // n_chunks  # chunk k holds ranks slot, slot + K, ...
                else:
                    m = ranks[u] - _chunk_start(k, q[g], r[g], shift[g], n_chunks)
                dest[u] = origin + starts[first_block[g] + m // BLOCK] + m % BLOCK


@jit()
def _scatter(values, dest, out):
    for i in range(values.size):
        out[dest[i]] = values[i]


class NumbaBlocks:
    """Counting sort by chunk, and the compiled placement rule chunk by chunk."""

    def __init__(self, host: object = None) -> None:
        del host

    def shuffled_ranks(
        self, codes: np.ndarray, first_rank: np.ndarray, plan: ChunkPlan
    ) -> np.ndarray:
        keys = plan.permutation
        assert keys is not None
        out = np.empty(codes.shape[0], dtype=np.int64)
        if codes.shape[0]:
            inverse = inverse_multipliers(keys)
            _shuffled_ranks(codes, first_rank, plan.counts, keys, inverse, out)
        return out

    def route(
        self,
        codes: np.ndarray,
        first_rank: np.ndarray,
        plan: ChunkPlan,
        ranks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        per_chunk = np.zeros(plan.n_chunks, dtype=np.int64)
        dest = np.empty(codes.shape[0], dtype=np.int64)
        if codes.shape[0]:
            args = (codes, first_rank, plan.per_chunk, plan.extra, plan.shift, plan.n_chunks)
            strided = plan.layout == "strided"
            ranked = _NO_RANKS if ranks is None else ranks
            _route(*args, strided, ranked, per_chunk, dest[:0])
            _route(*args, strided, ranked, per_chunk, dest)
        return dest, per_chunk

    def place(
        self,
        codes: np.ndarray,
        piece_counts: np.ndarray,
        plan: ChunkPlan,
        first_chunk: int,
        ranks: np.ndarray | None = None,
    ) -> np.ndarray:
        dest = np.empty(codes.shape[0], dtype=np.int64)
        _place(
            codes,
            np.ascontiguousarray(piece_counts, dtype=np.int64),
            plan.per_chunk,
            plan.extra,
            plan.shift,
            plan.bounds,
            plan.n_chunks,
            first_chunk,
            plan.chunk_size,
            plan.layout == "strided",
            _NO_RANKS if ranks is None else ranks,
            dest,
        )
        return dest

    def scatter(self, values: np.ndarray, dest: np.ndarray, out: np.ndarray) -> None:
        bits = BITS.get(values.dtype.itemsize)
        if bits is None or values.dtype.hasobject:  # e.g. complex128: numpy moves it
            out[dest] = values
        else:
            _scatter(values.view(bits), dest, out.view(bits))


__all__ = ["NumbaBlocks"]
