"""The numba backend: O(n) counting-sort kernels.

Same output as the numpy oracle, computed without any n-length sort:

1. ``factorize``: a small open-addressing hash table on the labels' bit patterns
   (-0.0 folded onto 0.0, NaN/inf refused), with a fast path that copies the code
   over runs of equal labels (angle-major data is almost all runs).
2. ``_block_positions``: per chunk, merge the groups' blocks by key i / a (the
   within-chunk layout of contract C5) with a heap of at most G entries, and
   record where each block starts. Chunks are independent: run in parallel.
3. ``_scatter_*``: the input is cut into one segment per thread; each segment
   knows every group's first rank from a parallel count pass, walks its points,
   derives (chunk, position) incrementally and writes straight to the output slot:
   the input index in index mode, every array's value in copy mode.

The destination of a point depends only on its group and rank, so the result is
the same for any number of threads.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numba import literal_unroll, types
from numba.extending import overload

from .._labels import Grouping, code_dtype, index_dtype, non_finite_error
from .._plan import BLOCK, ChunkPlan, segment_count
from ._jit import jit, num_threads
from ._numpy import take

name = "numba"

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SUB = 1024  # destinations computed per pass over the arrays (fits L1)


# --------------------------------------------------------------------------- factorize


@jit()
def _factorize(bits, float_bits, codes, max_groups):
    """Codes in first-appearance order. Returns (status, n_groups, keys, counts).

    status: 0 ok, 1 more than ``max_groups`` groups (retry with wider codes),
    2 non-finite label at index ``n_groups``.
    """
    n = bits.size
    sign = np.uint64(0)
    exponent = np.uint64(0)
    if float_bits == 64:
        sign = np.uint64(1) << np.uint64(63)
        exponent = np.uint64(0x7FF0000000000000)
    elif float_bits == 32:
        sign = np.uint64(1) << np.uint64(31)
        exponent = np.uint64(0x7F800000)
    log_cap = np.uint64(6)
    cap = 64
    table_key = np.zeros(cap, dtype=np.uint64)
    table_code = np.full(cap, -1, dtype=np.int64)  # -1: empty (every key value is valid)
    keys = np.empty(16, dtype=np.uint64)
    counts = np.zeros(16, dtype=np.int64)
    n_groups = 0
    prev = np.uint64(0)
    prev_code = -1
    i = 0
    while i < n:
        b = np.uint64(bits[i])
        if prev_code >= 0 and b == prev:
            j = i + 1
            while j + 64 <= n:
                diff = np.uint64(0)
                for u in range(64):
                    diff |= np.uint64(bits[j + u]) ^ prev
                if diff:
                    break
                j += 64
            while j < n and np.uint64(bits[j]) == prev:
                j += 1
            codes[i:j] = prev_code
            counts[prev_code] += j - i
            i = j
            continue
        key = b
        if float_bits:
            if (key & exponent) == exponent:
                return 2, i, keys, counts
            if key == sign:
                key = np.uint64(0)
        slot = (key * _GOLDEN) >> (np.uint64(64) - log_cap)
        mask = np.uint64(cap - 1)
        while table_code[slot] >= 0 and table_key[slot] != key:
            slot = (slot + np.uint64(1)) & mask
        if table_code[slot] >= 0:
            code = table_code[slot]
        else:
            if n_groups == max_groups:
                return 1, n_groups, keys, counts
            code = n_groups
            n_groups += 1
            table_key[slot] = key
            table_code[slot] = code
            if n_groups > keys.size:
                keys = np.concatenate((keys, np.empty(keys.size, dtype=np.uint64)))
                counts = np.concatenate((counts, np.zeros(counts.size, dtype=np.int64)))
            keys[code] = key
            if 2 * n_groups > cap:  # keep load below 1/2: grow and rehash
                cap *= 2
                log_cap += np.uint64(1)
                mask = np.uint64(cap - 1)
                table_key = np.zeros(cap, dtype=np.uint64)
                table_code = np.full(cap, -1, dtype=np.int64)
                for c in range(n_groups):
                    s = (keys[c] * _GOLDEN) >> (np.uint64(64) - log_cap)
                    while table_code[s] >= 0:
                        s = (s + np.uint64(1)) & mask
                    table_key[s] = keys[c]
                    table_code[s] = c
        codes[i] = code
        counts[code] += 1
        prev = b
        prev_code = code
        i += 1
    return 0, n_groups, keys[:n_groups], counts[:n_groups]


@jit()
def _remap(codes, table, out):
    for i in range(codes.size):
        out[i] = table[codes[i]]


_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def factorize(labels: np.ndarray) -> Grouping:
    """Ascending unique labels, counts and per-point codes, in O(n).

    Each thread factorizes its own segment; the small per-segment tables are then
    merged and a segment's codes rewritten only where its numbering differs.
    """
    bits = labels.view(_BITS[labels.dtype.itemsize])
    float_bits = 8 * labels.dtype.itemsize if labels.dtype.kind == "f" else 0
    seg = _segment_bounds(labels.size)
    spans = [(int(seg[s]), int(seg[s + 1])) for s in range(seg.size - 1)]
    max_groups = 256
    while True:
        codes = np.empty(labels.size, dtype=code_dtype(max_groups))
        found = _parallel(
            _factorize,
            [(bits[lo:hi], float_bits, codes[lo:hi], max_groups) for lo, hi in spans],
        )
        bad = [lo + int(f[1]) for (lo, _), f in zip(spans, found, strict=True) if f[0] == 2]
        if bad:
            raise non_finite_error(labels, min(bad))
        if all(f[0] == 0 for f in found):
            break
        max_groups = 65536 if max_groups == 256 else 2**32  # a segment overflowed: redo
    values = [f[2].astype(bits.dtype).view(labels.dtype) for f in found]
    groups = np.unique(np.concatenate(values))
    # Every segment fits its codes, but together they may need a wider type: the
    # merge pass below then writes the global codes into a wider array.
    merged = codes if groups.size <= max_groups else np.empty(labels.size, code_dtype(groups.size))
    counts = np.zeros((len(spans), groups.size), dtype=np.int64)
    jobs = []
    for s, ((lo, hi), local, found_s) in enumerate(zip(spans, values, found, strict=True)):
        table = np.searchsorted(groups, local).astype(merged.dtype)
        counts[s, table] = found_s[3]
        if merged is not codes or (table != np.arange(table.size)).any():
            jobs.append((codes[lo:hi], table, merged[lo:hi]))
    if jobs:
        _parallel(_remap, jobs)
    codes = merged
    return Grouping(
        codes=codes, groups=np.asarray(groups), counts=counts.sum(axis=0), segments=(seg, counts)
    )


def remap(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[codes]``."""
    out = np.empty(codes.size, dtype=table.dtype)
    _remap(codes, table, out)
    return out


