"""fastsplit on Dask: stratify arrays larger than one machine (docs/scaling-out.md).

``import fastsplit.dask`` is light: dask is imported when :func:`stratify` is
first called, with an error naming the extra (``pip install 'fastsplit[dask]'``)
when it is missing.

The route, per input block b of B and output block o of O (``chunks_per_block``
chunks each):

1. count (now, B tasks): the labels and counts of block b;
2. plan (client, O(groups x blocks)): the union of the groups (``atol`` merges it),
   the :class:`~fastsplit.ChunkPlan` of the whole data, and for each block the
   within-group rank of its first point of every group;
3. split (B tasks): each point's rank gives its chunk; the block's points sorted by
   chunk, cut into O pieces (B x O hand-over tasks);
4. combine (O tasks): the pieces of block o placed inside their chunks by the
   placement rule of ``fastsplit._plan``, exactly as in memory.

:func:`fastsplit.fit` also takes dask arrays (``_fit``, ``_fit_blocks``,
``_objective``): the blocks are checked, grouped and padded into chunks once,
persisted on the workers, and every iteration sums their exact normal equations
in a tree; the solver steps on the client.
"""

from __future__ import annotations

from ._api import stratify
from ._result import DaskStratified

__all__ = ["DaskStratified", "stratify"]
