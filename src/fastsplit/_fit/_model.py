"""The parameter and model convention of :func:`fastsplit.fit`.

A model is a plain function of the data and named parameters::

    def model(x, *, D0, alpha, D_offset, contrast, offset):
        ...  # jax.numpy code, returns one value per point of x

* ``x`` is what the caller passed as ``x`` (one array, or a tuple of arrays),
  cut to the points being evaluated (one chunk, one group, or all of them).
* Shared parameters arrive as scalars.
* Per-group parameters are named once, in ``per_group``; the model receives
  them **already gathered per point** (``contrast[codes]``), so it never sees
  group indices. ``fit`` returns them as arrays indexed like ``s.groups``.
* The model must be *pointwise*: output ``i`` depends only on ``x[i]`` and the
  parameter values at point ``i``. That is what lets the ``chunked`` strategy
  form exact normal equations with one Jacobian column per parameter *name*
  rather than per group; ``fit`` checks it on a few points before trusting it.

The flat parameter vector used internally is shared parameters first (in the
order of ``p0``), then every per-group parameter name-major: ``contrast[0..G-1]``,
``offset[0..G-1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_1d
from ..errors import (
    InvalidArgumentError,
    InvalidShapeError,
    InvalidTypeError,
    LengthMismatchError,
)

__all__ = ["ParameterLayout", "evaluate", "flat_parameters", "normalize_x"]

Model = Callable[..., Any]

REAL = "fiu"
"""dtype kinds accepted for data: real numbers (not bool, not complex)."""


@dataclass(frozen=True)
class ParameterLayout:
    """Where each named parameter lives in the flat parameter vector."""

    shared: tuple[str, ...]
    per_group: tuple[str, ...]
    n_groups: int

    @property
    def n_shared(self) -> int:
        return len(self.shared)

    @property
    def n_per_group(self) -> int:
        return len(self.per_group)

    @property
    def size(self) -> int:
        return self.n_shared + self.n_per_group * self.n_groups

    @property
    def names(self) -> tuple[str, ...]:
        """All parameter names (shared, then per-group), each once."""
        return (*self.shared, *self.per_group)

    def flat_names(self) -> list[str]:
        """One label per flat entry: ``D0``, ..., ``contrast[0]``, ..."""
        labels = list(self.shared)
        for name in self.per_group:
            labels.extend(f"{name}[{g}]" for g in range(self.n_groups))
        return labels

    def slot(self, name: str) -> slice:
        """The flat slice of one parameter name."""
        if name in self.shared:
            i = self.shared.index(name)
            return slice(i, i + 1)
        j = self.per_group.index(name)
        start = self.n_shared + j * self.n_groups
        return slice(start, start + self.n_groups)

    def group_index(self, g: int) -> np.ndarray:
        """Flat indices of the per-group parameters of group ``g`` (name order)."""
        return self.n_shared + np.arange(self.n_per_group) * self.n_groups + g

    def pack(self, values: Mapping[str, Any], *, what: str = "p0") -> np.ndarray:
        """Flatten named values; per-group ones may be scalars (broadcast) or length-G."""
        flat = np.empty(self.size, dtype=np.float64)
        for name in self.names:
            flat[self.slot(name)] = self._values_of(name, values[name], what=what)
        return flat

    def _values_of(self, name: str, value: Any, *, what: str) -> np.ndarray:
        try:
            raw = np.asarray(value)
        except (TypeError, ValueError):
            raw = np.asarray(None)
        if raw.dtype.kind not in "fiu":  # strings, None, bools and objects are mistakes
            raise InvalidTypeError(
                f"{what}[{name!r}] must be a number or an array of numbers, got {value!r}."
            )
        arr = raw.astype(np.float64)
        if name in self.shared:
            if arr.size != 1:
                raise InvalidShapeError(
                    f"{what}[{name!r}] is a shared parameter and must be a scalar, got shape "
                    f"{arr.shape}; list it in per_group= if it has one value per group."
                )
            return arr.reshape(1)
        if arr.ndim == 0:
            return np.full(self.n_groups, float(arr))
        if arr.shape != (self.n_groups,):
            raise InvalidShapeError(
                f"{what}[{name!r}] is per-group: give a scalar or {self.n_groups} values "
                f"(one per group, in the order of the sorted group labels); got shape {arr.shape}."
            )
        return arr

    def unpack(self, flat: np.ndarray) -> dict[str, Any]:
        """Named values from a flat vector: floats for shared, arrays for per-group."""
        out: dict[str, Any] = {}
        for name in self.shared:
            out[name] = float(flat[self.slot(name)][0])
        for name in self.per_group:
            out[name] = np.array(flat[self.slot(name)], dtype=np.float64)
        return out

    def split(self, flat: Any) -> tuple[Any, Any]:
        """``(shared vector, per-group matrix of shape (n_per_group, G))``; numpy or jax."""
        return flat[: self.n_shared], flat[self.n_shared :].reshape(self.n_per_group, self.n_groups)


def evaluate(
    model: Model, layout: ParameterLayout, x_is_tuple: bool, xs: Any, shared: Any, per_point: Any
) -> Any:
    """``model(x, **params)``: ``shared[i]`` for each shared name, ``per_point[j]`` (one
    value per point) for each per-group name; numpy or jax."""
    params = {name: shared[i] for i, name in enumerate(layout.shared)}
    params.update({name: per_point[j] for j, name in enumerate(layout.per_group)})
    return model(xs if x_is_tuple else xs[0], **params)


def make_layout(
    p0: Mapping[str, Any], per_group: Sequence[str] | str, n_groups: int
) -> ParameterLayout:
    """Check ``p0``/``per_group`` and return the layout (names in ``p0`` order)."""
    if not isinstance(p0, Mapping):
        raise InvalidTypeError(
            "p0 must be a mapping of parameter name to starting value, e.g. "
            "p0={'D0': 1e4, 'alpha': -1.0, 'contrast': 0.3, 'offset': 1.0}; "
            f"got {type(p0).__name__}."
        )
    if not p0:
        raise InvalidArgumentError("p0 is empty; give a starting value for every parameter.")
    if isinstance(per_group, str):
        per_group = (per_group,)
    try:
        per_group_names = tuple(per_group)
    except TypeError:
        raise InvalidTypeError(
            f"per_group must be a sequence of parameter names, got {type(per_group).__name__}."
        ) from None
    for where, names in (("p0", tuple(p0)), ("per_group", per_group_names)):
        for name in names:
            if not isinstance(name, str) or not name.isidentifier():
                raise InvalidArgumentError(
                    f"{where} has {name!r}: parameter names must be Python identifiers (they "
                    "are passed to the model as keywords), e.g. 'offset'."
                )
    unknown = [name for name in per_group_names if name not in p0]
    if unknown:
        raise InvalidArgumentError(
            f"per_group names {unknown} have no starting value in p0; p0 has {list(p0)}."
        )
    if len(set(per_group_names)) != len(per_group_names):
        raise InvalidArgumentError(f"per_group lists a name twice: {list(per_group_names)}.")
    shared = tuple(name for name in p0 if name not in per_group_names)
    return ParameterLayout(shared=shared, per_group=per_group_names, n_groups=int(n_groups))


def make_bounds(
    layout: ParameterLayout, bounds: Mapping[str, Any] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Flat lower/upper bounds from ``{name: (lo, hi)}``; missing names are unbounded."""
    lower = np.full(layout.size, -np.inf)
    upper = np.full(layout.size, np.inf)
    if bounds is None:
        return lower, upper
    if not isinstance(bounds, Mapping):
        raise InvalidTypeError(
            "bounds must be a mapping {name: (lower, upper)}, e.g. "
            f"bounds={{'contrast': (0, 1)}}; got {type(bounds).__name__}."
        )
    unknown = [name for name in bounds if name not in layout.names]
    if unknown:
        raise InvalidArgumentError(
            f"bounds has names {unknown} that are not parameters; parameters are "
            f"{list(layout.names)}."
        )
    for name, pair in bounds.items():
        if pair is None:
            continue
        try:
            lo, hi = pair
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                f"bounds[{name!r}] must be a pair (lower, upper), got {pair!r}."
            ) from None
        where = layout.slot(name)
        lower[where] = layout._values_of(name, -np.inf if lo is None else lo, what="bounds")
        upper[where] = layout._values_of(name, np.inf if hi is None else hi, what="bounds")
    flat_names = layout.flat_names()
    # Equal bounds hold a parameter fixed (see _fixed); NaN fails both comparisons.
    bad = [flat_names[i] for i in np.flatnonzero(~(lower <= upper))]
    if bad:
        raise InvalidArgumentError(
            f"bounds must have lower <= upper (equal bounds fix a parameter); not so for "
            f"{bad[:10]}" + (" ..." if len(bad) > 10 else "") + "."
        )
    return lower, upper


