"""Which strategy runs, and with which chunk size: decided from group counts, before any data moves.

:func:`choose` needs only the group counts (``fastsplit.plan``), the parameter
layout and the settings, so it can be called without fitting. Memory comes
from the one memory policy (:func:`fastsplit._memory.budget`); what each
strategy needs is modelled in that strategy's module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _memory
from ..config import Settings
from ._common import shown_labels
from ._model import ParameterLayout
from ._strategies import STRATEGIES, chunked

__all__ = ["Choice", "choose"]


@dataclass(frozen=True)
class Choice:
    """A strategy, why it was chosen, the chunk size to stratify with, and whether the
    caller asked for this strategy by name (``auto`` did not choose it)."""

    strategy: str
    reason: str
    chunk_size: int
    requested: bool = False


def choose(
    requested: str,
    *,
    groups: np.ndarray,
    counts: np.ndarray,
    chunk_size: int,
    layout: ParameterLayout,
    settings: Settings,
) -> Choice:
    """Resolve ``requested`` (a strategy name or ``"auto"``) for these groups.

    A strategy that fits chunk by chunk gets chunks large enough for every
    group to be in every chunk, when one such chunk fits in memory. ``auto``
    takes ``chunked``, the fastest strategy at every size measured
    (``docs/fit.md``: 2 thousand to 3 million points, static and laminar flow,
    first call and later ones); when a group stays sparse and the group sizes
    differ by more than ``max_imbalance_ratio``, ``sequential``. Whether one
    group alone can constrain every shared parameter is checked later, on the
    data (``_setup.avoid_sequential_gaps``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastsplit.config import load_config
    >>> from fastsplit._fit._model import make_layout
    >>> layout = make_layout({"slope": 1.0, "offset": 0.0}, ["offset"], 3)
    >>> c = choose("auto", groups=np.array([1.0, 2.0, 3.0]), counts=np.array([2000, 2000, 5]),
    ...            chunk_size=500, layout=layout, settings=load_config(None))
    >>> c.strategy, c.chunk_size
    ('chunked', 801)
    """
    strat = settings.stratification
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    budget = _memory.budget() if strat.check_memory_safety else None
    choice = _choose(requested, counts, chunk_size, n, layout, settings, budget, groups)
    if budget is None or not STRATEGIES[choice.strategy].chunked:
        return choice
    # One chunk's Jacobian must fit too: a chunk_size near n on a large fit would not.
    per_point = chunked.chunk_bytes(1, layout)
    largest = max(int(budget // per_point), 1)
    if min(choice.chunk_size, n) <= largest:
        return choice
    reason = (
        f"{choice.reason}; chunk_size lowered to {largest:,} so that one chunk's Jacobian "
        f"({per_point * largest / 2**30:.1f} GiB) fits the memory budget"
    )
    return Choice(choice.strategy, reason, largest, choice.requested)


def _choose(
    requested: str,
    counts: np.ndarray,
    chunk_size: int,
    n: int,
    layout: ParameterLayout,
    settings: Settings,
    budget: float | None,
    groups: np.ndarray,
) -> Choice:
    strat = settings.stratification
    n_chunks = -(-n // chunk_size)
    sparse = counts < n_chunks

    def fits(nbytes: float) -> bool:
        return budget is None or nbytes <= budget

    # Chunks of n / min(counts) points put every group in every chunk.
    grown = -(-n // int(counts.min())) if sparse.any() else None
    if grown is not None and not fits(chunked.chunk_bytes(grown, layout)):
        grown = None

    if requested != "auto":
        if grown is not None and STRATEGIES[requested].chunked:
            reason = f"requested; chunk_size raised to {grown:,} for sparse groups"
            return Choice(requested, reason, grown, requested=True)
        return Choice(requested, "requested", chunk_size, requested=True)

    if strat.force_sequential_fallback:
        return Choice("sequential", "force_sequential_fallback is set in the config", chunk_size)
    if not sparse.any():
        reason = (
            f"{n:,} points in {n_chunks} chunk{'s' if n_chunks > 1 else ''}: exact normal "
            "equations chunk by chunk, the fastest strategy at every measured size"
        )
        return Choice("chunked", reason, chunk_size)
    shown = shown_labels(groups, sparse, 5)
    if grown is not None:
        reason = (
            f"group(s) {shown} had fewer points than the {n_chunks} chunks; "
            f"chunk_size raised to {grown:,} so every chunk holds every group"
        )
        return Choice("chunked", reason, grown)
    imbalance = float(counts.max() / max(int(counts.min()), 1))
    if imbalance > strat.max_imbalance_ratio:
        reason = (
            f"group(s) {shown} are sparse, bigger chunks would not fit in memory and the "
            f"group-size imbalance {imbalance:.1f} exceeds max_imbalance_ratio "
            f"{strat.max_imbalance_ratio:g}"
        )
        return Choice("sequential", reason, chunk_size)
    reason = (
        f"group(s) {shown} are sparse and bigger chunks would not fit in memory; the exact "
        "normal equations still see every point of them"
    )
    return Choice("chunked", reason, chunk_size)
