"""The per-block kernels of ``fastsplit.dask`` in numpy: the oracle of the numba ones.

``route`` states a block's share of the contract directly: every point's rank in
its group (the points of its group in earlier blocks plus those before it in this
block) gives its chunk, and one stable sort orders the block's points by chunk.
With a seed, ``shuffled_ranks`` gives each point the rank whose place it takes
(the inverse shuffle), and ``route`` and ``place`` read that rank instead.
``place`` ranks each point among the points of its (chunk, group) in arrival
order and puts it where the placement rule of ``_plan`` says (``place_blocks``,
run as plain Python once per chunk). Sorts and K x G tables: short, slow, obviously
right, and checked against the in-memory oracle by the tests.
"""

from __future__ import annotations

import numpy as np

from .._plan import BLOCK, ChunkPlan, place_blocks
from .._shuffle import unpermute_ranks

SHUFFLE_SLICE = 1 << 16
"""Points whose shuffled rank is found at a time (the inverse's temporaries: a few MiB)."""


def within_group_rank(keys: np.ndarray) -> np.ndarray:
    """Per point, how many earlier points have the same key (stable, O(n log n))."""
    by_key = np.argsort(keys, kind="stable")
    sorted_keys = keys[by_key]
    rank = np.empty(keys.shape[0], dtype=np.int64)
    rank[by_key] = np.arange(keys.shape[0]) - np.searchsorted(sorted_keys, sorted_keys, "left")
    return rank


def chunk_of_rank(plan: ChunkPlan, rank: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The chunk that holds within-group rank ``rank`` of ``group`` (int64 arrays)."""
    if plan.layout == "strided":
        return plan.chunk_of_slot(rank % max(plan.n_chunks, 1), group)
    # Group g's chunk k ends at rank (first k + 1 rows of column g added up);
    # groups are kept apart in one sorted array by an offset of n + 1 each.
    apart = np.arange(plan.n_groups) * (plan.n + 1)
    ends = (np.cumsum(plan.counts_matrix, axis=0) + apart).T.ravel()
    found = np.searchsorted(ends, rank + apart[group], side="right")
    return found - group * plan.n_chunks


def chunk_shares(plan: ChunkPlan, chunks: np.ndarray) -> np.ndarray:
    """len(chunks) x G: points of every group in each of ``chunks`` (rows of the K x G matrix)."""
    slot = (chunks[:, None] - plan.shift[None, :]) % max(plan.n_chunks, 1)
    return plan.pair_count(slot, np.arange(plan.n_groups)[None, :])


def block_starts(share: np.ndarray) -> np.ndarray:
    """Offset of every block of one chunk, group-major (the placement rule, uncompiled)."""
    total = int((-(-share // BLOCK)).sum())
    starts = np.zeros(total, dtype=np.int64)
    place_blocks(share, starts, np.zeros((4, total + 1), np.int64), np.zeros(2 * total + 2))
    return starts


class NumpyBlocks:
    """Sorts and searches over NumPy arrays; what the numba kernels must reproduce."""

    def __init__(self, host: object = None) -> None:
        del host

    def shuffled_ranks(
        self, codes: np.ndarray, first_rank: np.ndarray, plan: ChunkPlan
    ) -> np.ndarray:
        keys = plan.permutation
        assert keys is not None
        group = codes.astype(np.int64)
        rank = within_group_rank(group) + first_rank[group]
        for lo in range(0, group.shape[0], SHUFFLE_SLICE):  # temporaries O(slice)
            g = group[lo : lo + SHUFFLE_SLICE]
            part = rank[lo : lo + g.size]
            rank[lo : lo + g.size] = unpermute_ranks(part, plan.counts[g], keys[g])
        return rank

    def route(
        self,
        codes: np.ndarray,
        first_rank: np.ndarray,
        plan: ChunkPlan,
        ranks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        group = codes.astype(np.int64)
        rank = within_group_rank(group) + first_rank[group] if ranks is None else ranks
        chunk = chunk_of_rank(plan, rank, group)
        dest = np.empty(group.shape[0], dtype=np.int64)
        dest[np.argsort(chunk, kind="stable")] = np.arange(group.shape[0])
        return dest, np.bincount(chunk, minlength=plan.n_chunks).astype(np.int64)

    def place(
        self,
        codes: np.ndarray,
        piece_counts: np.ndarray,
        plan: ChunkPlan,
        first_chunk: int,
        ranks: np.ndarray | None = None,
    ) -> np.ndarray:
        n_pieces, n_local = piece_counts.shape
        local = np.repeat(np.tile(np.arange(n_local), n_pieces), piece_counts.ravel())
        group = codes.astype(np.int64)
        if ranks is None:
            # Pieces arrive in input-block order and keep input order inside: a point's
            # rank among its (chunk, group) is its rank m inside the chunk.
            m = within_group_rank(local * plan.n_groups + group)
        elif plan.layout == "strided":
            m = ranks // max(plan.n_chunks, 1)  # chunk k holds ranks slot, slot + K, ...
        else:
            m = ranks - plan.contiguous_starts[first_chunk + local, group]
        chunks = first_chunk + np.arange(n_local)
        shares = chunk_shares(plan, chunks)
        blocks = -(-shares // BLOCK)
        first_block = np.cumsum(blocks.ravel()).reshape(blocks.shape) - blocks
        starts = np.concatenate([block_starts(s) for s in shares] or [np.zeros(0, np.int64)])
        origin = plan.bounds[chunks] - plan.bounds[first_chunk]
        block = first_block[local, group] + m // BLOCK
        return origin[local] + starts[block] + m % BLOCK

    def scatter(self, values: np.ndarray, dest: np.ndarray, out: np.ndarray) -> None:
        out[dest] = values


__all__ = [
    "NumpyBlocks",
    "block_starts",
    "chunk_of_rank",
    "chunk_shares",
    "within_group_rank",
]
