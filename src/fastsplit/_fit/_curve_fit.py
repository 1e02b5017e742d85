"""``fastsplit.curve_fit``: scipy's front door onto :func:`fastsplit.fit`.

``f(x, a, b, ...)`` with positional parameters, ``p0`` and ``bounds`` as
sequences, ``(popt, pcov)`` back: replacing ``scipy.optimize.curve_fit`` by
``fastsplit.curve_fit`` is a one-line change that brings chunking, the
never-silent checks and the memory policy. The parameter names come from
``f``'s signature (``inspect``); ``f`` is wrapped once into the keyword model
``fit`` takes (one wrapper per function, so later fits reuse its compiled
passes).
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, InvalidShapeError, InvalidTypeError
from ._fit import fit
from ._options import FitOptions
from ._result import FitResult

__all__ = ["curve_fit"]

SCIPY_ONLY = {
    "method": "fastsplit chooses its solver itself (strategy='auto'; 'chunked' runs "
    "Levenberg-Marquardt on the exact normal equations); drop method=",
    "nan_policy": "fastsplit refuses NaN and infinite values with an error naming the array; "
    "drop those points first",
}
"""scipy.optimize.curve_fit keywords without a fastsplit meaning, and what to do instead."""


def curve_fit(
    f: Callable[..., Any],
    xdata: Any,
    ydata: Any,
    p0: Any = None,
    sigma: Any = None,
    absolute_sigma: bool = False,
    bounds: Any = (-np.inf, np.inf),
    *,
    groups: Any = None,
    per_group: Sequence[str] | str | None = None,
    full_output: bool = False,
    **fit_options: Any,
) -> Any:
    """Fit ``f(x, *params)`` to data as :func:`scipy.optimize.curve_fit` does, chunked and checked.

    The same call and the same ``(popt, pcov)`` as scipy (``pcov`` scaled by
    the reduced chi-square unless ``absolute_sigma``), computed by
    :func:`fastsplit.fit`: the data are cut into chunks (exact normal
    equations summed chunk by chunk, so memory stays that of one chunk), the
    result is judged on all points and a fit that cannot be trusted raises
    :class:`~fastsplit.errors.FitFailedError` (a ``RuntimeError``, as scipy's
    "Optimal parameters not found"). ``f`` may be written with NumPy, as for
    scipy: its Jacobian then comes from finite differences (scipy's rules,
    with a one-time :class:`~fastsplit.FiniteDifferenceWarning`); written with
    ``jax.numpy`` it is compiled and its derivatives are exact.

    Parameters
    ----------
    f : callable
        ``f(x, a, b, ...)``: the independent variable first, then each parameter
        as a positional argument (their names are read from the signature;
        ``f(x, *params)`` works when ``p0`` gives the count).
    xdata : array
        One value per point; a 2-D array ``(k, n)`` is ``k`` variables, passed
        to ``f`` as one ``(k, n)`` array as scipy does.
    ydata : array
        One observation per point.
    p0 : sequence of float, optional
        Starting values (default: all 1, moved inside finite bounds as scipy does);
        a per-group parameter's may be one value per group.
    sigma : array or float, optional
        Standard deviation of each ``ydata`` (1-D). A 2-D covariance matrix is
        refused: chunked fits need independent points (see Raises).
    absolute_sigma : bool
        ``sigma`` is absolute: ``pcov`` is not scaled by the reduced chi-square.
    bounds : 2-tuple
        ``(lower, upper)``, each a scalar or one value per parameter, as scipy
        takes them; equal values hold a parameter fixed.
    groups : array, optional
        Group label of every point, for parameters with one value per group.
    per_group : sequence of str, optional
        Names of ``f``'s parameters that take one value per group (needs ``groups``).
    full_output : bool
        Also return the :class:`~fastsplit.FitResult` (not scipy's infodict).
    **fit_options
        Any keyword of :func:`fastsplit.fit`: ``chunk_size``, ``fixed``, ``loss``,
        ``f_scale``, ``max_nfev``, ``jac`` ("2-point" or "3-point"), ``strategy``,
        ``on_failure``, ``config``, ``progress``, ...

    Returns
    -------
    popt : numpy.ndarray
        Best-fit values: ``f``'s shared parameters in signature order, then each
        per-group parameter's value for every group (``result.param_names``).
    pcov : numpy.ndarray
        Their covariance (NaN rows where the data do not constrain a parameter;
        zero for fixed ones).
    result : FitResult
        Only with ``full_output=True``.

    Raises
    ------
    InvalidArgumentError, InvalidShapeError, InvalidTypeError
        ``f`` takes no parameter, ``p0`` has the wrong length, ``sigma`` is 2-D,
        a scipy-only keyword (``method``, ``nan_policy``), a bad option.
    FitFailedError
        The fit cannot be trusted (``on_failure="warn"`` warns instead).

    Examples
    --------
    >>> import numpy as np, fastsplit
    >>> def f(x, a, k, c):                      # plain NumPy, as for scipy
    ...     return a * np.exp(-k * x) + c
    >>> x = np.linspace(0, 4, 400)
    >>> y = f(x, 2.5, 1.3, 0.5) + 0.01 * np.sin(40 * x)
    >>> import warnings; warnings.simplefilter("ignore", fastsplit.FiniteDifferenceWarning)
    >>> popt, pcov = fastsplit.curve_fit(f, x, y, p0=[1, 1, 0], chunk_size=100)
    >>> np.round(popt, 2).tolist(), pcov.shape
    ([2.5, 1.3, 0.5], (3, 3))
    """
    for name, advice in SCIPY_ONLY.items():
        if name in fit_options:
            raise InvalidArgumentError(f"curve_fit does not take {name}=: {advice}.")
    fit_options.pop("check_finite", None)  # fastsplit always checks: nothing to turn on
    FitOptions.of(fit_options, where="curve_fit")  # an unknown keyword, named as curve_fit's
    names = _parameter_names(f, p0)
    start = _start(p0, names, bounds)
    x, stacked = _x_of(xdata)
    model = keyword_model(f, tuple(names), stacked)
    if sigma is not None and np.ndim(sigma) == 2:
        raise InvalidShapeError(
            f"sigma of shape {np.shape(sigma)} is a covariance matrix, which fastsplit does not "
            "take: chunked fits sum over independent points. Pass the 1-D standard deviations "
            "(np.sqrt(np.diag(sigma))), or whiten y and f with the Cholesky factor first."
        )
    result: FitResult = fit(
        model,
        x,
        ydata,
        groups=groups,
        p0=dict(zip(names, start, strict=True)),
        per_group=() if per_group is None else per_group,
        sigma=sigma,
        bounds=_bounds(bounds, names),
        absolute_sigma=absolute_sigma,
        **fit_options,
    )
    popt, pcov = np.array(result.x), np.array(result.covariance)
    return (popt, pcov, result) if full_output else (popt, pcov)


def _parameter_names(f: Callable[..., Any], p0: Any) -> list[str]:
    """The names of ``f``'s parameters after ``x`` (``p0``, ``p1``, ... for ``*params``)."""
    if not callable(f):
        raise InvalidTypeError(f"f must be callable, f(x, a, b, ...); got {type(f).__name__}.")
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    named = [p.name for p in params[1:] if p.kind in positional]
    varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    n_given = None if p0 is None else len(_p0_values(p0))
    if varargs and not named:
        if n_given is None:
            raise InvalidArgumentError(
                "f takes its parameters as *args, so their number is unknown: give p0 "
                "(one starting value per parameter)."
            )
        return [f"p{i}" for i in range(n_given)]
    if not named:
        raise InvalidArgumentError(
            "f takes no parameter to fit: curve_fit calls f(x, a, b, ...), the independent "
            "variable first and then each parameter."
        )
    if n_given is not None and n_given != len(named):
        raise InvalidArgumentError(
            f"p0 has {n_given} values but f takes {len(named)} parameters {named}; give one "
            "starting value per parameter."
        )
    return named


def _start(p0: Any, names: list[str], bounds: Any) -> list[float]:
    """``p0`` as floats; by default 1, moved inside finite bounds as scipy does."""
    if p0 is not None:
        return _p0_values(p0)  # each value is checked by fit, by name
    lower, upper = _bound_arrays(bounds, len(names))
    start = np.ones(len(names))
    both = np.isfinite(lower) & np.isfinite(upper)
    start[both] = 0.5 * (lower[both] + upper[both])
    only_lower = np.isfinite(lower) & ~np.isfinite(upper)
    start[only_lower] = lower[only_lower] + 1
    only_upper = ~np.isfinite(lower) & np.isfinite(upper)
    start[only_upper] = upper[only_upper] - 1
    return start.tolist()


def _p0_values(p0: Any) -> list[Any]:
    """One start per parameter (a per-group one may be a list, one value per group)."""
    if isinstance(p0, list | tuple):
        return list(p0)
    values: list[Any] = np.atleast_1d(np.asarray(p0, dtype=object)).ravel().tolist()
    return values


def _bound_arrays(bounds: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        bounds = (bounds.lb, bounds.ub)
    try:
        lower, upper = bounds
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"bounds must be a 2-tuple (lower, upper), each a scalar or one value per "
            f"parameter, as scipy takes them; got {bounds!r}."
        ) from None
    try:
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,))
        hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,))
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"bounds must hold numbers, a scalar or {n} values (one per parameter) on each "
            f"side; got {bounds!r}."
        ) from None
    return lo, hi


