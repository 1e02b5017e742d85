"""A stratified batch sampler: :func:`batches`, one reshuffled epoch after another.

An epoch is :func:`fastsplit.stratify` in index mode with ``chunk_size =
batch_size`` and ``seed = (seed, epoch)``: K = ceil(n / batch_size) batches of
floor or ceil of n / K points, each holding the floor or ceil of c_g / K points
of every group g (contract C3), whatever the group sizes. Batch j of the epoch
goes to rank j mod world_size. When K is not a multiple of the world size, the
ranks are evened out by padding: the first batches of the epoch are dealt again
(whole batches, so a padding batch is as balanced as any other), and every rank
iterates the same number of batches, which collective operations in distributed
training need. ``drop_last=True`` drops the last K mod world_size batches instead.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import _validate as v
from ._api import order_of
from ._grouping import group_labels
from ._plan import ChunkPlan
from .backends import resolve
from .errors import InvalidArgumentError, InvalidTypeError, SparseGroupWarning


def _refuse_dask(labels: Any, batch_size: int, seed: tuple[int, ...] | None, epoch: Any) -> None:
    """Dask labels: say what to call instead (a sampler holds every point's index in memory)."""
    if type(labels).__module__.split(".")[0] != "dask":
        return
    seeded = f"seed=({', '.join(map(str, seed or (0,)))}, {epoch})"
    raise InvalidTypeError(
        "labels is a dask array; fastsplit.batches keeps every point's index in memory "
        "(8 bytes a point), so it takes labels in memory: fastsplit.batches(labels.compute(), "
        "...) if they fit. For dask data, draw each epoch's batches as chunks of the data "
        f"itself, the same batches: s = fastsplit.dask.stratify(labels, x, y, {seeded}, "
        f"chunk_size={batch_size}); for x_b, y_b in s.chunks(): ... (or pass "
        "dask.array.arange(n) to get the indices)."
    )


class Batches:
    """Stratified, reshuffled batches of point indices; see :func:`batches`.

    Attributes
    ----------
    batch_size, rank, world_size, epoch : int
        As given (``epoch`` changes with :meth:`set_epoch`).
    seed : tuple of int or None
        The seed, as a tuple.
    drop_last : bool
        As given.
    n_batches : int
        Batches of one epoch over all ranks, padding and dropping aside:
        ceil(n / batch_size).
    """

    def __init__(
        self,
        labels: Any,
        batch_size: int,
        *,
        seed: int | Sequence[int] | None = None,
        epoch: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        backend: str = "auto",
    ) -> None:
        self.batch_size = v.check_count("batch_size", batch_size, minimum=1)
        self.seed = v.check_seed(seed)
        _refuse_dask(labels, self.batch_size, self.seed, epoch)
        self.epoch = v.check_count("epoch", epoch, maximum=v.MAX_SEED)
        self.drop_last = v.check_flag("drop_last", drop_last)
        self.world_size = v.check_count("world_size", world_size, minimum=1)
        self.rank = v.check_count("rank", rank)
        if self.rank >= self.world_size:
            raise InvalidArgumentError(
                f"rank={self.rank} is not below world_size={self.world_size}; ranks count "
                "from 0 to world_size - 1 (torch.distributed.get_rank())."
            )
        resolve(backend)  # refused now if unknown; "auto" is decided per epoch (backends.serve)
        self._backend = backend
        # the cache keeps what every epoch shares (the numba backend: member lists, block
        # layout); the unseeded order itself is the same every epoch and is kept too
        grouping = dataclasses.replace(group_labels(labels, backend=self._backend), cache={})
        self._grouping = grouping
        self._unseeded: np.ndarray | None = None
        self._plan = ChunkPlan(
            n=int(grouping.counts.sum()),
            chunk_size=self.batch_size,
            layout="strided",
            groups=grouping.groups,
            counts=grouping.counts,
        )
        self.n_batches = self._plan.n_chunks
        if self._plan.sparse.any():
            sparse = self._plan.sparse_groups
            shown = ", ".join(repr(x) for x in sparse[:5].tolist())
            warnings.warn(
                f"{sparse.size} group(s) have fewer points than the {self.n_batches} batches "
                f"of an epoch and are missing from some batches: {shown}"
                f"{' ...' if sparse.size > 5 else ''}. Use a larger batch_size to have "
                "every group in every batch.",
                SparseGroupWarning,
                stacklevel=3,
            )

    def __getstate__(self) -> dict[str, Any]:
        """Pickles and copies leave what the epochs share behind (it is rebuilt on use)."""
        state = self.__dict__.copy()
        state["_grouping"] = dataclasses.replace(self._grouping, cache={})
        state["_unseeded"] = None
        return state

    def set_epoch(self, epoch: int) -> None:
        """Use the batches of ``epoch`` from now on (a new shuffle when there is a seed)."""
        self.epoch = v.check_count("epoch", epoch, maximum=v.MAX_SEED)

    def __len__(self) -> int:
        """Batches this rank iterates per epoch (the same on every rank)."""
        whole, left = divmod(self.n_batches, self.world_size)
        return whole + (1 if left and not self.drop_last else 0)

    def epoch_batches(self) -> tuple[np.ndarray, np.ndarray]:
        """(order, bounds) of the current epoch over all ranks.

        Batch j (before dealing to ranks) is ``order[bounds[j]:bounds[j + 1]]``.
        """
        p = self._plan
        if self.seed is None:
            if self._unseeded is None:
                self._unseeded = order_of(self._grouping, p, backend=self._backend)
            return self._unseeded, p.bounds
        seed = (*self.seed, self.epoch)
        p = ChunkPlan(p.n, p.chunk_size, p.layout, p.groups, p.counts, seed=seed)
        return order_of(self._grouping, p, backend=self._backend), p.bounds

    def __iter__(self) -> Iterator[np.ndarray]:
        order, bounds = self.epoch_batches()
        n_batches = self.n_batches
        for i in range(len(self)):
            j = (self.rank + i * self.world_size) % max(n_batches, 1)  # past K: padding
            yield order[bounds[j] : bounds[j + 1]].astype(np.int64)

    def __repr__(self) -> str:
        return (
            f"Batches(n={self._plan.n}, batch_size={self.batch_size}, batches={len(self)}, "
            f"seed={self.seed}, epoch={self.epoch}, rank={self.rank}/{self.world_size}, "
            f"drop_last={self.drop_last})"
        )


def batches(
    labels: Any,
    batch_size: int,
    *,
    seed: int | Sequence[int] | None = None,
    epoch: int = 0,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
    backend: str = "auto",
) -> Batches:
    """Stratified minibatches of point indices: every batch holds every group in proportion.

    A PyTorch ``batch_sampler`` (``DataLoader(dataset, batch_sampler=b)``; call
    ``b.set_epoch(e)`` at the start of each epoch) and a plain iterable for JAX
    loops; torch is never imported. One epoch is
    ``fastsplit.stratify(labels, chunk_size=batch_size, seed=(seed, epoch), mode="index")``:
    its K = ceil(n / batch_size) chunks are the batches, dealt round-robin to the
    ranks. The labels are grouped once, here; each epoch costs one O(n) pass.

    Parameters
    ----------
    labels : array_like
        Group label of every point (as in :func:`fastsplit.stratify`).
    batch_size : int
        Largest batch. Every batch holds floor or ceil of n / K points, so all
        batches are within one point of each other (e.g. 62 or 63 for n = 1000 and
        batch_size = 64), and floor or ceil of c_g / K points of every group g: a
        group with at least K points is in every batch.
    seed : int or tuple of int, optional
        Shuffles every epoch: epoch e uses ``seed=(*seed, e)``. ``None``: the same,
        unshuffled batches every epoch.
    epoch : int, default 0
        First epoch; :meth:`Batches.set_epoch` changes it.
    drop_last : bool, default False
        When K is not a multiple of ``world_size``: ``False`` pads, dealing the
        epoch's first batches again so that every rank gets ceil(K / world_size)
        batches (a few points are seen twice in that epoch); ``True`` drops the
        last K mod world_size batches (a few points are not seen in that epoch).
        Either way every rank gets the same number of batches. With one rank (or
        K a multiple of ``world_size``) every point is in exactly one batch.
    rank, world_size : int
        This process's rank among ``world_size`` (distributed training).
    backend : str
        As in :func:`fastsplit.stratify` (the order is always a NumPy array).

    Returns
    -------
    Batches
        ``iter()`` yields int64 index arrays; ``len()`` is the number of batches
        of this rank; ``set_epoch(e)``.

    Warns
    -----
    SparseGroupWarning
        When some groups have fewer points than there are batches (once, here).

    Examples
    --------
    >>> import numpy as np, fastsplit
    >>> labels = np.repeat([0, 1, 2], [60, 30, 10])      # group-major, one rare group
    >>> b = fastsplit.batches(labels, 20, seed=0)
    >>> len(b)
    5
    >>> [np.bincount(labels[i]).tolist() for i in b]  # every batch: 12, 6 and 2 of them
    [[12, 6, 2], [12, 6, 2], [12, 6, 2], [12, 6, 2], [12, 6, 2]]
    >>> first = [i.copy() for i in b]
    >>> b.set_epoch(1)                                   # a new shuffle, same balance
    >>> any(not np.array_equal(x, y) for x, y in zip(first, b))
    True
    """
    return Batches(
        labels,
        batch_size,
        seed=seed,
        epoch=epoch,
        drop_last=drop_last,
        rank=rank,
        world_size=world_size,
        backend=backend,
    )


__all__ = ["Batches", "batches"]