# ------------------------------------------------------------------ within-chunk layout


@jit()
def _pair_block(t, r, nb1, nb0):
    """Offset of pair (g, slot t) among group g's blocks."""
    if t < r:
        return t * nb1
    return r * nb1 + (t - r) * nb0


@jit()
def _chunk_blocks(k, q, r, shift, nb1, nb0, blk_base, n_chunks, block_pos, share, scratch, keys):
    """Lay out chunk k's blocks by (key = i / a, group) and record their starts.

    Keys lie in [0, 1/16); bucketing by floor(key * 16 * B) over B buckets is
    monotone in the key (IEEE multiplication by a positive constant is), so a
    counting sort on buckets plus an insertion sort inside each (about one block
    per bucket) gives exactly the (key, group) order in O(B).
    """
    n_groups = q.size
    total = 0
    for g in range(n_groups):  # points of each group in this chunk
        t = k - shift[g]
        if t < 0:
            t += n_chunks
        share[g] = q[g] + (1 if t < r[g] else 0)
        total += (share[g] + 15) >> 4
    start = scratch[0]  # bucket b holds sorted slots start[b] .. start[b + 1] - 1
    fill = scratch[1]
    bucket_of = scratch[2]  # per block, in (group, block) order
    sorted_block = scratch[3]  # per sorted slot: group * 2**32 + block index
    start[: total + 1] = 0
    scale = 16.0 * total
    u = 0
    for g in range(n_groups):
        a = np.float64(share[g])
        for i in range((share[g] + 15) >> 4):
            key = np.float64(i) / a
            b = int(key * scale)
            keys[u] = key
            bucket_of[u] = b
            start[b + 1] += 1
            u += 1
    for b in range(total):
        start[b + 1] += start[b]
    fill[:total] = start[:total]
    u = 0
    for g in range(n_groups):
        for i in range((share[g] + 15) >> 4):
            b = bucket_of[u]
            key = keys[u]
            slot = fill[b]
            fill[b] += 1
            # insertion sort by (key, group) inside the bucket (entries arrive
            # in ascending group order; the group test only guards equal keys)
            while slot > start[b]:
                prev = keys[total + slot - 1]
                if prev < key or (prev == key and (sorted_block[slot - 1] >> 32) < g):
                    break
                keys[total + slot] = prev
                sorted_block[slot] = sorted_block[slot - 1]
                slot -= 1
            keys[total + slot] = key
            sorted_block[slot] = (g << 32) | i
            u += 1
    p = 0
    for v in range(total):
        g = sorted_block[v] >> 32
        i = sorted_block[v] & 0xFFFFFFFF
        t = k - shift[g]
        if t < 0:
            t += n_chunks
        block_pos[blk_base[g] + _pair_block(t, r[g], nb1[g], nb0[g]) + i] = p
        p += min(16, share[g] - 16 * i)


