"""What :func:`fastsplit.fit` and its dry run :func:`fastsplit.choose_strategy` share.

Every argument is checked (options first, then the data, then the
parameters), the labels are grouped once (``fastsplit.plan``) and the strategy
and chunk size are chosen from the group counts. Nothing here fits, and
nothing is allocated beyond the checked inputs and the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from . import _data
from ._choose import Choice, choose
from ._cluster import ClusterRule, ClusterSpec, check_errors, precheck_errors
from ._groups import gap_names, lone_group_gaps
from ._inputs import Inputs, Options, check_callable, check_inputs, holds_dask, resolve_options
from ._model import ParameterLayout, check_model_names, flat_parameters, make_layout
from ._strategies import STRATEGIES

if TYPE_CHECKING:
    from .. import ChunkPlan
    from ..dask._fit import DaskData

DASK_STRATEGIES = ("auto", "chunked")
"""What runs on dask arrays: only ``chunked`` sums over blocks that stay on the workers."""

__all__ = ["Setup", "avoid_sequential_gaps", "set_up"]


@dataclass(frozen=True)
class Setup:
    """Checked options and data, the grouped labels, the parameters and the choice."""

    options: Options
    inputs: Inputs
    counted: ChunkPlan
    count_seconds: float
    layout: ParameterLayout
    start: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    choice: Choice
    dask: DaskData | None = None
    """The persisted blocks when the inputs were dask arrays (``fastsplit.dask``)."""
    clusters: ClusterSpec | ClusterRule | None = None
    """The checked cluster labels (``_cluster``), in input order; ``None``: model errors."""


def set_up(
    model: Callable[..., Any],
    x: Any,
    y: Any,
    *,
    groups: Any,
    p0: Mapping[str, Any],
    per_group: Sequence[str] | str,
    sigma: Any,
    bounds: Mapping[str, Any] | None,
    chunk_size: Any,
    strategy: Any,
    backend: Any,
    config: Any,
    on_failure: Any,
    max_nfev: Any,
    absolute_sigma: Any,
    max_step_sigma: Any,
    loss: Any,
    f_scale: Any,
    progress: Any,
    errors: Any = "model",
    clusters: Any = None,
) -> Setup:
    """Check everything and choose; see :func:`fastsplit.fit` for the arguments."""
    options = resolve_options(
        config,
        strategy=strategy,
        on_failure=on_failure,
        backend=backend,
        max_nfev=max_nfev,
        chunk_size=chunk_size,
        absolute_sigma=absolute_sigma,
        max_step_sigma=max_step_sigma,
        loss=loss,
        f_scale=f_scale,
        progress=progress,
        strategies=("auto", *STRATEGIES),
    )
    lazy = holds_dask(x, y, groups, sigma)
    precheck_errors(errors, clusters, dask=lazy)
    if lazy:
        from ..dask._clusters import with_dask_clusters

        setup = _set_up_dask(model, x, y, groups, sigma, p0, per_group, bounds, options)
        return with_dask_clusters(setup, errors, clusters)
    inputs = check_inputs(model, x, y, groups, sigma)
    spec = check_errors(errors, clusters, inputs.n_points)
    make_layout(p0, per_group, 1)  # the names, before the labels are grouped
    counted, seconds = _data.count_groups(inputs.labels, options.chunk_size, options.backend)
    layout, start, lower, upper = flat_parameters(p0, per_group, bounds, counted.n_groups)
    check_model_names(model, layout)
    choice = choose(
        options.strategy,
        groups=counted.groups,
        counts=counted.counts,
        chunk_size=counted.chunk_size,
        layout=layout,
        settings=options.settings,
    )
    return Setup(
        options, inputs, counted, seconds, layout, start, lower, upper, choice, clusters=spec
    )


def _set_up_dask(
    model: Callable[..., Any],
    x: Any,
    y: Any,
    groups: Any,
    sigma: Any,
    p0: Mapping[str, Any],
    per_group: Sequence[str] | str,
    bounds: Mapping[str, Any] | None,
    options: Options,
) -> Setup:
    """:func:`set_up` on dask arrays: the data stay on the workers, ``chunked`` runs."""
    if options.strategy not in DASK_STRATEGIES:
        raise InvalidArgumentError(
            f"strategy={options.strategy!r} cannot run on dask arrays: only 'chunked' (or "
            "'auto') sums the normal equations over blocks that stay on the workers. Pass "
            "strategy='chunked', or .compute() the arrays to fit them in memory."
        )
    check_callable(model)
    make_layout(p0, per_group, 1)  # the names, before any data are read
    from ..dask._fit import set_up_dask

    inputs, counted, seconds, data = set_up_dask(options, x, y, groups, sigma)
    layout, start, lower, upper = flat_parameters(p0, per_group, bounds, counted.n_groups)
    check_model_names(model, layout)
    reason = (
        f"dask arrays: exact normal equations summed over {len(data.blocks)} blocks on the "
        f"workers, {data.chunk_len:,} points per chunk"
    )
    choice = Choice("chunked", reason, data.chunk_len, requested=options.strategy == "chunked")
    return Setup(options, inputs, counted, seconds, layout, start, lower, upper, choice, data)


def avoid_sequential_gaps(
    setup: Setup, model: Callable[..., Any], members: Callable[[], Sequence[np.ndarray]]
) -> Choice:
    """``auto``'s choice, with ``sequential`` replaced by ``chunked`` when no single
    group can constrain some shared parameter (see ``lone_group_gaps``).

    Needs JAX (evaluates the model's Jacobian on a sample of every group).
    """
    choice = setup.choice
    if choice.strategy != "sequential" or choice.requested:
        return choice
    gaps = lone_group_gaps(model, setup.layout, setup.inputs, members(), setup.start)
    if not gaps:
        return choice
    reason = (
        f"{choice.reason}, but no single group constrains {gap_names(gaps)}: chunked instead, "
        "which constrains them through the differences between groups"
    )
    return Choice("chunked", reason, choice.chunk_size)
