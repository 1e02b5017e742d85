"""What runs on the workers: count, split and combine, one block per task.

Plain functions of NumPy blocks (no dask import), each O(block) in time and
memory. The labels of a block are grouped with the backend's ``factorize``, as in
memory (strings, bytes and objects by sorting them); the per-block kernels
(``backends.block_kernels``) route its points to their chunks and place the pieces
of an output block inside their chunks. With a seed, each point's shuffled rank
(the inverse shuffle of its rank) routes it and travels with its piece.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .._labels import Grouping, code_dtype, prepare_labels
from .._plan import ChunkPlan
from ..backends import BlockKernels, block_kernels, get_backend
from ..errors import InvalidLabelsError, LengthMismatchError


@dataclass(frozen=True, eq=False)
class BlockPlan:
    """What the split of one input block needs from the client: O(groups in the block).

    Attributes
    ----------
    number, offset : int
        The block's index and the global index of its first point (for messages).
    groups, counts : numpy.ndarray
        The block's labels and counts as the count pass found them.
    codes : numpy.ndarray
        Global group code of each of ``groups`` (several when ``atol`` merges them).
    present, first : numpy.ndarray
        The global codes in the block (ascending) and, for each, the number of its
        points in earlier blocks: the within-group rank of its first point here.
    """

    number: int
    offset: int
    groups: np.ndarray
    counts: np.ndarray
    codes: np.ndarray
    present: np.ndarray
    first: np.ndarray


@dataclass(frozen=True, eq=False)
class Piece:
    """The points one input block sends to one output block, sorted by chunk."""

    codes: np.ndarray
    per_chunk: np.ndarray  # points in each chunk of the output block
    values: tuple[np.ndarray, ...]  # one per data array
    ranks: np.ndarray | None = None  # with a seed: each point's shuffled rank


VALUE_KINDS = "USO"
"""Labels that are values, not numbers (str, bytes, objects): grouped by sorting them."""


def _factorize_values(labels: np.ndarray, number: int) -> Grouping:
    """Strings, bytes or objects: the block's distinct labels sorted, codes their ranks.

    The client merges the blocks' sorted labels into the global sorted groups, so the
    order is that of the integer codes ``np.unique(labels, return_inverse=True)[1]``.
    """
    try:
        groups, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    except TypeError as exc:  # e.g. None among strings, or str mixed with numbers
        raise InvalidLabelsError(
            f"the labels of input block {number} cannot be sorted ({exc}); every label "
            "must be comparable with every other: convert them to one type first, e.g. "
            "labels.astype(str), and drop missing ones (None)."
        ) from None
    return Grouping(
        codes=codes.reshape(-1).astype(code_dtype(groups.size)),
        groups=groups,
        counts=counts.astype(np.int64),
    )


def factorize_block(
    labels: np.ndarray, *, decimals: int | None, backend: str, number: int, offset: int
) -> Grouping:
    """The block's labels as groups, exactly as the in-memory front end groups them."""
    labels = np.asarray(labels)
    if labels.dtype.kind in VALUE_KINDS:
        return _factorize_values(labels, number)
    try:
        return get_backend(backend).factorize(prepare_labels(labels, decimals))
    except InvalidLabelsError:
        bad = np.flatnonzero(~np.isfinite(labels))
        if not bad.size:
            raise
        position = int(bad[0])
        raise InvalidLabelsError(
            f"labels contain NaN or infinite values, first at index {offset + position} "
            f"(value {labels[position]!r}, in input block {number}); a NaN angle belongs "
            "to no group. Drop those points first, e.g. keep = da.isfinite(labels); "
            "labels, *arrays = labels[keep], *(a[keep] for a in arrays), then "
            "compute_chunk_sizes() on each."
        ) from None


def count_block(
    labels: np.ndarray, *, decimals: int | None, backend: str, number: int, offset: int
) -> tuple[np.ndarray, np.ndarray]:
    """The count pass: (ascending labels, points of each) in one input block."""
    grouping = factorize_block(
        labels, decimals=decimals, backend=backend, number=number, offset=offset
    )
    return grouping.groups, grouping.counts


