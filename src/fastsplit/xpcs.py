"""The XPCS two-time correlation model and a synthetic data generator.

The model is DESIGN.md section 10::

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
fitting) and with NumPy (for :func:`synthesize`, which therefore needs no JAX).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

import numpy as np

from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "LAMINAR_FLOW_PARAMETERS",
    "PER_GROUP_PARAMETERS",
    "STATIC_PARAMETERS",
    "SyntheticXPCS",
    "TwoTimeModel",
    "synthesize",
]

Mode = Literal["static", "laminar_flow"]

STATIC_PARAMETERS: tuple[str, ...] = ("D0", "alpha", "D_offset")
LAMINAR_FLOW_PARAMETERS: tuple[str, ...] = (
    *STATIC_PARAMETERS,
    "gamma_dot_t0",
    "beta",
    "gamma_dot_t_offset",
    "phi0",
)
PER_GROUP_PARAMETERS: tuple[str, ...] = ("contrast", "offset")

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
        if mode not in ("static", "laminar_flow"):
            raise InvalidArgumentError(
                f"mode must be one of 'static', 'laminar_flow'; got {mode!r}."
            )
        for name, value in (("dt", dt), ("q", q), ("L", L)):
            if not (math.isfinite(value) and value > 0):
                raise InvalidArgumentError(f"{name} must be a positive finite number, got {value}.")
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
        return (*self.shared_names, *self.per_group_names)

    def typical_values(self) -> dict[str, float]:
        """Typical shared values (DESIGN.md section 10), usable as a starting point."""
        return {name: _TYPICAL[name] for name in self.shared_names}

    def default_p0(self) -> dict[str, float]:
        """A starting point for every parameter (per-group ones as scalars)."""
        return {name: _TYPICAL[name] for name in self.parameter_names}

    def default_bounds(self) -> dict[str, tuple[float, float]]:
        """Physical bounds for every parameter, in the ``fit(bounds=...)`` form."""
        return {name: _BOUNDS[name] for name in self.parameter_names}

    def __repr__(self) -> str:
        return (
            f"TwoTimeModel(n_frames={self.n_frames}, dt={self.dt}, q={self.q}, "
            f"L={self.L}, mode={self.mode!r})"
        )

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


@dataclass(frozen=True)
class SyntheticXPCS:
    """Synthetic two-time data in detector (angle-major) order with known truth.

    Attributes
    ----------
    phi, t1, t2, g2, sigma : np.ndarray
        One value per point (float64), angle-major: every point of the first
        detector angle, then the second, and so on.
    angles : np.ndarray
        The distinct angles, ascending (the order of ``fit`` per-group arrays).
    truth : dict
        True parameters; ``contrast`` and ``offset`` are arrays indexed like
        ``angles``.
    model : TwoTimeModel
        The model that generated the data.
    """

    phi: np.ndarray
    t1: np.ndarray
    t2: np.ndarray
    g2: np.ndarray
    sigma: np.ndarray
    angles: np.ndarray
    truth: dict[str, Any]
    model: TwoTimeModel
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def x(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(phi, t1, t2)``, the model's input."""
        return (self.phi, self.t1, self.t2)

    @property
    def n_points(self) -> int:
        return int(self.g2.shape[0])

    def counts(self) -> np.ndarray:
        """Points per angle, in ``angles`` order."""
        return np.asarray(
            [int(np.count_nonzero(self.phi == a)) for a in self.angles], dtype=np.int64
        )


