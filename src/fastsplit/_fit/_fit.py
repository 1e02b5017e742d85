"""``fastsplit.fit``: stratify, run one strategy, judge the result on all the data."""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..config import STRATEGIES, Settings, load_config
from ..errors import (
    InvalidArgumentError,
    InvalidShapeError,
    InvalidTypeError,
    LengthMismatchError,
)
from . import _nlsq
from ._checks import check_solution, covariance_from, raise_or_warn
from ._model import (
    ParameterLayout,
    check_model_names,
    check_start,
    finite_or_raise,
    make_bounds,
    make_layout,
    normalize_x,
)
from ._normal import ChunkStacks, Problem
from ._result import FitResult, Timings

log = logging.getLogger("fastsplit")

__all__ = ["fit", "nlsq_chunked_baseline"]

Progress = Callable[[str], None]

# Bytes per (point x parameter) that nlsq.curve_fit needs on all points at once:
# measured 9.8 GB peak for 3.0M points x 49 parameters (about 67 B), rounded up.
_FULL_BYTES_PER_ENTRY = 80
# Bytes per point of one chunk in the chunked strategy (tangents, products, data).
_CHUNK_BYTES_PER_POINT_PER_TANGENT = 64


def _available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


class _Reporter:
    """Sends progress lines to the caller's callback and to the log."""

    def __init__(self, progress: Progress | bool | None) -> None:
        if progress is True:
            self._sink: Progress | None = _stderr_line
        elif callable(progress):
            self._sink = progress
        else:
            self._sink = None

    def __call__(self, message: str) -> None:
        log.info(message)
        if self._sink is not None:
            self._sink(message)


def _stderr_line(message: str) -> None:
    import sys

    print(f"[fastsplit] {message}", file=sys.stderr, flush=True)


def _as_1d_float(a: Any, name: str, n: int | None = None) -> np.ndarray:
    if type(a).__module__.startswith("jax"):
        a = np.asarray(a)
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise InvalidShapeError(
            f"{name} must be 1-D with one value per point, got shape {arr.shape}; "
            "flatten it with .ravel() (in the same order as every other array)."
        )
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidTypeError(f"{name} must hold real numbers, got dtype {arr.dtype}.")
    if n is not None and arr.shape[0] != n:
        raise LengthMismatchError(
            f"{name} has {arr.shape[0]} points but y has {n}; give one value per point."
        )
    return arr


def _weights(sigma: Any, n: int) -> np.ndarray:
    if sigma is None:
        return np.ones(n)
    if np.ndim(sigma) == 0:
        value = float(sigma)
        if not (math.isfinite(value) and value > 0):
            raise InvalidArgumentError(f"sigma must be positive and finite, got {value}.")
        return np.full(n, 1.0 / value)
    s = _as_1d_float(sigma, "sigma", n).astype(np.float64)
    if not np.all(np.isfinite(s) & (s > 0)):
        bad = int(np.count_nonzero(~(np.isfinite(s) & (s > 0))))
        raise InvalidArgumentError(
            f"sigma must be positive and finite everywhere; {bad} values are not. Drop those "
            "points or give them a large sigma."
        )
    return 1.0 / s


