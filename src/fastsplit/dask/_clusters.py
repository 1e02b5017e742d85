"""Cluster labels of a Dask fit: codes per block, padded like the block's chunks.

The cluster-robust errors (``fastsplit._fit._cluster``) need, on every block, the
cluster code of each point in the block's ``(k, C)`` chunk layout
(``_fit_blocks.prepare_block``). The labels of each dimension are numbered
globally on the client from their distinct values (``da.unique``: small, one per
cluster); intersections of dimensions are numbered from the distinct pairs found
in the blocks. The code stacks are persisted beside the blocks; each pass sums
the scores per cluster on the workers and the per-block sums tree-reduce with
the normal equations' terms, so only ``clusters x P`` numbers travel.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from .._fit._cluster import (
    ERRORS,
    ClusterSpec,
    check_counts,
    dimension_names,
    dimensions,
    subsets,
)
from .._validate import check_1d, check_choice
from ..errors import InvalidArgumentError, InvalidTypeError, LengthMismatchError
from ._inputs import as_dask, meta_of, require_dask

if TYPE_CHECKING:
    from .._fit._setup import Setup
    from ._fit import DaskData

__all__ = ["cluster_blocks", "with_dask_clusters"]


def cluster_blocks(
    shown: str, clusters: Any, y: Any, data: DaskData
) -> tuple[ClusterSpec, DaskData]:
    """The checked spec (sizes, signs, names; no codes in memory) and ``data`` with the
    persisted code stacks of every block."""
    import dask

    da = require_dask()
    dims = dimensions(clusters)
    names = dimension_names(len(dims))
    n = int(y.shape[0])
    arrays = []
    for name, labels in zip(names, dims, strict=True):
        if np.ndim(labels) != 1:
            raise InvalidTypeError(
                f"{name} must be a 1-D array of cluster labels, one per point; got shape "
                f"{np.shape(labels)}. Pass several dimensions as a tuple of 1-D arrays."
            )
        a = as_dask(da, name, labels, y.chunks)
        check_1d(name, meta_of(a), kinds="fiub")
        if a.shape[0] != n:
            raise LengthMismatchError(
                f"{name} has {a.shape[0]} labels but y has {n} points; give one cluster "
                "label per point."
            )
        arrays.append(a if a.chunks == y.chunks else a.rechunk(y.chunks))
    uniques = [np.asarray(u) for u in dask.compute(*(da.unique(a) for a in arrays))]
    for name, u in zip(names, uniques, strict=True):
        if u.dtype.kind == "f" and not np.all(np.isfinite(u)):
            raise InvalidArgumentError(
                f"{name} holds NaN or infinite labels; give every point a finite cluster label."
            )
    check_counts([u.size for u in uniques])
    kept = [b for b, size in enumerate(y.chunks[0]) if size]  # as set_up_dask keeps them
    columns = [a.to_delayed(optimize_graph=False).ravel() for a in arrays]
    base = [dask.delayed(_base_codes, pure=True)(uniques, *(c[b] for c in columns)) for b in kept]
    terms = subsets(len(dims))
    found = dask.compute(*(dask.delayed(_combined)(codes, terms, uniques) for codes in base))
    occupied = [np.unique(np.concatenate([f[t] for f in found])) for t in range(len(terms))]
    finest = occupied[-1]  # the last term holds every dimension
    stacks = dask.persist(
        *(
            dask.delayed(_stacks, pure=True)(codes, terms[-1], uniques, finest, data.chunk_len)
            for codes in base
        )
    )
    spec = ClusterSpec(
        shown=shown,
        codes=(),
        n_finest=int(finest.size),
        parents=_parents(finest, terms, uniques, occupied),
        sizes=tuple(int(o.size) for o in occupied),
        signs=tuple(1 if len(t) % 2 else -1 for t in terms),
        names=tuple(" x ".join(names[i] for i in t) for t in terms),
    )
    return spec, dataclasses.replace(data, clusters=tuple(stacks))


def _base_codes(uniques: list[np.ndarray], *labels: np.ndarray) -> list[np.ndarray]:
    """Global code of each point in every dimension (its label's place among the uniques)."""
    return [
        np.searchsorted(u, np.asarray(a)).astype(np.int64)
        for u, a in zip(uniques, labels, strict=True)
    ]


def _combined_codes(
    codes: list[np.ndarray], term: tuple[int, ...], uniques: list[np.ndarray]
) -> np.ndarray:
    out = codes[term[0]]
    for i in term[1:]:
        out = out * uniques[i].size + codes[i]
    return out


def _combined(
    codes: list[np.ndarray], terms: list[tuple[int, ...]], uniques: list[np.ndarray]
) -> list[np.ndarray]:
    """The distinct combined codes of every term on one block."""
    return [np.unique(_combined_codes(codes, t, uniques)) for t in terms]


def _parents(
    finest: np.ndarray,
    terms: list[tuple[int, ...]],
    uniques: list[np.ndarray],
    occupied: list[np.ndarray],
) -> tuple[np.ndarray, ...]:
    """Per term, the term's cluster of every finest cluster (from the combined codes)."""
    base = []
    rest = finest.copy()
    for u in reversed(uniques):  # undo ((c0 * n1) + c1) * n2 + c2
        base.append(rest % u.size)
        rest //= u.size
    base.reverse()
    return tuple(
        np.searchsorted(seen, _combined_codes(base, term, uniques))
        for term, seen in zip(terms, occupied, strict=True)
    )


def _stacks(
    codes: list[np.ndarray],
    every: tuple[int, ...],
    uniques: list[np.ndarray],
    finest: np.ndarray,
    chunk_len: int,
) -> tuple[np.ndarray, ...]:
    """The ``(k, C)`` int32 stack of finest-cluster codes, padded as ``prepare_block`` pads
    the data (one stack: the kernels sum over the finest clusters only)."""
    m = codes[0].shape[0]
    k = -(-m // chunk_len)
    position = np.minimum(np.arange(k * chunk_len, dtype=np.int64), m - 1).reshape(k, chunk_len)
    numbered = np.searchsorted(finest, _combined_codes(codes, every, uniques))
    return (np.take(numbered, position).astype(np.int32),)


def with_dask_clusters(setup: Setup, errors: object, clusters: Any) -> Setup:
    """The dask setup with its cluster labels checked and carried to the blocks
    (:func:`precheck_errors` passed before the blocks were read)."""
    shown = check_choice("errors", errors, ERRORS)
    if clusters is None:
        return setup
    assert setup.dask is not None
    spec, data = cluster_blocks(shown, clusters, setup.inputs.y, setup.dask)
    return dataclasses.replace(setup, dask=data, clusters=spec)