def synthesize(
    n_angles: int = 23,
    n_frames: int = 100,
    *,
    mode: Mode = "static",
    noise: float = 0.01,
    seed: int = 0,
    dt: float = 0.1,
    q: float = 0.0054,
    L: float = 2e6,
    drop_diagonal: bool = False,
    upper_only: bool = False,
    truth: Mapping[str, Any] | None = None,
    dtype: Any = np.float64,
) -> SyntheticXPCS:
    """Generate two-time XPCS data with Gaussian noise, angle-major, from known truth.

    Parameters
    ----------
    n_angles : int
        Number of detector angles (groups), spread over +-180 degrees with
        non-integer values.
    n_frames : int
        Frames per angle; each angle gives an ``n_frames x n_frames`` matrix.
    mode : {"static", "laminar_flow"}
        Model mode (see :class:`TwoTimeModel`).
    noise : float
        Standard deviation of the additive Gaussian noise on ``g2`` (also
        returned as ``sigma``). ``0`` gives exact model values.
    seed : int
        Seed of the random generator (truth of the per-angle values and noise).
    dt, q, L : float
        Geometry (see :class:`TwoTimeModel`).
    drop_diagonal : bool
        Leave out the ``t1 == t2`` points (usually excluded from fits).
    upper_only : bool
        Keep only ``t2 >= t1`` (the layout of APS 8-ID-I files).
    truth : mapping, optional
        Override true values; ``contrast``/``offset`` may be scalars or arrays of
        length ``n_angles``.
    dtype : dtype
        Floating dtype of the returned arrays.

    Returns
    -------
    SyntheticXPCS

    Examples
    --------
    >>> from fastsplit.xpcs import synthesize
    >>> data = synthesize(n_angles=3, n_frames=10, seed=1)
    >>> data.n_points, data.truth["contrast"].shape
    (300, (3,))
    """
    for name, value in (("n_angles", n_angles), ("n_frames", n_frames)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InvalidArgumentError(f"{name} must be a positive int, got {value!r}.")
    if not (math.isfinite(noise) and noise >= 0):
        raise InvalidArgumentError(f"noise must be a finite number >= 0, got {noise}.")
    model = TwoTimeModel(int(n_frames), dt=dt, q=q, L=L, mode=mode)
    rng = np.random.default_rng(seed)

    # Non-integer angles spread over +-180 degrees, ascending (detector order).
    step = 360.0 / n_angles
    angles = -180.0 + step * (np.arange(n_angles) + 0.5) + 0.137

    values: dict[str, Any] = dict(model.typical_values())
    values["contrast"] = rng.uniform(0.27, 0.32, n_angles)
    values["offset"] = rng.uniform(0.76, 1.0, n_angles)
    if truth is not None:
        unknown = sorted(set(truth) - set(model.parameter_names))
        if unknown:
            raise InvalidArgumentError(
                f"truth has unknown parameters {unknown}; valid: {list(model.parameter_names)}."
            )
        for name, value in truth.items():
            if name in model.per_group_names:
                arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n_angles,)).copy()
                values[name] = arr
            else:
                values[name] = float(value)

    idx = np.arange(n_frames)
    i_grid, j_grid = np.meshgrid(idx, idx, indexing="ij")
    keep = np.ones((n_frames, n_frames), dtype=bool)
    if upper_only:
        keep &= j_grid >= i_grid
    if drop_diagonal:
        keep &= j_grid != i_grid
    t1_one = (i_grid[keep] * dt).astype(np.float64)
    t2_one = (j_grid[keep] * dt).astype(np.float64)
    per_angle = t1_one.shape[0]

    phi = np.repeat(angles, per_angle)
    t1 = np.tile(t1_one, n_angles)
    t2 = np.tile(t2_one, n_angles)
    shared = {name: values[name] for name in model.shared_names}
    g1 = model.g1((phi, t1, t2), **shared)
    contrast = np.repeat(values["contrast"], per_angle)
    offset = np.repeat(values["offset"], per_angle)
    g2 = offset + contrast * g1 * g1
    if noise > 0:
        g2 = g2 + rng.normal(0.0, noise, g2.shape[0])
    sigma = np.full(g2.shape[0], noise if noise > 0 else 1.0)

    out_dtype = np.dtype(dtype)
    return SyntheticXPCS(
        phi=phi.astype(out_dtype),
        t1=t1.astype(out_dtype),
        t2=t2.astype(out_dtype),
        g2=g2.astype(out_dtype),
        sigma=sigma.astype(out_dtype),
        angles=angles.astype(out_dtype),
        truth=values,
        model=model,
        meta={"seed": seed, "noise": noise, "points_per_angle": per_angle},
    )
