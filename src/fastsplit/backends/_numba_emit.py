"""The writers of the scatter walk: where a point goes, what gets written there.

One implementation per target type, chosen by numba at compile time: an integer
array is the permutation (index mode: the input index is written), a tuple of
(source, output) pairs is copy mode (every array's value is written straight into
its output slot; the permutation is never built).
"""

from __future__ import annotations

from typing import Any

from numba import literal_unroll, types
from numba.extending import overload


def emit_points(target: Any, buf: Any, i: int, count: int) -> None:
    """Point i + u goes to position buf[u], u < count."""


def emit_tile(target: Any, tile: Any, n_tiles: int, i: int, n_chunks: int) -> None:
    """Strided tiles at i + x * 16 K: slot t's 16 points go to tile[x K + t] + u."""


def emit_block(target: Any, starts: Any, n_blocks: int, i: int) -> None:
    """Points i + 16 x .. i + 16 x + 15 go to starts[x] .. starts[x] + 15."""


@overload(emit_points)
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


@overload(emit_tile)
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


@overload(emit_block)
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


__all__ = ["emit_block", "emit_points", "emit_tile"]
