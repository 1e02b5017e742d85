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

from ._common import padded_take
from ._placement import place_chunks

if TYPE_CHECKING:
    from .. import ChunkPlan, Diagnostics

__all__ = [
    "ChunkStacks",
    "Chunking",
    "count_groups",
    "gather_codes",
    "in_input_order",
    "shape_class",
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


def shape_class(points: int) -> int:
    """The padded length of a chunk of ``points``: at least 64, then ``m * 2**e``, 32 <= m < 64.

    Compiled passes are specialised to their shapes; rounding the chunk length up
    to one of a few lengths per octave (padding < 1/32 of the points, weight 0)
    lets a fit of 96,968 points per chunk and one of 97,500 run the same compiled
    code.

    Examples
    --------
    >>> shape_class(10), shape_class(96_968), shape_class(98_304)
    (64, 98304, 98304)
    """
    if points <= 64:
        return 64 if points > 0 else 0
    step = 1 << (points.bit_length() - 6)
    return -(-points // step) * step


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
        devices: Sequence[Any] | None = None,
    ) -> ChunkStacks:
        """Gather the points of each chunk ``[bounds[k], bounds[k+1])`` into padded rows.

        ``x``, ``y``, ``weight`` and the ``clusters`` codes are in input order; each
        point is gathered once. Padding repeats the chunk's last point with weight 0.
        The rows are gathered on the host and placed where the fit's passes read them
        (``devices``, default every device of JAX's default backend): on one device
        as they are; over several, each device receives only its own chunks (whole
        chunks, their number padded to a multiple of the devices with weight-0
        copies of chunk 0). The cluster codes stay on the host until the one pass
        that reads them places them the same way. Rows are padded to
        :func:`shape_class` of the largest chunk, so that data sets of similar size
        share one compiled pass (in a process and, through JAX's persistent cache,
        across processes).
        """
        import jax

        devices = tuple(jax.devices() if devices is None else devices)
        bounds = chunking.plan.bounds
        n_chunks = int(bounds.shape[0] - 1)
        pos, src, valid = _sources(chunking)
        chunk_len = int(src.shape[1])
        (*xs, ys), w = padded_take([*x, y], weight, src, valid)
        codes = np.take(chunking.codes, pos, mode="clip").astype(np.int32)
        stacks = (tuple(xs), ys, w, codes)
        placed_x, placed_y, placed_w, placed_codes = place_chunks(
            stacks, devices if len(devices) > 1 else ()
        )
        del stacks, xs, ys, w, codes
        return cls(
            x=tuple(placed_x),
            y=placed_y,
            weight=placed_w,
            codes=placed_codes,
            n_points=int(bounds[-1]),
            n_chunks=n_chunks,
            chunk_len=chunk_len,
            clusters=gather_codes(chunking, clusters),
        )

    def flat(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        """``(x arrays, codes, weight, y)`` as 1-D host arrays in chunk order.

        Views of the stacks, the padding inside chunks included: its weight 0 must
        be folded into the model and ``y`` by whoever fits them. The weight-0 chunks
        that pad the chunk count to a multiple of the devices are left out.
        """
        k = self.n_chunks
        return (
            [np.asarray(a)[:k].reshape(-1) for a in self.x],
            np.asarray(self.codes)[:k].reshape(-1),
            np.asarray(self.weight)[:k].reshape(-1),
            np.asarray(self.y)[:k].reshape(-1),
        )


def _sources(chunking: Chunking) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(position in chunk order, input index, valid)`` of every slot of the ``(K, C)``
    stacks (padding repeats the chunk's last point and is not valid)."""
    bounds = chunking.plan.bounds
    n_chunks = int(bounds.shape[0] - 1)
    sizes = np.diff(bounds)
    chunk_len = shape_class(int(sizes.max())) if n_chunks else 0
    pos = bounds[:-1, None] + np.arange(chunk_len, dtype=np.int64)[None, :]
    np.minimum(pos, bounds[1:, None] - 1, out=pos)
    valid = np.arange(chunk_len)[None, :] < sizes[:, None]
    src = pos if chunking.order is None else np.take(chunking.order, pos, mode="clip")
    return pos, src, valid


def gather_codes(chunking: Chunking, codes: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Per-point integer codes (input order) as ``(K, C)`` int32 host stacks in chunk order
    (placed on the devices by the pass that reads them, ``Objective.cluster_scores``)."""
    if not codes:
        return ()
    _, src, _ = _sources(chunking)
    return tuple(np.take(c, src).astype(np.int32) for c in codes)
