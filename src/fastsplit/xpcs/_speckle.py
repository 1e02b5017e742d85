"""Simulate the measurement: speckle per pixel, frames, a two-time correlator.

Unlike :func:`fastsplit.xpcs.synthesize` (the model plus independent noise on
every point), this simulates what a detector sees, so the points of ``c2``
carry the correlations real two-time data have: every point of row ``t1``
shares frame ``t1``, and neighbouring frames are alike over the decay time.

Each pixel of a q bin sees ``modes`` independent complex Gaussian fields
(``modes`` speckles per pixel: the contrast is ``1 / modes``). Each field is
an AR(1) process over the frames, ``E[k+1] = rho_k E[k] + sqrt(1 - rho_k**2) e``,
with ``rho_k = g1(t_k, t_{k+1})`` of the static :class:`TwoTimeModel`, so that
``<E[k] E*[l]> = g1(t_k, t_l)`` exactly (the cumulative integral telescopes).
An incoherent background of mean ``background`` (white, one exponential
intensity per pixel and frame) and optionally Poisson counting noise are added.
The two-time correlator is

``c2(t1, t2) = <I(t1) I(t2)>_pixels / (<I(t1)>_pixels <I(t2)>_pixels)``

per bin, for ``1 <= t2 - t1 <= max_lag``. Then ``c2 = 1 + beta g1^2`` with
``beta = 1 / (modes (1 + background)^2)``: the truth has ``offset = 1`` and
``contrast = beta`` in every bin (up to the ``O(1 / pixels)`` bias of a ratio).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ._data import TwoTimeData
from ._model import TwoTimeModel

__all__ = ["SpeckleData", "simulate_speckle"]

SPECKLE_TRUTH = {"D0": 50_000.0, "alpha": -0.3, "D_offset": 20_000.0}
"""Shared values whose intensity decay lasts 2-9 frames of ``dt = 0.1`` s at the
default ``q``: short against a few hundred frames, so that the data hold many
independent stretches of frames."""


@dataclass(frozen=True)
class SpeckleData(TwoTimeData):
    """Two-time data from simulated speckle, with the truth it was made from."""

    truth: Mapping[str, Any] = field(default_factory=dict)
    model: TwoTimeModel | None = None


def simulate_speckle(
    n_bins: int = 4,
    n_frames: int = 200,
    *,
    n_pixels: int = 400,
    modes: int = 3,
    background: float = 0.1,
    photons: float | None = None,
    max_lag: int = 80,
    truth: Mapping[str, float] | None = None,
    dt: float = 0.1,
    q: float = 0.0054,
    seed: int | None = 0,
) -> SpeckleData:
    """Simulate detector frames with a known decay and compute ``c2`` as a correlator does.

    Parameters
    ----------
    n_bins : int
        q bins (the fit's groups; angles spread over +-180 degrees).
    n_frames : int
        Frames.
    n_pixels : int
        Pixels per bin.
    modes : int
        Independent speckles per pixel: the contrast is ``1 / modes`` before the
        background dilutes it.
    background : float
        Mean incoherent intensity, relative to the speckle's mean of 1.
    photons : float, optional
        Mean counts per pixel and frame: the intensities are drawn as Poisson
        counts of that mean (``None``: no counting noise).
    max_lag : int
        Largest ``t2 - t1`` in frames kept (the diagonal is left out).
    truth : mapping, optional
        ``D0``, ``alpha``, ``D_offset`` of the static model (default
        :data:`SPECKLE_TRUTH`).
    dt, q : float
        Frame interval (s) and wavevector (1/A).
    seed : int, optional
        Seed of the random generator.

    Returns
    -------
    SpeckleData
        Angle-major points (``t1 < t2``), ``sigma=None``, the model and the truth
        (``contrast`` and ``offset`` one per bin).

    Examples
    --------
    >>> from fastsplit.xpcs._speckle import simulate_speckle
    >>> d = simulate_speckle(n_bins=2, n_frames=30, n_pixels=50, max_lag=5, seed=1)
    >>> d.n_points, round(float(d.truth["contrast"][0]), 4)
    (270, 0.2755)
    """
    for name, value, least in (
        ("n_bins", n_bins, 1),
        ("n_frames", n_frames, 2),
        ("n_pixels", n_pixels, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise InvalidArgumentError(f"{name} must be an int >= {least}, got {value!r}.")
    if not 1 <= max_lag < n_frames:
        raise InvalidArgumentError(
            f"max_lag must be between 1 and n_frames - 1 = {n_frames - 1}, got {max_lag}."
        )
    if modes < 1 or background < 0:
        raise InvalidArgumentError("modes must be >= 1 and background >= 0.")
    model = TwoTimeModel(int(n_frames), dt=dt, q=q, mode="static")
    shared = dict(SPECKLE_TRUTH if truth is None else truth)
    rng = np.random.default_rng(seed)
    frames = np.arange(n_frames) * dt
    rho = np.asarray(model.g1((np.zeros(n_frames - 1), frames[:-1], frames[1:]), **shared))
    step = np.sqrt(1.0 - rho**2)

    angles = -180.0 + 360.0 / n_bins * (np.arange(n_bins) + 0.5) + 0.137
    first, second = np.triu_indices(n_frames, k=1)
    near = second - first <= max_lag
    first, second = first[near], second[near]
    c2 = np.empty((n_bins, first.size))
    for b in range(n_bins):
        intensity = _frames(rng, rho, step, n_pixels, modes, background, photons)
        mean = intensity.mean(axis=1)
        product = intensity @ intensity.T / n_pixels
        c2[b] = product[first, second] / (mean[first] * mean[second])
    beta = 1.0 / (modes * (1.0 + background) ** 2)
    values: dict[str, Any] = dict(shared)
    values["contrast"] = np.full(n_bins, beta)
    values["offset"] = np.ones(n_bins)
    per_bin = first.size
    return SpeckleData(
        phi=np.repeat(angles, per_bin),
        t1=np.tile(first * dt, n_bins),
        t2=np.tile(second * dt, n_bins),
        g2=c2.reshape(-1),
        sigma=None,
        q=q,
        dt=dt,
        n_frames=int(n_frames),
        source="simulated speckle",
        meta={"seed": seed, "n_pixels": n_pixels, "modes": modes, "max_lag": max_lag},
        truth=values,
        model=model,
    )


def _frames(
    rng: np.random.Generator,
    rho: np.ndarray,
    step: np.ndarray,
    n_pixels: int,
    modes: int,
    background: float,
    photons: float | None,
) -> np.ndarray:
    """``(n_frames, n_pixels)`` intensities of one bin."""
    n_frames = rho.size + 1
    shape = (n_frames, n_pixels, modes)
    noise = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5)
    field_ = np.empty(shape, dtype=complex)
    field_[0] = noise[0]
    for k in range(n_frames - 1):
        field_[k + 1] = rho[k] * field_[k] + step[k] * noise[k + 1]
    intensity = (np.abs(field_) ** 2).mean(axis=2)
    if background > 0:
        intensity += rng.exponential(background, (n_frames, n_pixels))
    if photons is not None:
        scale = photons / (1.0 + background)
        intensity = rng.poisson(intensity * scale) / scale
    return intensity
