"""What a Dask fit runs on the workers: one input block's data, its normal equations.

Plain functions of NumPy blocks (no dask import). :func:`prepare_block` checks a
block, groups its labels and pads its points into a ``(k, C)`` stack of ``k``
chunks (weight 0 on padding, as ``fastsplit._fit._data`` does in memory); the
block then stays on its worker for the whole fit. Each iteration maps
:func:`block_normal` (or :func:`block_cost`) over the blocks: the compiled passes
of ``fastsplit._fit._kernels``, the same as in memory, on that block's stack, so a
task holds one chunk's Jacobian at a time. :func:`add_terms` sums the results.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._fit._common import padded_take
from .._fit._kernels import Kernels, kernels_for
from .._fit._loss import Loss
from .._fit._model import ParameterLayout, finite_or_raise
from .._fit._nlsq import x64
from ._tasks import factorize_block

__all__ = [
    "Block",
    "KernelSpec",
    "add_terms",
    "block_cluster_scores",
    "block_cost",
    "block_normal",
    "block_sample",
    "prepare_block",
    "with_global_codes",
]


@dataclass(frozen=True, eq=False)
class Block:
    """One input block, padded into ``k`` chunks of ``C`` points.

    ``codes`` are the block's own group codes (into ``groups``) until
    :func:`with_global_codes` maps them to the fit's groups.
    """

    xs: tuple[np.ndarray, ...]
    y: np.ndarray
    weight: np.ndarray
    codes: np.ndarray
    groups: np.ndarray
    counts: np.ndarray
    sum_of_squares: float
    """``sum((y / sigma) ** 2)`` over the block's points (the data's scale)."""


def prepare_block(
    number: int,
    offset: int,
    chunk_len: int,
    backend: str,
    names: tuple[str, ...],
    labels: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    *xs: np.ndarray,
) -> Block:
    """Check block ``number`` (first point ``offset``), group it and pad it into chunks.

    ``names`` name ``y`` and each of ``xs`` in error messages; ``weight`` is
    ``1 / sigma``, already checked.
    """
    where = f" (dask block {number}, from point {offset})"
    y = np.asarray(y).astype(np.float64, copy=False)
    for name, values in zip(names, (y, *xs), strict=True):
        finite_or_raise(np.asarray(values), name + where)
    grouping = factorize_block(labels, decimals=None, backend=backend, number=number, offset=offset)
    m = y.shape[0]
    k = -(-m // chunk_len)
    position = np.arange(k * chunk_len, dtype=np.int64).reshape(k, chunk_len)
    valid = position < m
    np.minimum(position, m - 1, out=position)
    weight = np.asarray(weight, dtype=np.float64)
    (*taken, y_stack), w_stack = padded_take([*xs, y], weight, position, valid)
    with np.errstate(over="ignore", invalid="ignore"):
        wy = y * weight
        sum_of_squares = float(np.dot(wy, wy))
    return Block(
        xs=tuple(taken),
        y=y_stack,
        weight=w_stack,
        codes=np.take(grouping.codes, position).astype(np.int32),
        groups=grouping.groups,
        counts=grouping.counts,
        sum_of_squares=sum_of_squares,
    )


def with_global_codes(block: Block, table: np.ndarray) -> Block:
    """The block with its group codes mapped through ``table`` (block code -> fit code)."""
    codes = np.asarray(table, dtype=np.int32)[block.codes]
    return replace(block, codes=codes, groups=block.groups[:0], counts=block.counts[:0])


def block_sample(block: Block, m: int) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """``(xs, y, codes)`` of the block's first ``m`` points, as ``(1, m)`` rows (model checks)."""
    return tuple(a[:1, :m] for a in block.xs), block.y[:1, :m], block.codes[:1, :m]


@dataclass(frozen=True)
class KernelSpec:
    """What a worker needs to compile the passes: the model, its layout and the loss.

    ``token`` names one fit: a worker compiles the passes once per fit, even when
    the model (a closure, pickled by value) arrives as a new object with every task.
    """

    token: str
    model: Callable[..., Any]
    layout: ParameterLayout
    x_is_tuple: bool
    loss: Loss


_COMPILED: OrderedDict[str, tuple[Callable[..., Any], Kernels]] = OrderedDict()
_KEEP = 8
_LOCK = threading.Lock()  # a worker may run several tasks at once, in threads


def _kernels(spec: KernelSpec) -> Kernels:
    """The spec's kernels, built from the first copy of its model this worker saw."""
    with _LOCK:
        if spec.token in _COMPILED:
            _COMPILED.move_to_end(spec.token)
            return _COMPILED[spec.token][1]
        kernels = kernels_for(spec.model, spec.layout, spec.x_is_tuple, spec.loss.name)
        _COMPILED[spec.token] = (spec.model, kernels)  # the model lives as long as its kernels
        while len(_COMPILED) > _KEEP:
            _COMPILED.popitem(last=False)
        return kernels


def _args(spec: KernelSpec, block: Block, flat: np.ndarray) -> tuple[Any, ...]:
    return (flat, spec.loss.f_scale, block.xs, block.y, block.weight, block.codes)


def block_normal(spec: KernelSpec, block: Block, flat: np.ndarray) -> tuple[Any, ...]:
    """``(A, B, C, bs, bg, cost)`` of the block (see ``_kernels``), as NumPy arrays."""
    with x64():
        terms = _kernels(spec).normal(*_args(spec, block, flat))
        return tuple(np.asarray(t) for t in terms)


def block_cluster_scores(
    spec: KernelSpec,
    block: Block,
    codes: tuple[np.ndarray, ...],
    flat: np.ndarray,
    sizes: tuple[int, ...],
) -> tuple[np.ndarray, ...]:
    """The block's per-cluster score sums, flat: ``(shared_0, per_group_0, shared_1, ...)``
    (``_kernels.Kernels.clustered``); ``codes`` are the block's cluster code stacks."""
    with x64():
        _, scores = _kernels(spec).clustered(sizes)(*_args(spec, block, flat), tuple(codes))
        return tuple(np.asarray(t) for pair in scores for t in pair)


def block_cost(spec: KernelSpec, block: Block, flat: np.ndarray) -> float:
    """The block's (robust) cost."""
    with x64():
        return float(_kernels(spec).cost(*_args(spec, block, flat)))


def add_terms(*parts: Any) -> Any:
    """The sum of several blocks' results (tuples summed term by term, or floats)."""
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(sum(terms[1:], terms[0]) for terms in zip(*parts, strict=True))
    return sum(parts[1:], first)
