"""Synthetic two-time XPCS data with known truth, in detector (angle-major) order."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, InvalidTypeError
from ._data import TwoTimeData, TwoTimePoints
from ._model import Mode, TwoTimeModel, real_number

__all__ = ["SyntheticXPCS", "synthesize"]


@dataclass(frozen=True)
class SyntheticXPCS(TwoTimePoints):
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

    sigma: np.ndarray
    angles: np.ndarray
    truth: dict[str, Any]
    model: TwoTimeModel
    meta: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> np.ndarray:
        """Points per angle, in ``angles`` order."""
        return np.asarray(
            [int(np.count_nonzero(self.phi == a)) for a in self.angles], dtype=np.int64
        )

    def save_npz(self, path: str | os.PathLike[str]) -> None:
        """Write the points as an npz that ``fastsplit fit`` and ``fastsplit stratify`` read.

        ``phi, t1, t2, g2, sigma`` and the model's ``q``, ``dt`` and ``n_frames``
        (:meth:`TwoTimeData.save_npz`, under exactly the name given); the truth is
        not in the file (it stays in :attr:`truth`).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from fastsplit.xpcs import load, synthesize
        >>> path = Path(tempfile.mkdtemp()) / "synthetic.npz"
        >>> synthesize(n_angles=3, n_frames=10).save_npz(path)
        >>> data = load(path)
        >>> data.n_points, data.angles.tolist(), data.n_frames
        (300, [-119.863, 0.137, 120.137], 10)
        """
        model = self.model
        data = TwoTimeData(
            self.phi, self.t1, self.t2, self.g2, self.sigma, model.q, model.dt, model.n_frames
        )
        data.save_npz(path)


def _per_angle(name: str, value: Any, n_angles: int) -> np.ndarray:
    """A scalar or one finite number per angle, as ``n_angles`` floats."""
    try:
        array = np.asarray(value, dtype=np.float64)
        out = np.broadcast_to(array, (n_angles,)).copy()
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{name} must be a number or {n_angles} numbers (one per angle), got {value!r}."
        ) from None
    if not np.all(np.isfinite(out)):
        raise InvalidArgumentError(f"{name} must be finite, got {value!r}.")
    return out


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
    if real_number("noise", noise) < 0:
        raise InvalidArgumentError(f"noise must be a finite number >= 0, got {noise}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise InvalidTypeError(f"seed must be an int or None, got {type(seed).__name__} {seed!r}.")
    if seed is not None and seed < 0:
        raise InvalidArgumentError(f"seed must be >= 0, got {seed}.")
    model = TwoTimeModel(int(n_frames), dt=dt, q=q, L=L, mode=mode)
    rng = np.random.default_rng(seed)

    # Non-integer angles spread over +-180 degrees, ascending (detector order).
    step = 360.0 / n_angles
    angles = -180.0 + step * (np.arange(n_angles) + 0.5) + 0.137

    values: dict[str, Any] = dict(model.typical_values())
    values["contrast"] = rng.uniform(0.27, 0.32, n_angles)
    values["offset"] = rng.uniform(0.76, 1.0, n_angles)
    if truth is not None:
        if not isinstance(truth, Mapping):
            raise InvalidTypeError(
                f"truth must be a mapping of parameter name to value, got {type(truth).__name__}."
            )
        unknown = sorted(str(k) for k in set(truth) - set(model.parameter_names))
        if unknown:
            raise InvalidArgumentError(
                f"truth has unknown parameters {unknown}; valid: {list(model.parameter_names)}."
            )
        for name, value in truth.items():
            if name in model.per_group_names:
                values[name] = _per_angle(f"truth[{name!r}]", value, n_angles)
            else:
                values[name] = real_number(f"truth[{name!r}]", value)

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
    contrast = np.repeat(values["contrast"], per_angle)
    offset = np.repeat(values["offset"], per_angle)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        g1 = model.g1((phi, t1, t2), **shared)
        g2 = offset + contrast * g1 * g1
    if not np.isfinite(g2).all():
        raise InvalidArgumentError(
            f"the model is not finite on this time grid (dt={dt!r} s, {n_frames} frames) with "
            f"the values {shared}: t**alpha overflows. Use a time step in seconds "
            "(e.g. dt=0.1) and finite, moderate parameter values."
        )
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
