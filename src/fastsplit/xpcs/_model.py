"""The XPCS two-time correlation model (``docs/xpcs-model.md``).

::

    g2[phi, i, j] = offset[phi] + contrast[phi] * g1^2
    g1            = max(g1_diff * g1_shear, 1e-10)
    g1_diff       = exp(-(q^2 / 2) * |int_{t_i}^{t_j} D(t) dt|)
    g1_shear      = sinc(Phi)^2          (laminar flow only; 1 in static mode)
    Phi           = (q L / 2 pi) cos(phi0 - phi) |int_{t_i}^{t_j} gdot(t) dt|
    D(t)          = max(D0 t^alpha + D_offset, 1e-10)
    gdot(t)       = max(gamma_dot_t0 t^beta + gamma_dot_t_offset, 1e-10)

on the frame grid ``t_k = k dt`` (``k = 0 .. n_frames - 1``, integrals by the
trapezoid rule, ``t`` floored at ``dt / 2``). Angles are in degrees.

:class:`TwoTimeModel` follows the :func:`fastsplit.fit` model convention: it is
called as ``model((phi, t1, t2), **params)`` where shared parameters arrive as
scalars and the per-group parameters ``contrast`` and ``offset`` arrive already
gathered per point. The same code runs with :mod:`jax.numpy` (traceable, for
fitting) and with NumPy (for :func:`fastsplit.xpcs.synthesize`, which therefore
needs no JAX).
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Literal, get_args

import numpy as np

from ..errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "LAMINAR_FLOW_PARAMETERS",
    "MODES",
    "PER_GROUP_PARAMETERS",
    "STATIC_PARAMETERS",
    "Mode",
    "TwoTimeModel",
]

Mode = Literal["static", "laminar_flow"]
MODES: tuple[str, ...] = get_args(Mode)

STATIC_PARAMETERS: tuple[str, ...] = ("D0", "alpha", "D_offset")
LAMINAR_FLOW_PARAMETERS: tuple[str, ...] = (
    *STATIC_PARAMETERS,
    "gamma_dot_t0",
    "beta",
    "gamma_dot_t_offset",
    "phi0",
)
PER_GROUP_PARAMETERS: tuple[str, ...] = ("contrast", "offset")


def parameter_names(mode: str) -> tuple[str, ...]:
    """Every parameter of the ``mode`` model: shared ones, then the per-angle ones.

    Examples
    --------
    >>> parameter_names("static")
    ('D0', 'alpha', 'D_offset', 'contrast', 'offset')
    """
    shared = LAMINAR_FLOW_PARAMETERS if mode == "laminar_flow" else STATIC_PARAMETERS
    return (*shared, *PER_GROUP_PARAMETERS)


_TYPICAL: dict[str, float] = {
    "D0": 19_230.0,
    "alpha": -1.06,
    "D_offset": 879.0,
    "gamma_dot_t0": 2e-3,
    "beta": -0.3,
    "gamma_dot_t_offset": 1e-4,
    "phi0": 3.0,
    "contrast": 0.3,
    "offset": 0.9,
}

# A user's rough guess, away from the typical values that synthesize() draws its
# truth around: a fit started at the truth would be unrealistically short.
_ROUGH: dict[str, float] = {
    "D0": 1.0e4,
    "alpha": -0.8,
    "D_offset": 500.0,
    "gamma_dot_t0": 1e-3,
    "beta": 0.0,
    "gamma_dot_t_offset": 0.0,
    "phi0": 0.0,
}

_BOUNDS: dict[str, tuple[float, float]] = {
    "D0": (100.0, 1e5),
    "alpha": (-2.0, 2.0),
    "D_offset": (-1e5, 1e5),
    "gamma_dot_t0": (1e-6, 0.5),
    "beta": (-2.0, 2.0),
    "gamma_dot_t_offset": (-0.1, 0.1),
    "phi0": (-10.0, 10.0),
    "contrast": (0.0, 1.0),
    "offset": (0.5, 1.5),
}

_FLOOR = 1e-10
# Below this |x| the Taylor series of sin(x)/x is exact to float64 precision
# and avoids 0/0 (and its NaN gradient) at x = 0.
_SINC_TAYLOR = 1e-4


def real_number(name: str, value: Any, *, positive: bool = False) -> float:
    """``value`` as a finite float (``> 0`` with ``positive``), else a fastsplit error naming it.

    Examples
    --------
    >>> real_number("dt", 0.1, positive=True)
    0.1
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        raise InvalidTypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    number = float(value)
    if not math.isfinite(number) or (positive and number <= 0):
        what = "a positive finite number" if positive else "a finite number"
        raise InvalidArgumentError(f"{name} must be {what}, got {value!r}.")
    return number


