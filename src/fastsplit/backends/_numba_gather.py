"""The fused parallel gather of the numba backend: ``a[indices]`` for many arrays at once.

Every array is a row of the table of moves (``_numba_moves``): one compiled
variant per index type (int32 indices are used as they are; numpy's ``take``
converts them to int64 first and runs on one thread), whatever the dtypes and
the number of arrays, with a loop per word size inside.

Gathering a whole permutation chunk by chunk would read every input cache line
once per chunk: in the strided layout chunk k takes ranks t, t + K, ... of every
group, and chunk k + 1 the ranks next to them. So when the chunk ``bounds`` are
given, ``LOCKSTEP`` consecutive chunks are gathered together, position by
position: their reads fall on the same input lines while those are in cache,
and every output is still written in order, whole lines at a time. Each thread
takes its share of the positions of every chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import jit, num_threads, parallel
from ._numba_moves import (
    DST,
    DST_LEN,
    ORIGIN,
    SRC,
    SRC_LEN,
    STEP,
    WIDTH,
    WORD,
    copy_moves,
    words,
)

LOCKSTEP = 16
"""Chunks gathered together (16 float64 reads of one group's rows share 2 cache lines)."""

_BLOCK = 256

MIN_PART = 1 << 14
"""Fewest output points a thread gathers (a chunk of 100,000 is shared by 2 threads)."""
"""Positions of each chunk gathered before moving to the next chunk of the lockstep."""


@jit()
def _take(src, origin, step, width, dst, indices, lo, hi):
    """Output points lo .. hi - 1 (width words each) from input points indices[lo:hi]."""
    if width == 1:
        for p in range(lo, hi):
            dst[p] = src[origin + indices[p] * step]
        return
    for p in range(lo, hi):
        first = origin + indices[p] * step
        for j in range(width):
            dst[p * width + j] = src[first + j]


@jit()
def _gather_rows(moves, indices, lo, hi):
    """Output points lo .. hi - 1 of every row of the table of moves."""
    for r in range(moves.shape[0]):
        word = moves[r, WORD]
        src, n_src = moves[r, SRC], moves[r, SRC_LEN]
        dst, n_dst = moves[r, DST], moves[r, DST_LEN]
        at = (moves[r, ORIGIN], moves[r, STEP], moves[r, WIDTH])
        span = (indices, lo, hi)
        if word == 8:
            _take(words(src, n_src, np.uint64), *at, words(dst, n_dst, np.uint64), *span)
        elif word == 4:
            _take(words(src, n_src, np.uint32), *at, words(dst, n_dst, np.uint32), *span)
        elif word == 2:
            _take(words(src, n_src, np.uint16), *at, words(dst, n_dst, np.uint16), *span)
        else:
            _take(words(src, n_src, np.uint8), *at, words(dst, n_dst, np.uint8), *span)


@jit()
def _gather_part(moves, indices, bounds, part, parts):
    """Share ``part`` of ``parts`` of every chunk's positions, LOCKSTEP chunks at a time."""
    n_chunks = bounds.size - 1
    for first in range(0, n_chunks, LOCKSTEP):
        last = min(first + LOCKSTEP, n_chunks)
        size = 0
        for k in range(first, last):
            size = max(size, bounds[k + 1] - bounds[k])
        q0 = size * part // parts
        q1 = size * (part + 1) // parts
        for q in range(q0, q1, _BLOCK):
            for k in range(first, last):
                lo = bounds[k] + q
                hi = min(bounds[k] + min(q + _BLOCK, q1), bounds[k + 1])
                if lo < hi:
                    _gather_rows(moves, indices, lo, hi)


def gather(
    arrays: tuple[Any, ...], indices: np.ndarray, bounds: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """``a[indices]`` for every array, into fresh memory, dtypes preserved.

    ``indices`` (int32 or int64) must lie in ``0 .. len(a) - 1``: nothing checks.
    ``bounds`` (int64): ``indices`` is a permutation cut into these chunks, gathered
    in lockstep (see the module docstring); by default one chunk.
    """
    sources = tuple(np.asarray(a) for a in arrays)
    indices = np.ascontiguousarray(indices)
    m = indices.shape[0]
    outs, moves = copy_moves(sources, m)
    if not moves.shape[0] or not m:
        return outs
    if bounds is None:
        bounds = np.array([0, m], dtype=np.int64)
    parts = max(1, min(num_threads(), m // MIN_PART))
    parallel(_gather_part, [(moves, indices, bounds, part, parts) for part in range(parts)])
    return outs


__all__ = ["LOCKSTEP", "gather"]
