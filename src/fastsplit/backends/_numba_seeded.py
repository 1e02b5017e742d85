"""The seeded order on the numba backend: the scatter walk, one shuffled rank at a time.

With a seed every group's ranks are shuffled (``_plan.permute_rank``), so
consecutive input points go to unrelated places: the unseeded walk's incremental
state and its fast paths (whole blocks of 16) do not apply. :func:`scatter_seeded`
walks the input segments of the same :class:`~._numba_scatter.Tables` and sends
each point to the place of its shuffled rank (any input order, either layout,
copy or index mode): one random write per point plus the permutation itself,
about what numpy's ``rng.permutation`` of n indices costs.

Filling the output in order instead (the input point of each place computed by
the inverse permutation, for group-major input) was measured no faster: the
cycle-walked Feistel network, not memory, is then the cost (about 30 ns a point
when a group's size lies just above a power of two).
"""

from __future__ import annotations

import numpy as np

from .._plan import contiguous_start, permute_rank
from ._jit import jit, parallel
from ._numba_emit import RUNS, emit
from ._numba_moves import fence
from ._numba_scatter import (
    SHIFT,
    Q,
    R,
    Tables,
    add_run,
    block_start,
    slot_of,
)

_permute_rank = jit(inline=True)(permute_rank)
_contiguous_start = jit()(contiguous_start)


@jit()
def _segment(codes, lo, hi, rank0, gt, keys, bounds, block_pos, n_chunks, strided, moves):
    """Send points lo..hi-1 to the places of their shuffled ranks, point by point.

    Each place comes from the shuffled rank in O(1) (strided) or O(log K)
    (contiguous: the chunk that holds the rank, by bisection).
    """
    rank = rank0.copy()
    runs = np.empty((4, RUNS), dtype=np.int64)
    nr = np.int64(0)
    for i in range(lo, hi):
        g = codes[i]
        q, r, s = gt[g, Q], gt[g, R], gt[g, SHIFT]
        j = _permute_rank(rank[g], q * n_chunks + r, keys, g)
        rank[g] += 1
        if strided:
            t = j % n_chunks
            m = j // n_chunks
            k = t + s if t + s < n_chunks else t + s - n_chunks
        else:
            k, top = 0, n_chunks - 1
            while k < top:  # the last chunk that starts at or before rank j
                mid = (k + top + 1) >> 1
                if _contiguous_start(mid, q, r, s, n_chunks) <= j:
                    k = mid
                else:
                    top = mid - 1
            m = j - _contiguous_start(k, q, r, s, n_chunks)
            t = slot_of(k, g, gt[:, SHIFT], n_chunks)
        if nr == RUNS:
            emit(moves, runs, nr)
            nr = np.int64(0)
        p = block_start(g, t, k, m, gt, bounds, block_pos) + (m & 15)
        nr = add_run(runs, nr, i, 1, p, 1)
    if nr:
        emit(moves, runs, nr)
    fence()  # type: ignore[call-arg]


def scatter_seeded(tables: Tables, codes: np.ndarray, moves: np.ndarray) -> None:
    """Every input segment in parallel, through the table of ``moves`` (copy or index)."""
    layout = (tables.bounds, tables.block_pos, tables.n_chunks, tables.strided, moves)
    jobs = [
        (codes, lo, hi, tables.rank0[i], tables.gt, tables.keys, *layout)
        for i, (lo, hi) in enumerate(tables.spans)
    ]
    parallel(_segment, jobs)


__all__ = ["scatter_seeded"]