def flat_parameters(
    p0: Mapping[str, Any],
    per_group: Sequence[str] | str,
    bounds: Mapping[str, Any] | None,
    n_groups: int,
) -> tuple[ParameterLayout, np.ndarray, np.ndarray, np.ndarray]:
    """``(layout, start, lower, upper)`` from the named arguments, every one checked."""
    layout = make_layout(p0, per_group, n_groups)
    start = layout.pack(p0)
    lower, upper = make_bounds(layout, bounds)
    check_start(layout, start, lower, upper)
    return layout, start, lower, upper


def check_start(
    layout: ParameterLayout, p0: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> None:
    """``p0`` must be finite and inside the bounds."""
    names = layout.flat_names()
    bad = [names[i] for i in np.flatnonzero(~np.isfinite(p0))]
    if bad:
        raise InvalidArgumentError(f"p0 must be finite; not so for {bad[:10]}.")
    outside = [
        f"{names[i]}={p0[i]:g} not in [{lower[i]:g}, {upper[i]:g}]"
        for i in np.flatnonzero((p0 < lower) | (p0 > upper))
    ]
    if outside:
        raise InvalidArgumentError(
            "p0 is outside the bounds: " + "; ".join(outside[:10]) + ". Move p0 inside."
        )


def normalize_x(x: Any, n: int | None = None) -> tuple[tuple[np.ndarray, ...], bool]:
    """``x`` as a tuple of 1-D arrays plus whether the model expects a tuple."""
    if isinstance(x, tuple | list):
        if len(x) == 0:
            raise InvalidArgumentError("x is an empty sequence; pass the model's input arrays.")
        arrays = tuple(_one_array(a, f"x[{i}]") for i, a in enumerate(x))
        is_tuple = True
    else:
        arrays = (_one_array(x, "x"),)
        is_tuple = False
    lengths = {a.shape[0] for a in arrays}
    if len(lengths) != 1:
        raise LengthMismatchError(
            f"the arrays of x have different lengths {sorted(lengths)}; every x array needs "
            "one value per point."
        )
    if n is not None and arrays[0].shape[0] != n:
        raise LengthMismatchError(
            f"x has {arrays[0].shape[0]} points but y has {n}; give one x value per y value."
        )
    return arrays, is_tuple


def _one_array(a: Any, name: str) -> np.ndarray:
    if np.ndim(a) == 2:  # the likeliest mistake: x stacked as rows
        raise InvalidShapeError(
            f"{name} must be 1-D, got shape {np.shape(a)}. Pass several input variables as "
            "a tuple of 1-D arrays, e.g. x=(phi, t1, t2)."
        )
    return check_1d(name, a, kinds=REAL, host=True)


def finite_or_raise(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InvalidArgumentError(
            f"{name} has {bad} NaN or infinite values; drop those points (and the matching "
            "points of every other array) before fitting."
        )


def check_model_names(model: Model, layout: ParameterLayout) -> None:
    """Fail early, by name, when the model's keywords do not match p0."""
    import inspect

    try:
        signature = inspect.signature(model)
    except (TypeError, ValueError):
        return
    params = list(signature.parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = {
        p.name
        for p in params[1:]
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    missing = [name for name in layout.names if name not in accepted]
    if missing:
        raise InvalidArgumentError(
            f"the model does not accept the parameters {missing} given in p0; it is called "
            f"as model(x, **params) and accepts {sorted(accepted)}."
        )
    required = {
        p.name
        for p in params[1:]
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    absent = sorted(required - set(layout.names))
    if absent:
        raise InvalidArgumentError(
            f"the model requires parameters {absent} that p0 does not give; add them to p0."
        )
