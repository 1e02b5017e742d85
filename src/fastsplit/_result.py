"""The result of :func:`fastsplit.stratify` and its diagnostics."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ._labels import Grouping
from ._plan import ChunkPlan
from .backends._interface import Backend
from .errors import InvalidTypeError, SparseGroupWarning


@dataclass(frozen=True)
class Diagnostics:
    """How well the chunks represent the groups, and what it cost.

    Attributes
    ----------
    n_points, n_groups, n_chunks : int
        Sizes of the problem.
    chunk_size_min, chunk_size_max : int
        Smallest and largest chunk (they differ by at most one point).
    chunk_size_mean, chunk_size_cv : float
        Mean chunk size and its coefficient of variation.
    groups_per_chunk_min : int
        Fewest groups present in any chunk (``n_groups`` when nothing is sparse).
    min_coverage : float
        Fraction of groups present in the worst chunk.
    full_coverage_chunks : int
        Chunks that hold every group.
    sparse_groups : list
        Labels of groups with fewer points than chunks (missing from some chunks).
    seconds : float
        Wall time of the stratification, compilation excluded.
    compile_seconds : float
        Time this call spent compiling the backend's kernels or loading them from
        numba's on-disk cache, including importing the compiler on first use (0 once
        the kernels are loaded; :func:`fastsplit.warmup` does it ahead of time).
    throughput : float
        Points per second (from ``seconds``).
    memory_bytes : int
        Bytes of the result (reordered arrays, or the permutation in index mode).
    mode, layout, backend : str
        What was used.
    """

    n_points: int
    n_groups: int
    n_chunks: int
    chunk_size_min: int
    chunk_size_max: int
    chunk_size_mean: float
    chunk_size_cv: float
    groups_per_chunk_min: int
    min_coverage: float
    full_coverage_chunks: int
    sparse_groups: list[Any]
    seconds: float
    compile_seconds: float
    throughput: float
    memory_bytes: int
    mode: str
    layout: str
    backend: str

    @classmethod
    def from_plan(
        cls,
        plan: ChunkPlan,
        seconds: float,
        memory_bytes: int,
        mode: str,
        backend: str,
        compile_seconds: float = 0.0,
    ) -> Diagnostics:
        """Computed from the plan alone, in O(K + G): no pass over the data."""
        sizes = plan.chunk_sizes
        k, g = plan.n_chunks, plan.n_groups
        # Group g is missing from K - min(c_g, K) chunks; the dealing of extras
        # spreads absences over different chunks, so count presence per chunk.
        if k and g:
            # A sparse group is in exactly the `extra` chunks from `shift` on (mod K):
            # count them all at once, O(points of sparse groups) (a loop over a
            # million one-point groups took seconds).
            sparse = np.flatnonzero(plan.sparse)
            extra = plan.extra[sparse]
            first = np.repeat(plan.shift[sparse] - (np.cumsum(extra) - extra), extra)
            chunks = (first + np.arange(int(extra.sum()))) % k
            present = np.bincount(chunks, minlength=k) + (g - sparse.size)
            per_chunk_min = int(present.min())
            full = int((present == g).sum())
        else:
            per_chunk_min, full = g, k
        mean = float(sizes.mean()) if k else 0.0
        return cls(
            n_points=plan.n,
            n_groups=g,
            n_chunks=k,
            chunk_size_min=int(sizes.min()) if k else 0,
            chunk_size_max=int(sizes.max()) if k else 0,
            chunk_size_mean=mean,
            chunk_size_cv=float(sizes.std() / mean) if mean else 0.0,
            groups_per_chunk_min=per_chunk_min,
            min_coverage=per_chunk_min / g if g else 1.0,
            full_coverage_chunks=full,
            sparse_groups=plan.sparse_groups.tolist(),
            seconds=seconds,
            compile_seconds=compile_seconds,
            throughput=plan.n / seconds if seconds > 0 else float("inf"),
            memory_bytes=memory_bytes,
            mode=mode,
            layout=plan.layout,
            backend=backend,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        return asdict(self)

    def report(self) -> str:
        """Readable multi-line text report."""
        rule = "=" * 64
        lines = [
            rule,
            "fastsplit stratification report",
            rule,
            f"points            {self.n_points:,}",
            f"groups            {self.n_groups:,}",
            f"chunks            {self.n_chunks:,}   ({self.mode} mode, {self.layout} layout,"
            f" {self.backend} backend)",
            f"chunk size        {self.chunk_size_min:,} .. {self.chunk_size_max:,}"
            f"   (mean {self.chunk_size_mean:,.1f}, cv {self.chunk_size_cv:.2e})",
            f"groups per chunk  >= {self.groups_per_chunk_min:,} of {self.n_groups:,}"
            f"   (min coverage {100 * self.min_coverage:.1f} %,"
            f" {self.full_coverage_chunks:,}/{self.n_chunks:,} chunks complete)",
        ]
        if self.sparse_groups:
            shown = ", ".join(repr(g) for g in self.sparse_groups[:8])
            more = f" and {len(self.sparse_groups) - 8} more" if len(self.sparse_groups) > 8 else ""
            lines.append(
                f"SPARSE groups     {len(self.sparse_groups)} with fewer points than chunks,"
                f" missing from some chunks: {shown}{more}"
            )
        else:
            lines.append("sparse groups     none: every chunk holds every group")
        lines += [
            f"time              {1e3 * self.seconds:.2f} ms"
            f"   ({self.throughput / 1e6:,.1f} M points/s)",
        ]
        if self.compile_seconds:
            lines.append(
                f"compile           {1e3 * self.compile_seconds:.2f} ms   (kernels compiled or"
                " loaded from cache; not in the time above)"
            )
        lines += [
            f"result memory     {self.memory_bytes / 2**20:,.1f} MiB",
            rule,
        ]
        return "\n".join(lines)


class PlanView:
    """What a result knows from its plan alone: bounds, groups, counts, sparse groups.

    Shared by :class:`Stratified` and :class:`fastsplit.dask.DaskStratified`.
    """

    _plan: ChunkPlan

    @property
    def plan(self) -> ChunkPlan:
        """The chunk plan (counts per chunk and group)."""
        return self._plan

    @property
    def bounds(self) -> np.ndarray:
        return self._plan.bounds

    @property
    def groups(self) -> np.ndarray:
        return self._plan.groups

    @property
    def counts(self) -> np.ndarray:
        return self._plan.counts

    @property
    def layout(self) -> str:
        return self._plan.layout

    @property
    def n_chunks(self) -> int:
        """Number of chunks K."""
        return self._plan.n_chunks

    @property
    def sparse_groups(self) -> np.ndarray:
        """Labels of groups with fewer points than chunks: absent from some chunks."""
        return self._plan.sparse_groups

    def __len__(self) -> int:
        return self._plan.n

    def warn_if_sparse(self, stacklevel: int = 3) -> None:
        """A :class:`~fastsplit.errors.SparseGroupWarning` naming the sparse groups, if any."""
        plan = self._plan
        if not plan.sparse.any():
            return
        sparse = plan.sparse_groups
        shown = ", ".join(repr(x) for x in sparse[:5].tolist())
        warnings.warn(
            f"{sparse.size} group(s) have fewer points than the {plan.n_chunks} chunks "
            f"and are missing from some chunks: {shown}{' ...' if sparse.size > 5 else ''}. "
            "Use a larger chunk_size (fewer chunks) or fit those groups separately.",
            SparseGroupWarning,
            stacklevel=stacklevel,
        )


class Stratified(PlanView):
    """The data in stratified order: every chunk holds every group in proportion.

    Returned by :func:`fastsplit.stratify`; see there for an example.

    Attributes
    ----------
    bounds : numpy.ndarray
        Chunk offsets (int64, length K + 1): chunk k is ``slice(bounds[k], bounds[k+1])``.
    arrays : tuple of arrays or None
        The reordered arrays (copy mode); ``None`` in index mode.
    groups : numpy.ndarray
        Group labels, ascending.
    counts : numpy.ndarray
        Points per group (int64).
    mode, layout, backend : str
        What was actually used.
    diagnostics : Diagnostics
        Chunk balance, coverage, sparse groups, time and memory.
    """

    def __init__(
        self,
        *,
        plan: ChunkPlan,
        grouping: Grouping,
        sources: tuple[Any, ...],
        arrays: tuple[Any, ...] | None,
        order: np.ndarray | None,
        mode: str,
        backend: str,
        kernels: Backend,
        seconds: float,
        compile_seconds: float = 0.0,
    ) -> None:
        self._plan = plan
        self._grouping = grouping
        self._sources = sources
        self._kernels = kernels
        self._order = order
        self.arrays = arrays
        self.mode = mode
        self.backend = backend
        memory = sum(a.nbytes for a in arrays) if arrays is not None else 0
        memory += order.nbytes if order is not None else 0
        self._cost = (seconds, memory, compile_seconds)

    @cached_property
    def diagnostics(self) -> Diagnostics:
        """Chunk balance, coverage, sparse groups, time and memory (computed when first read)."""
        seconds, memory, compiling = self._cost
        return Diagnostics.from_plan(
            self._plan, seconds, memory, self.mode, self.backend, compiling
        )

    # -- the permutation ----------------------------------------------------------
    @property
    def order(self) -> np.ndarray:
        """Permutation: output point p is input point ``order[p]`` (int32 below 2**31 points).

        In copy mode it is computed on first access (copy mode never needs it). It is
        a NumPy array on the host for every backend, JAX included (the JAX backend
        computes it there and sends a copy to the data's device when gathering).
        """
        if self._order is None:
            self._order = self._kernels.order(self._grouping, self._plan)
        return self._order

    @property
    def codes(self) -> np.ndarray:
        """Group index (into ``groups``) of every point, in stratified order."""
        return self.take(self._grouping.codes)

    def take(self, a: Any, *more: Any) -> Any:
        """Return ``a`` (one value, or one row of a 2-D array, per input point) in stratified order.

        With several arrays, ``take(a, b, ...)`` returns a tuple and reorders them
        together in one pass over the data (faster than one call each). The
        outputs are fresh arrays with the inputs' dtypes.

        Examples
        --------
        >>> import numpy as np, fastsplit
        >>> s = fastsplit.stratify(np.repeat([1.0, 2.0], 4), chunk_size=4, backend="numpy")
        >>> s.take(np.arange(8))       # chunk 0 takes ranks 0, 2 of each group; chunk 1: 1, 3
        array([0, 2, 4, 6, 1, 3, 5, 7])
        >>> x, y = s.take(np.arange(8), np.arange(8.0) / 2)
        >>> y.tolist()
        [0.0, 1.0, 2.0, 3.0, 0.5, 1.5, 2.5, 3.5]
        """
        from ._validate import check_arrays

        arrays = check_arrays((a, *more), self._plan.n, rows=True)
        out = self._kernels.reorder(self._grouping, self._plan, arrays, self._order)
        if self._order is None:
            self._order = out.order  # a backend that built it keeps it for next time
        return out.arrays if more else out.arrays[0]

    def chunks(self) -> Iterator[tuple[Any, ...]]:
        """Yield one tuple of arrays per chunk.

        In copy mode the tuples are views of ``arrays``; in index mode each chunk is
        gathered from the inputs when it is reached, so only one chunk is resident
        (memory-mapped inputs are read one chunk at a time). With the JAX backend the
        chunks are JAX arrays on the data's device.
        """
        bounds = self._plan.bounds
        if self.arrays is None:
            yield from self._kernels.gather_chunks(self._sources, self.order, bounds)
            return
        for k in range(self._plan.n_chunks):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            yield tuple(a[lo:hi] for a in self.arrays)

    def report(self) -> str:
        """Readable text report of :attr:`diagnostics`."""
        return self.diagnostics.report()

    def plot(self, path: str | os.PathLike[str] | None = None, *, max_chunks: int = 200) -> Any:
        """Heatmap of points per (chunk, group); needs matplotlib. Returns the figure."""
        from ._plot import composition_heatmap
        from ._validate import check_count

        max_chunks = check_count("max_chunks", max_chunks, minimum=1)
        if path is not None and not isinstance(path, str | os.PathLike):
            raise InvalidTypeError(f"path must be a file name or None, got {path!r}.")
        return composition_heatmap(self._plan, path=path, max_chunks=max_chunks)

    def __repr__(self) -> str:
        return (
            f"Stratified(n={self._plan.n}, groups={self._plan.n_groups}, "
            f"chunks={self._plan.n_chunks}, mode={self.mode!r}, layout={self.layout!r}, "
            f"backend={self.backend!r})"
        )
