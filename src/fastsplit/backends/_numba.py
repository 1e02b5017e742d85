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

from typing import Any

import numpy as np
from numba import literal_unroll, prange

from .._labels import Grouping, code_dtype, index_dtype, non_finite_error
from .._plan import BLOCK, ChunkPlan
from ._jit import jit, num_threads

name = "numba"

_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SUB = 1024  # destinations computed per pass over the arrays (fits L1)
_MIN_SEGMENT = 1 << 16  # below this many points per thread, threads cost more than they give


# --------------------------------------------------------------------------- factorize


@jit()
def _factorize(bits, float_bits, codes, max_groups):  # type: ignore[no-untyped-def]
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
    table_key = np.full(cap, _EMPTY, dtype=np.uint64)
    table_code = np.zeros(cap, dtype=np.int64)
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
        while table_key[slot] != _EMPTY and table_key[slot] != key:
            slot = (slot + np.uint64(1)) & mask
        if table_key[slot] == key:
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
                table_key = np.full(cap, _EMPTY, dtype=np.uint64)
                table_code = np.zeros(cap, dtype=np.int64)
                for c in range(n_groups):
                    s = (keys[c] * _GOLDEN) >> (np.uint64(64) - log_cap)
                    while table_key[s] != _EMPTY:
                        s = (s + np.uint64(1)) & mask
                    table_key[s] = keys[c]
                    table_code[s] = c
        codes[i] = code
        counts[code] += 1
        prev = b
        prev_code = code
        i += 1
    return 0, n_groups, keys[:n_groups], counts[:n_groups]


@jit(parallel=True)
def _remap(codes, table, out):  # type: ignore[no-untyped-def]
    for i in prange(codes.size):
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
    return Grouping(codes=codes.astype(code_dtype(n_groups), copy=False), groups=groups,
                    counts=counts)


