"""The scatter walk of the numba backend: every point straight to its output slot.

The input is cut into one segment per thread; each segment knows every group's
first rank (from the parallel count pass, or from factorize), walks its points,
derives (chunk, position) incrementally and collects (input point, output
position) pairs in a small buffer; :func:`~._numba_emit.emit` then moves every
row of the table of moves through the buffer: the input index in index mode,
every array's words in copy mode. Positions inside a chunk come from the
placement rule :func:`fastsplit._plan.place_blocks`, compiled here, once per chunk
into a block table. The destination of a point depends only on its group and
rank, so the result is the same for any number of threads.

With a seed (a within-group permutation of the ranks, ``_shuffle.permute_rank``)
the walk is ``_numba_seeded``'s, on the same tables; rows of 2-D arrays change
only the moves (``WIDTH`` words per point).
"""

from __future__ import annotations

import numpy as np

from .._labels import Grouping
from .._plan import ChunkPlan, place_blocks
from ._jit import jit, parallel, segment_bounds
from ._numba_emit import RUNS, D, K, N, S, emit
from ._numba_moves import fence
from ._numba_sizes import block_counts

# ------------------------------------------------------------------ within-chunk layout

_place_blocks = jit()(place_blocks)


@jit(inline=True)
def pair_block(t, r, nb1, nb0):
    """Offset of pair (g, slot t) among group g's blocks."""
    if t < r:
        return t * nb1
    return r * nb1 + (t - r) * nb0


@jit(inline=True)
def slot_of(k, g, shift, n_chunks):
    t = k - shift[g]
    return t + n_chunks if t < 0 else t


@jit(inline=True)
def _group_of_extra(extra_end, e):
    """The group of extra number e: first g with extra_end[g] > e (binary search)."""
    lo, hi = 0, extra_end.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if extra_end[mid] <= e:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit(inline=True)
def chunk_groups(k, q, r, shift, n_chunks, dense, extra_end, present, share):
    """The groups present in chunk k, ascending, into ``present``; their points into ``share``.

    Only the groups present in a chunk are visited: the ``dense`` ones (at least one
    point in every chunk) and the groups of the extras dealt to this chunk, which are
    extras k, k + K, k + 2K, ... in group-major order (``extra_end`` = cumsum of r).
    Both lists ascend in group, as the placement rule's tie-break needs. So the work
    is O(groups present + points of sparse groups), not O(G): a million one-point
    groups cost no more than their points. Returns how many groups are present.
    """
    n_dense = dense.size
    total_extra = extra_end[-1] if extra_end.size else 0
    m = 0
    j = 0
    e = k
    while j < n_dense or e < total_extra:
        g_extra = _group_of_extra(extra_end, e) if e < total_extra else -1
        if g_extra >= 0 and q[g_extra] > 0:
            e += n_chunks  # a dense group's extra: that group is listed as dense
            continue
        if j < n_dense and (g_extra < 0 or dense[j] < g_extra):
            g = dense[j]
            j += 1
        else:
            g = g_extra
            e += n_chunks
        present[m] = g
        share[m] = q[g] + (1 if slot_of(k, g, shift, n_chunks) < r[g] else 0)
        m += 1
    return m


