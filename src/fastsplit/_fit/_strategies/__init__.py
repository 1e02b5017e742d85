"""The strategies, one module each, and the table :func:`fastsplit.fit` dispatches through.

A strategy is a function ``run(problem) -> Outcome`` (see ``_problem``).
Adding one is a module with its ``run`` and an entry in :data:`STRATEGIES`;
the front end, the choice and the judge need no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._problem import Outcome, Problem
from . import chunked, full, sequential, streaming

__all__ = ["STRATEGIES", "Strategy"]


@dataclass(frozen=True)
class Strategy:
    """One way to fit.

    Attributes
    ----------
    run : callable
        ``run(problem) -> Outcome``.
    chunked : bool
        It fits the data chunk by chunk, so a group absent from some chunks
        calls for bigger chunks (when memory allows).
    """

    run: Callable[[Problem], Outcome]
    chunked: bool


STRATEGIES: dict[str, Strategy] = {
    "full": Strategy(full.run, chunked=False),
    "chunked": Strategy(chunked.run, chunked=True),
    "streaming": Strategy(streaming.run, chunked=True),
    "sequential": Strategy(sequential.run, chunked=False),
}
"""Name -> strategy; ``"auto"`` is not a strategy but the choice among them."""
