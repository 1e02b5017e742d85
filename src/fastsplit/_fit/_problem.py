"""The interface of a strategy: the :class:`Problem` it is given, the :class:`Outcome` it returns.

The front end (:func:`fastsplit.fit`) prepares the problem once: checked
inputs, the chunks, the data in chunk order, the parameter layout, start and
bounds, and the compiled full-data objective. A strategy only fits; the judge
(``_judge``) turns its outcome into a :class:`~fastsplit.FitResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._progress import Progress
from ..config import Settings
from ._cluster import ClusterRule, ClusterSpec
from ._data import Chunking, ChunkStacks
from ._inputs import Inputs
from ._loss import Loss
from ._model import ParameterLayout
from ._normal import FullDataObjective, NormalEquations
from ._result import GroupFit

__all__ = ["Outcome", "Problem", "nlsq_outcome"]


@dataclass(frozen=True)
class Problem:
    """Everything a strategy needs, prepared once.

    Attributes
    ----------
    model : callable
        ``model(x, **params)`` (see ``_model``).
    layout : ParameterLayout
        Where each parameter lives in the flat vector.
    inputs : Inputs
        The checked data in input order.
    chunking : Chunking
        Chunks, permutation and group codes.
    stacks : ChunkStacks or None
        The data in chunk order, padded (weight 0); ``None`` when the data are dask
        arrays that stay on the workers (only ``chunked`` runs then): read it with
        :meth:`stacks_in_memory`.
    objective : FullDataObjective
        Full-data cost and exact normal equations (over ``stacks``, or over the dask
        blocks).
    start, lower, upper : numpy.ndarray
        Flat start vector and bounds.
    settings : Settings
        The resolved configuration.
    max_nfev : int or None
        Budget of the strategy's optimiser, in evaluations of the cost (scipy's and
        nlsq's meaning); ``None``: each optimiser's default.
    absolute_sigma : bool
        ``sigma`` is absolute.
    progress : Progress
        Where progress lines go.
    loss : Loss
        The robust loss every strategy minimises (see ``_loss``).
    clusters : ClusterSpec or None
        Cluster labels for cluster-robust errors (``_cluster``); the judge uses
        them, the strategies do not.
    """

    model: Callable[..., Any]
    layout: ParameterLayout
    inputs: Inputs
    chunking: Chunking
    stacks: ChunkStacks | None
    objective: FullDataObjective
    start: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    settings: Settings
    max_nfev: int | None
    absolute_sigma: bool
    progress: Progress
    loss: Loss = field(default_factory=Loss)
    clusters: ClusterSpec | ClusterRule | None = None

    @property
    def x_is_tuple(self) -> bool:
        return self.inputs.x_is_tuple

    def stacks_in_memory(self) -> ChunkStacks:
        """The stacks, for the strategies that need the data on this machine."""
        if self.stacks is None:
            raise RuntimeError("this strategy needs the data in memory; only chunked runs on dask")
        return self.stacks


@dataclass(frozen=True)
class Outcome:
    """What a strategy found, before the judge looks at it on all the data.

    Attributes
    ----------
    x : numpy.ndarray
        Flat solution (NaN where the strategy could not determine a value).
    nfev : int
        Passes of the model over the data (or the optimiser's own count).
    success : bool
        The strategy's own verdict.
    message : str
        Its termination message.
    info : mapping
        Strategy details, copied into ``FitResult.info``.
    normal : NormalEquations or None
        Exact full-data normal equations at ``x``, when the strategy has them
        (the judge computes them otherwise).
    cost_start : float or None
        Full-data cost at the start, likewise.
    failed_groups : tuple of int
        Groups whose own fit failed (per-group values unknown).
    problems : tuple of str
        Failures only the strategy can see; each fails the fit.
    judge_convergence : bool
        Whether a remaining Gauss-Newton step larger than ``max_step_sigma``
        is a problem (``False``: a note) - not for fits that never minimised
        the full-data cost.
    tolerance : float
        The solver's relative precision (its ``xtol``): the judge does not ask
        for a residual more exact than ``tolerance * rms(y / sigma)``.
    group_fits : tuple of GroupFit
        Each group's own fit (the ``sequential`` strategy).
    budget : bool
        The optimiser stopped because its evaluation budget (``max_nfev``) ran out.
        Such a stop passes only if the solution meets the convergence tests on
        the full data (see ``_judge``).
    njev : int
        Jacobian passes over the data (0 when the strategy does not count them).
    """

    x: np.ndarray
    nfev: int
    success: bool
    message: str
    info: Mapping[str, Any] = field(default_factory=dict)
    normal: NormalEquations | None = None
    cost_start: float | None = None
    failed_groups: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()
    judge_convergence: bool = True
    tolerance: float = 1e-8
    group_fits: tuple[GroupFit, ...] = ()
    budget: bool = False
    njev: int = 0


def nlsq_outcome(popt: np.ndarray, info: dict[str, Any], tolerance: float) -> Outcome:
    """The outcome of one of nlsq's optimisers (``full``, ``streaming``): its fields
    (see ``_nlsq._result_fields``), with a stop on its budget flagged for the judge."""
    budget = bool(info.pop("budget", False))
    return Outcome(
        popt,
        info["nfev"],
        info["success"],
        info["message"],
        info,
        tolerance=tolerance,
        budget=budget,
    )