def _even_bounds(n: int, chunk_size: int) -> np.ndarray:
    k = max(1, -(-n // chunk_size)) if n else 0
    base, extra = divmod(n, k) if k else (0, 0)
    sizes = np.full(k, base, dtype=np.int64)
    sizes[:extra] += 1
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


class _Grouped:
    """Groups, per-point codes (in chunk order), chunk bounds and permutation."""

    def __init__(
        self,
        groups: np.ndarray,
        counts: np.ndarray,
        codes: np.ndarray,
        bounds: np.ndarray,
        order: np.ndarray | None,
        diagnostics: Any,
        stratified: Any,
        seconds: float,
    ) -> None:
        self.seconds = seconds  # wall time of the grouping/stratify call itself
        self.groups = groups
        self.counts = counts
        self.codes = codes
        self.bounds = bounds
        self.order = order
        self.diagnostics = diagnostics
        self.stratified = stratified

    @property
    def n_chunks(self) -> int:
        return int(self.bounds.shape[0] - 1)

    @property
    def sparse(self) -> np.ndarray:
        return self.counts < self.n_chunks


def _group(labels: np.ndarray, chunk_size: int, enabled: bool, backend: str) -> _Grouped:
    if enabled:
        from .._api import stratify
        from ..errors import SparseGroupWarning

        with warnings.catch_warnings():
            # fit reports sparse groups itself (result.check.notes / the strategy reason).
            warnings.simplefilter("ignore", SparseGroupWarning)
            t0 = time.perf_counter()
            s = stratify(labels, chunk_size=chunk_size, mode="index", backend=backend)
            seconds = time.perf_counter() - t0
        # Per-point codes in chunk order are the fit's own data preparation (one gather,
        # like x and y); only the stratify call counts as stratification time.
        return _Grouped(
            np.asarray(s.groups),
            np.asarray(s.counts, dtype=np.int64),
            np.asarray(s.codes),
            np.asarray(s.bounds, dtype=np.int64),
            np.asarray(s.order),
            s.diagnostics,
            s,
            seconds,
        )
    finite_or_raise(labels, "groups")
    t0 = time.perf_counter()
    uniq, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes, minlength=uniq.shape[0]).astype(np.int64)
    seconds = time.perf_counter() - t0
    return _Grouped(
        uniq,
        counts,
        codes.astype(np.int32),
        _even_bounds(labels.shape[0], chunk_size),
        None,
        None,
        None,
        seconds,
    )


def _flat_model(
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    n_x: int,
    point_major: bool,
    weighted: bool = False,
) -> Callable[..., Any]:
    """``f(X, *theta)`` for nlsq.

    X holds the x arrays, then the group codes, then (``weighted``) the weights
    ``1 / sigma``, which multiply the model (the caller multiplies ``y`` too):
    nlsq's streaming optimiser does not take ``sigma`` on every release line.
    Point-major X is ``(n, k)`` and may also arrive one point at a time, ``(k,)``.
    """
    import jax.numpy as jnp

    def flat(xdata: Any, *theta: Any) -> Any:
        vec = jnp.stack([jnp.asarray(t, dtype=jnp.float64) for t in theta])
        shared, group_mat = layout.split(vec)
        n_cols = n_x + 2 if weighted else n_x + 1
        cols = [xdata[..., i] for i in range(n_cols)] if point_major else list(xdata)
        codes = cols[n_x].astype(jnp.int32)
        params = {name: shared[i] for i, name in enumerate(layout.shared)}
        params.update({name: group_mat[j][codes] for j, name in enumerate(layout.per_group)})
        xs = tuple(cols[:n_x])
        out = model(xs if x_is_tuple else xs[0], **params)
        return out * cols[n_x + 1] if weighted else out

    return flat


def _check_pointwise(layout: ParameterLayout, problem: Problem, flat: np.ndarray) -> None:
    """Verify, on a few points, that per-point parameters act pointwise.

    For a pointwise model the directional derivative along any per-point
    tangent ``t`` is ``diag(J) * t``: compare the derivative along a random ``t``
    with the one along ``1`` times ``t``.
    """
    if layout.n_per_group == 0 or problem.stacks.chunk_len == 0:
        return
    m = min(64, problem.stacks.chunk_len)
    tangent = np.random.default_rng(12345).uniform(0.5, 1.5, m)
    d = problem.pointwise_probe(flat, m, tangent)  # (npg, 2, m)
    for j, name in enumerate(layout.per_group):
        expected = d[j, 0] * tangent
        scale = np.abs(d[j]).max() + 1e-300
        if not np.allclose(d[j, 1], expected, rtol=1e-7, atol=1e-10 * scale):
            raise InvalidArgumentError(
                f"the model is not pointwise in {name!r}: output i depends on the value of "
                f"{name!r} at other points. fastsplit.fit needs model(x, **params)[i] to depend "
                "only on x[i] and on the parameter values at point i."
            )


def _choose_strategy(
    requested: str,
    settings: Settings,
    layout: ParameterLayout,
    grouped: _Grouped,
    chunk_size: int,
) -> tuple[str, str, int | None]:
    """Strategy, reason, and a larger chunk size when sparse groups call for one."""
    n = int(grouped.counts.sum())
    strat = settings.stratification
    sparse = grouped.sparse
    tangents = layout.n_shared + layout.n_per_group * (layout.n_per_group + 2)
    check_memory = strat.check_memory_safety
    available = _available_memory() if check_memory else None

    def fits(nbytes: float) -> bool:
        return available is None or nbytes <= 0.7 * available

    def grown_chunk() -> int | None:
        if not sparse.any():
            return None
        need = -(-n // int(grouped.counts.min()))
        return need if fits(need * tangents * _CHUNK_BYTES_PER_POINT_PER_TANGENT) else None

    if requested != "auto":
        bigger = grown_chunk() if requested in ("chunked", "streaming") else None
        return requested, "requested", bigger

    if strat.force_sequential_fallback:
        return "sequential", "force_sequential_fallback is set in the config", None
    full_bytes = float(n) * layout.size * _FULL_BYTES_PER_ENTRY
    if grouped.n_chunks <= 1 and fits(full_bytes):
        return "full", f"all {n:,} points fit in one chunk and in memory", None
    if sparse.any():
        bigger = grown_chunk()
        shown = ", ".join(repr(g) for g in grouped.groups[sparse][:5].tolist())
        if bigger is not None:
            return (
                "chunked",
                f"group(s) {shown} had fewer points than the {grouped.n_chunks} chunks; "
                f"chunk_size raised to {bigger:,} so every chunk holds every group",
                bigger,
            )
        imbalance = float(grouped.counts.max() / max(int(grouped.counts.min()), 1))
        if imbalance > strat.max_imbalance_ratio:
            return (
                "sequential",
                f"group(s) {shown} are sparse, bigger chunks would not fit in memory and the "
                f"group-size imbalance {imbalance:.1f} exceeds max_imbalance_ratio "
                f"{strat.max_imbalance_ratio:g}",
                None,
            )
        return (
            "chunked",
            f"group(s) {shown} are sparse and bigger chunks would not fit in memory; the exact "
            "normal equations still see every point of them",
            None,
        )
    return (
        "chunked",
        f"{n:,} points in {grouped.n_chunks} chunks: exact normal equations chunk by chunk",
        None,
    )


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
    progress: Progress | bool | None = None,
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
        unequal; ``force_sequential_fallback`` in the config forces it.
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
    progress : callable or bool, optional
        ``progress(line)`` receives progress lines (``True``: print to stderr).

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
    settings = load_config(config)
    requested = settings.fit.strategy if strategy == "auto" else strategy
    if requested not in STRATEGIES:
        raise InvalidArgumentError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}.")
    on_failure = on_failure if on_failure is not None else settings.fit.on_failure
    if on_failure not in ("raise", "warn"):
        raise InvalidArgumentError(f"on_failure must be 'raise' or 'warn', got {on_failure!r}.")
    if backend == "auto" and settings.fit.backend != "auto":
        backend = settings.fit.backend
    max_nfev = max_nfev if max_nfev is not None else settings.fit.max_nfev
    if chunk_size is None:
        chunk_size = settings.stratification.target_chunk_size
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer):
        raise InvalidTypeError(f"chunk_size must be an int, got {type(chunk_size).__name__}.")
    if chunk_size < 1:
        raise InvalidArgumentError(f"chunk_size must be >= 1, got {chunk_size}.")
    if not callable(model):
        raise InvalidTypeError(f"model must be callable, got {type(model).__name__}.")

    y_arr = _as_1d_float(y, "y").astype(np.float64, copy=False)
    n = int(y_arr.shape[0])
    if n == 0:
        raise InvalidArgumentError("y is empty: there is nothing to fit.")
    finite_or_raise(y_arr, "y")
    x_arrays, x_is_tuple = normalize_x(x, n)
    for i, a in enumerate(x_arrays):
        finite_or_raise(a, f"x[{i}]" if x_is_tuple else "x")
    labels = _as_1d_float(groups, "groups", n)
    weight = _weights(sigma, n)
    report = _Reporter(progress)

    nlsq_version = _nlsq.nlsq_version()  # imports nlsq and JAX: not part of the timings
    clock = time.perf_counter()
    with _nlsq.x64():
        enabled = settings.stratification.enabled is not False
        grouped = _group(labels, int(chunk_size), enabled, backend)
        stratify_seconds = grouped.seconds
        report(
            f"stratified {n:,} points into {grouped.n_chunks} chunks x {len(grouped.groups)} "
            f"groups in {1e3 * stratify_seconds:.1f} ms"
            if enabled
            else f"stratification disabled: {grouped.n_chunks} chunks in input order"
        )
        layout = make_layout(p0, per_group, len(grouped.groups))
        check_model_names(model, layout)
        start = layout.pack(p0)
        lower, upper = make_bounds(layout, bounds)
        check_start(layout, start, lower, upper)

        name, reason, bigger = _choose_strategy(
            requested, settings, layout, grouped, int(chunk_size)
        )
        if bigger is not None and bigger > chunk_size:
            grouped = _group(labels, bigger, enabled, backend)
            stratify_seconds += grouped.seconds
            chunk_size = bigger
            if requested != "auto":
                reason = f"requested; chunk_size raised to {bigger:,} for sparse groups"
        report(f"strategy {name}: {reason}")
        if settings.stratification.log_diagnostics and grouped.diagnostics is not None:
            log.info("%s", grouped.diagnostics.report())

        stacks = ChunkStacks.build(
            x_arrays, y_arr, weight, grouped.codes, grouped.bounds, grouped.order
        )
        problem = Problem(model, layout, x_is_tuple, stacks)
        _check_pointwise(layout, problem, start)

        outcome = _run_strategy(
            name,
            model,
            layout,
            x_is_tuple,
            stacks,
            problem,
            grouped,
            start,
            lower,
            upper,
            settings=settings,
            chunk_size=int(chunk_size),
            max_nfev=max_nfev,
            absolute_sigma=absolute_sigma,
            report=report,
        )
        result = _judge(
            outcome,
            layout,
            grouped,
            problem,
            start,
            lower,
            upper,
            n,
            strategy=name,
            reason=reason,
            absolute_sigma=absolute_sigma,
            max_step_sigma=max_step_sigma,
            settings=settings,
            clock=clock,
            stratify_seconds=stratify_seconds,
            nlsq_version=nlsq_version,
            chunk_size=int(chunk_size),
        )
    report(
        f"done: cost {result.cost:.6g} (start {result.cost_start:.6g}), "
        f"{'OK' if result.success else 'NOT TRUSTED'}; stratify {1e3 * stratify_seconds:.1f} ms "
        f"= {100 * result.timings.ratio:.3f} % of fit {result.timings.fit:.2f} s"
    )
    raise_or_warn(result.check, name, on_failure, result)
    return result


