"""The seeded order on the numba backend: the unseeded places, refilled chunk by chunk.

With a seed the place of group g's within-group rank j holds the point of rank
sigma_g(j) (``_shuffle.permute_rank``). Two passes:

1. :func:`members`: each group's points in input order, one list after another
   (a counting sort on the segment counts the scatter tables hold already); a
   group whose points are one run of the input needs no list (its rank-r point
   is its first point + r), and when every group is a run none is built. This
   and the tables depend on the codes and the chunk size, not on the seed, so a
   sampler keeps them on its grouping (``Grouping.cache``) and builds them once
   for all its epochs;
2. :func:`fill`: chunks in parallel, place by place: for every group present in
   a chunk, its places' ranks j are hashed a tile at a time (sigma_g is
   branch-free, so the loop vectorizes), the hashes that land at c_g or above are
   walked again from a compacted list (no unpredictable branch per point), the
   members are gathered in one tight loop (many reads in flight) and written to
   consecutive places.

The reads are random inside one group's list: the cost of any true shuffle.
Copy mode builds this order and gathers the arrays through it (``_numba_gather``):
the reads of the data are random whatever the route, and the gather keeps more of
them in flight than the scatter's moves. The first version sent every input
point to the place of its shuffled rank, one cycle-walked Feistel network and
one random write per point: 6-10x the unseeded index mode; this is about 2x
(``python -m benchmarks.batches``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba.extending import register_jitable

from .._labels import Grouping, index_dtype
from .._plan import ChunkPlan, contiguous_start
from .._shuffle import ROUNDS, permute_rank, round_keys, scramble
from ._jit import jit, parallel, segment_bounds
from ._numba_scatter import (
    BLK_BASE,
    NB0,
    NB1,
    SHIFT,
    Q,
    R,
    Tables,
    chunk_groups,
    pair_block,
    slot_of,
)

TILE = 512
"""Places hashed at a time (a multiple of 16: whole blocks)."""

PASSES = 0

_scramble = jit(inline=True)(scramble)
_round_keys = jit(inline=True)(round_keys)
register_jitable(scramble)  # so that the compiled permute_rank can call them
register_jitable(round_keys)
_contiguous_start = jit(inline=True)(contiguous_start)
permute_rank_compiled = jit()(permute_rank)
"""The scalar permutation as this backend compiles it (tests hold it to the array form)."""


# The two run loops below compare one code at a time on purpose: they serve labels
# in random order (runs of a point or two), where the scatter's word-at-a-time
# ``_run_end`` costs more than it saves (23M points: 1.2 s against 0.47 s).


@jit()
def _members_segment(codes, lo, hi, first, members):
    """Points lo..hi-1 into their groups' lists, from positions ``first`` (per group)."""
    at = first.copy()
    i = lo
    while i < hi:
        g = codes[i]
        j = i + 1
        while j < hi and codes[j] == g:
            j += 1
        p = at[g]
        for u in range(j - i):
            members[p + u] = i + u
        at[g] = p + j - i
        i = j


@jit()
def _extent_segment(codes, lo, hi, first, last):
    """First and last point of every group in codes[lo:hi] (-1: none), a run at a time."""
    i = lo
    while i < hi:
        g = codes[i]
        j = i + 1
        while j < hi and codes[j] == g:
            j += 1
        if first[g] < 0:
            first[g] = i
        last[g] = j - 1
        i = j