def most_present(q: np.ndarray, r: np.ndarray, n_chunks: int) -> int:
    """Most groups one chunk can hold: the dense ones plus one per extra dealt to it."""
    return int((q > 0).sum()) + -(-int(r.sum()) // max(n_chunks, 1))


@jit()
def _block_positions_range(
    k0, k1, q, r, shift, nb1, nb0, blk_base, n_chunks, block_pos, dense, extra_end, most
):
    """Chunks k0 .. k1 - 1: lay out each one's blocks and record where they start."""
    total_extra = extra_end[-1] if extra_end.size else 0
    max_blocks = (total_extra + n_chunks - 1) // n_chunks
    for j in range(dense.size):
        max_blocks += nb1[dense[j]]
    present = np.empty(most, dtype=np.int64)
    share = np.empty(most, dtype=np.int64)
    starts = np.empty(max_blocks, dtype=np.int64)
    scratch = np.empty((4, max_blocks + 1), dtype=np.int64)
    keys = np.empty(2 * max_blocks + 2, dtype=np.float64)
    for k in range(k0, k1):
        m = chunk_groups(k, q, r, shift, n_chunks, dense, extra_end, present, share)
        _place_blocks(share[:m], starts, scratch, keys)
        u = 0
        for i in range(m):
            g = present[i]
            t = slot_of(k, g, shift, n_chunks)
            base = blk_base[g] + pair_block(t, r[g], nb1[g], nb0[g])
            for b in range((share[i] + 15) >> 4):
                block_pos[base + b] = starts[u]
                u += 1


# ---------------------------------------------------------------------------- scatter
#
# Per group g, the columns of ``gt`` (one int64 row per group, built by ``Tables``):
Q, R, SHIFT, NB1, NB0, BLK_BASE = range(6)
# and the walking state of group g is (st_a, st_b, st_c)[g]:
#   strided:    slot t = rank mod K, row m = rank div K (the rank inside the chunk)
#   contiguous: chunk k, rank m inside the chunk, points of g left in chunk k

_REPEAT = {1: 0x0101010101010101, 2: 0x0001000100010001, 4: 0x0000000100000001, 8: 1}


def _words(codes: np.ndarray) -> np.ndarray:
    """The codes as 64-bit words, to compare 8 / itemsize codes at once."""
    per = 8 // codes.itemsize
    return codes[: codes.size - codes.size % per].view(np.uint64)


@jit(inline=True)
def _run_end(codes, words, repeat, i, hi):
    """End of the run of equal codes starting at i, a 64-bit word at a time."""
    g = codes[i]
    per = 8 // codes.itemsize
    j = i + 1
    while j < hi and j % per and codes[j] == g:
        j += 1
    if j < hi and j % per == 0 and codes[j] == g:
        pattern = np.uint64(g) * np.uint64(repeat)
        w = j // per
        last = hi // per
        while w < last and words[w] == pattern:
            w += 1
        j = w * per
    while j < hi and codes[j] == g:
        j += 1
    return j


@jit()
def _count_segment(codes, words, repeat, lo, hi, counts):
    """Points per group in codes[lo:hi], one update per run."""
    i = lo
    while i < hi:
        j = _run_end(codes, words, repeat, i, hi)
        counts[codes[i]] += j - i
        i = j


@jit(inline=True)
def _pair_count(g, t, gt):
    return gt[g, Q] + (1 if t < gt[g, R] else 0)


@jit(inline=True)
def block_start(g, t, k, m, gt, bounds, block_pos):
    """Output position of the block holding rank m of group g in chunk k (slot t)."""
    blk = gt[g, BLK_BASE] + pair_block(t, gt[g, R], gt[g, NB1], gt[g, NB0]) + (m >> 4)
    return bounds[k] + block_pos[blk]


@jit(inline=True)
def _start_state(rank0, gt, n_chunks, strided, st_a, st_b, st_c):
    """Walking state of every group at the segment's first ranks ``rank0``."""
    shift = gt[:, SHIFT]
    for g in range(gt.shape[0]):
        j = rank0[g]
        if strided:
            st_a[g] = j % n_chunks
            st_b[g] = j // n_chunks
            continue
        k = 0
        a = _pair_count(g, slot_of(0, g, shift, n_chunks), gt)
        while j >= a and k < n_chunks - 1:
            j -= a
            k += 1
            a = _pair_count(g, slot_of(k, g, shift, n_chunks), gt)
        st_a[g] = k
        st_b[g] = j
        st_c[g] = max(a - j, 0)


@jit(inline=True)
def _next_points(g, gt, bounds, block_pos, n_chunks, strided, st_a, st_b, st_c, dpos, at, count):
    """Output positions of group g's next ``count`` points into dpos[at:]; advances its state."""
    sg, rg, n1, n0, base = gt[g, SHIFT], gt[g, R], gt[g, NB1], gt[g, NB0], gt[g, BLK_BASE]
    if strided:
        t, m = st_a[g], st_b[g]
        k = t + sg
        if k >= n_chunks:
            k -= n_chunks
        for u in range(at, at + count):
            blk = base + pair_block(t, rg, n1, n0) + (m >> 4)
            dpos[u] = bounds[k] + block_pos[blk] + (m & 15)
            t += 1
            k += 1
            if k == n_chunks:
                k = 0
            if t == n_chunks:
                t = 0
                m += 1
        st_a[g], st_b[g] = t, m
        return
    shift = gt[:, SHIFT]
    k, m, left = st_a[g], st_b[g], st_c[g]
    for u in range(at, at + count):
        while left == 0:  # on to the next chunk holding points of g
            k += 1
            m = 0
            left = _pair_count(g, slot_of(k, g, shift, n_chunks), gt)
        t = slot_of(k, g, shift, n_chunks)
        dpos[u] = bounds[k] + block_pos[base + pair_block(t, rg, n1, n0) + (m >> 4)] + (m & 15)
        m += 1
        left -= 1
    st_a[g], st_b[g], st_c[g] = k, m, left


@jit(inline=True)
def add_run(runs, n_runs, s, k, d, m):
    """Append run (s, k, d, m) to the buffer, or lengthen the last run when it continues it."""
    if n_runs:
        last = n_runs - 1
        length = runs[N, last]
        if runs[K, last] == k and runs[S, last] + length * k == s and runs[D, last] + length == d:
            runs[N, last] = length + m
            return n_runs
    runs[S, n_runs] = s
    runs[K, n_runs] = k
    runs[D, n_runs] = d
    runs[N, n_runs] = m
    return n_runs + 1


@jit()
def _segment(codes, words, repeat, lo, hi, rank0, gt, bounds, block_pos, n_chunks, strided, moves):
    """Send points lo..hi-1 to their output positions: indices (index mode) or words (copy).

    Long runs of one group take a fast path: in the strided layout a tile of
    16 rows x K slots (each slot's 16 points, K apart, fill one output block); in
    the contiguous layout 16 consecutive points filling one block. Everything
    else goes point by point. Either way the points gather as runs in a buffer
    (``_numba_emit``) and every move is applied to a full buffer at once.
    """
    n_groups = gt.shape[0]
    shift = gt[:, SHIFT]
    st_a = np.zeros(n_groups, dtype=np.int64)
    st_b = np.zeros(n_groups, dtype=np.int64)
    st_c = np.zeros(n_groups, dtype=np.int64)
    _start_state(rank0, gt, n_chunks, strided, st_a, st_b, st_c)
    runs = np.empty((4, RUNS), dtype=np.int64)
    dpos = np.empty(RUNS, dtype=np.int64)
    nr = np.int64(0)  # runs in the buffer (not a literal 0: that would type emit twice)
    span = 16 * n_chunks
    i = lo
    while i < hi:
        j = _run_end(codes, words, repeat, i, hi)
        g = codes[i]
        while i < j:
            if strided:
                to_boundary = (-(st_b[g] * n_chunks + st_a[g])) % span
                if to_boundary == 0 and j - i >= span:
                    n_tiles = (j - i) // span
                    for x in range(n_tiles):
                        k = shift[g]
                        m = st_b[g] + 16 * x
                        for t in range(n_chunks):
                            if nr == RUNS:
                                emit(moves, runs, nr)
                                nr = np.int64(0)
                            p0 = block_start(g, t, k, m, gt, bounds, block_pos)
                            nr = add_run(runs, nr, i + x * span + t, n_chunks, p0, 16)
                            k = k + 1 if k + 1 < n_chunks else 0
                    st_b[g] += 16 * n_tiles
                    i += span * n_tiles
                    continue
                stop = min(j, i + (to_boundary if to_boundary else span))
            else:
                m = st_b[g]
                left = st_c[g]
                if left >= 16 and m % 16 == 0 and j - i >= 16:
                    k = st_a[g]
                    t = slot_of(k, g, shift, n_chunks)
                    n_blocks = min(left // 16, (j - i) // 16)
                    for x in range(n_blocks):
                        if nr == RUNS:
                            emit(moves, runs, nr)
                            nr = np.int64(0)
                        p0 = block_start(g, t, k, m + 16 * x, gt, bounds, block_pos)
                        nr = add_run(runs, nr, i + 16 * x, 1, p0, 16)
                    st_b[g] = m + 16 * n_blocks
                    st_c[g] = left - 16 * n_blocks
                    i += 16 * n_blocks
                    continue
                stop = min(j, i + (16 - m % 16 if m % 16 else max(1, min(left, 16))))
            while i < stop:
                if nr == RUNS:
                    emit(moves, runs, nr)
                    nr = np.int64(0)
                count = min(RUNS - nr, stop - i)
                _next_points(
                    g, gt, bounds, block_pos, n_chunks, strided, st_a, st_b, st_c, dpos, 0, count
                )
                for u in range(count):
                    nr = add_run(runs, nr, i + u, 1, dpos[u], 1)
                i += count
    if nr:
        emit(moves, runs, nr)
    fence()  # type: ignore[call-arg]  # the streaming stores land before another thread reads the outputs


class Tables:
    """Everything the scatter needs: the block layout and each segment's first ranks."""

    def __init__(self, grouping: Grouping, plan: ChunkPlan) -> None:
        codes = grouping.codes
        k = plan.n_chunks
        q, r = plan.per_chunk, plan.extra
        nb1, nb0, blocks = block_counts(q, r, k)
        blk_base = blocks.cumsum() - blocks
        pos_type = np.int32 if plan.chunk_size < 2**31 else np.int64
        self.block_pos = block_pos = np.empty(int(blocks.sum()), dtype=pos_type)
        self.gt = np.array((q, r, plan.shift, nb1, nb0, blk_base)).T.copy()
        self.bounds = plan.bounds
        self.n_chunks = k
        self.strided = plan.layout == "strided"
        self.spans = spans = segment_bounds(plan.n)
        n_seg = len(spans)
        split = [k * i // n_seg for i in range(n_seg + 1)]
        self.dense, self.extra_end = dense, extra_end = (q > 0).nonzero()[0], r.cumsum()
        self.most = most = most_present(q, r, k)
        per_group = (q, r, plan.shift, nb1, nb0, blk_base, k, block_pos, dense, extra_end, most)
        layout_jobs = [(split[i], split[i + 1], *per_group) for i in range(n_seg)]
        parallel(_block_positions_range, layout_jobs)
        self.words = _words(codes)
        self.repeat = _REPEAT[codes.itemsize]
        hint = grouping.scatter_hint
        if hint is not None and hint[0] == spans:
            seg_counts = hint[1]  # factorize counted these already
        else:
            seg_counts = np.zeros((n_seg, plan.n_groups), dtype=np.int64)
            count_jobs = [
                (codes, self.words, self.repeat, lo, hi, seg_counts[i])
                for i, (lo, hi) in enumerate(spans)
            ]
            parallel(_count_segment, count_jobs)
        self.rank0 = seg_counts.cumsum(axis=0) - seg_counts

    def run(self, codes: np.ndarray, moves: np.ndarray) -> None:
        """Scatter every input segment in parallel through the table of ``moves``."""
        layout = (self.gt, self.bounds, self.block_pos, self.n_chunks, self.strided, moves)
        jobs = [
            (codes, self.words, self.repeat, lo, hi, self.rank0[i], *layout)
            for i, (lo, hi) in enumerate(self.spans)
        ]
        parallel(_segment, jobs)


__all__ = [
    "BLK_BASE",
    "NB0",
    "NB1",
    "SHIFT",
    "Q",
    "R",
    "Tables",
    "add_run",
    "block_start",
    "chunk_groups",
    "pair_block",
    "slot_of",
]