class _Outcome:
    def __init__(
        self,
        x: np.ndarray,
        nfev: int,
        success: bool,
        message: str,
        info: dict[str, Any] | None = None,
        normal: Any = None,
        cost_start: float | None = None,
        failed_groups: list[int] | None = None,
        extra_problems: list[str] | None = None,
        judge_convergence: bool = True,
    ) -> None:
        self.x = x
        self.nfev = nfev
        self.success = success
        self.message = message
        self.info = info or {}
        self.normal = normal
        self.cost_start = cost_start
        self.failed_groups = failed_groups or []
        self.extra_problems = extra_problems or []
        self.judge_convergence = judge_convergence


def _flat_data(stacks: ChunkStacks) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """The stacked data back as flat arrays in chunk order, padding dropped."""
    valid = np.asarray(stacks.weight).reshape(-1) != 0
    xs = [np.asarray(a).reshape(-1)[valid] for a in stacks.x]
    return (
        xs,
        np.asarray(stacks.y).reshape(-1)[valid],
        np.asarray(stacks.weight).reshape(-1)[valid],
        np.asarray(stacks.codes).reshape(-1)[valid],
    )


def _run_strategy(
    name: str,
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    stacks: ChunkStacks,
    problem: Problem,
    grouped: _Grouped,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    settings: Settings,
    chunk_size: int,
    max_nfev: int | None,
    absolute_sigma: bool,
    report: _Reporter,
) -> _Outcome:
    if name == "chunked":
        from ._lm import levenberg_marquardt

        def on_iteration(it: int, cost: float) -> None:
            report(f"chunked LM iteration {it}: cost {cost:.8g}")

        lm = levenberg_marquardt(
            problem.normal,
            problem.cost,
            start,
            lower,
            upper,
            max_iter=max_nfev or 100,
            progress=on_iteration,
        )
        return _Outcome(
            lm.x,
            problem.n_cost + problem.n_jac,
            lm.success,
            lm.message,
            info={"iterations": lm.nit, "cost_history": lm.history},
            normal=lm.normal,
            cost_start=lm.history[0],
        )

    n_x = len(stacks.x)
    xs, y, w, codes = _flat_data(stacks)
    sigma = 1.0 / w
    if name == "full":
        xdata = np.vstack([*xs, codes.astype(np.float64)])
        flat = _flat_model(model, layout, x_is_tuple, n_x, point_major=False)
        popt, info = _nlsq.curve_fit_full(
            flat, xdata, y, start, sigma, lower, upper, max_nfev=max_nfev
        )
        return _Outcome(popt, info["nfev"], info["success"], info.get("message", ""), info)
    if name == "streaming":
        xdata = np.column_stack([*xs, codes.astype(np.float64), w])
        flat = _flat_model(model, layout, x_is_tuple, n_x, point_major=True, weighted=True)
        popt, info = _nlsq.hybrid_streaming(
            flat, xdata, y * w, start, lower, upper, chunk_size=chunk_size, max_nfev=max_nfev
        )
        return _Outcome(popt, info["nfev"], info["success"], info.get("message", ""), info)
    if name == "sequential":
        from ._sequential import fit_sequential

        seq = fit_sequential(
            model,
            layout,
            x_is_tuple,
            xs,
            y,
            w,
            codes,
            grouped.groups,
            start,
            lower,
            upper,
            settings.sequential,
            absolute_sigma=absolute_sigma,
            max_nfev=max_nfev,
            progress=report,
        )
        problems = []
        rate = settings.sequential.min_success_rate
        if seq.success_rate < rate:
            problems.append(
                f"only {100 * seq.success_rate:.0f} % of the per-group fits succeeded "
                f"(min_success_rate {100 * rate:.0f} %)."
            )
        if seq.uncombined_shared:
            problems.append(
                f"no successful per-group fit constrains the shared parameter(s) "
                f"{seq.uncombined_shared}; they were left at p0."
            )
        fits_info = [
            {
                "group": f.label,
                "n_points": f.n_points,
                "success": f.success,
                "message": f.message,
                "cost": f.cost,
            }
            for f in seq.group_fits
        ]
        return _Outcome(
            seq.x,
            seq.nfev,
            not problems,
            "sequential per-group fits combined",
            info={
                "group_fits": fits_info,
                "success_rate": seq.success_rate,
                "weighting": settings.sequential.weighting,
                "weights": {k: v.tolist() for k, v in seq.weights.items()},
            },
            failed_groups=seq.failed_groups,
            extra_problems=problems,
            judge_convergence=False,
        )
    raise InvalidArgumentError(f"strategy must be one of {list(STRATEGIES)}, got {name!r}.")


