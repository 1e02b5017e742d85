"""The one writer of the scatter walk: apply every move to a buffer of runs.

The walk collects *runs* in a small buffer: run r sends the ``runs[N, r]`` input
points ``runs[S, r] + u * runs[K, r]`` to the consecutive output positions
``runs[D, r] + u``. A tile slot of the strided layout is a run of 16 points K
apart, a block of the contiguous layout a run of 16 consecutive points, a point
at the end of a group's run a run of one. :func:`emit` goes through the table
of moves (:mod:`._numba_moves`) row by row, views the row's memory as words of
its size and runs that size's loop over the buffer: copy rows copy the points'
words, the index row writes the input index itself. The loops are compiled once
per word size (1, 2, 4, 8 bytes) and index width, whatever the dtypes and
however many arrays there are; each row's memory is touched in one tight loop.
Whole blocks of 8-byte words (128 bytes) are written with streaming stores,
which skip reading the lines first (measured: copy mode ~25 % faster; narrower
blocks rarely cover whole lines and are slower streamed).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from ._numba_moves import (
    DST,
    DST_LEN,
    INDEX,
    KIND,
    ORIGIN,
    SRC,
    SRC_LEN,
    STEP,
    WIDTH,
    WORD,
    store_stream,
    words,
)

S, K, D, N = range(4)
"""Rows of the run buffer: first input point, input stride, first output position, length."""

RUNS = 128
"""Runs per buffer (16 points each on the fast paths: ~2048 points per call of :func:`emit`)."""


@jit()
def _copy(src, origin, step, width, dst, runs, n_runs, index):
    """Every run's points (width words each, step words apart) to their output positions.

    ``index``: write each point's input index instead (the permutation; one word).
    """
    for r in range(n_runs):
        s, k, d, m = runs[S, r], runs[K, r], runs[D, r], runs[N, r]
        if index:
            for u in range(m):
                dst[d + u] = s + u * k
            continue
        if width == 1:
            base = origin + s * step
            stride = k * step
            if m == 16 and dst.itemsize == 8:  # a whole block of 2 lines: streamed, unrolled
                for u in range(16):
                    store_stream(dst, d + u, src[base + u * stride])  # type: ignore[call-arg]
            elif m == 16:
                for u in range(16):
                    dst[d + u] = src[base + u * stride]
            else:
                for u in range(m):
                    dst[d + u] = src[base + u * stride]
            continue
        for u in range(m):
            first = origin + (s + u * k) * step
            out = (d + u) * width
            for j in range(width):
                dst[out + j] = src[first + j]


@jit()
def emit(moves, runs, n_runs):
    """Apply every move of the table to the first ``n_runs`` runs of the buffer."""
    for r in range(moves.shape[0]):
        word = moves[r, WORD]
        index = moves[r, KIND] == INDEX
        src, n_src = (
            (moves[r, DST], moves[r, DST_LEN]) if index else (moves[r, SRC], moves[r, SRC_LEN])
        )
        dst, n_dst = moves[r, DST], moves[r, DST_LEN]
        at = (moves[r, ORIGIN], moves[r, STEP], moves[r, WIDTH])
        buffer = (runs, n_runs, index)
        if word == 8:
            _copy(words(src, n_src, np.uint64), *at, words(dst, n_dst, np.uint64), *buffer)
        elif word == 4:
            _copy(words(src, n_src, np.uint32), *at, words(dst, n_dst, np.uint32), *buffer)
        elif word == 2:
            _copy(words(src, n_src, np.uint16), *at, words(dst, n_dst, np.uint16), *buffer)
        else:
            _copy(words(src, n_src, np.uint8), *at, words(dst, n_dst, np.uint8), *buffer)


__all__ = ["RUNS", "D", "K", "N", "S", "emit"]
