"""What a backend is: the kernels it provides and the memory it needs.

A backend is two classes registered under one name in ``backends/__init__.py``:

* a :class:`Backend` (the kernels): four hooks every backend writes
  (``factorize``, ``remap``, ``order``, ``gather``) and five with a default that a
  backend overrides only when it does better (``reorder``, ``gather_chunks``,
  ``compile_seconds``, ``validate``, ``memory_inputs``);
* a :class:`MemoryModel`: the bytes its kernels allocate for a :class:`Shape`,
  importable without the backend's own library (deciding whether a call fits must
  not import numba or jax);

and, for a backend that runs on the host, the :class:`BlockKernels` of
``fastsplit.dask`` (one input or output block at a time).

The front end (``_api``, ``_result``) calls these hooks and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from .._labels import Grouping
from .._plan import ChunkPlan


def point_bytes(a: Any) -> int:
    """Bytes of one point of ``a``: its item size, times the row length of a 2-D array."""
    size = int(np.dtype(a.dtype).itemsize)
    for extent in a.shape[1:]:
        size *= int(extent)
    return size


class Reordered(NamedTuple):
    """What copy mode returns: the reordered arrays, and the permutation if it was built."""

    arrays: tuple[Any, ...]
    order: np.ndarray | None


@dataclass(frozen=True)
class Inputs:
    """What the memory model needs to know about the data arrays of one call.

    Attributes
    ----------
    itemsizes : tuple of int
        Bytes per point of each array (a row of a 2-D array is one point).
    device_arrays : bool
        Some arrays already live on the device the outputs go to (JAX).
    upload_itemsize : int
        Bytes per point of host arrays that the backend moves to that device.
    device_free : int or None
        Free memory of an accelerator the outputs go to; ``None`` when the outputs
        live in host memory (every CPU backend, JAX on a CPU device).
    """

    itemsizes: tuple[int, ...]
    device_arrays: bool = False
    upload_itemsize: int = 0
    device_free: int | None = None


@dataclass(frozen=True, eq=False)
class Shape:
    """A stratification described by O(G) numbers, without data.

    ``counts[i]`` points in each of ``weights[i]`` groups. A full
    :class:`~fastsplit._plan.ChunkPlan` would allocate O(K) arrays, already too
    much for a request that must be refused before allocating anything.
    ``seeded``: the order is shuffled (a seed was given); ``mixed``: the labels come
    in short runs (``_labels.short_runs``). Either makes the numba backend fill the
    order from member lists.
    """

    n: int
    chunk_size: int
    layout: str
    counts: np.ndarray
    weights: np.ndarray
    seeded: bool = False
    mixed: bool = False

    @classmethod
    def of_plan(cls, plan: ChunkPlan, *, mixed: bool = False) -> Shape:
        """The shape of an existing plan (exact group sizes)."""
        counts = np.asarray(plan.counts, dtype=np.int64)
        seeded = plan.seed is not None
        ones = np.ones_like(counts)
        return cls(plan.n, plan.chunk_size, plan.layout, counts, ones, seeded, mixed)

    @classmethod
    def balanced(
        cls,
        n: int,
        n_groups: int,
        chunk_size: int,
        layout: str,
        *,
        seeded: bool = False,
        mixed: bool = False,
    ) -> Shape:
        """``n`` points spread as evenly as possible over ``n_groups`` groups."""
        groups = max(1, min(n_groups, n)) if n else 1
        base, extra = divmod(n, groups)
        return cls(
            n,
            chunk_size,
            "strided" if layout == "auto" else layout,
            np.array([base, base + 1], dtype=np.int64),
            np.array([groups - extra, extra], dtype=np.int64),
            seeded,
            mixed,
        )

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk_size) if self.n else 0


Parts = dict[str, int]
"""Named byte counts that make up a peak (``{"codes": ..., "order": ...}``)."""


@dataclass(frozen=True)
class Need:
    """Peak bytes above the inputs, per mode, in host memory and on an accelerator."""

    copy: Parts
    index: Parts
    copy_device: Parts = field(default_factory=dict)
    index_device: Parts = field(default_factory=dict)


def plus(*parts: Parts) -> Parts:
    """Sum of named byte counts, name by name."""
    out: Parts = {}
    for p in parts:
        for key, value in p.items():
            out[key] = out.get(key, 0) + value
    return out


def largest(*phases: Parts) -> Parts:
    """The phase with the most bytes: phases run one after another, the peak is the largest."""
    return max(phases, key=lambda parts: sum(parts.values()))


class MemoryModel(Protocol):
    """Bytes a backend allocates on top of the inputs, checked against tracemalloc in the tests."""

    def need(self, shape: Shape, *, code_bytes: int, inputs: Inputs) -> Need:
        """The peak of each mode for a stratification of ``shape``."""
        ...


class Backend(Protocol):
    """The kernels of one backend. Subclass it: the hooks with a body are defaults.

    Every kernel works on host NumPy ``codes`` and a :class:`~fastsplit._plan.ChunkPlan`
    and must give the numpy oracle's output bit for bit (contract C6).
    """

    name: str

    def factorize(self, labels: np.ndarray) -> Grouping:
        """Ascending unique labels, their counts and a compact code per point."""
        ...

    def remap(self, codes: np.ndarray, table: np.ndarray) -> np.ndarray:
        """``table[codes]`` (merging groups with ``atol``)."""
        ...

    def order(self, grouping: Grouping, plan: ChunkPlan) -> np.ndarray:
        """The permutation: output point p is input point ``order[p]`` (host NumPy array)."""
        ...

    def gather(self, arrays: tuple[Any, ...], indices: np.ndarray) -> tuple[Any, ...]:
        """``a[indices]`` for every array, into fresh memory, dtypes preserved."""
        ...

    def reorder(
        self,
        grouping: Grouping,
        plan: ChunkPlan,
        arrays: tuple[Any, ...],
        order: np.ndarray | None = None,
    ) -> Reordered:
        """Every array in stratified order (copy mode, ``Stratified.take``).

        ``order`` is the permutation when it was built already (index mode). Default:
        the permutation (built if needed), then one fused gather of every array.
        """
        if order is None:
            order = self.order(grouping, plan)
        return Reordered(self.gather(arrays, order) if arrays else (), order)

    def gather_chunks(
        self, sources: tuple[Any, ...], order: np.ndarray, bounds: np.ndarray
    ) -> Iterator[tuple[Any, ...]]:
        """Index mode: each chunk gathered from ``sources`` when it is reached (O(chunk))."""
        for k in range(bounds.shape[0] - 1):
            yield self.gather(sources, order[int(bounds[k]) : int(bounds[k + 1])])

    def compile_seconds(self) -> float:
        """Seconds this thread has spent compiling (or loading) kernels so far. Default: 0."""
        return 0.0

    def validate(self, arrays: tuple[Any, ...]) -> None:
        """Refuse, before any work, inputs this backend would get wrong. Default: none."""
        return None

    def memory_inputs(self, arrays: Sequence[Any]) -> Inputs:
        """What the memory model needs to know about ``arrays``. Default: their bytes per point."""
        return Inputs(itemsizes=tuple(point_bytes(a) for a in arrays))


class BlockKernels(Protocol):
    """The per-block kernels of ``fastsplit.dask`` (docs/scaling-out.md).

    An input block's points are routed to their chunks (:meth:`route`); the pieces
    that every input block sends to one output block are then placed inside their
    chunks (:meth:`place`) by the placement rule of ``_plan``; values move to the
    places found with :meth:`scatter`. All are O(block) and give the same output on
    every backend; together they reproduce :meth:`Backend.order` of the whole data,
    block by block.
    """

    def shuffled_ranks(
        self, codes: np.ndarray, first_rank: np.ndarray, plan: ChunkPlan
    ) -> np.ndarray:
        """With a seed: per point, the shuffled rank j whose place it takes (int64).

        A point's rank in its group is ``first_rank[g]`` plus the points of g before
        it in the block; the seeded order puts the point of rank sigma_g(j) at the
        place of rank j, so the point takes j = sigma_g^-1(rank)
        (``_shuffle.unpermute_rank``).
        """
        ...

    def route(
        self,
        codes: np.ndarray,
        first_rank: np.ndarray,
        plan: ChunkPlan,
        ranks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Where each of the block's points goes when the block is sorted by chunk.

        ``codes`` are the block's global group codes; ``first_rank[g]`` is the number
        of points of group g in earlier blocks (so the block's first point of g has
        that within-group rank). ``ranks`` (int64, with a seed): each point's shuffled
        rank, which then gives its chunk instead (``first_rank`` unused). Returns
        ``(dest, per_chunk)``: point i goes to ``dest[i]`` (int64) of the block sorted
        by chunk, in input order inside a chunk; ``per_chunk`` (int64, length K)
        counts the block's points per chunk.
        """
        ...

    def place(
        self,
        codes: np.ndarray,
        piece_counts: np.ndarray,
        plan: ChunkPlan,
        first_chunk: int,
        ranks: np.ndarray | None = None,
    ) -> np.ndarray:
        """Position of every point inside its output block (int64).

        ``codes``: the pieces of one output block one after another, in input-block
        order, each sorted by chunk; ``piece_counts[p, i]``: points of piece p in chunk
        ``first_chunk + i``. The output block starts at chunk ``first_chunk``. Without
        ``ranks`` a point's rank among its (chunk, group) is its arrival order; with
        ``ranks`` (the shuffled ranks that :meth:`route` was given) it follows from them.
        """
        ...

    def scatter(self, values: np.ndarray, dest: np.ndarray, out: np.ndarray) -> None:
        """``out[dest] = values``: every value to its place, bytes unchanged."""
        ...


__all__ = [
    "Backend",
    "BlockKernels",
    "Inputs",
    "MemoryModel",
    "Need",
    "Parts",
    "Reordered",
    "Shape",
    "largest",
    "plus",
    "point_bytes",
]