def _judge(
    outcome: _Outcome,
    layout: ParameterLayout,
    grouped: _Grouped,
    problem: Problem,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    n: int,
    *,
    strategy: str,
    reason: str,
    absolute_sigma: bool,
    max_step_sigma: float,
    settings: Settings,
    clock: float,
    stratify_seconds: float,
    nlsq_version: tuple[int, int, int],
    chunk_size: int,
) -> FitResult:
    x = np.asarray(outcome.x, dtype=np.float64)
    evaluate_at = np.where(np.isfinite(x), x, start)
    normal = outcome.normal if outcome.normal is not None else problem.normal(evaluate_at)
    cost_start = outcome.cost_start if outcome.cost_start is not None else problem.cost(start)
    covariance, constrained = covariance_from(normal, n, absolute_sigma)
    check = check_solution(
        layout,
        grouped.groups,
        evaluate_at,
        start,
        lower,
        upper,
        normal,
        cost_start,
        covariance,
        constrained,
        max_step_sigma=max_step_sigma,
        judge_convergence=outcome.judge_convergence,
        failed_groups=outcome.failed_groups,
    )
    check.problems.extend(outcome.extra_problems)
    if grouped.sparse.any():
        shown = ", ".join(repr(g) for g in grouped.groups[grouped.sparse][:8].tolist())
        check.notes.append(
            f"sparse group(s) {shown}: fewer points than the {grouped.n_chunks} chunks, so "
            "absent from some chunks"
            + (
                "; the exact normal equations still include every point of them."
                if strategy == "chunked"
                else "."
            )
        )
    if settings.stratification.enabled is False:
        check.notes.append("stratification disabled by the config: chunks follow input order.")
    check.ok = not check.problems
    errors_flat = np.sqrt(np.where(np.diag(covariance) >= 0, np.diag(covariance), np.nan))
    fit_seconds = time.perf_counter() - clock - stratify_seconds
    info = dict(outcome.info)
    info.update(
        {
            "chunk_size": chunk_size,
            "n_chunks": grouped.n_chunks,
            "nlsq_version": ".".join(map(str, nlsq_version)),
            "constrained": constrained,
        }
    )
    dof = max(n - int(constrained.sum()), 1)
    return FitResult(
        params=layout.unpack(x),
        errors=layout.unpack(errors_flat),
        covariance=covariance,
        x=x,
        param_names=layout.flat_names(),
        groups=grouped.groups,
        counts=grouped.counts,
        cost=float(normal.cost),
        cost_start=float(cost_start),
        gradient_norm=check.gradient_norm,
        reduced_chi2=2.0 * float(normal.cost) / dof,
        n_points=n,
        nfev=int(outcome.nfev),
        strategy=strategy,
        reason=reason,
        success=bool(outcome.success and check.ok),
        message=outcome.message,
        check=check,
        diagnostics=grouped.diagnostics if settings.stratification.collect_diagnostics else None,
        timings=Timings(stratify=stratify_seconds, fit=fit_seconds),
        info=info,
    )


