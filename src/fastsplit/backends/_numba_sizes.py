"""How the numba backend sizes its work: segments per thread and bytes allocated.

Importable without numba: deciding whether a call fits in memory must not import
the compiler. The kernels (``_numba_scatter``) size their tables with the same
functions, so model and allocation cannot drift apart; the test suite checks the
model against tracemalloc's peak.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .._labels import index_dtype
from .._plan import BLOCK
from ._interface import Inputs, Need, Shape, largest

MIN_SEGMENT = 1 << 16
"""Fewest points a thread gets: below this, starting threads costs more than they give."""

SCRATCH_BYTES_PER_BLOCK = 32
"""Per-thread work space of the block layout: 4 int64 rows, plus keys (``_plan.place_blocks``)."""


def threads() -> int:
    """Threads numba will use, read without importing numba when it is not loaded yet."""
    if "numba" in sys.modules:
        return int(sys.modules["numba"].get_num_threads())
    try:
        return int(os.environ.get("NUMBA_NUM_THREADS", "0")) or len(os.sched_getaffinity(0))
    except (AttributeError, ValueError):
        return os.cpu_count() or 1


def segment_count(n: int, n_threads: int | None = None) -> int:
    """How many input segments (one per thread) n points are cut into."""
    return max(1, min(threads() if n_threads is None else n_threads, n // MIN_SEGMENT))


def block_counts(per_chunk: np.ndarray, extra: np.ndarray, n_chunks: int) -> tuple[np.ndarray, ...]:
    """Per group: blocks of a (chunk, group) pair holding q + 1 and q points, and in all.

    A group puts ``q = per_chunk`` points in every chunk and one more in ``extra`` of
    them; a pair of ``a`` points has ``ceil(a / BLOCK)`` blocks.
    """
    nb1 = -(-(per_chunk + 1) // BLOCK)
    nb0 = -(-per_chunk // BLOCK)
    pairs = np.where(per_chunk > 0, n_chunks, extra)  # pairs that hold any point of the group
    return nb1, nb0, extra * nb1 + (pairs - extra) * nb0


def _tables(shape: Shape) -> tuple[int, int]:
    """(block-table bytes, scratch bytes), sized exactly as the kernels size them."""
    if shape.n == 0:
        return 0, 0
    q, r = np.divmod(shape.counts, shape.n_chunks)
    nb1, _, blocks = block_counts(q, r, shape.n_chunks)
    width = 4 if shape.chunk_size < 2**31 else 8
    max_blocks = int((shape.weights * nb1).sum())
    scratch = segment_count(shape.n) * SCRATCH_BYTES_PER_BLOCK * (max_blocks + 1)
    return width * int((shape.weights * blocks).sum()), scratch


class NumbaSizes:
    """The numba backend's allocations.

    Index mode: codes ``n c`` + permutation ``n i`` + block table (one int32 per
    block of at most 16 points of one group in one chunk, about ``n / 16 + K G``)
    + per-thread scratch. Copy mode: codes + the output arrays + block table +
    scratch; the permutation is never built, whatever the item sizes (the
    kernels move words). Both follow labels -> codes, which holds two code arrays
    while remapping. A seeded order, or labels in short runs (random order), add
    each group's member list (one index a point, ``_numba_seeded``) to either
    mode, and copy mode then builds the permutation too (the arrays are gathered
    through it).
    """

    def __init__(self, host: object = None) -> None:
        del host

    def need(self, shape: Shape, *, code_bytes: int, inputs: Inputs) -> Need:
        n = shape.n
        if n == 0:
            return Need({}, {})
        codes = n * code_bytes
        order = n * index_dtype(n).itemsize
        block_table, scratch = _tables(shape)
        factorize = {"codes": 2 * codes}
        outputs = n * sum(inputs.itemsizes)
        walk = {"codes": codes, "block_table": block_table, "scratch": scratch}
        if shape.seeded or shape.mixed:  # member lists while the order is filled, then a gather
            index = largest(factorize, {**walk, "members": order, "order": order})
            gather = {"codes": codes, "order": order, "outputs": outputs}
            return Need(copy=largest(index, gather), index=index)
        index = largest(factorize, {**walk, "order": order})
        return Need(copy=largest(factorize, {**walk, "outputs": outputs}), index=index)


__all__ = ["MIN_SEGMENT", "NumbaSizes", "block_counts", "segment_count", "threads"]
