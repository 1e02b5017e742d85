"""Fixed parameters: held at their value, invisible to the solver and the checks.

``fit(..., fixed=("c",))`` and equal bounds (``bounds={"c": (2.0, 2.0)}``) hold
a parameter at one value. Rather than freezing entries of the flat vector
(which every strategy, the solver and the checks would then have to respect),
the fit runs on a smaller problem: the free parameters only, with a model that
adds the fixed values back before it calls the user's model. A fixed shared
parameter is a constant of that model; a fixed per-group parameter, one value
per group, travels as one more ``x`` array (its value at every point), so the
model stays pointwise and every strategy, chunk stack and group slice carries
it. The result is then widened back (:meth:`Fixing.widen`): fixed parameters
at their value with error 0 and zero covariance, named in ``result.fixed``.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, InvalidTypeError
from ._model import Model, ParameterLayout
from ._result import FitResult

__all__ = ["Fixing", "fixed_names", "fixing"]


def fixed_names(
    fixed: Sequence[str] | str | None, layout: ParameterLayout, lower: np.ndarray, upper: np.ndarray
) -> tuple[str, ...]:
    """Names held fixed: those in ``fixed`` and those whose bounds are equal, in ``p0`` order."""
    if fixed is None:
        fixed = ()
    if isinstance(fixed, str):
        fixed = (fixed,)
    try:
        asked = tuple(fixed)
    except TypeError:
        raise InvalidTypeError(
            f"fixed must be a sequence of parameter names, e.g. fixed=('c',); got "
            f"{type(fixed).__name__}."
        ) from None
    unknown = [name for name in asked if name not in layout.names]
    if unknown:
        raise InvalidArgumentError(
            f"fixed names {unknown!r} are not parameters; the parameters are {list(layout.names)}."
        )
    held = set(asked)
    for name in layout.names:
        equal = lower[layout.slot(name)] == upper[layout.slot(name)]
        if equal.all():
            held.add(name)
        elif equal.any() and name not in held:
            groups = np.flatnonzero(equal).tolist()
            raise InvalidArgumentError(
                f"bounds of the per-group parameter {name!r} are equal for group(s) at "
                f"{groups[:8]} only: a per-group parameter is fixed for every group or none. "
                f"Give it fixed=({name!r},) with its values in p0, or widen those bounds."
            )
    return tuple(name for name in layout.names if name in held)


@dataclass(frozen=True)
class Fixing:
    """The full problem and the free one the fit runs on."""

    names: tuple[str, ...]
    full: ParameterLayout
    free: ParameterLayout
    values: np.ndarray
    """The full flat vector of the fixed values (free entries: their start)."""
    free_index: np.ndarray
    """Flat indices of the free entries in the full vector."""

    def widen(self, result: FitResult) -> FitResult:
        """``result`` of the free problem as the full one: fixed values, error 0 (for
        every covariance the result holds: the reported one and, with clusters, both
        kinds)."""
        idx = self.free_index
        x = self.values.copy()
        x[idx] = result.x
        covariance, errors = self._widened(result.covariance)
        info = dict(result.info)
        if "constrained" in info:
            constrained = np.ones(self.full.size, dtype=bool)  # a fixed parameter needs no data
            constrained[idx] = info["constrained"]
            info["constrained"] = constrained
        kinds: dict[str, Any] = {}
        for kind in ("model", "cluster"):
            held = getattr(result, f"covariance_{kind}")
            if held is not None:
                wide, wide_errors = self._widened(held)
                kinds[f"covariance_{kind}"] = wide
                kinds[f"errors_{kind}"] = self.full.unpack(wide_errors)
        return dataclasses.replace(
            result,
            params=self.full.unpack(x),
            errors=self.full.unpack(errors),
            covariance=covariance,
            x=x,
            param_names=self.full.flat_names(),
            info=info,
            fixed=self.names,
            **kinds,
        )

    def _widened(self, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The free problem's covariance on the full layout (zeros for the fixed), and
        its standard errors."""
        size, idx = self.full.size, self.free_index
        wide = np.zeros((size, size))
        wide[np.ix_(idx, idx)] = covariance
        errors = np.zeros(size)
        variance = np.diag(covariance)
        errors[idx] = np.sqrt(np.where(variance >= 0, variance, np.nan))
        return wide, errors


def fixing(
    names: tuple[str, ...], full: ParameterLayout, start: np.ndarray
) -> tuple[Fixing, ParameterLayout]:
    """The :class:`Fixing` of ``names`` and the free layout."""
    free = ParameterLayout(
        shared=tuple(n for n in full.shared if n not in names),
        per_group=tuple(n for n in full.per_group if n not in names),
        n_groups=full.n_groups,
    )
    keep = np.ones(full.size, dtype=bool)
    for name in names:
        keep[full.slot(name)] = False
    return Fixing(names, full, free, start.copy(), np.flatnonzero(keep)), free


def fixed_columns(fix: Fixing, codes: np.ndarray) -> tuple[np.ndarray, ...]:
    """The value of every fixed per-group parameter at every point (group ``codes``)."""
    full = fix.full
    return tuple(
        np.ascontiguousarray(fix.values[full.slot(name)][codes])
        for name in full.per_group
        if name in fix.names
    )


_WRAPPERS: weakref.WeakKeyDictionary[Any, dict[Any, Model]] = weakref.WeakKeyDictionary()


def holding_fixed(model: Model, fix: Fixing, n_x: int, x_is_tuple: bool) -> Model:
    """``model`` with the fixed values added back; one function per model and values, so
    the compiled passes of a model are reused by later fits with the same fixed values.

    The returned model takes ``x`` as a tuple: the caller's x arrays, then one array per
    fixed per-group parameter (:func:`fixed_columns`).
    """
    full = fix.full
    shared = tuple(
        (name, float(fix.values[full.slot(name)][0])) for name in full.shared if name in fix.names
    )
    per_point = tuple(name for name in full.per_group if name in fix.names)
    key = (shared, per_point, n_x, x_is_tuple)
    try:
        cache = _WRAPPERS.setdefault(model, {})
        ref: Callable[[], Model | None] = weakref.ref(model)
    except TypeError:  # not weak-referenceable: no cache
        cache, ref = {}, lambda: model
    if key not in cache:
        cache[key] = _wrapper(ref, dict(shared), per_point, n_x, x_is_tuple)
    return cache[key]


def _wrapper(
    ref: Callable[[], Model | None],
    shared: Mapping[str, float],
    per_point: tuple[str, ...],
    n_x: int,
    x_is_tuple: bool,
) -> Model:
    def with_fixed(xs: tuple[Any, ...], **free: Any) -> Any:
        model = ref()
        assert model is not None, "the model was garbage-collected"
        params = dict(free)
        params.update(shared)
        params.update(zip(per_point, xs[n_x:], strict=True))
        own = xs[:n_x]
        return model(own if x_is_tuple else own[0], **params)

    return with_fixed