def _runs(grouping: Grouping, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """First point of each group whose points are one run of the input, else -1."""
    counts = grouping.counts
    first = np.full((len(spans), counts.size), -1, dtype=np.int64)
    last = np.full((len(spans), counts.size), -1, dtype=np.int64)
    jobs = [(grouping.codes, lo, hi, first[i], last[i]) for i, (lo, hi) in enumerate(spans)]
    parallel(_extent_segment, jobs)
    head = np.where(first < 0, np.iinfo(np.int64).max, first).min(axis=0)
    tail = last.max(axis=0)
    return np.where((counts > 0) & (tail - head + 1 == counts), head, -1)


def members(grouping: Grouping, tables: Tables) -> tuple[np.ndarray, np.ndarray]:
    """Each group's points in input order, group after group, and where that is a run.

    ``run[g]`` is the first input point of group g when its points are consecutive in
    the input (group-major data, as angle-major XPCS files are): its rank-r point is
    then ``run[g] + r`` and the fill reads no list. -1 otherwise. When every group
    is a run no list is built at all. Kept in ``grouping.cache`` when the grouping
    has one.
    """
    cache = grouping.cache
    if cache is not None and "members" in cache:
        return cache["members"]
    counts = grouping.counts
    n = int(counts.sum())
    spans = tables.spans if tables.spans else segment_bounds(n)
    run = _runs(grouping, spans)
    if np.all((run >= 0) | (counts == 0)):
        out = np.empty(0, dtype=index_dtype(n))
    else:
        out = np.empty(n, dtype=index_dtype(n))
        start = counts.cumsum() - counts
        jobs = [
            (grouping.codes, lo, hi, start + tables.rank0[i], out)
            for i, (lo, hi) in enumerate(spans)
        ]
        parallel(_members_segment, jobs)
    if cache is not None:
        cache["members"] = (out, run)
    return out, run


def tables_of(grouping: Grouping, plan: ChunkPlan) -> Tables:
    """The scatter tables of ``plan``, kept in ``grouping.cache`` (the seed leaves them alone)."""
    cache = grouping.cache
    key = ("tables", plan.chunk_size, plan.layout)
    if cache is None:
        return Tables(grouping, plan)
    if key not in cache:
        cache[key] = Tables(grouping, plan)
    return cache[key]


@jit()
def _fill(
    k0, k1, lists, start, gt, keys, identity, bounds, block_pos, n_chunks, strided, groups, out
):
    """Chunks k0 .. k1 - 1: every place gets the index of its group's shuffled rank.

    ``lists`` = (member lists, first point of each group that is a run, else -1);
    ``identity``: no seed (``keys`` is then a table of zeros), every rank stays;
    ``groups`` = (dense groups, cumsum of extras, most groups in a chunk), as the
    block layout enumerates them.
    """
    members, run = lists
    dense, extra_end, most = groups
    q, r, shift = gt[:, Q], gt[:, R], gt[:, SHIFT]
    present = np.empty(most, dtype=np.int64)
    share = np.empty(most, dtype=np.int64)
    buf = np.empty(TILE, dtype=np.int64)
    todo = np.empty(TILE, dtype=np.int64)
    again = np.empty(TILE, dtype=np.int64)
    for k in range(k0, k1):
        n_present = chunk_groups(k, q, r, shift, n_chunks, dense, extra_end, present, share)
        for i in range(n_present):
            g = present[i]
            a = share[i]
            count = q[g] * n_chunks + r[g]
            t = slot_of(k, g, shift, n_chunks)
            if strided:
                j0, step = t, n_chunks  # rank of the chunk's m-th point: m K + t
            else:
                j0, step = _contiguous_start(k, q[g], r[g], shift[g], n_chunks), 1
            bits = keys[g, 0]
            mask = (1 << bits) - 1
            half = (bits + 1) >> 1
            rk = _round_keys(keys, g)
            base = gt[g, BLK_BASE] + pair_block(t, r[g], gt[g, NB1], gt[g, NB0])
            first = start[g]
            for u0 in range(0, a, TILE):
                size = min(TILE, a - u0)
                if identity:  # no seed: the places keep their ranks
                    for u in range(size):
                        buf[u] = j0 + (u0 + u) * step
                else:
                    for u in range(size):  # branch-free: vectorizes
                        buf[u] = _scramble(j0 + (u0 + u) * step, mask, half, rk)
                n_todo = 0
                for u in range(size):  # the hashes that landed outside [0, count)
                    todo[n_todo] = u
                    n_todo += buf[u] >= count
                while n_todo:  # walk them again, gathered so that the hash vectorizes
                    for v in range(n_todo):
                        again[v] = buf[todo[v]]
                    for v in range(n_todo):
                        again[v] = _scramble(again[v], mask, half, rk)
                    left = 0
                    for v in range(n_todo):
                        u = todo[v]
                        buf[u] = again[v]
                        todo[left] = u
                        left += again[v] >= count
                    n_todo = left
                if run[g] >= 0:  # the group is a run of the input: no list to read
                    for u in range(size):
                        buf[u] += run[g]
                else:
                    for u in range(size):  # one tight gather: many reads in flight
                        buf[u] = members[first + buf[u]]
                for u in range(size):
                    m = u0 + u
                    out[bounds[k] + block_pos[base + (m >> 4)] + (m & 15)] = buf[u]


def fill(grouping: Grouping, plan: ChunkPlan, out: np.ndarray) -> None:
    """The order of ``plan`` (seeded or not) into ``out``, place by place."""
    tables = tables_of(grouping, plan)
    lists = members(grouping, tables)
    counts = grouping.counts
    start = counts.cumsum() - counts
    k = tables.n_chunks
    n_jobs = max(1, min(len(tables.spans), k))
    split = [k * i // n_jobs for i in range(n_jobs + 1)]
    layout = (tables.bounds, tables.block_pos, k, tables.strided)
    groups = (tables.dense, tables.extra_end, tables.most)
    keys = plan.permutation
    identity = keys is None
    if keys is None:
        keys = np.zeros((counts.size, 1 + 2 * ROUNDS), dtype=np.int64)
    common = (lists, start, tables.gt, keys, identity, *layout, groups, out)
    parallel(_fill, [(split[i], split[i + 1], *common) for i in range(n_jobs)])


__all__ = ["fill", "members", "permute_rank_compiled", "tables_of"]