@jit()
def _block_positions_range(
    k0, k1, q, r, shift, nb1, nb0, blk_base, n_chunks, block_pos, max_blocks
):
    share = np.empty(q.size, dtype=np.int64)
    scratch = np.empty((4, max_blocks + 1), dtype=np.int64)
    keys = np.empty(2 * max_blocks + 2, dtype=np.float64)  # per block, then per slot
    for k in range(k0, k1):
        _chunk_blocks(k, q, r, shift, nb1, nb0, blk_base, n_chunks, block_pos, share, scratch, keys)


# ---------------------------------------------------------------------------- scatter
#
# ``plan`` below is the tuple built by ``_Tables``, indexed by these constants:
#   (q, r, shift, nb1, nb0, blk_base, bounds, block_pos, n_chunks, strided)
# and the walking state of group g is (st_a, st_b, st_c)[g]:
#   strided:    slot t = rank mod K, row m = rank div K (the rank inside the chunk)
#   contiguous: chunk k, rank m inside the chunk, points of g left in chunk k

_Q, _R, _SHIFT, _NB1, _NB0, _BLK_BASE, _BOUNDS, _BLOCK_POS, _N_CHUNKS, _STRIDED = range(10)
_REPEAT = {1: 0x0101010101010101, 2: 0x0001000100010001, 4: 0x0000000100000001, 8: 1}


def _words(codes: np.ndarray) -> np.ndarray:
    """The codes as 64-bit words, to compare 8 / itemsize codes at once."""
    per = 8 // codes.itemsize
    return codes[: codes.size - codes.size % per].view(np.uint64)


@jit()
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


@jit()
def _pair_count(g, t, q, r):
    return q[g] + (1 if t < r[g] else 0)


@jit()
def _slot(k, g, shift, n_chunks):
    t = k - shift[g]
    return t + n_chunks if t < 0 else t


@jit()
def _block_start(g, t, k, m, plan):
    """Output position of the block holding rank m of group g in chunk k (slot t)."""
    r, nb1, nb0 = plan[_R], plan[_NB1], plan[_NB0]
    blk_base, bounds, block_pos = plan[_BLK_BASE], plan[_BOUNDS], plan[_BLOCK_POS]
    blk = blk_base[g] + _pair_block(t, r[g], nb1[g], nb0[g]) + (m >> 4)
    return bounds[k] + block_pos[blk]


@jit()
def _start_state(rank0, plan, st_a, st_b, st_c):
    """Walking state of every group at the segment's first ranks ``rank0``."""
    q, r, shift, n_chunks = plan[_Q], plan[_R], plan[_SHIFT], plan[_N_CHUNKS]
    for g in range(q.size):
        j = rank0[g]
        if plan[_STRIDED]:
            st_a[g] = j % n_chunks
            st_b[g] = j // n_chunks
            continue
        k = 0
        a = _pair_count(g, _slot(0, g, shift, n_chunks), q, r)
        while j >= a and k < n_chunks - 1:
            j -= a
            k += 1
            a = _pair_count(g, _slot(k, g, shift, n_chunks), q, r)
        st_a[g] = k
        st_b[g] = j
        st_c[g] = max(a - j, 0)