def _xp_of(*arrays: Any) -> ModuleType:
    """Return jax.numpy when any input is a JAX array or tracer, else NumPy.

    Looks in ``sys.modules`` only, so the NumPy path never imports JAX.
    """
    jax = sys.modules.get("jax")
    if jax is not None:
        array_type = jax.Array
        for a in arrays:
            if isinstance(a, array_type):
                return sys.modules["jax.numpy"]
    return np


def _sinc(xp: ModuleType, x: Any) -> Any:
    small = xp.abs(x) < _SINC_TAYLOR
    safe = xp.where(small, 1.0, x)
    x2 = x * x
    return xp.where(small, 1.0 - x2 / 6.0 + x2 * x2 / 120.0, xp.sin(safe) / safe)


def _cumulative_trapezoid(xp: ModuleType, values: Any, dt: float) -> Any:
    steps = 0.5 * dt * (values[1:] + values[:-1])
    return xp.concatenate([xp.zeros(1, dtype=steps.dtype), xp.cumsum(steps)])


class TwoTimeModel:
    """XPCS two-time ``g2`` model in the :func:`fastsplit.fit` convention.

    Parameters
    ----------
    n_frames : int
        Frames per angle; the time grid is ``t_k = k * dt`` for ``k < n_frames``.
    dt : float
        Frame interval in seconds.
    q : float
        Scattering wavevector in 1/Angstrom.
    L : float
        Stator-rotor gap in Angstrom (laminar flow only).
    mode : {"static", "laminar_flow"}
        ``static`` has 3 shared parameters (D0, alpha, D_offset); ``laminar_flow``
        adds gamma_dot_t0, beta, gamma_dot_t_offset and phi0 (degrees).

    Notes
    -----
    Call as ``model((phi, t1, t2), **params)``: ``phi`` in degrees, ``t1``/``t2``
    in seconds (multiples of ``dt``). Shared parameters are scalars; ``contrast``
    and ``offset`` are per-point arrays (``fastsplit.fit`` gathers them from the
    per-angle values) or scalars. Works with NumPy and with ``jax.numpy``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastsplit.xpcs import TwoTimeModel
    >>> model = TwoTimeModel(n_frames=4, mode="static")
    >>> t = np.array([0.0, 0.1, 0.3])
    >>> g2 = model((np.zeros(3), t, t), **model.typical_values(), contrast=0.3, offset=1.0)
    >>> np.allclose(g2, 1.3)  # on the diagonal g1 = 1
    True
    """

    per_group_names: tuple[str, ...] = PER_GROUP_PARAMETERS

    def __init__(
        self,
        n_frames: int,
        *,
        dt: float = 0.1,
        q: float = 0.0054,
        L: float = 2e6,
        mode: Mode = "static",
    ) -> None:
        if isinstance(n_frames, bool) or not isinstance(n_frames, int | np.integer):
            raise InvalidTypeError(
                f"n_frames must be an int, got {type(n_frames).__name__}; pass the number "
                "of frames per angle, e.g. n_frames=1001."
            )
        if n_frames < 1:
            raise InvalidArgumentError(f"n_frames must be >= 1, got {n_frames}.")
        if not isinstance(mode, str) or mode not in MODES:
            raise InvalidArgumentError(f"mode must be one of {list(MODES)}; got {mode!r}.")
        for name, value in (("dt", dt), ("q", q), ("L", L)):
            real_number(name, value, positive=True)
        self.n_frames = int(n_frames)
        self.dt = float(dt)
        self.q = float(q)
        self.L = float(L)
        self.mode: Mode = mode

    @property
    def shared_names(self) -> tuple[str, ...]:
        """Names of the parameters shared by every angle, in model order."""
        return STATIC_PARAMETERS if self.mode == "static" else LAMINAR_FLOW_PARAMETERS

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Shared names followed by the per-group names."""
        return parameter_names(self.mode)

    def typical_values(self) -> dict[str, float]:
        """Typical shared values (``docs/xpcs-model.md``), usable as a starting point."""
        return {name: _TYPICAL[name] for name in self.shared_names}

    def default_p0(self) -> dict[str, float]:
        """A starting point for every parameter (per-group ones as scalars)."""
        return {name: _TYPICAL[name] for name in self.parameter_names}

    def rough_p0(self) -> dict[str, float]:
        """A start away from the typical values, as a user's rough guess would be.

        :func:`fastsplit.xpcs.synthesize` draws its truth around
        :meth:`default_p0`; the demo, the benchmarks and the tests start their
        fits here instead, so that the fit has real work to do.

        Examples
        --------
        >>> from fastsplit.xpcs import TwoTimeModel
        >>> TwoTimeModel(10).rough_p0()
        {'D0': 10000.0, 'alpha': -0.8, 'D_offset': 500.0, 'contrast': 0.3, 'offset': 0.9}
        """
        return {name: _ROUGH.get(name, _TYPICAL[name]) for name in self.parameter_names}

    def default_bounds(self) -> dict[str, tuple[float, float]]:
        """Physical bounds for every parameter, in the ``fit(bounds=...)`` form."""
        return {name: _BOUNDS[name] for name in self.parameter_names}

    def __repr__(self) -> str:
        return (
            f"TwoTimeModel(n_frames={self.n_frames}, dt={self.dt}, q={self.q}, "
            f"L={self.L}, mode={self.mode!r})"
        )

    def __fastsplit_compile_key__(self) -> str:
        """What the compiled passes of this model depend on besides its source and constants.

        ``fastsplit.fit`` keeps its passes across processes (``jax.export``; see
        ``docs/fit.md``, "Compilation"). The frame count and the mode shape the
        passes; ``dt``, ``q`` and ``L`` are their arguments
        (:meth:`__fastsplit_constants__`), so every q bin of a file, and every file
        of the same frame count and mode, share one compilation.
        """
        return f"TwoTimeModel(n_frames={self.n_frames}, mode={self.mode!r})"

    def __fastsplit_constants__(self) -> dict[str, float]:
        """The values the compiled passes take as arguments instead of baking them in."""
        return {"dt": self.dt, "q": self.q, "L": self.L}

    def __fastsplit_with_constants__(self, **values: Any) -> TwoTimeModel:
        """This model with ``values`` (JAX tracers, in a compiled pass) for its constants."""
        model = copy.copy(self)
        model.__dict__.update(values)
        return model

    def __call__(self, x: Any, **params: Any) -> Any:
        try:
            phi, t1, t2 = x
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                "x must be the tuple (phi, t1, t2) of per-point arrays."
            ) from None
        expected = set(self.parameter_names)
        if set(params) != expected:
            missing = sorted(expected - set(params))
            extra = sorted(set(params) - expected)
            raise InvalidArgumentError(
                f"TwoTimeModel({self.mode!r}) takes parameters {list(self.parameter_names)}; "
                f"missing {missing}, unexpected {extra}."
            )
        xp = _xp_of(phi, t1, t2, *params.values())
        return self._g2(xp, phi, t1, t2, params)

    def g1(self, x: Any, **shared: Any) -> Any:
        """The normalised field correlation ``g1`` for the shared parameters only."""
        phi, t1, t2 = x
        xp = _xp_of(phi, t1, t2, *shared.values())
        return self._g1(xp, phi, t1, t2, shared)

    def _g2(self, xp: ModuleType, phi: Any, t1: Any, t2: Any, params: Mapping[str, Any]) -> Any:
        g1 = self._g1(xp, phi, t1, t2, params)
        return params["offset"] + params["contrast"] * g1 * g1

    def _g1(self, xp: ModuleType, phi: Any, t1: Any, t2: Any, params: Mapping[str, Any]) -> Any:
        dt = self.dt
        last = self.n_frames - 1
        i = xp.clip(xp.rint(xp.asarray(t1) / dt), 0, last).astype(np.int32)
        j = xp.clip(xp.rint(xp.asarray(t2) / dt), 0, last).astype(np.int32)
        # The grid time is floored at dt/2 so that t^alpha stays finite at t = 0.
        t = xp.maximum(xp.arange(self.n_frames, dtype=np.float64) * dt, 0.5 * dt)

        diffusion = xp.maximum(params["D0"] * t ** params["alpha"] + params["D_offset"], _FLOOR)
        d_integral = _cumulative_trapezoid(xp, diffusion, dt)
        g1 = xp.exp(-(self.q * self.q / 2.0) * xp.abs(d_integral[j] - d_integral[i]))

        if self.mode == "laminar_flow":
            shear_rate = xp.maximum(
                params["gamma_dot_t0"] * t ** params["beta"] + params["gamma_dot_t_offset"],
                _FLOOR,
            )
            s_integral = _cumulative_trapezoid(xp, shear_rate, dt)
            angle = xp.deg2rad(params["phi0"] - xp.asarray(phi))
            big_phi = (
                (self.q * self.L / (2.0 * math.pi))
                * xp.cos(angle)
                * xp.abs(s_integral[j] - s_integral[i])
            )
            sinc = _sinc(xp, big_phi)
            g1 = g1 * sinc * sinc
        return xp.maximum(g1, _FLOOR)
