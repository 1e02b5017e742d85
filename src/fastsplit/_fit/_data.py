"""The data of a fit, in chunk order, built once.

:func:`count_groups` groups the labels (``fastsplit.plan``) so the strategy
choice can size the chunks before anything is reordered; :func:`stratified`
then calls ``fastsplit.stratify`` once, with the final chunk size, and
:func:`in_input_order` keeps the input order when the config turns
stratification off. Either gives a :class:`Chunking`, from which
:meth:`ChunkStacks.build` gathers every array into padded ``(K, C)`` stacks:
the one representation every strategy consumes.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import padded_gather

if TYPE_CHECKING:
    from .. import ChunkPlan, Diagnostics

__all__ = [
    "ChunkStacks",
    "Chunking",
    "count_groups",
    "gather_codes",
    "in_input_order",
    "stratified",
]


@dataclass(frozen=True)
class Chunking:
    """The chunks a fit runs on.

    Attributes
    ----------
    plan : ChunkPlan
        Groups, counts, chunk bounds.
    order : numpy.ndarray or None
        Input point at each position in chunk order (``None``: input order).
    codes : numpy.ndarray
        Group index of each point, in chunk order.
    diagnostics : Diagnostics or None
        Of the stratification (``None`` when the data were not stratified).
    seconds : float
        Wall time of grouping the labels and stratifying, first-call compilation
        excluded.
    compile_seconds : float
        Compilation of stratify's kernels in these calls (0 once compiled, or when
        the backend does not report it).
    """

    plan: ChunkPlan
    order: np.ndarray | None
    codes: np.ndarray
    diagnostics: Diagnostics | None
    seconds: float
    compile_seconds: float = 0.0

    @property
    def groups(self) -> np.ndarray:
        return self.plan.groups

    @property
    def counts(self) -> np.ndarray:
        return self.plan.counts

    @property
    def n_chunks(self) -> int:
        return self.plan.n_chunks

    @property
    def sparse(self) -> np.ndarray:
        """Groups with fewer points than chunks: absent from some chunks."""
        return self.plan.sparse

    def members(self) -> list[np.ndarray]:
        """Input indices of the points of each group (in chunk order within a group)."""
        by_group = np.argsort(self.codes, kind="stable")
        if self.order is not None:
            by_group = self.order[by_group]
        return np.split(by_group, np.cumsum(self.counts)[:-1])


def _compile_seconds(reported_by: Any) -> float:
    """First-call compilation a stratify result or plan reports (0 when it does not)."""
    value = getattr(reported_by, "compile_seconds", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


def count_groups(labels: np.ndarray, chunk_size: int, backend: str) -> tuple[ChunkPlan, float]:
    """Groups and counts of ``labels`` (``fastsplit.plan``), and the seconds it took.

    Compilation the plan reports is not counted in those seconds.
    """
    from .. import plan

    t0 = time.perf_counter()
    counted = plan(labels, chunk_size=chunk_size, backend=backend)
    return counted, time.perf_counter() - t0 - _compile_seconds(counted)


def stratified(
    counted: ChunkPlan, chunk_size: int, backend: str, seconds_before: float
) -> Chunking:
    """``fastsplit.stratify`` of the counted plan in index mode, once.

    Stratifying the plan reuses the grouping :func:`count_groups` made: the labels
    are grouped once. Sparse groups are the fit's to report.
    """
    from .. import stratify
    from ..errors import SparseGroupWarning

    with warnings.catch_warnings():
        # fit reports sparse groups itself (result.check.notes / the strategy reason).
        warnings.simplefilter("ignore", SparseGroupWarning)
        t0 = time.perf_counter()
        s = stratify(counted, chunk_size=chunk_size, mode="index", backend=backend)
        seconds = time.perf_counter() - t0
    compiling = _compile_seconds(s.diagnostics)
    counted_compiling = _compile_seconds(counted)  # already left out of seconds_before
    # The jax backend's compilation is JAX's: the fit's own JAX clock counts it.
    reported = 0.0 if s.backend == "jax" else compiling + counted_compiling
    # Codes in chunk order are the fit's own data preparation (one gather, like x
    # and y); only grouping the labels and the stratify call count as stratification
    # time, and stratify's first-call compilation is counted apart.
    return Chunking(
        plan=s.plan,
        order=np.asarray(s.order),
        codes=np.asarray(s.codes),
        diagnostics=s.diagnostics,
        seconds=seconds_before + max(seconds - compiling, 0.0),
        compile_seconds=reported,
    )


def in_input_order(
    labels: np.ndarray, counted: ChunkPlan, chunk_size: int, seconds: float
) -> Chunking:
    """Chunks that follow the input order: equal sizes (+-1), groups wherever they fall.

    ``counted`` grouped the labels; ``seconds`` is what counts as stratification.
    """
    plan = dataclasses.replace(counted, chunk_size=chunk_size)
    codes = np.searchsorted(plan.groups, labels)  # plan groups by equality: an exact hit
    return Chunking(
        plan=plan,
        order=None,
        codes=codes,
        diagnostics=None,
        seconds=seconds,
        compile_seconds=_compile_seconds(counted),
    )


@dataclass(frozen=True)
class ChunkStacks:
    """The data as ``(K, C)`` JAX arrays: ``K`` chunks padded to ``C`` points (weight 0)."""

    x: tuple[Any, ...]
    y: Any
    weight: Any
    codes: Any
    n_points: int
    n_chunks: int
    chunk_len: int
    clusters: tuple[Any, ...] = ()
    """One ``(K, C)`` int32 stack of cluster codes per cluster term (``_cluster``)."""

    @classmethod
    def build(
        cls,
        x: Sequence[np.ndarray],
        y: np.ndarray,
        weight: np.ndarray,
        chunking: Chunking,
        clusters: Sequence[np.ndarray] = (),
    ) -> ChunkStacks:
        """Gather the points of each chunk ``[bounds[k], bounds[k+1])`` into padded rows.

        ``x``, ``y``, ``weight`` and the ``clusters`` codes are in input order; each
        point is gathered once. Padding repeats the chunk's last point with weight 0.
        """
        import jax.numpy as jnp

        bounds = chunking.plan.bounds
        n_chunks = int(bounds.shape[0] - 1)
        pos, src, valid = _sources(chunking)
        chunk_len = int(src.shape[1])
        (*xs, ys), w = padded_gather([*x, y], weight, src, valid)
        return cls(
            x=tuple(xs),
            y=ys,
            weight=w,
            codes=jnp.asarray(np.take(chunking.codes, pos, mode="clip").astype(np.int32)),
            n_points=int(bounds[-1]),
            n_chunks=n_chunks,
            chunk_len=chunk_len,
            clusters=gather_codes(chunking, clusters),
        )

    def flat(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        """``(x arrays, codes, weight, y)`` as 1-D host arrays in chunk order.

        Views of the stacks, padding included: its weight 0 must be folded into
        the model and ``y`` by whoever fits them.
        """
        return (
            [np.asarray(a).reshape(-1) for a in self.x],
            np.asarray(self.codes).reshape(-1),
            np.asarray(self.weight).reshape(-1),
            np.asarray(self.y).reshape(-1),
        )


def _sources(chunking: Chunking) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(position in chunk order, input index, valid)`` of every slot of the ``(K, C)``
    stacks (padding repeats the chunk's last point and is not valid)."""
    bounds = chunking.plan.bounds
    n_chunks = int(bounds.shape[0] - 1)
    sizes = np.diff(bounds)
    chunk_len = int(sizes.max()) if n_chunks else 0
    pos = bounds[:-1, None] + np.arange(chunk_len, dtype=np.int64)[None, :]
    np.minimum(pos, bounds[1:, None] - 1, out=pos)
    valid = np.arange(chunk_len)[None, :] < sizes[:, None]
    src = pos if chunking.order is None else np.take(chunking.order, pos, mode="clip")
    return pos, src, valid


def gather_codes(chunking: Chunking, codes: Sequence[np.ndarray]) -> tuple[Any, ...]:
    """Per-point integer codes (input order) as ``(K, C)`` int32 JAX stacks in chunk order."""
    if not codes:
        return ()
    import jax.numpy as jnp

    _, src, _ = _sources(chunking)
    return tuple(jnp.asarray(np.take(c, src).astype(np.int32)) for c in codes)