@jit()
def _next_points(g, plan, st_a, st_b, st_c, buf, count):
    """Output positions of group g's next ``count`` points into buf; advances its state.

    One call per batch: unpacking the plan per point cost more than the work.
    """
    q, r, shift, nb1, nb0 = plan[_Q], plan[_R], plan[_SHIFT], plan[_NB1], plan[_NB0]
    blk_base, bounds, block_pos = plan[_BLK_BASE], plan[_BOUNDS], plan[_BLOCK_POS]
    n_chunks = plan[_N_CHUNKS]
    sg, rg, n1, n0, base = shift[g], r[g], nb1[g], nb0[g], blk_base[g]
    if plan[_STRIDED]:
        t, m = st_a[g], st_b[g]
        k = t + sg
        if k >= n_chunks:
            k -= n_chunks
        for u in range(count):
            blk = base + _pair_block(t, rg, n1, n0) + (m >> 4)
            buf[u] = bounds[k] + block_pos[blk] + (m & 15)
            t += 1
            k += 1
            if k == n_chunks:
                k = 0
            if t == n_chunks:
                t = 0
                m += 1
        st_a[g], st_b[g] = t, m
        return
    k, m, left = st_a[g], st_b[g], st_c[g]
    for u in range(count):
        while left == 0:  # on to the next chunk holding points of g
            k += 1
            m = 0
            left = _pair_count(g, _slot(k, g, shift, n_chunks), q, r)
        t = _slot(k, g, shift, n_chunks)
        buf[u] = bounds[k] + block_pos[base + _pair_block(t, rg, n1, n0) + (m >> 4)] + (m & 15)
        m += 1
        left -= 1
    st_a[g], st_b[g], st_c[g] = k, m, left


