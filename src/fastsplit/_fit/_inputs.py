"""What :func:`fastsplit.fit` is given, checked once: options against the config, then the data.

Every mistake is caught here, before nlsq is imported or anything is
allocated, with an error that names the argument.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._progress import Progress
from .._validate import check_1d, check_choice, check_chunk_size, check_count, check_flag
from ..backends import BACKENDS
from ..config import ON_FAILURE, Settings, load_config
from ..errors import InvalidArgumentError, InvalidTypeError
from ._loss import LOSSES, Loss
from ._model import REAL, finite_or_raise, normalize_x
from ._options import FitOptions

JAC_RULES = ("2-point", "3-point")
"""Finite-difference rules for models JAX cannot trace (scipy's names)."""

__all__ = [
    "Inputs",
    "Options",
    "check_callable",
    "check_inputs",
    "check_positive",
    "data_scale",
    "holds_dask",
    "resolve_options",
    "weights_of",
]


@dataclass(frozen=True)
class Options:
    """The fit's options, every one checked: explicit arguments, else the config's values."""

    settings: Settings
    strategy: str
    on_failure: str
    backend: str
    max_nfev: int | None
    chunk_size: int
    absolute_sigma: bool
    max_step_sigma: float
    loss: Loss
    progress: Progress
    jac: str = "2-point"
    """The finite-difference rule of a model JAX cannot trace (``_numeric``)."""


def resolve_options(options: FitOptions, *, strategies: Sequence[str]) -> Options:
    """Check every option of :func:`fastsplit.fit` and merge it with ``options.config``.

    ``strategies`` are the valid strategy names. Nothing is imported or
    computed before all of them passed: a wrong option costs nothing.
    """
    o = options
    config, strategy, on_failure, backend = o.config, o.strategy, o.on_failure, o.backend
    max_nfev, chunk_size, absolute_sigma = o.max_nfev, o.chunk_size, o.absolute_sigma
    max_step_sigma, loss, f_scale, progress = o.max_step_sigma, o.loss, o.f_scale, o.progress
    settings = load_config(config)
    requested = check_choice("strategy", strategy, strategies)
    if requested == "auto":
        requested = settings.fit.strategy
    if on_failure is None:
        on_failure = settings.fit.on_failure
    check_choice("on_failure", on_failure, ON_FAILURE)
    check_choice("backend", backend, BACKENDS)
    if max_nfev is not None:
        max_nfev = check_count("max_nfev", max_nfev, minimum=1, maximum=MAX_ITERATIONS)
    if chunk_size is not None:
        chunk_size = check_chunk_size(chunk_size)
    return Options(
        settings=settings,
        strategy=requested,
        on_failure=str(on_failure),
        backend=settings.fit.backend if backend == "auto" else str(backend),
        max_nfev=max_nfev if max_nfev is not None else settings.fit.max_nfev,
        chunk_size=settings.stratification.target_chunk_size if chunk_size is None else chunk_size,
        absolute_sigma=check_flag("absolute_sigma", absolute_sigma),
        max_step_sigma=check_positive(
            "max_step_sigma",
            max_step_sigma,
            "the largest remaining Gauss-Newton step, in standard errors, accepted as "
            "converged; e.g. max_step_sigma=1.0",
        ),
        loss=Loss(
            check_choice("loss", loss, LOSSES),
            check_positive(
                "f_scale",
                f_scale,
                "the residual size (in units of sigma) where the robust loss starts to "
                "down-weight points; e.g. f_scale=1.0",
            ),
        ),
        progress=_progress(progress),
        jac=check_choice("jac", o.jac, JAC_RULES),
    )


MAX_ITERATIONS = 10**9
"""More iterations than any fit runs; a larger max_nfev is a mistake."""


def check_positive(name: str, value: object, meaning: str) -> float:
    """A positive, finite real number (bools, strings, NaN, 0 and infinities refused)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a positive number, got {value!r}: {meaning}.")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise InvalidArgumentError(
            f"{name} must be a positive finite number, got {value!r}: {meaning}."
        )
    return number


def _progress(progress: object) -> Progress:
    if progress is None or isinstance(progress, bool | Progress) or callable(progress):
        return Progress.of(progress)
    raise InvalidTypeError(
        f"progress must be True, False, None, a callable taking one line or a "
        f"fastsplit Progress, got {type(progress).__name__}."
    )


@dataclass(frozen=True)
class Inputs:
    """The checked data, in input order: float64 ``y``, ``x`` arrays, labels, ``1 / sigma``.

    Lazy dask arrays when the inputs were dask arrays (``fastsplit.dask``): only the
    chunked strategy runs then, on blocks that stay on the workers.
    """

    x: tuple[np.ndarray, ...]
    x_is_tuple: bool
    y: np.ndarray
    labels: np.ndarray
    weight: np.ndarray
    sigma_given: bool
    data_scale: float
    """Root mean square of ``y / sigma``: the size of the data the residuals compare to."""

    @property
    def n_points(self) -> int:
        return int(self.y.shape[0])


def holds_dask(*values: Any) -> bool:
    """Whether any value (or any array of a tuple) is a dask array; dask is not imported."""
    for value in values:
        items = value if isinstance(value, tuple | list) else (value,)
        if any(_is_dask(a) or _is_dask(getattr(a, "data", None)) for a in items):
            return True  # a dask array, or an xarray DataArray holding one
    return False


def _is_dask(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "dask"


def check_callable(model: object) -> None:
    """The model must be callable."""
    if not callable(model):
        raise InvalidTypeError(f"model must be callable, got {type(model).__name__}.")


def check_inputs(model: Callable[..., Any], x: Any, y: Any, groups: Any, sigma: Any) -> Inputs:
    """Check the model and every per-point array; see :func:`fastsplit.fit`."""
    check_callable(model)
    y_arr = check_1d("y", y, kinds=REAL, host=True).astype(np.float64, copy=False)
    n = int(y_arr.shape[0])
    if n == 0:
        raise InvalidArgumentError("y is empty: there is nothing to fit.")
    finite_or_raise(y_arr, "y")
    x_arrays, x_is_tuple = normalize_x(x, n)
    for i, a in enumerate(x_arrays):
        finite_or_raise(a, f"x[{i}]" if x_is_tuple else "x")
    # NaN labels are refused by the grouping itself (fastsplit.plan), at no extra pass.
    labels = (
        np.zeros(n, dtype=np.int8)  # no groups: one group, an ordinary fit
        if groups is None
        else check_1d("groups", groups, n=n, kinds="fiubUSOMm", host=True, length_of="the y values")
    )
    weight = _weights(sigma, n)
    scale = _data_scale(y_arr, weight)
    return Inputs(x_arrays, x_is_tuple, y_arr, labels, weight, sigma is not None, scale)


def _data_scale(y: np.ndarray, weight: np.ndarray) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        wy = y * weight
        return data_scale(float(np.dot(wy, wy)), y.shape[0])


def data_scale(sum_of_squares: float, n: int) -> float:
    """Root mean square of ``y / sigma`` from the sum of its squares over ``n`` points."""
    mean_square = sum_of_squares / n
    if not math.isfinite(mean_square):
        raise InvalidArgumentError(
            "y / sigma is too large for least squares in float64: its squares overflow. "
            "Rescale y (and sigma) to values well below 1e150, e.g. divide both by a constant."
        )
    return math.sqrt(mean_square)


def _weights(sigma: Any, n: int) -> np.ndarray:
    if sigma is None:
        return np.ones(n)
    if isinstance(sigma, np.ndarray) and sigma.ndim == 0:
        sigma = sigma.item()
    if isinstance(sigma, numbers.Number):
        value = check_positive(
            "sigma", sigma, "the standard deviation of y, one number or one per point"
        )
        return np.full(n, 1.0 / value)
    s = check_1d("sigma", sigma, n=n, kinds=REAL, host=True, length_of="the y values")
    return weights_of(s)


def weights_of(sigma: np.ndarray) -> np.ndarray:
    """``1 / sigma`` of a per-point ``sigma``, refused unless positive and finite everywhere."""
    s = np.asarray(sigma).astype(np.float64, copy=False)
    good = np.isfinite(s) & (s > 0)
    if not np.all(good):
        raise InvalidArgumentError(
            f"sigma must be positive and finite everywhere; {int(np.count_nonzero(~good))} "
            "values are not. Drop those points or give them a large sigma."
        )
    return 1.0 / s