def _bounds(bounds: Any, names: list[str]) -> dict[str, tuple[float, float]]:
    lo, hi = _bound_arrays(bounds, len(names))
    return {n: (float(a), float(b)) for n, a, b in zip(names, lo, hi, strict=True)}


def _x_of(xdata: Any) -> tuple[Any, bool]:
    """``(x for fit, stacked)``: a 2-D ``(k, n)`` xdata becomes a tuple of ``k`` arrays."""
    if isinstance(xdata, tuple | list) or np.ndim(xdata) == 2:
        arr = np.asarray(xdata)
        if arr.ndim == 2:
            return tuple(arr), True
        return arr, False
    return xdata, False


_MODELS: weakref.WeakKeyDictionary[Any, dict[Any, Callable[..., Any]]] = weakref.WeakKeyDictionary()


def keyword_model(
    f: Callable[..., Any], names: tuple[str, ...], stacked: bool
) -> Callable[..., Any]:
    """``model(x, **params)`` calling ``f(x, *params)``; one per function, names and layout."""
    key = (names, stacked)
    try:
        cache = _MODELS.setdefault(f, {})
        ref: Callable[[], Any] = weakref.ref(f)
    except TypeError:
        cache, ref = {}, lambda: f
    if key not in cache:
        cache[key] = _keyword_model(ref, names, stacked)
    return cache[key]


def _keyword_model(ref: Callable[[], Any], names: tuple[str, ...], stacked: bool) -> Any:
    def model(x: Any, **params: Any) -> Any:
        target = ref()
        assert target is not None, "f was garbage-collected"
        if stacked:  # scipy passes k variables as one (k, n) array
            if any(type(a).__module__.startswith("jax") for a in x):
                import jax.numpy as jnp

                x = jnp.stack(x)
            else:
                x = np.stack(x)
        return target(x, *(params[name] for name in names))

    return model