@jit()
def _walk(codes, words, repeat, lo, hi, rank0, plan, target):
    """Send points lo..hi-1 to their output positions, through the ``emit_*`` writers.

    Long runs of one group take a fast path: in the strided layout a tile of
    16 rows x K slots (each slot's 16 points fill one output block); in the
    contiguous layout 16 consecutive points filling one block. Everything else
    goes point by point through a small buffer of positions.
    """
    q, shift, n_chunks, strided = plan[_Q], plan[_SHIFT], plan[_N_CHUNKS], plan[_STRIDED]
    n_groups = q.size
    st_a = np.zeros(n_groups, dtype=np.int64)
    st_b = np.zeros(n_groups, dtype=np.int64)
    st_c = np.zeros(n_groups, dtype=np.int64)
    _start_state(rank0, plan, st_a, st_b, st_c)
    buf = np.empty(_SUB, dtype=np.int64)
    tile = np.empty(max(1, _SUB // (16 * n_chunks)) * n_chunks, dtype=np.int64)
    span = 16 * n_chunks
    i = lo
    while i < hi:
        j = _run_end(codes, words, repeat, i, hi)
        g = codes[i]
        while i < j:
            if strided:
                to_boundary = (-(st_b[g] * n_chunks + st_a[g])) % span
                if to_boundary == 0 and j - i >= span:
                    # a batch of whole tiles per writer call (a call costs more
                    # than a small tile's work when K is small)
                    n_tiles = min((j - i) // span, max(1, _SUB // span))
                    for x in range(n_tiles):
                        k = shift[g]
                        for t in range(n_chunks):
                            tile[x * n_chunks + t] = _block_start(g, t, k, st_b[g] + 16 * x, plan)
                            k = k + 1 if k + 1 < n_chunks else 0
                    _emit_tile(target, tile, n_tiles, i, n_chunks)
                    st_b[g] += 16 * n_tiles
                    i += span * n_tiles
                    continue
                stop = min(j, i + (to_boundary if to_boundary else span))
            else:
                m = st_b[g]
                left = st_c[g]
                if left >= 16 and m % 16 == 0 and j - i >= 16:
                    k = st_a[g]
                    t = _slot(k, g, shift, n_chunks)
                    n_blocks = min(left // 16, (j - i) // 16, _SUB // 16)
                    for x in range(n_blocks):
                        buf[x] = _block_start(g, t, k, m + 16 * x, plan)
                    _emit_block(target, buf, n_blocks, i)
                    st_b[g] = m + 16 * n_blocks
                    st_c[g] = left - 16 * n_blocks
                    i += 16 * n_blocks
                    continue
                stop = min(j, i + (16 - m % 16 if m % 16 else max(1, min(left, 16))))
            while i < stop:
                count = min(_SUB, stop - i)
                _next_points(g, plan, st_a, st_b, st_c, buf, count)
                _emit_points(target, buf, i, count)
                i += count


# The three writers, one implementation per target type: an int array is the
# permutation (index mode), a tuple of (source, output) pairs is copy mode.


def _emit_points(target: Any, buf: Any, i: int, count: int) -> None:
    """Point i + u goes to position buf[u], u < count."""


def _emit_tile(target: Any, tile: Any, n_tiles: int, i: int, n_chunks: int) -> None:
    """Strided tiles at i + x * 16 K: slot t's 16 points go to tile[x K + t] + u."""


def _emit_block(target: Any, starts: Any, n_blocks: int, i: int) -> None:
    """Points i + 16 x .. i + 16 x + 15 go to starts[x] .. starts[x] + 15."""


@overload(_emit_points)
def _emit_points_impl(target, buf, i, count):
    if isinstance(target, types.Array):

        def index(target, buf, i, count):
            for u in range(count):
                target[buf[u]] = i + u

        return index

    def copy(target, buf, i, count):
        for pair in literal_unroll(target):
            src, dst = pair
            for u in range(count):
                dst[buf[u]] = src[i + u]

    return copy


@overload(_emit_tile)
def _emit_tile_impl(target, tile, n_tiles, i, n_chunks):
    if isinstance(target, types.Array):

        def index(target, tile, n_tiles, i, n_chunks):
            for x in range(n_tiles):
                base = i + x * 16 * n_chunks
                for t in range(n_chunks):
                    p0 = tile[x * n_chunks + t]
                    for u in range(16):
                        target[p0 + u] = base + t + u * n_chunks

        return index

    def copy(target, tile, n_tiles, i, n_chunks):
        for pair in literal_unroll(target):
            src, dst = pair
            for x in range(n_tiles):
                base = i + x * 16 * n_chunks
                for t in range(n_chunks):
                    p0 = tile[x * n_chunks + t]
                    for u in range(16):
                        dst[p0 + u] = src[base + t + u * n_chunks]

    return copy


@overload(_emit_block)
def _emit_block_impl(target, starts, n_blocks, i):
    if isinstance(target, types.Array):

        def index(target, starts, n_blocks, i):
            for x in range(n_blocks):
                p0 = starts[x]
                for u in range(16):
                    target[p0 + u] = i + 16 * x + u

        return index

    def copy(target, starts, n_blocks, i):
        for pair in literal_unroll(target):
            src, dst = pair
            for x in range(n_blocks):
                p0 = starts[x]
                for u in range(16):
                    dst[p0 + u] = src[i + 16 * x + u]

    return copy


@jit()
def _segment(codes, words, repeat, lo, hi, rank0, plan, target):
    """Scatter points lo..hi-1: their indices (index mode) or values (copy mode)."""
    _walk(codes, words, repeat, lo, hi, rank0, plan, target)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=num_threads(), thread_name_prefix="fastsplit")


_compiled: set[tuple[Any, ...]] = set()


def _signature(arg: Any) -> Any:
    """What numba dispatches on, cheaply (``numba.typeof`` costs ~10 us an argument)."""
    if isinstance(arg, np.ndarray):
        return (arg.dtype.str, arg.ndim, arg.flags.c_contiguous, arg.flags.writeable)
    if isinstance(arg, tuple):
        return tuple(_signature(a) for a in arg)
    return type(arg)


_compile_lock = threading.Lock()


def _parallel(kernel: Any, jobs: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``kernel`` on each argument tuple, one thread each; return the results.

    Kernels release the GIL. The first call with new argument types runs alone:
    numba compiles on first call, and two threads compiling one dispatcher at
    once can corrupt it.
    """
    results: list[Any] = []
    if len(jobs) <= 1:  # nothing runs concurrently: no compile guard needed
        return [kernel(*job) for job in jobs]
    key = (kernel, *(_signature(arg) for arg in jobs[0]))
    if key not in _compiled:
        with _compile_lock:
            results.append(kernel(*jobs[0]))
            _compiled.add(key)
        jobs = jobs[1:]
    if len(jobs) == 1:
        results.append(kernel(*jobs[0]))
    elif jobs:
        results += [future.result() for future in [_pool().submit(kernel, *j) for j in jobs]]
    return results


def _segment_bounds(n: int) -> np.ndarray:
    """One input segment per thread, or fewer when segments would be small."""
    return np.linspace(0, n, segment_count(n, num_threads()) + 1).astype(np.int64)


class _Tables:
    """Everything the scatter kernels need: the block layout and each segment's first ranks."""

    def __init__(self, grouping: Grouping, plan: ChunkPlan) -> None:
        codes = grouping.codes
        k = plan.n_chunks
        q, r = plan.per_chunk, plan.extra
        nb1 = -(-(q + 1) // BLOCK)
        nb0 = -(-q // BLOCK)
        n_pairs = np.where(q > 0, k, r)
        blocks = r * nb1 + (n_pairs - r) * nb0
        blk_base = np.cumsum(blocks) - blocks
        pos_type = np.int32 if plan.chunk_size < 2**31 else np.int64
        block_pos = np.empty(int(blocks.sum()), dtype=pos_type)
        strided = plan.layout == "strided"
        self.plan = (q, r, plan.shift, nb1, nb0, blk_base, plan.bounds, block_pos, k, strided)
        self.seg_bounds = _segment_bounds(plan.n)
        n_seg = self.seg_bounds.size - 1
        split = np.linspace(0, k, n_seg + 1).astype(np.int64)
        max_blocks = int(nb1.sum())
        layout_jobs = [
            (int(split[i]), int(split[i + 1]), *self.plan[:6], k, block_pos, max_blocks)
            for i in range(n_seg)
        ]
        _parallel(_block_positions_range, layout_jobs)
        self.words = _words(codes)
        self.repeat = _REPEAT[codes.itemsize]
        if grouping.segments is not None and np.array_equal(grouping.segments[0], self.seg_bounds):
            seg_counts = grouping.segments[1]  # factorize counted these already
        else:
            seg_counts = np.zeros((n_seg, plan.n_groups), dtype=np.int64)
            count_jobs = [
                (codes, self.words, self.repeat, *self._segment(i), seg_counts[i])
                for i in range(n_seg)
            ]
            _parallel(_count_segment, count_jobs)
        self.rank0 = np.cumsum(seg_counts, axis=0) - seg_counts

    def _segment(self, i: int) -> tuple[int, int]:
        return int(self.seg_bounds[i]), int(self.seg_bounds[i + 1])

    def run(self, codes: np.ndarray, target: Any) -> None:
        """Scatter every input segment in parallel into ``target``."""
        jobs = [
            (codes, self.words, self.repeat, *self._segment(i), self.rank0[i], self.plan, target)
            for i in range(self.seg_bounds.size - 1)
        ]
        _parallel(_segment, jobs)


def order(grouping: Grouping, plan: ChunkPlan) -> np.ndarray:
    """The stratified permutation, by counting sort (index mode)."""
    out = np.empty(plan.n, dtype=index_dtype(plan.n))
    if plan.n:
        _Tables(grouping, plan).run(grouping.codes, out)
    return out


def _kernel_view(a: np.ndarray) -> np.ndarray | None:
    """The array's bytes as native unsigned ints (numba has no big-endian floats)."""
    if a.dtype.itemsize not in _BITS or a.dtype.hasobject:
        return None
    return a.view(_BITS[a.dtype.itemsize])


def reorder(
    grouping: Grouping, plan: ChunkPlan, arrays: tuple[Any, ...], order_cache: Any
) -> tuple[np.ndarray, ...]:
    """Copy mode: scatter every array straight into its output slot."""
    outs = tuple(np.empty(plan.n, dtype=np.asarray(a).dtype) for a in arrays)
    if plan.n == 0 or not arrays:
        return outs
    pairs = []
    leftovers = []
    for a, out in zip(arrays, outs, strict=True):
        view = _kernel_view(np.asarray(a))
        if view is None:
            leftovers.append((a, out))
        else:
            pairs.append((view, _kernel_view(out)))
    if pairs:
        _Tables(grouping, plan).run(grouping.codes, tuple(pairs))
    for a, out in leftovers:  # e.g. complex128: gather through the permutation
        np.take(a, order_cache(), out=out, mode="clip")
    return outs


__all__ = ["factorize", "name", "order", "remap", "reorder", "take"]
