"""The task graphs: the count pass, then split and combine (docs/scaling-out.md).

Count: one task per input block. Reorder: one split task per input block (its
points sorted by chunk, cut into one piece per output block), one small task per
(input block, output block) that hands a piece on, and one combine task per
output block (its pieces placed inside their chunks), whose arrays become the
blocks of the output dask arrays. Tasks: 2 B + B x O + O (+ O per array).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .._plan import ChunkPlan
from ._tasks import BlockPlan, combine_block, count_block, output_edges, split_block


def count_pass(
    labels: Any, *, decimals: int | None, backend: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(labels, counts) of every input block, computed now on the active scheduler."""
    import dask

    offsets = np.cumsum((0, *labels.chunks[0]))
    tasks = [
        dask.delayed(count_block, pure=True)(
            block, decimals=decimals, backend=backend, number=b, offset=int(offsets[b])
        )
        for b, block in enumerate(labels.to_delayed(optimize_graph=False))
    ]
    return list(dask.compute(*tasks))


def reorder(
    labels: Any,
    arrays: tuple[Any, ...],
    plan: ChunkPlan,
    blocks: list[BlockPlan],
    *,
    backend: str,
    decimals: int | None,
    chunks_per_block: int,
) -> tuple[Any, ...]:
    """The arrays in stratified order: lazy dask arrays, one block per output block."""
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    dtypes = [np.dtype(a.dtype) for a in arrays]
    if plan.n == 0 or not arrays:
        return tuple(da.from_array(np.empty(0, dtype=dtype)) for dtype in dtypes)
    token = tokenize(
        labels.name,
        [a.name for a in arrays],
        plan.chunk_size,
        plan.layout,
        plan.seed,
        plan.groups,
        plan.counts,
        backend,
        decimals,
        chunks_per_block,
    )
    plan_key = f"fastsplit-plan-{token}"
    split, piece, combine = (f"fastsplit-{step}-{token}" for step in ("split", "piece", "combine"))
    edges = output_edges(plan.n_chunks, chunks_per_block)
    n_out = edges.size - 1
    core: dict[Any, Any] = {plan_key: plan}
    for b, block in enumerate(blocks):
        core[split, b] = (
            split_block,
            plan_key,
            block,
            backend,
            decimals,
            chunks_per_block,
            (labels.name, b),
            *((a.name, b) for a in arrays),
        )
        for o in range(n_out):
            core[piece, b, o] = (operator.getitem, (split, b), o)
    for o in range(n_out):
        core[combine, o] = (
            combine_block,
            plan_key,
            backend,
            int(edges[o]),
            int(edges[o + 1]),
            dtypes,
            [(piece, b, o) for b in range(len(blocks))],
        )
    inputs = HighLevelGraph.merge(labels.dask, *(a.dask for a in arrays))
    layers = dict(inputs.layers)
    dependencies = dict(inputs.dependencies)
    layers[split] = MaterializedLayer(core)
    dependencies[split] = {layer for x in (labels, *arrays) for layer in x.__dask_layers__()}
    names = [f"fastsplit-array{i}-{token}" for i in range(len(arrays))]
    for i, name in enumerate(names):
        layers[name] = MaterializedLayer(
            {(name, o): (operator.getitem, (combine, o), i) for o in range(n_out)}
        )
        dependencies[name] = {split}
    graph = HighLevelGraph(layers, dependencies)
    sizes = tuple(int(s) for s in np.diff(plan.bounds[edges]))
    return tuple(
        da.Array(graph, name, chunks=(sizes,), dtype=dtype, meta=np.empty(0, dtype=dtype))
        for name, dtype in zip(names, dtypes, strict=True)
    )


__all__ = ["count_pass", "reorder"]
