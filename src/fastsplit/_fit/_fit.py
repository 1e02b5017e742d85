"""``fastsplit.fit``: check, choose, stratify once, run one strategy, judge on all the data.

The front end only orchestrates; each step is its own module: ``_setup``
(every argument checked, the labels grouped, the strategy and chunk size
chosen from the group counts; shared with the dry run), ``_data`` (the
stratification and the data in chunk order, built once), ``_normal`` (the
full-data objective), ``_strategies`` (one module per strategy, dispatched
through a table) and ``_judge`` (the never-silent verdict).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from .._progress import Progress
from . import _data, _nlsq
from ._checks import raise_or_warn
from ._judge import Clock, judge
from ._normal import FullDataObjective, Objective, check_model
from ._numeric import NumericObjective, numeric_strategy, objective_for
from ._options import FitOptions, signature_with
from ._problem import Problem
from ._result import FitResult
from ._setup import Setup, avoid_sequential_gaps, set_up
from ._strategies import STRATEGIES

__all__ = ["fit"]

log = logging.getLogger("fastsplit")


@signature_with("model", "x", "y")
def fit(model: Callable[..., Any], x: Any, y: Any, **options: Any) -> FitResult:
    """Least-squares fit of a model with shared and per-group parameters, never silently wrong.

    The data are stratified (:func:`fastsplit.stratify`) so that every chunk
    holds every group, fitted with one strategy, and then judged on all points:
    the full-data cost and gradient are computed chunk by chunk, every per-group
    parameter must be constrained by data, and the remaining Gauss-Newton step
    must be small against the larger of the statistical error, the sigma-based
    error (when ``sigma`` is given) and the solver's precision, so exact data
    pass and a fit stopped short does not. A fit that fails these checks raises
    :class:`~fastsplit.errors.FitFailedError` naming the groups and parameters;
    ``result.success`` is never ``False`` quietly. Every argument is checked
    before any work; :func:`fastsplit.choose_strategy` takes the same arguments
    and says which strategy this call would run, without fitting.

    Parameters
    ----------
    model : callable
        ``model(x, **params) -> y_model``, best written with ``jax.numpy`` (exact
        derivatives, compiled). A model JAX cannot trace (NumPy, SciPy) is
        accepted too: its Jacobian then comes from finite differences (``jac``),
        chunk by chunk, with a one-time :class:`FiniteDifferenceWarning`.
        Shared parameters arrive as scalars, per-group parameters as per-point
        arrays (already gathered from the per-group values). Must be pointwise:
        output ``i`` depends only on ``x[i]`` and the parameter values at point
        ``i``. (:func:`fastsplit.curve_fit` takes scipy's ``f(x, a, b, ...)``.)
    x : array or tuple of arrays
        Independent variables, one value per point; a tuple is passed to the
        model as a tuple (``x=(phi, t1, t2)``).
    y : array
        Observations, one per point.
    groups : array, optional
        Group label of every point (float angles, integers). ``None`` (the
        default): no groups, an ordinary large fit chunked by position, with
        the same checks.
    p0 : mapping
        Starting value of every parameter by name; per-group ones as a scalar
        or as one value per group (ordered like the sorted unique labels).
    per_group : sequence of str
        Names in ``p0`` that take one value per group (default: none).
    fixed : sequence of str
        Names in ``p0`` held at their ``p0`` value (lmfit's ``vary=False``);
        per-group ones for every group. Equal bounds fix a parameter too, at
        that value. Fixed parameters are not fitted, are reported with error 0
        and zero covariance, and are listed in ``result.fixed``.
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
        ``auto``: ``chunked``, the fastest at every size measured
        (``docs/fit.md``); sparse groups (fewer points than chunks) get bigger
        chunks when memory allows, else ``sequential`` if the groups are very
        unequal (``force_sequential_fallback`` in the config asks for it), unless
        one group alone cannot constrain some shared parameter. The chunk size
        is settled before the data are stratified, once.
    backend : str
        Backend of :func:`fastsplit.stratify`.
    config : path, mapping or Settings, optional
        See :func:`fastsplit.load_config`; explicit arguments win over it.
    on_failure : {"raise", "warn"}, optional
        What a failed check does (default from the config: ``"raise"``).
    max_nfev : int, optional
        Budget of the optimiser, in evaluations of the cost as scipy and nlsq count
        them. Default: ``100 x (P + 1)`` for ``chunked`` (MINPACK's; ``P`` free
        parameters), nlsq's own default for ``full`` and ``streaming``, scipy's
        for each group's own fit in ``sequential``. A fit that stops on its budget
        passes only if the convergence tests hold at its last point; otherwise
        :class:`~fastsplit.errors.FitFailedError` names the budget and a larger one.
    absolute_sigma : bool
        ``sigma`` is absolute (covariance not scaled by the reduced chi-square).
    max_step_sigma : float
        Largest remaining Gauss-Newton step, in standard errors, accepted as
        converged.
    loss : {"linear", "soft_l1", "huber", "cauchy", "arctan"}
        Robust loss, as :func:`scipy.optimize.least_squares` defines it, on the
        residuals ``(model - y) / sigma``; every strategy minimises it and the
        checks judge it.
    f_scale : float
        Residual size (in units of ``sigma``) where a robust loss starts to
        down-weight points.
    jac : {"2-point", "3-point"}
        Finite-difference rule (scipy's, with its relative steps) for a model
        JAX cannot trace; unused for a ``jax.numpy`` model, whose derivatives
        are exact. Such models run with the ``chunked`` strategy (``auto``
        picks it); naming another strategy is an error.
    progress : Progress, callable or bool, optional
        ``progress(line)`` receives progress lines (``True``: print to stderr);
        they also go to the ``fastsplit`` logger.
    errors : {"model", "cluster"}
        Which error bars ``result.errors`` and ``result.covariance`` hold.
        ``"model"``: every point independent (the inverse of ``J^T J``, scaled by
        the residuals unless ``absolute_sigma``). ``"cluster"``: cluster-robust
        (sandwich) errors for points correlated within ``clusters``; see
        ``docs/errors.md``. The parameters are the same either way.
    clusters : array or tuple of arrays, optional
        One cluster label per point (points of one cluster may be correlated,
        points of different clusters are not), or a tuple of such arrays for
        multiway clusters (e.g. blocks of frames of ``t1`` and of ``t2``), or a
        function of the fitted parameters (a dict by name) returning either, called
        once at the solution. Given with either ``errors``, both kinds are
        computed and kept (``result.errors_model``, ``result.errors_cluster``), in
        one normal pass at the solution that sums the scores per cluster
        (``O(clusters x P)`` memory). Fewer than 10 clusters in a dimension warns
        (:class:`~fastsplit.errors.ClusterWarning`).

    Returns
    -------
    FitResult

    Raises
    ------
    InvalidArgumentError, InvalidTypeError
        An argument is wrong (named in the message), before any work.
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
    An ordinary fit, no groups, one parameter held fixed:

    >>> import jax.numpy as jnp, numpy as np, fastsplit
    >>> def decay(x, *, a, k, c):
    ...     return a * jnp.exp(-k * x) + c
    >>> t = np.linspace(0, 4, 200)
    >>> r = fastsplit.fit(decay, t, 2.0 * np.exp(-1.3 * t) + 0.5, chunk_size=64,
    ...                   p0={"a": 1.0, "k": 1.0, "c": 0.5}, fixed=("c",))
    >>> round(r.params["k"], 6), r.errors["c"], r.fixed
    (1.3, 0.0, ('c',))

    Shared and per-group parameters:

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
    setup = set_up(model, x, y, FitOptions.of(options, where="fit"))
    model = setup.model_or(model)  # with fixed parameters: the free problem's model
    resolved, inputs = setup.options, setup.inputs
    report, settings = resolved.progress, resolved.settings
    _nlsq.nlsq_version()  # imports nlsq and JAX: not part of the timings
    with _nlsq.x64():
        counted, seconds = setup.counted, setup.count_seconds
        # The clock starts where counting started, less the first-call compilation
        # counting reported (the stratification's time excludes it: see _data).
        clock = Clock.now(already=seconds + counted.compile_seconds)
        objective: FullDataObjective
        if setup.dask is not None:
            data = setup.dask
            chunking, stacks = data.chunking(counted, seconds), None
            report(
                f"{inputs.n_points:,} points in {len(data.blocks)} dask blocks kept on the "
                f"workers ({data.n_chunks} chunks), {len(chunking.groups)} groups, "
                f"read in {seconds:.2f} s"
            )
            sample = Objective(model, setup.layout, inputs.x_is_tuple, data.sample_stacks())
            check_model(sample, setup.start)
            objective = data.objective(model, setup.layout, inputs.x_is_tuple, resolved.loss)
        else:
            chunking = _in_chunks(setup, report)
            codes = setup.clusters.codes if setup.clusters is not None else ()
            stacks = _data.ChunkStacks.build(inputs.x, inputs.y, inputs.weight, chunking, codes)
            objective = objective_for(model, setup, stacks)
        if isinstance(objective, NumericObjective):
            choice = numeric_strategy(setup.choice)
        else:
            choice = avoid_sequential_gaps(setup, model, chunking.members)
        report(f"strategy {choice.strategy}: {choice.reason}")
        problem = Problem(
            model=model,
            layout=setup.layout,
            inputs=inputs,
            chunking=chunking,
            stacks=stacks,
            objective=objective,
            start=setup.start,
            lower=setup.lower,
            upper=setup.upper,
            settings=settings,
            max_nfev=resolved.max_nfev,
            absolute_sigma=resolved.absolute_sigma,
            progress=report,
            loss=resolved.loss,
            clusters=setup.clusters,
        )
        # Data near float64's range overflow in the normal equations: the checks report
        # the non-finite values they leave, numpy's warnings would only repeat it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            outcome = STRATEGIES[choice.strategy].run(problem)
            result = judge(
                outcome, problem, choice, max_step_sigma=resolved.max_step_sigma, clock=clock
            )
        if setup.dask is not None:  # each block is cut into its own chunks
            result.info.update(dask_blocks=len(setup.dask.blocks), n_chunks=setup.dask.n_chunks)
        result.info["jacobian"] = (
            f"finite differences ({objective.rule})"
            if isinstance(objective, NumericObjective)
            else "exact (JAX)"
        )
        result = dataclasses.replace(result, grouped=setup.grouped)
        if setup.fixing is not None:
            result = setup.fixing.widen(result)

    timings = result.timings
    report(
        f"done: cost {result.cost:.6g} (start {result.cost_start:.6g}), "
        f"{'OK' if result.success else 'NOT TRUSTED'}; stratify {1e3 * timings.stratify:.1f} ms "
        f"= {100 * timings.ratio:.3f} % of fit {timings.fit:.2f} s "
        f"(+ {timings.compile:.2f} s compiling)"
    )
    raise_or_warn(result.check, choice.strategy, resolved.on_failure, result)
    return result


def _in_chunks(setup: Setup, report: Progress) -> _data.Chunking:
    """The in-memory data stratified once (or kept in input order, as the config says)."""
    inputs, counted, seconds = setup.inputs, setup.counted, setup.count_seconds
    settings, size = setup.options.settings, setup.choice.chunk_size
    if not setup.grouped:  # one group: every chunk holds it, in any order
        chunking = _data.in_input_order(inputs.labels, counted, size, seconds)
        report(f"{inputs.n_points:,} points in {chunking.n_chunks} chunks by position")
    elif settings.stratification.enabled is False:
        chunking = _data.in_input_order(inputs.labels, counted, size, seconds)
        report(f"stratification disabled: {chunking.n_chunks} chunks in input order")
    else:
        chunking = _data.stratified(counted, size, setup.options.backend, seconds)
        report(
            f"stratified {inputs.n_points:,} points into {chunking.n_chunks} chunks x "
            f"{len(chunking.groups)} groups in {1e3 * chunking.seconds:.1f} ms"
        )
    if settings.stratification.log_diagnostics and chunking.diagnostics is not None:
        log.info("%s", chunking.diagnostics.report())
    return chunking