def nlsq_chunked_baseline(
    model: Callable[..., Any],
    x: Any,
    y: Any,
    *,
    groups: Any,
    p0: Mapping[str, Any],
    per_group: Sequence[str] | str,
    sigma: Any = None,
    bounds: Mapping[str, Any] | None = None,
    chunk_size: int = 100_000,
    max_nfev: int | None = None,
) -> FitResult:
    """Run nlsq's *own* chunked large-dataset path on the data as given, and judge it.

    This is what a user gets without fastsplit: ``nlsq.curve_fit_large`` on the
    data in input (for XPCS: angle-major) order. Nothing is stratified. The
    result goes through the same full-data checks as :func:`fit`, but never
    raises: look at ``result.success`` and ``result.check.problems``. nlsq 0.6.x
    fits the chunks in order (per-group parameters of groups absent from a chunk
    get no gradient there); 0.7.2+ shuffles the points first. The model is fed
    through an index array (nlsq cuts x along axis 0), so any model works.
    ``sigma`` weights the full-data checks; it is passed to nlsq only on 0.7.x,
    whose chunked path slices it per chunk (0.6.x cannot: there nlsq fits
    unweighted, which is the same fit when ``sigma`` is constant).

    Examples
    --------
    >>> from fastsplit.xpcs import synthesize
    >>> from fastsplit import nlsq_chunked_baseline
    >>> d = synthesize(n_angles=3, n_frames=40, seed=0)
    >>> r = nlsq_chunked_baseline(d.model, d.x, d.g2, groups=d.phi,
    ...                           p0=d.model.default_p0(), per_group=("contrast", "offset"),
    ...                           bounds=d.model.default_bounds(), chunk_size=1000)
    >>> r.strategy
    'nlsq-chunked'
    """
    clock = time.perf_counter()
    y_arr = _as_1d_float(y, "y").astype(np.float64, copy=False)
    n = int(y_arr.shape[0])
    x_arrays, x_is_tuple = normalize_x(x, n)
    labels = _as_1d_float(groups, "groups", n)
    nlsq_version = _nlsq.nlsq_version()
    with _nlsq.x64():
        import jax.numpy as jnp

        grouped = _group(labels, int(chunk_size), False, "auto")
        layout = make_layout(p0, per_group, len(grouped.groups))
        start = layout.pack(p0)
        lower, upper = make_bounds(layout, bounds)
        check_start(layout, start, lower, upper)
        weight = _weights(sigma, n)
        stacks = ChunkStacks.build(x_arrays, y_arr, weight, grouped.codes, grouped.bounds, None)
        problem = Problem(model, layout, x_is_tuple, stacks)
        table = jnp.asarray(
            np.vstack([*(a.astype(np.float64) for a in x_arrays), grouped.codes.astype(np.float64)])
        )
        n_x = len(x_arrays)
        inner = _flat_model(model, layout, x_is_tuple, n_x, point_major=False)

        def by_index(index: Any, *theta: Any) -> Any:
            return inner(table[:, index.astype(jnp.int32)], *theta)

        t0 = time.perf_counter()
        popt, info = _nlsq.raw_chunked_curve_fit(
            by_index,
            np.arange(n, dtype=np.float64),
            y_arr,
            start,
            lower,
            upper,
            chunk_size=int(chunk_size),
            max_nfev=max_nfev,
            sigma=None if sigma is None or nlsq_version < (0, 7) else 1.0 / weight,
        )
        info["seconds"] = time.perf_counter() - t0
        info["shuffles"] = nlsq_version >= (0, 7, 2)
        settings = load_config(None)
        result = _judge(
            _Outcome(popt, info["nfev"], info["success"], info.get("message", ""), info),
            layout,
            grouped,
            problem,
            start,
            lower,
            upper,
            n,
            strategy="nlsq-chunked",
            reason=f"nlsq {'.'.join(map(str, nlsq_version))} curve_fit_large on input order",
            absolute_sigma=False,
            max_step_sigma=1.0,
            settings=settings,
            clock=clock,
            stratify_seconds=0.0,
            nlsq_version=nlsq_version,
            chunk_size=int(chunk_size),
        )
    return result
