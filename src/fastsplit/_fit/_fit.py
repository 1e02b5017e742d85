"""``fastsplit.fit``: check, choose, stratify once, run one strategy, judge on all the data.

The front end only orchestrates; each step is its own module: ``_inputs``
(options and data checks), ``_choose`` (strategy and chunk size, from the group
counts), ``_data`` (the stratification and the data in chunk order, built
once), ``_normal`` (the full-data objective), ``_strategies`` (one module per
strategy, dispatched through a table) and ``_judge`` (the never-silent verdict).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._progress import Progress
from . import _data, _nlsq
from ._checks import raise_or_warn
from ._choose import choose
from ._inputs import check_inputs, resolve_options
from ._judge import judge
from ._model import check_model_names, flat_parameters
from ._normal import Objective, check_pointwise
from ._problem import Problem
from ._result import FitResult
from ._strategies import STRATEGIES

__all__ = ["fit"]

log = logging.getLogger("fastsplit")


def fit(
    model: Callable[..., Any],
    x: Any,
    y: Any,
    *,
    groups: Any,
    p0: Mapping[str, Any],
    per_group: Sequence[str] | str,
    sigma: Any = None,
    bounds: Mapping[str, Any] | None = None,
    chunk_size: int | None = None,
    strategy: str = "auto",
    backend: str = "auto",
    config: Any = None,
    on_failure: str | None = None,
    max_nfev: int | None = None,
    absolute_sigma: bool = False,
    max_step_sigma: float = 1.0,
    progress: Progress | Callable[[str], None] | bool | None = None,
) -> FitResult:
    """Least-squares fit of a model with shared and per-group parameters, never silently wrong.

    The data are stratified (:func:`fastsplit.stratify`) so that every chunk
    holds every group, fitted with one strategy, and then judged on all points:
    the full-data cost and gradient are computed chunk by chunk, every per-group
    parameter must be constrained by data, and the solution must have moved
    from ``p0`` to a minimum. A fit that fails these checks raises
    :class:`~fastsplit.errors.FitFailedError` naming the groups and parameters.

    Parameters
    ----------
    model : callable
        ``model(x, **params) -> y_model``, written with ``jax.numpy``. Shared
        parameters arrive as scalars, per-group parameters as per-point arrays
        (already gathered from the per-group values). Must be pointwise: output
        ``i`` depends only on ``x[i]`` and the parameter values at point ``i``.
    x : array or tuple of arrays
        Independent variables, one value per point; a tuple is passed to the
        model as a tuple (``x=(phi, t1, t2)``).
    y : array
        Observations, one per point.
    groups : array
        Group label of every point (float angles, integers).
    p0 : mapping
        Starting value of every parameter by name; per-group ones as a scalar
        or as one value per group (ordered like the sorted unique labels).
    per_group : sequence of str
        Names in ``p0`` that take one value per group.
    sigma : float or array, optional
        Standard deviation of ``y`` (weights ``1 / sigma``).
    bounds : mapping, optional
        ``{name: (lower, upper)}``; per-group bounds may be per group. Missing
        names are unbounded.
    chunk_size : int, optional
        Points per chunk (default: the config's ``target_chunk_size``, 100,000).
    strategy : {"auto", "full", "chunked", "streaming", "sequential"}
        ``full``: ``nlsq.curve_fit`` on all points (exact; memory O(n x P)).
        ``chunked``: Levenberg-Marquardt on the exact normal equations summed over
        the stratified chunks (memory of one chunk's Jacobian).
        ``streaming``: nlsq's hybrid streaming optimiser on the stratified data.
        ``sequential``: each group alone, shared parameters combined.
        ``auto``: ``full`` when everything is one chunk and fits in memory,
        else ``chunked``; sparse groups (fewer points than chunks) get bigger
        chunks when memory allows, else ``sequential`` if the groups are very
        unequal; ``force_sequential_fallback`` in the config forces it. The
        chunk size is settled before the data are stratified, once.
    backend : str
        Backend of :func:`fastsplit.stratify`.
    config : path, mapping or Settings, optional
        See :func:`fastsplit.load_config`; explicit arguments win over it.
    on_failure : {"raise", "warn"}, optional
        What a failed check does (default from the config: ``"raise"``).
    max_nfev : int, optional
        Iteration limit of the strategy's optimiser.
    absolute_sigma : bool
        ``sigma`` is absolute (covariance not scaled by the reduced chi-square).
    max_step_sigma : float
        Largest remaining Gauss-Newton step, in standard errors, accepted as
        converged.
    progress : Progress, callable or bool, optional
        ``progress(line)`` receives progress lines (``True``: print to stderr);
        they also go to the ``fastsplit`` logger.

    Returns
    -------
    FitResult

    Raises
    ------
    FitFailedError
        The fit did not move, left a group or parameter unconstrained, did not
        reach a minimum of the full-data cost, or too few groups succeeded in
        the sequential fallback (``on_failure="warn"`` warns instead). The
        exception's ``result`` attribute holds the result.
    BackendUnavailableError
        nlsq/JAX are not installed (``pip install 'fastsplit[fit]'``).

    Notes
    -----
    Importing nlsq (done on the first call) turns on ``jax_enable_x64`` and sets
    XLA environment variables; fastsplit itself never changes JAX settings.

    Examples
    --------
    >>> import jax.numpy as jnp, numpy as np, fastsplit
    >>> def line(x, *, slope, offset):
    ...     return slope * x + offset
    >>> x = np.tile(np.linspace(0, 1, 50), 3)
    >>> g = np.repeat([10.0, 20.0, 30.0], 50)                    # group-major
    >>> y = 2.0 * x + np.repeat([0.1, 0.2, 0.3], 50)
    >>> r = fastsplit.fit(line, x, y, groups=g, p0={"slope": 1.0, "offset": 0.0},
    ...                   per_group=["offset"], sigma=0.01)
    >>> round(r.params["slope"], 6), np.round(r.params["offset"], 6).tolist()
    (2.0, [0.1, 0.2, 0.3])
    """
    options = resolve_options(
        config,
        strategy=strategy,
        on_failure=on_failure,
        backend=backend,
        max_nfev=max_nfev,
        chunk_size=chunk_size,
        strategies=("auto", *STRATEGIES),
    )
    inputs = check_inputs(model, x, y, groups, sigma)
    report = Progress.of(progress)
    settings = options.settings

    _nlsq.nlsq_version()  # imports nlsq and JAX: not part of the timings
    clock = time.perf_counter()
    with _nlsq.x64():
        counted, seconds = _data.count_groups(inputs.labels, options.chunk_size, options.backend)
        layout, start, lower, upper = flat_parameters(p0, per_group, bounds, counted.n_groups)
        check_model_names(model, layout)
        choice = choose(
            options.strategy,
            groups=counted.groups,
            counts=counted.counts,
            chunk_size=counted.chunk_size,
            layout=layout,
            settings=settings,
        )
        if settings.stratification.enabled is False:
            grouping = _data.in_input_order(inputs.labels, counted, choice.chunk_size, seconds)
            report(f"stratification disabled: {grouping.n_chunks} chunks in input order")
        else:
            grouping = _data.stratified(counted, choice.chunk_size, options.backend, seconds)
            report(
                f"stratified {inputs.n_points:,} points into {grouping.n_chunks} chunks x "
                f"{len(grouping.groups)} groups in {1e3 * grouping.seconds:.1f} ms"
            )
        report(f"strategy {choice.strategy}: {choice.reason}")
        if settings.stratification.log_diagnostics and grouping.diagnostics is not None:
            log.info("%s", grouping.diagnostics.report())

        stacks = _data.ChunkStacks.build(inputs.x, inputs.y, inputs.weight, grouping)
        objective = Objective(model, layout, inputs.x_is_tuple, stacks)
        check_pointwise(objective, start)
        problem = Problem(
            model=model,
            layout=layout,
            inputs=inputs,
            grouping=grouping,
            stacks=stacks,
            objective=objective,
            start=start,
            lower=lower,
            upper=upper,
            settings=settings,
            max_nfev=options.max_nfev,
            absolute_sigma=absolute_sigma,
            progress=report,
        )
        outcome = STRATEGIES[choice.strategy].run(problem)
        result = judge(outcome, problem, choice, max_step_sigma=max_step_sigma, clock=clock)
    timings = result.timings
    report(
        f"done: cost {result.cost:.6g} (start {result.cost_start:.6g}), "
        f"{'OK' if result.success else 'NOT TRUSTED'}; stratify {1e3 * timings.stratify:.1f} ms "
        f"= {100 * timings.ratio:.3f} % of fit {timings.fit:.2f} s"
    )
    raise_or_warn(result.check, choice.strategy, options.on_failure, result)
    return result
