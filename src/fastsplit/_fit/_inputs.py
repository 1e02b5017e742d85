"""What :func:`fastsplit.fit` is given, checked once: options against the config, then the data.

Every mistake is caught here, before nlsq is imported or anything is
allocated, with an error that names the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_1d
from ..config import ON_FAILURE, Settings, load_config
from ..errors import InvalidArgumentError, InvalidTypeError
from ._model import REAL, finite_or_raise, normalize_x

__all__ = ["Inputs", "Options", "check_inputs", "resolve_options"]


@dataclass(frozen=True)
class Options:
    """The fit's options: explicit arguments, else the config's values."""

    settings: Settings
    strategy: str
    on_failure: str
    backend: str
    max_nfev: int | None
    chunk_size: Any  # checked where it is first used (fastsplit.plan)


def resolve_options(
    config: Any,
    *,
    strategy: str,
    on_failure: str | None,
    backend: str,
    max_nfev: int | None,
    chunk_size: int | None,
    strategies: Sequence[str],
) -> Options:
    """Merge the arguments with ``config``; ``strategies`` are the valid names."""
    settings = load_config(config)
    requested = settings.fit.strategy if strategy == "auto" else strategy
    if requested not in strategies:
        raise InvalidArgumentError(f"strategy must be one of {list(strategies)}, got {strategy!r}.")
    on_failure = on_failure if on_failure is not None else settings.fit.on_failure
    if on_failure not in ON_FAILURE:
        raise InvalidArgumentError(
            f"on_failure must be one of {list(ON_FAILURE)}, got {on_failure!r}."
        )
    return Options(
        settings=settings,
        strategy=requested,
        on_failure=on_failure,
        backend=settings.fit.backend if backend == "auto" else backend,
        max_nfev=max_nfev if max_nfev is not None else settings.fit.max_nfev,
        chunk_size=settings.stratification.target_chunk_size if chunk_size is None else chunk_size,
    )


@dataclass(frozen=True)
class Inputs:
    """The checked data, in input order: float64 ``y``, ``x`` arrays, labels, ``1 / sigma``."""

    x: tuple[np.ndarray, ...]
    x_is_tuple: bool
    y: np.ndarray
    labels: np.ndarray
    weight: np.ndarray

    @property
    def n_points(self) -> int:
        return int(self.y.shape[0])


def check_inputs(model: Callable[..., Any], x: Any, y: Any, groups: Any, sigma: Any) -> Inputs:
    """Check the model and every per-point array; see :func:`fastsplit.fit`."""
    if not callable(model):
        raise InvalidTypeError(f"model must be callable, got {type(model).__name__}.")
    y_arr = check_1d("y", y, kinds=REAL, host=True).astype(np.float64, copy=False)
    n = int(y_arr.shape[0])
    if n == 0:
        raise InvalidArgumentError("y is empty: there is nothing to fit.")
    finite_or_raise(y_arr, "y")
    x_arrays, x_is_tuple = normalize_x(x, n)
    for i, a in enumerate(x_arrays):
        finite_or_raise(a, f"x[{i}]" if x_is_tuple else "x")
    # NaN labels are refused by the grouping itself (fastsplit.plan), at no extra pass.
    labels = check_1d("groups", groups, n=n, kinds=REAL, host=True, length_of="the y values")
    return Inputs(x_arrays, x_is_tuple, y_arr, labels, _weights(sigma, n))


def _weights(sigma: Any, n: int) -> np.ndarray:
    if sigma is None:
        return np.ones(n)
    if np.ndim(sigma) == 0:
        value = float(sigma)
        if not (math.isfinite(value) and value > 0):
            raise InvalidArgumentError(f"sigma must be positive and finite, got {value}.")
        return np.full(n, 1.0 / value)
    s = check_1d("sigma", sigma, n=n, kinds=REAL, host=True, length_of="the y values")
    s = s.astype(np.float64, copy=False)
    good = np.isfinite(s) & (s > 0)
    if not np.all(good):
        raise InvalidArgumentError(
            f"sigma must be positive and finite everywhere; {int(np.count_nonzero(~good))} "
            "values are not. Drop those points or give them a large sigma."
        )
    return 1.0 / s
