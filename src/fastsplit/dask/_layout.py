"""The client's part: from every input block's counts to the global plan.

The count pass leaves, per input block, its labels and their counts. Their
union is the in-memory grouping of the whole data (``atol`` merges it exactly as
in memory, since merging looks only at the ascending labels); the points of each
group in earlier blocks give each block the within-group rank of its first point
of every group. O(sum over blocks of the groups in each): no per-point object
on the client, no dense blocks x groups matrix.
"""

from __future__ import annotations

import numpy as np

from .._labels import Grouping, code_dtype, merge_close
from .._plan import ChunkPlan
from ..backends import get_backend
from ._tasks import BlockPlan, factorize_block


def global_plan(
    counted: list[tuple[np.ndarray, np.ndarray]],
    sizes: tuple[int, ...],
    empty: Grouping,
    *,
    chunk_size: int,
    layout: str,
    atol: float | None,
    backend: str,
    seed: tuple[int, ...] | None = None,
) -> tuple[ChunkPlan, list[BlockPlan]]:
    """The plan of the whole data and what each input block's split needs.

    Parameters
    ----------
    counted : list of (groups, counts)
        The count pass, one pair per input block.
    sizes : tuple of int
        Points in each input block.
    empty : Grouping
        The grouping of no labels (its ``groups`` give the dtype when there are none).
    seed : tuple of int or None
        The checked seed (``_validate.check_seed``), kept on the plan.
    """
    n_blocks = len(counted)
    per_block = np.array([g.shape[0] for g, _ in counted], dtype=np.int64)
    labels = np.concatenate([empty.groups, *(g for g, _ in counted)])
    counts = np.concatenate([empty.counts, *(c for _, c in counted)]).astype(np.int64)
    union, where = np.unique(labels, return_inverse=True)
    where = where.reshape(-1)
    totals = np.zeros(union.shape[0], dtype=np.int64)
    np.add.at(totals, where, counts)
    grouping = Grouping(
        codes=np.arange(union.shape[0], dtype=code_dtype(union.shape[0])),
        groups=union,
        counts=totals,
    )
    if atol is not None:
        grouping = merge_close(grouping, atol, get_backend(backend).remap)
    code = grouping.codes[where]  # global code of every (block, label) pair
    plan = ChunkPlan(
        n=int(sum(sizes)),
        chunk_size=chunk_size,
        layout=layout,
        groups=grouping.groups,
        counts=grouping.counts,
        seed=seed,
    )
    if not n_blocks:
        return plan, []
    # Points of each (group, block), blocks ascending inside a group: the running
    # sum before a pair is the rank of the group's first point in that block.
    block = np.repeat(np.arange(n_blocks, dtype=np.int64), per_block)
    key = code.astype(np.int64) * n_blocks + block
    by_key = np.argsort(key, kind="stable")
    pairs, starts = np.unique(key[by_key], return_index=True)
    points = np.add.reduceat(counts[by_key], starts) if pairs.size else counts[:0]
    pair_code, pair_block = np.divmod(pairs, n_blocks)
    running = np.cumsum(points) - points
    first = running - running[np.searchsorted(pair_code, pair_code, side="left")]
    by_block = np.argsort(pair_block, kind="stable")  # codes stay ascending in a block
    cut = np.cumsum(np.bincount(pair_block, minlength=n_blocks))[:-1]
    present = np.split(pair_code[by_block], cut)
    firsts = np.split(first[by_block], cut)
    label_cut = np.cumsum(per_block)[:-1]
    offsets = np.cumsum((0, *sizes))
    blocks = [
        BlockPlan(
            number=b,
            offset=int(offsets[b]),
            groups=groups,
            counts=block_counts,
            codes=codes,
            present=present[b],
            first=firsts[b],
        )
        for b, ((groups, block_counts), codes) in enumerate(
            zip(counted, np.split(code, label_cut), strict=True)
        )
    ]
    return plan, blocks


def empty_grouping(dtype: np.dtype, *, decimals: int | None, backend: str) -> Grouping:
    """The grouping of no labels of ``dtype`` (its ``groups`` carry the labels' dtype)."""
    return factorize_block(
        np.empty(0, dtype=dtype), decimals=decimals, backend=backend, number=0, offset=0
    )


__all__ = ["empty_grouping", "global_plan"]
