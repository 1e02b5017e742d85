"""The fused parallel gather of the numba backend: ``a[indices]`` for many arrays at once.

Each thread takes one slice of the output and gathers it a block at a time,
every array's block before the next one, so the indices are read from memory
once for all arrays; int32 indices are used as they are (numpy's ``take``
converts them to int64 first and runs on one thread). Every array is a row of
the table of moves (``_numba_moves``): one compiled variant per index type,
whatever the dtypes and the number of arrays, with a loop per word size inside.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import jit, parallel, segment_bounds
from ._numba_moves import DST, DST_LEN, ORIGIN, SRC, SRC_LEN, STEP, WIDTH, WORD, copy_moves, words

_BLOCK = 2048
"""Output points of every array gathered before moving on (the indices stay in L1)."""


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
def _gather_segment(moves, indices, lo, hi):
    for start in range(lo, hi, _BLOCK):
        _gather_rows(moves, indices, start, min(start + _BLOCK, hi))


def gather(arrays: tuple[Any, ...], indices: np.ndarray) -> tuple[np.ndarray, ...]:
    """``a[indices]`` for every array, into fresh memory, dtypes preserved.

    ``indices`` (int32 or int64) must lie in ``0 .. len(a) - 1``: nothing checks.
    """
    sources = tuple(np.asarray(a) for a in arrays)
    indices = np.ascontiguousarray(indices)
    outs = tuple(np.empty(indices.shape[0], dtype=a.dtype) for a in sources)
    if not sources or not indices.shape[0]:
        return outs
    moves = copy_moves(sources, outs)
    seg = segment_bounds(indices.shape[0])
    parallel(
        _gather_segment,
        [(moves, indices, int(seg[s]), int(seg[s + 1])) for s in range(seg.size - 1)],
    )
    return outs


__all__ = ["gather"]