def remap(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[codes]`` in parallel."""
    out = np.empty(codes.size, dtype=table.dtype)
    _remap(codes, table, out)
    return out


# ------------------------------------------------------------------ within-chunk layout


@jit()
def _heap_less(key, grp, a, b):  # type: ignore[no-untyped-def]
    return key[a] < key[b] or (key[a] == key[b] and grp[a] < grp[b])


@jit()
def _sift_down(key, grp, idx, size, base, pos, n):  # type: ignore[no-untyped-def]
    while True:
        left = 2 * pos + 1
        if left >= n:
            return
        best = left
        if left + 1 < n and _heap_less(key, grp, left + 1, left):
            best = left + 1
        if not _heap_less(key, grp, best, pos):
            return
        key[pos], key[best] = key[best], key[pos]
        grp[pos], grp[best] = grp[best], grp[pos]
        idx[pos], idx[best] = idx[best], idx[pos]
        size[pos], size[best] = size[best], size[pos]
        base[pos], base[best] = base[best], base[pos]
        pos = best


@jit()
def _pair_block(t, r, nb1, nb0):  # type: ignore[no-untyped-def]
    """Offset of pair (g, slot t) among group g's blocks."""
    if t < r:
        return t * nb1
    return r * nb1 + (t - r) * nb0


@jit(parallel=True)
def _block_positions(q, r, shift, nb1, nb0, blk_base, n_chunks, block_pos):  # type: ignore[no-untyped-def]
    n_groups = q.size
    for k in prange(n_chunks):
        key = np.empty(n_groups, dtype=np.float64)
        grp = np.empty(n_groups, dtype=np.int64)
        idx = np.empty(n_groups, dtype=np.int64)
        size = np.empty(n_groups, dtype=np.int64)
        base = np.empty(n_groups, dtype=np.int64)
        n = 0
        for g in range(n_groups):  # ascending g with equal keys: already a heap
            t = k - shift[g]
            if t < 0:
                t += n_chunks
            a = q[g] + (1 if t < r[g] else 0)
            if a > 0:
                key[n] = 0.0
                grp[n] = g
                idx[n] = 0
                size[n] = a
                base[n] = blk_base[g] + _pair_block(t, r[g], nb1[g], nb0[g])
                n += 1
        p = 0
        while n > 0:
            i = idx[0]
            a = size[0]
            block_pos[base[0] + i] = p
            p += min(16, a - 16 * i)
            i += 1
            if 16 * i < a:
                idx[0] = i
                key[0] = np.float64(i) / np.float64(a)
            else:
                n -= 1
                key[0] = key[n]
                grp[0] = grp[n]
                idx[0] = idx[n]
                size[0] = size[n]
                base[0] = base[n]
            _sift_down(key, grp, idx, size, base, 0, n)


# ---------------------------------------------------------------------------- scatter


@jit(parallel=True)
def _segment_counts(codes, n_groups, seg_bounds):  # type: ignore[no-untyped-def]
    n_seg = seg_bounds.size - 1
    counts = np.zeros((n_seg, n_groups), dtype=np.int64)
    for s in prange(n_seg):
        for i in range(seg_bounds[s], seg_bounds[s + 1]):
            counts[s, codes[i]] += 1
    return counts


@jit()
def _start_state(rank0, q, r, shift, n_chunks, strided, st_a, st_b, st_c):  # type: ignore[no-untyped-def]
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
def _fill_dest(codes, i0, i1, buf, q, r, shift, nb1, nb0, blk_base, bounds, block_pos,
               n_chunks, strided, st_a, st_b, st_c):  # type: ignore[no-untyped-def]
    for i in range(i0, i1):
        g = codes[i]
        if strided:
            t = st_a[g]
            m = st_b[g]
            k = t + shift[g]
            if k >= n_chunks:
                k -= n_chunks
            nt = t + 1
            if nt == n_chunks:
                st_a[g] = 0
                st_b[g] = m + 1
            else:
                st_a[g] = nt
        else:
            while st_c[g] == 0:  # move to the next chunk holding points of g
                st_a[g] += 1
                tt = st_a[g] - shift[g]
                if tt < 0:
                    tt += n_chunks
                st_b[g] = 0
                st_c[g] = q[g] + (1 if tt < r[g] else 0)
            k = st_a[g]
            m = st_b[g]
            t = k - shift[g]
            if t < 0:
                t += n_chunks
            st_b[g] = m + 1
            st_c[g] -= 1
        blk = blk_base[g] + _pair_block(t, r[g], nb1[g], nb0[g]) + (m >> 4)
        buf[i - i0] = bounds[k] + block_pos[blk] + (m & 15)


@jit(parallel=True)
def _scatter_index(codes, seg_bounds, rank0, q, r, shift, nb1, nb0, blk_base, bounds,
                   block_pos, n_chunks, strided, order):  # type: ignore[no-untyped-def]
    n_groups = q.size
    for s in prange(seg_bounds.size - 1):
        st_a = np.empty(n_groups, dtype=np.int64)
        st_b = np.empty(n_groups, dtype=np.int64)
        st_c = np.empty(n_groups, dtype=np.int64)
        _start_state(rank0[s], q, r, shift, n_chunks, strided, st_a, st_b, st_c)
        buf = np.empty(_SUB, dtype=np.int64)
        for i0 in range(seg_bounds[s], seg_bounds[s + 1], _SUB):
            i1 = min(i0 + _SUB, seg_bounds[s + 1])
            _fill_dest(codes, i0, i1, buf, q, r, shift, nb1, nb0, blk_base, bounds,
                       block_pos, n_chunks, strided, st_a, st_b, st_c)
            for u in range(i1 - i0):
                order[buf[u]] = i0 + u


@jit()
def _copy_segment(codes, lo, hi, rank0, q, r, shift, nb1, nb0, blk_base, bounds, block_pos,
                  n_chunks, strided, pairs):  # type: ignore[no-untyped-def]
    n_groups = q.size
    st_a = np.empty(n_groups, dtype=np.int64)
    st_b = np.empty(n_groups, dtype=np.int64)
    st_c = np.empty(n_groups, dtype=np.int64)
    _start_state(rank0, q, r, shift, n_chunks, strided, st_a, st_b, st_c)
    buf = np.empty(_SUB, dtype=np.int64)
    for i0 in range(lo, hi, _SUB):
        i1 = min(i0 + _SUB, hi)
        _fill_dest(codes, i0, i1, buf, q, r, shift, nb1, nb0, blk_base, bounds, block_pos,
                   n_chunks, strided, st_a, st_b, st_c)
        for pair in literal_unroll(pairs):
            src = pair[0]
            dst = pair[1]
            for u in range(i1 - i0):
                dst[buf[u]] = src[i0 + u]


@jit(parallel=True)
def _scatter_copy(codes, seg_bounds, rank0, q, r, shift, nb1, nb0, blk_base, bounds,
                  block_pos, n_chunks, strided, pairs):  # type: ignore[no-untyped-def]
    for s in prange(seg_bounds.size - 1):
        _copy_segment(codes, seg_bounds[s], seg_bounds[s + 1], rank0[s], q, r, shift, nb1, nb0,
                      blk_base, bounds, block_pos, n_chunks, strided, pairs)


class _Tables:
    """Everything the scatter kernels need, derived from the plan in O(K x G)."""

    def __init__(self, codes: np.ndarray, plan: ChunkPlan) -> None:
        k = plan.n_chunks
        q, r = plan.per_chunk, plan.extra
        self.nb1 = -(-(q + 1) // BLOCK)
        self.nb0 = -(-q // BLOCK)
        n_pairs = np.where(q > 0, k, r)
        blocks = r * self.nb1 + (n_pairs - r) * self.nb0
        self.blk_base = np.cumsum(blocks) - blocks
        pos_type = np.int32 if plan.chunk_size < 2**31 else np.int64
        self.block_pos = np.empty(int(blocks.sum()), dtype=pos_type)
        _block_positions(q, r, plan.shift, self.nb1, self.nb0, self.blk_base, k,
                         self.block_pos)
        n_seg = max(1, min(num_threads(), plan.n // _MIN_SEGMENT))
        self.seg_bounds = np.linspace(0, plan.n, n_seg + 1).astype(np.int64)
        seg_counts = _segment_counts(codes, plan.n_groups, self.seg_bounds)
        self.rank0 = np.cumsum(seg_counts, axis=0) - seg_counts
        self.args = (self.seg_bounds, self.rank0, q, r, plan.shift, self.nb1, self.nb0,
                     self.blk_base, plan.bounds, self.block_pos, k, plan.layout == "strided")


def order(codes: np.ndarray, plan: ChunkPlan) -> np.ndarray:
    """The stratified permutation, by counting sort (index mode)."""
    out = np.empty(plan.n, dtype=index_dtype(plan.n))
    if plan.n:
        tables = _Tables(codes, plan)
        _scatter_index(codes, *tables.args, out)
    return out


def _kernel_view(a: np.ndarray) -> np.ndarray | None:
    """The array's bytes as native unsigned ints (numba has no big-endian floats)."""
    if a.dtype.itemsize not in _BITS or a.dtype.hasobject:
        return None
    return a.view(_BITS[a.dtype.itemsize])


def reorder(codes: np.ndarray, plan: ChunkPlan, arrays: tuple[Any, ...],
            order_cache: Any) -> tuple[np.ndarray, ...]:
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
        _scatter_copy(codes, *tables.args, tuple(pairs))
    for a, out in leftovers:  # e.g. complex128: gather through the permutation
        np.take(a, order_cache(), out=out, mode="clip")
    return outs


def take(array: Any, indices: np.ndarray) -> np.ndarray:
    """``array[indices]`` into fresh memory, dtype preserved."""
    out = np.empty(indices.shape[0], dtype=array.dtype)
    np.take(array, indices, out=out, mode="clip")
    return out
