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
from numba import literal_unroll

from .._labels import Grouping, code_dtype, index_dtype, non_finite_error
from .._plan import BLOCK, ChunkPlan
from ._jit import jit, num_threads

name = "numba"

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SUB = 1024  # destinations computed per pass over the arrays (fits L1)
_MIN_SEGMENT = 1 << 16  # below this many points per thread, threads cost more than they give


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
    """Ascending unique labels, counts and per-point codes, in O(n)."""
    kind = labels.dtype.kind
    bits = labels.view(_BITS[labels.dtype.itemsize])
    float_bits = 8 * labels.dtype.itemsize if kind == "f" else 0
    max_groups = 256
    while True:
        codes = np.empty(labels.size, dtype=code_dtype(max_groups))
        status, n_groups, keys, counts = _factorize(bits, float_bits, codes, max_groups)
        if status != 1:
            break
        max_groups = 65536 if max_groups == 256 else 2**32
    if status == 2:
        raise non_finite_error(labels, int(n_groups))
    values = keys.astype(bits.dtype).view(labels.dtype)
    ascending = np.argsort(values, kind="stable")
    groups = values[ascending]
    counts = counts[ascending]
    if n_groups and (ascending != np.arange(n_groups)).any():
        rank = np.empty(n_groups, dtype=codes.dtype)
        rank[ascending] = np.arange(n_groups, dtype=codes.dtype)
        codes = remap(codes, rank)
    return Grouping(
        codes=codes.astype(code_dtype(n_groups), copy=False), groups=groups, counts=counts
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
def _chunk_blocks(k, q, r, shift, nb1, nb0, blk_base, n_chunks, block_pos, scratch):
    """Lay out chunk k's blocks by (key = i / a, group) and record their starts.

    Keys lie in [0, 1/16); bucketing by floor(key * 16 * B) over B buckets is
    monotone in the key (IEEE multiplication by a positive constant is), so a
    counting sort on buckets plus an insertion sort inside each (about one block
    per bucket) gives exactly the (key, group) order in O(B).
    """
    n_groups = q.size
    total = 0
    for g in range(n_groups):
        t = k - shift[g]
        if t < 0:
            t += n_chunks
        a = q[g] + (1 if t < r[g] else 0)
        total += (a + 15) >> 4
    bucket_start = scratch[0]
    sorted_group = scratch[1]
    sorted_block = scratch[2]
    bucket_start[: total + 1] = 0
    scale = 16.0 * total
    for g in range(n_groups):
        t = k - shift[g]
        if t < 0:
            t += n_chunks
        a = q[g] + (1 if t < r[g] else 0)
        for i in range((a + 15) >> 4):
            b = int((np.float64(i) / np.float64(a)) * scale)
            bucket_start[b + 1] += 1
    for b in range(total):
        bucket_start[b + 1] += bucket_start[b]
    fill = scratch[3]
    fill[:total] = bucket_start[:total]
    for g in range(n_groups):
        t = k - shift[g]
        if t < 0:
            t += n_chunks
        a = q[g] + (1 if t < r[g] else 0)
        for i in range((a + 15) >> 4):
            b = int((np.float64(i) / np.float64(a)) * scale)
            slot = fill[b]
            fill[b] += 1
            # insertion sort by (key, group) inside the bucket; entries arrive in
            # ascending group order, so only a smaller key moves left
            key = np.float64(i) / np.float64(a)
            lo = bucket_start[b]
            while slot > lo:
                pg = sorted_group[slot - 1]
                pt = k - shift[pg]
                if pt < 0:
                    pt += n_chunks
                pa = q[pg] + (1 if pt < r[pg] else 0)
                if np.float64(sorted_block[slot - 1]) / np.float64(pa) <= key:
                    break
                sorted_group[slot] = pg
                sorted_block[slot] = sorted_block[slot - 1]
                slot -= 1
            sorted_group[slot] = g
            sorted_block[slot] = i
    p = 0
    for u in range(total):
        g = sorted_group[u]
        i = sorted_block[u]
        t = k - shift[g]
        if t < 0:
            t += n_chunks
        a = q[g] + (1 if t < r[g] else 0)
        block_pos[blk_base[g] + _pair_block(t, r[g], nb1[g], nb0[g]) + i] = p
        p += min(16, a - 16 * i)


@jit()
def _block_positions_range(
    k0, k1, q, r, shift, nb1, nb0, blk_base, n_chunks, block_pos, max_blocks
):
    scratch = np.empty((4, max_blocks + 1), dtype=np.int64)
    for k in range(k0, k1):
        _chunk_blocks(k, q, r, shift, nb1, nb0, blk_base, n_chunks, block_pos, scratch)


# ---------------------------------------------------------------------------- scatter


@jit()
def _start_state(rank0, q, r, shift, n_chunks, strided, st_a, st_b, st_c):
    """Per-group walking state at the segment's first ranks.

    strided: a = slot t, b = rank within the chunk m.
    contiguous: a = chunk k, b = rank within the chunk m, c = points left in (k, g).
    """
    for g in range(q.size):
        j = rank0[g]
        if strided:
            st_a[g] = j % n_chunks
            st_b[g] = j // n_chunks
            st_c[g] = 0
        else:
            k = 0
            while True:
                t = k - shift[g]
                if t < 0:
                    t += n_chunks
                a = q[g] + (1 if t < r[g] else 0)
                if j < a or k == n_chunks - 1:
                    break
                j -= a
                k += 1
            st_a[g] = k
            st_b[g] = j
            st_c[g] = a - j


@jit()
def _fill_dest(
    codes,
    i0,
    i1,
    buf,
    q,
    r,
    shift,
    nb1,
    nb0,
    blk_base,
    bounds,
    block_pos,
    n_chunks,
    strided,
    st_a,
    st_b,
    st_c,
):
    """Output position of points i0..i1-1 into ``buf``; runs of one group share set-up."""
    i = i0
    while i < i1:
        g = codes[i]
        j = i + 1
        while j < i1 and codes[j] == g:
            j += 1
        rg = r[g]
        n1 = nb1[g]
        n0 = nb0[g]
        base = blk_base[g]
        sg = shift[g]
        if strided:
            t = st_a[g]
            m = st_b[g]
            k = t + sg
            if k >= n_chunks:
                k -= n_chunks
            for u in range(i, j):
                blk = base + (t * n1 if t < rg else rg * n1 + (t - rg) * n0) + (m >> 4)
                buf[u - i0] = bounds[k] + block_pos[blk] + (m & 15)
                t += 1
                k += 1
                if k == n_chunks:
                    k = 0
                if t == n_chunks:
                    t = 0
                    m += 1
            st_a[g] = t
            st_b[g] = m
        else:
            k = st_a[g]
            m = st_b[g]
            left = st_c[g]
            for u in range(i, j):
                while left == 0:  # move to the next chunk holding points of g
                    k += 1
                    tt = k - sg
                    if tt < 0:
                        tt += n_chunks
                    m = 0
                    left = q[g] + (1 if tt < rg else 0)
                t = k - sg
                if t < 0:
                    t += n_chunks
                blk = base + (t * n1 if t < rg else rg * n1 + (t - rg) * n0) + (m >> 4)
                buf[u - i0] = bounds[k] + block_pos[blk] + (m & 15)
                m += 1
                left -= 1
            st_a[g] = k
            st_b[g] = m
            st_c[g] = left
        i = j


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
def _tile_starts(g, b, q, r, shift, nb1, nb0, blk_base, bounds, block_pos, n_chunks, tile):
    """Strided layout: output start of block b of group g in every slot t."""
    rg = r[g]
    n1 = nb1[g]
    n0 = nb0[g]
    base = blk_base[g] + b
    k = shift[g]
    for t in range(n_chunks):
        blk = base + (t * n1 if t < rg else rg * n1 + (t - rg) * n0)
        tile[t] = bounds[k] + block_pos[blk]
        k += 1
        if k == n_chunks:
            k = 0


@jit()
def _tile_span(g, i, j, st_a, st_b, n_chunks, strided):
    """How the walk continues at point i of a run ending at j.

    Returns (is_tile, stop): a whole tile (16 rows x K slots of the strided layout,
    where every slot's 16 points fill one block) starts at i, or points i..stop-1
    go through the per-point path.
    """
    if not strided:
        return False, j
    span = 16 * n_chunks
    rank = st_b[g] * n_chunks + st_a[g]
    to_boundary = (-rank) % span
    if to_boundary == 0 and j - i >= span:
        return True, i + span
    return False, min(j, i + (to_boundary if to_boundary else span))


@jit()
def _index_segment(
    codes,
    words,
    repeat,
    lo,
    hi,
    rank0,
    q,
    r,
    shift,
    nb1,
    nb0,
    blk_base,
    bounds,
    block_pos,
    n_chunks,
    strided,
    order,
):
    n_groups = q.size
    st_a = np.empty(n_groups, dtype=np.int64)
    st_b = np.empty(n_groups, dtype=np.int64)
    st_c = np.empty(n_groups, dtype=np.int64)
    _start_state(rank0, q, r, shift, n_chunks, strided, st_a, st_b, st_c)
    buf = np.empty(_SUB, dtype=np.int64)
    tile = np.empty(n_chunks, dtype=np.int64)
    i = lo
    while i < hi:
        j = _run_end(codes, words, repeat, i, hi)
        g = codes[i]
        while i < j:
            is_tile, stop = _tile_span(g, i, j, st_a, st_b, n_chunks, strided)
            if is_tile:
                _tile_starts(
                    g,
                    st_b[g] >> 4,
                    q,
                    r,
                    shift,
                    nb1,
                    nb0,
                    blk_base,
                    bounds,
                    block_pos,
                    n_chunks,
                    tile,
                )
                for t in range(n_chunks):
                    p0 = tile[t]
                    for u in range(16):
                        order[p0 + u] = i + t + u * n_chunks
                st_b[g] += 16
                i = stop
                continue
            while i < stop:
                i1 = min(i + _SUB, stop)
                _fill_dest(
                    codes,
                    i,
                    i1,
                    buf,
                    q,
                    r,
                    shift,
                    nb1,
                    nb0,
                    blk_base,
                    bounds,
                    block_pos,
                    n_chunks,
                    strided,
                    st_a,
                    st_b,
                    st_c,
                )
                for u in range(i1 - i):
                    order[buf[u]] = i + u
                i = i1


@jit()
def _copy_tile(pairs, tile, i, n_chunks):
    for pair in literal_unroll(pairs):
        src, dst = pair
        for t in range(n_chunks):
            p0 = tile[t]
            for u in range(16):
                dst[p0 + u] = src[i + t + u * n_chunks]


@jit()
def _copy_points(pairs, buf, i, count):
    for pair in literal_unroll(pairs):
        src, dst = pair
        for u in range(count):
            dst[buf[u]] = src[i + u]


@jit()
def _copy_segment(
    codes,
    words,
    repeat,
    lo,
    hi,
    rank0,
    q,
    r,
    shift,
    nb1,
    nb0,
    blk_base,
    bounds,
    block_pos,
    n_chunks,
    strided,
    pairs,
):
    n_groups = q.size
    st_a = np.empty(n_groups, dtype=np.int64)
    st_b = np.empty(n_groups, dtype=np.int64)
    st_c = np.empty(n_groups, dtype=np.int64)
    _start_state(rank0, q, r, shift, n_chunks, strided, st_a, st_b, st_c)
    buf = np.empty(_SUB, dtype=np.int64)
    tile = np.empty(n_chunks, dtype=np.int64)
    i = lo
    while i < hi:
        j = _run_end(codes, words, repeat, i, hi)
        g = codes[i]
        while i < j:
            is_tile, stop = _tile_span(g, i, j, st_a, st_b, n_chunks, strided)
            if is_tile:
                _tile_starts(
                    g,
                    st_b[g] >> 4,
                    q,
                    r,
                    shift,
                    nb1,
                    nb0,
                    blk_base,
                    bounds,
                    block_pos,
                    n_chunks,
                    tile,
                )
                _copy_tile(pairs, tile, i, n_chunks)
                st_b[g] += 16
                i = stop
                continue
            while i < stop:
                i1 = min(i + _SUB, stop)
                _fill_dest(
                    codes,
                    i,
                    i1,
                    buf,
                    q,
                    r,
                    shift,
                    nb1,
                    nb0,
                    blk_base,
                    bounds,
                    block_pos,
                    n_chunks,
                    strided,
                    st_a,
                    st_b,
                    st_c,
                )
                _copy_points(pairs, buf, i, i1 - i)
                i = i1


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


def _parallel(kernel: Any, jobs: list[tuple[Any, ...]]) -> None:
    """Run ``kernel`` on each argument tuple, one thread each (kernels release the GIL).

    The first call with new argument types runs alone: numba compiles on first
    call, and two threads compiling one dispatcher at once can corrupt it.
    """
    key = (kernel, *(_signature(arg) for arg in jobs[0]))
    if key not in _compiled:
        with _compile_lock:
            kernel(*jobs[0])
            _compiled.add(key)
        jobs = jobs[1:]
    if len(jobs) == 1:
        kernel(*jobs[0])
    elif jobs:
        for future in [_pool().submit(kernel, *job) for job in jobs]:
            future.result()


class _Tables:
    """Everything the scatter kernels need: the block layout and each segment's first ranks."""

    def __init__(self, codes: np.ndarray, plan: ChunkPlan) -> None:
        k = plan.n_chunks
        q, r = plan.per_chunk, plan.extra
        nb1 = -(-(q + 1) // BLOCK)
        nb0 = -(-q // BLOCK)
        n_pairs = np.where(q > 0, k, r)
        blocks = r * nb1 + (n_pairs - r) * nb0
        blk_base = np.cumsum(blocks) - blocks
        pos_type = np.int32 if plan.chunk_size < 2**31 else np.int64
        block_pos = np.empty(int(blocks.sum()), dtype=pos_type)
        n_threads = max(1, min(num_threads(), plan.n // _MIN_SEGMENT))
        self.args = (
            q,
            r,
            plan.shift,
            nb1,
            nb0,
            blk_base,
            plan.bounds,
            block_pos,
            k,
            plan.layout == "strided",
        )
        split = np.linspace(0, k, n_threads + 1).astype(np.int64)
        layout_jobs = [
            (int(split[i]), int(split[i + 1]), *self.args[:6], k, block_pos, int(nb1.sum()))
            for i in range(n_threads)
        ]
        _parallel(_block_positions_range, layout_jobs)
        self.words = _words(codes)
        self.repeat = _REPEAT[codes.itemsize]
        self.seg_bounds = np.linspace(0, plan.n, n_threads + 1).astype(np.int64)
        seg_counts = np.zeros((n_threads, plan.n_groups), dtype=np.int64)
        _parallel(
            _count_segment,
            [
                (codes, self.words, self.repeat, *self._segment(i), seg_counts[i])
                for i in range(n_threads)
            ],
        )
        self.rank0 = np.cumsum(seg_counts, axis=0) - seg_counts

    def _segment(self, i: int) -> tuple[int, int]:
        return int(self.seg_bounds[i]), int(self.seg_bounds[i + 1])

    def run(self, kernel: Any, codes: np.ndarray, *extra: Any) -> None:
        """Run a scatter kernel on every input segment in parallel."""
        _parallel(
            kernel,
            [
                (
                    codes,
                    self.words,
                    self.repeat,
                    *self._segment(i),
                    self.rank0[i],
                    *self.args,
                    *extra,
                )
                for i in range(self.seg_bounds.size - 1)
            ],
        )


def order(codes: np.ndarray, plan: ChunkPlan) -> np.ndarray:
    """The stratified permutation, by counting sort (index mode)."""
    out = np.empty(plan.n, dtype=index_dtype(plan.n))
    if plan.n:
        tables = _Tables(codes, plan)
        tables.run(_index_segment, codes, out)
    return out


def _kernel_view(a: np.ndarray) -> np.ndarray | None:
    """The array's bytes as native unsigned ints (numba has no big-endian floats)."""
    if a.dtype.itemsize not in _BITS or a.dtype.hasobject:
        return None
    return a.view(_BITS[a.dtype.itemsize])


def reorder(
    codes: np.ndarray, plan: ChunkPlan, arrays: tuple[Any, ...], order_cache: Any
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
        tables = _Tables(codes, plan)
        tables.run(_copy_segment, codes, tuple(pairs))
    for a, out in leftovers:  # e.g. complex128: gather through the permutation
        np.take(a, order_cache(), out=out, mode="clip")
    return outs


def take(array: Any, indices: np.ndarray) -> np.ndarray:
    """``array[indices]`` into fresh memory, dtype preserved."""
    out = np.empty(indices.shape[0], dtype=array.dtype)
    np.take(array, indices, out=out, mode="clip")
    return out
