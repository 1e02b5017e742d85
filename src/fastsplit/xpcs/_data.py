"""Flat two-time data: one entry per (angle, t1, t2) point, angle-major.

What the reader returns (:class:`TwoTimeData`) and what the generator returns
(:class:`fastsplit.xpcs.SyntheticXPCS`) share this layout, and with it the input
of :class:`fastsplit.xpcs.TwoTimeModel` and of :func:`fastsplit.xpcs.fit_two_time`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TwoTimeData", "TwoTimePoints"]


@dataclass(frozen=True)
class TwoTimePoints:
    """The per-point arrays every two-time data set has.

    Attributes
    ----------
    phi, t1, t2, g2 : numpy.ndarray
        Angle (degrees), the two times (seconds) and the correlation value.
    """

    phi: np.ndarray
    t1: np.ndarray
    t2: np.ndarray
    g2: np.ndarray

    @property
    def x(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(phi, t1, t2)``, the input of :class:`fastsplit.xpcs.TwoTimeModel`."""
        return (self.phi, self.t1, self.t2)

    @property
    def n_points(self) -> int:
        return int(self.g2.shape[0])


@dataclass(frozen=True)
class TwoTimeData(TwoTimePoints):
    """Two-time data read from a file (or written to one), angle-major.

    Attributes
    ----------
    phi, t1, t2, g2 : numpy.ndarray
        Angle (degrees), the two times (seconds) and the correlation value.
    sigma : numpy.ndarray or None
        Uncertainty of ``g2`` when known.
    q : float or None
        Wavevector (1/Angstrom) of the selected bins.
    dt : float
        Frame interval (seconds).
    n_frames : int
        Frames per angle (the model's time grid).
    source : str
        Where the data came from.
    meta : mapping
        What the reader read: the layout, the cells, the frames, how ``dt`` was
        made (:func:`fastsplit.xpcs.load` fills it; it goes into fit records).

    Examples
    --------
    >>> import numpy as np
    >>> from fastsplit.xpcs import TwoTimeData
    >>> d = TwoTimeData(np.zeros(2), np.zeros(2), np.array([0.0, 0.1]), np.ones(2),
    ...                 sigma=None, q=0.0054, dt=0.1, n_frames=2)
    >>> d.n_points, d.angles.tolist()
    (2, [0.0])
    """

    sigma: np.ndarray | None
    q: float | None
    dt: float
    n_frames: int
    source: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def angles(self) -> np.ndarray:
        """Distinct angles, ascending (the order of per-group fit results)."""
        return np.unique(self.phi)

    def save_npz(self, path: str | os.PathLike[str]) -> None:
        """Write the arrays (and ``q``, ``dt``, ``n_frames``) to ``path`` as npz.

        The file is written under exactly that name (numpy would add ``.npz`` to a
        name without it). :func:`fastsplit.xpcs.read_npz` reads it back.
        """
        extra: dict[str, Any] = {"dt": self.dt, "n_frames": self.n_frames}
        if self.q is not None:
            extra["q"] = self.q
        if self.sigma is not None:
            extra["sigma"] = self.sigma
        with open(path, "wb") as handle:
            np.savez(handle, phi=self.phi, t1=self.t1, t2=self.t2, g2=self.g2, **extra)