def output_edges(n_chunks: int, chunks_per_block: int) -> np.ndarray:
    """First chunk of every output block, and K at the end."""
    return np.append(np.arange(0, n_chunks, chunks_per_block), n_chunks)


def _scattered(blocks: BlockKernels, values: np.ndarray, dest: np.ndarray) -> np.ndarray:
    out = np.empty(values.shape[0], dtype=values.dtype)
    blocks.scatter(values, dest, out)
    return out


def split_block(
    plan: ChunkPlan,
    block: BlockPlan,
    backend: str,
    decimals: int | None,
    chunks_per_block: int,
    labels: np.ndarray,
    *arrays: np.ndarray,
) -> tuple[Piece, ...]:
    """One input block cut into its pieces, one per output block."""
    grouping = factorize_block(
        labels, decimals=decimals, backend=backend, number=block.number, offset=block.offset
    )
    if not (
        np.array_equal(grouping.groups, block.groups)
        and np.array_equal(grouping.counts, block.counts)
    ):
        raise InvalidLabelsError(
            f"input block {block.number} of the labels changed between the count pass and "
            "the split (labels computed from random numbers, or a file rewritten meanwhile); "
            "persist the labels first: labels = labels.persist()."
        )
    for i, a in enumerate(arrays):
        if a.shape != labels.shape:
            raise LengthMismatchError(
                f"input block {block.number} of arrays[{i}] has shape {a.shape} but the "
                f"labels' has {labels.shape}; every array must have one value per label."
            )
    codes = get_backend(backend).remap(grouping.codes, block.codes)
    first_rank = np.zeros(plan.n_groups, dtype=np.int64)
    first_rank[block.present] = block.first
    blocks = block_kernels(backend)
    # with a seed, each point travels as the shuffled rank whose place it takes
    ranks = None if plan.seed is None else blocks.shuffled_ranks(codes, first_rank, plan)
    dest, per_chunk = blocks.route(codes, first_rank, plan, ranks)
    codes = _scattered(blocks, codes, dest)
    ranks = None if ranks is None else _scattered(blocks, ranks, dest)
    values = tuple(_scattered(blocks, np.asarray(a), dest) for a in arrays)
    del dest
    ends = np.zeros(plan.n_chunks + 1, dtype=np.int64)
    np.cumsum(per_chunk, out=ends[1:])
    edges = output_edges(plan.n_chunks, chunks_per_block)
    pieces = []
    for k0, k1 in pairwise(edges):
        lo, hi = ends[k0], ends[k1]
        pieces.append(
            Piece(
                codes[lo:hi],
                per_chunk[k0:k1],
                tuple(x[lo:hi] for x in values),
                None if ranks is None else ranks[lo:hi],
            )
        )
    return tuple(pieces)


def combine_block(
    plan: ChunkPlan,
    backend: str,
    first_chunk: int,
    last_chunk: int,
    dtypes: list[np.dtype],
    pieces: list[Piece],
) -> tuple[np.ndarray, ...]:
    """One output block: chunks ``first_chunk`` to ``last_chunk - 1``, every array."""
    codes = np.concatenate([p.codes for p in pieces])
    counts = np.stack([p.per_chunk for p in pieces])
    ranks = None
    if plan.seed is not None:
        ranks = np.concatenate(
            [np.empty(0, np.int64), *(p.ranks for p in pieces if p.ranks is not None)]
        )
    blocks = block_kernels(backend)
    dest = blocks.place(codes, counts, plan, first_chunk, ranks)
    del codes, ranks
    size = int(plan.bounds[last_chunk] - plan.bounds[first_chunk])
    outs = tuple(np.empty(size, dtype=dtype) for dtype in dtypes)
    lo = 0
    for piece in pieces:
        hi = lo + piece.codes.shape[0]
        for out, values in zip(outs, piece.values, strict=True):
            blocks.scatter(values, dest[lo:hi], out)
        lo = hi
    return outs


__all__ = [
    "VALUE_KINDS",
    "BlockPlan",
    "Piece",
    "combine_block",
    "count_block",
    "factorize_block",
    "output_edges",
    "split_block",
]
