"""What :func:`fastsplit.fit` and its dry run :func:`fastsplit.choose_strategy` share.

Every argument is checked (options first, then the data, then the
parameters), the labels are grouped once (``fastsplit.plan``) and the strategy
and chunk size are chosen from the group counts. Nothing here fits, and
nothing is allocated beyond the checked inputs and the plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from . import _data
from ._choose import Choice, choose
from ._cluster import ClusterRule, ClusterSpec, check_errors, precheck_errors
from ._fixed import Fixing, fixed_columns, fixed_names, fixing, holding_fixed
from ._groups import gap_names, lone_group_gaps
from ._inputs import Inputs, Options, check_callable, check_inputs, holds_dask, resolve_options
from ._model import ParameterLayout, check_model_names, flat_parameters, make_layout
from ._options import FitOptions
from ._strategies import STRATEGIES

if TYPE_CHECKING:
    from .. import ChunkPlan
    from ..dask._fit import DaskData

DASK_STRATEGIES = ("auto", "chunked")
"""What runs on dask arrays: only ``chunked`` sums over blocks that stay on the workers."""

__all__ = ["Setup", "avoid_sequential_gaps", "set_up"]


@dataclass(frozen=True)
class Setup:
    """Checked options and data, the grouped labels, the parameters and the choice.

    ``model``, ``layout``, ``start``, ``lower`` and ``upper`` are those of the free
    problem the fit runs on: without fixed parameters the caller's own; with them,
    the free parameters only and a model that adds the fixed values back
    (``fixing`` widens the result again, see ``_fixed``).
    """

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
    dask_chunks: int | None = None
    """Chunks the dask blocks are cut into (each block its own), when the inputs were dask."""
    model: Callable[..., Any] | None = None
    """The model the fit runs (``None``: the caller's own)."""
    fixing: Fixing | None = None
    """The fixed parameters, when there are any."""
    grouped: bool = True
    """``groups`` was given (``None``: one group, chunked by position)."""
    clusters: ClusterSpec | ClusterRule | None = None
    """The checked cluster labels (``_cluster``), in input order; ``None``: model errors."""

    def model_or(self, model: Callable[..., Any]) -> Callable[..., Any]:
        """The model the fit runs: ``model`` itself unless parameters are fixed."""
        return model if self.model is None else self.model


def set_up(
    model: Callable[..., Any], x: Any, y: Any, given: FitOptions, *, dry_run: bool = False
) -> Setup:
    """Check everything and choose; see :func:`fastsplit.fit` for the arguments.

    ``dry_run``: for :func:`fastsplit.choose_strategy`; with dask arrays only the
    shapes, dtypes and the labels' counts are read (no blocks persisted, ``dask`` None).
    """
    options = resolve_options(given, strategies=("auto", *STRATEGIES))
    groups, p0, sigma = given.groups, given.require_p0(), given.sigma
    errors, clusters = given.errors, given.clusters
    per_group = _per_group(given)
    lazy = holds_dask(x, y, groups, sigma)
    precheck_errors(errors, clusters, dask=lazy)
    if lazy:
        if groups is None or given.fixed:
            raise InvalidArgumentError(
                "a fit on dask arrays needs groups= and cannot hold parameters fixed yet: pass "
                "groups (da.zeros(n) for one group) and no fixed=, or .compute() the arrays."
            )
        from ..dask._clusters import with_dask_clusters

        setup = _set_up_dask(
            model, x, y, groups, sigma, p0, per_group, given.bounds, options, dry_run
        )
        # The dry run reads no blocks; the labels are checked by precheck_errors.
        return setup if dry_run else with_dask_clusters(setup, errors, clusters)
    inputs = check_inputs(model, x, y, groups, sigma)
    spec = check_errors(errors, clusters, inputs.n_points)
    make_layout(p0, per_group, 1)  # the names, before the labels are grouped
    counted, seconds = _data.count_groups(inputs.labels, options.chunk_size, options.backend)
    layout, start, lower, upper = flat_parameters(p0, per_group, given.bounds, counted.n_groups)
    check_model_names(model, layout)
    held = fixed_names(given.fixed, layout, lower, upper)
    run_model, fix = None, None
    if held:
        fix, layout = fixing(held, layout, start)
        if not layout.size:
            raise InvalidArgumentError(
                f"every parameter is fixed ({list(held)}): there is nothing to fit. Free at "
                "least one (remove it from fixed=, or give it unequal bounds)."
            )
        codes = np.searchsorted(counted.groups, inputs.labels)  # groups by equality: exact
        extra = fixed_columns(fix, codes)
        run_model = holding_fixed(model, fix, len(inputs.x), inputs.x_is_tuple)
        inputs = dataclasses.replace(inputs, x=(*inputs.x, *extra), x_is_tuple=True)
        idx = fix.free_index
        start, lower, upper = start[idx], lower[idx], upper[idx]
    choice = choose(
        options.strategy,
        groups=counted.groups,
        counts=counted.counts,
        chunk_size=counted.chunk_size,
        layout=layout,
        settings=options.settings,
    )
    return Setup(
        options,
        inputs,
        counted,
        seconds,
        layout,
        start,
        lower,
        upper,
        choice,
        model=run_model,
        fixing=fix,
        grouped=groups is not None,
        clusters=spec,
    )


def _per_group(given: FitOptions) -> Sequence[str] | str:
    """``per_group`` (``None``: none), checked; per-group parameters need groups."""
    per_group = () if given.per_group is None else given.per_group
    if given.groups is None:
        names = make_layout(given.require_p0(), per_group, 1).per_group
        if names:
            raise InvalidArgumentError(
                f"per_group={list(names)!r} needs groups=: without group labels every "
                "parameter is shared. Pass groups=labels (one per point), or drop per_group."
            )
    return per_group


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
    dry_run: bool,
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
    from ..dask._fit import plan_dask, set_up_dask

    data = None
    if dry_run:  # shapes and the labels' counts only: x, y and sigma are not read
        planned = plan_dask(options, x, y, groups, sigma)
        inputs, counted, seconds, chunk_len, n_chunks, n_blocks = planned
    else:
        inputs, counted, seconds, data = set_up_dask(options, x, y, groups, sigma)
        chunk_len, n_chunks, n_blocks = data.chunk_len, data.n_chunks, len(data.blocks)
    layout, start, lower, upper = flat_parameters(p0, per_group, bounds, counted.n_groups)
    check_model_names(model, layout)
    if fixed_names((), layout, lower, upper):
        raise InvalidArgumentError(
            "equal bounds hold a parameter fixed, which a fit on dask arrays cannot do yet: "
            "give unequal bounds, or .compute() the arrays."
        )
    reason = (
        f"dask arrays: exact normal equations summed over {n_blocks} blocks on the "
        f"workers, {chunk_len:,} points per chunk"
    )
    choice = Choice("chunked", reason, chunk_len, requested=options.strategy == "chunked")
    return Setup(
        options,
        inputs,
        counted,
        seconds,
        layout,
        start,
        lower,
        upper,
        choice,
        dask=data,
        dask_chunks=n_chunks,
    )


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
