"""Labels -> codes in O(n) with numba: a hash table per thread, merged.

A small open-addressing hash table on the labels' bit patterns (-0.0 folded onto
0.0, NaN/inf refused), with a fast path that copies the code over runs of equal
labels (angle-major data is almost all runs, skipped 64 labels at a time). Each
thread factorizes its own segment; the small per-segment tables are merged and a
segment's codes rewritten only where its numbering differs.
"""

from __future__ import annotations

import numpy as np

from .._labels import Grouping, code_dtype, non_finite_error
from ._jit import jit, parallel, segment_bounds
from ._numba_moves import WORD_TYPES, source, words

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@jit(inline=True)
def _grown(a):
    """``a`` in an array twice as long (numpy calls cost seconds of compile time; loops don't)."""
    out = np.zeros(2 * a.size, dtype=a.dtype)
    for c in range(a.size):
        out[c] = a[c]
    return out


@jit()
def _factorize(low, span, first, step, n, probe, float_bits, max_groups, codes):
    """Codes in first-appearance order. Returns (status, n_groups, keys, counts).

    The n labels are words of ``probe``'s type at word ``first + i * step`` of the
    ``span`` words from address ``low`` (``_numba_moves``: one compiled variant
    for read-only, strided or memory-mapped labels alike).

    status: 0 ok, 1 more than ``max_groups`` groups (retry with wider codes),
    2 non-finite label at index ``n_groups``.
    """
    bits = words(low, span, probe.dtype)
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
    table_code = np.zeros(cap, dtype=np.int64)  # code + 1; 0: empty (any key value is valid)
    keys = np.zeros(16, dtype=np.uint64)
    counts = np.zeros(16, dtype=np.int64)
    n_groups = 0
    prev = np.uint64(0)
    prev_code = -1
    i = 0
    while i < n:
        b = np.uint64(bits[first + i * step])
        if prev_code >= 0 and b == prev:
            j = i + 1
            while j + 64 <= n:
                diff = np.uint64(0)
                for u in range(64):
                    diff |= np.uint64(bits[first + (j + u) * step]) ^ prev
                if diff:
                    break
                j += 64
            while j < n and np.uint64(bits[first + j * step]) == prev:
                j += 1
            for u in range(i, j):
                codes[u] = prev_code
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
        while table_code[slot] and table_key[slot] != key:
            slot = (slot + np.uint64(1)) & mask
        if table_code[slot]:
            code = table_code[slot] - 1
        else:
            if n_groups == max_groups:
                return 1, n_groups, keys, counts
            code = n_groups
            n_groups += 1
            table_key[slot] = key
            table_code[slot] = code + 1
            if n_groups > keys.size:
                keys = _grown(keys)
                counts = _grown(counts)
            keys[code] = key
            if 2 * n_groups > cap:  # keep load below 1/2: grow and rehash
                cap *= 2
                log_cap += np.uint64(1)
                mask = np.uint64(cap - 1)
                table_key = np.zeros(cap, dtype=np.uint64)
                table_code = np.zeros(cap, dtype=np.int64)
                for c in range(n_groups):
                    s = (keys[c] * _GOLDEN) >> (np.uint64(64) - log_cap)
                    while table_code[s]:
                        s = (s + np.uint64(1)) & mask
                    table_key[s] = keys[c]
                    table_code[s] = c + 1
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


def _is_identity(table: np.ndarray) -> bool:
    """``table == arange(size)``: strictly increasing up to size - 1."""
    if not table.size:
        return True
    return int(table[-1]) == table.size - 1 and bool((table[1:] > table[:-1]).all())


def factorize(labels: np.ndarray) -> Grouping:
    """Ascending unique labels, counts and per-point codes, in O(n).

    Each thread factorizes its own segment; the small per-segment tables are then
    merged and a segment's codes rewritten only where its numbering differs.
    """
    word, _, low, origin, step, span = source(labels)
    if word != labels.dtype.itemsize:  # a misaligned or oddly strided view: rare, copied
        labels = labels.copy()  # fresh memory is aligned
        word, _, low, origin, step, span = source(labels)
    probe = np.empty(0, dtype=WORD_TYPES[word])  # kernels read bits, not numbers
    float_bits = 8 * labels.dtype.itemsize if labels.dtype.kind == "f" else 0
    spans = segment_bounds(labels.size)
    max_groups = 256
    while True:
        codes = np.empty(labels.size, dtype=code_dtype(max_groups))
        kinds = (float_bits, max_groups)
        found = parallel(
            _factorize,
            [
                (low, span, origin + lo * step, step, hi - lo, probe, *kinds, codes[lo:hi])
                for lo, hi in spans
            ],
        )
        if any(f[0] == 2 for f in found):
            bad = [lo + int(f[1]) for (lo, _), f in zip(spans, found, strict=True) if f[0] == 2]
            raise non_finite_error(labels, min(bad))
        if all(f[0] == 0 for f in found):
            break
        max_groups = 65536 if max_groups == 256 else 2**32  # a segment overflowed: redo
    values = [f[2].astype(probe.dtype).view(labels.dtype) for f in found]
    # Codes are numbered by first appearance; the groups ascend by value.
    groups = np.unique(np.concatenate(values)) if len(values) > 1 else np.sort(values[0])
    # Every segment fits its codes, but together they may need a wider type: the
    # merge pass below then writes the global codes into a wider array.
    merged = codes if groups.size <= max_groups else np.empty(labels.size, code_dtype(groups.size))
    counts = np.zeros((len(spans), groups.size), dtype=np.int64)
    jobs = []
    for s, ((lo, hi), local, found_s) in enumerate(zip(spans, values, found, strict=True)):
        table = groups.searchsorted(local).astype(merged.dtype)
        counts[s, table] = found_s[3]
        if merged is not codes or not _is_identity(table):
            jobs.append((codes[lo:hi], table, merged[lo:hi]))
    if jobs:
        parallel(_remap, jobs)
    # The per-segment counts spare the scatter its own counting pass.
    return Grouping(
        codes=merged,
        groups=groups,
        counts=counts.sum(axis=0),
        scatter_hint=(spans, counts),
    )


def remap(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[codes]``."""
    out = np.empty(codes.size, dtype=table.dtype)
    parallel(_remap, [(codes, table, out)])
    return out


__all__ = ["factorize", "remap"]
