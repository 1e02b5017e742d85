"""Which part of a two-time data set to read: the q bin, the angles, the frames.

One definition of each selection, shared by every input format (the APS 8-ID-I
reader applies them before reading any matrix; the npz reader to the flat points):

* :func:`pick_q`: the stored wavevector nearest a requested one, refused when the
  request lies outside that bin;
* :class:`AngleRanges`: angle ranges in degrees, wrap-aware across +-180 degrees,
  with homodyne's ``phi_filtering`` semantics;
* :func:`frame_window`: the frames ``[start, stop)`` a slice asks for, checked
  against the frames present.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, InvalidTypeError

__all__ = ["AngleRanges", "frame_window", "normalize_angle", "pick_q"]

# A request this far from the only stored q (relative) is refused: a file with one
# q bin does not say how wide the bin is.
_SINGLE_BIN_TOLERANCE = 0.05


def normalize_angle(angle: Any) -> Any:
    """Angles in degrees folded into ``(-180, 180]`` (``210 -> -150``), as homodyne does.

    Examples
    --------
    >>> normalize_angle(np.array([0.0, 90.0, 210.0, -210.0, 180.0, -180.0])).tolist()
    [0.0, 90.0, -150.0, 150.0, 180.0, 180.0]
    """
    folded = np.mod(np.asarray(angle, dtype=np.float64), 360.0)
    return np.where(folded > 180.0, folded - 360.0, folded)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidTypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidArgumentError(f"{name} must be finite, got {value!r}.")
    return number


@dataclass(frozen=True)
class AngleRanges:
    """Keep the angles inside any of ``ranges`` (degrees, both ends included).

    A range ``(lo, hi)`` with ``lo > hi`` after folding into ``(-180, 180]`` wraps
    across +-180 degrees: ``(170, -170)`` keeps ``|phi| >= 170``. With
    ``fallback_to_all`` an empty selection keeps every angle (homodyne's
    ``fallback_to_all_angles``); otherwise it is an error naming the angles present.

    Examples
    --------
    >>> r = AngleRanges(((-10.0, 10.0), (170.0, -170.0)))
    >>> r.mask(np.array([-175.0, -90.0, 0.5, 95.0, 179.0])).tolist()
    [True, False, True, False, True]
    """

    ranges: tuple[tuple[float, float], ...]
    fallback_to_all: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.ranges, str | bytes) or not isinstance(self.ranges, Sequence):
            raise InvalidTypeError(
                f"phi ranges must be a sequence of (min, max) pairs in degrees, got "
                f"{self.ranges!r}; for example [(-10, 10), (170, -170)]."
            )
        pairs = []
        for k, pair in enumerate(self.ranges):
            if isinstance(pair, str | bytes) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise InvalidArgumentError(
                    f"phi range {k} must be a (min, max) pair in degrees, got {pair!r}."
                )
            pairs.append(
                (_number(f"phi range {k} min", pair[0]), _number(f"phi range {k} max", pair[1]))
            )
        object.__setattr__(self, "ranges", tuple(pairs))
        if not isinstance(self.fallback_to_all, bool):
            raise InvalidTypeError(
                f"fallback_to_all must be True or False, got {self.fallback_to_all!r}."
            )

    def mask(self, angles: Any) -> np.ndarray:
        """Which of ``angles`` (degrees) fall in any range."""
        phi = normalize_angle(angles)
        keep = np.zeros(phi.shape, dtype=bool)
        for lo, hi in self.ranges:
            lo_n, hi_n = float(normalize_angle(lo)), float(normalize_angle(hi))
            if lo_n <= hi_n:
                keep |= (phi >= lo_n) & (phi <= hi_n)
            else:
                keep |= (phi >= lo_n) | (phi <= hi_n)
        return keep

    def select(self, angles: Any, where: str) -> tuple[np.ndarray, bool]:
        """Indices of the kept angles, and whether the fallback to every angle was taken.

        Raises
        ------
        InvalidArgumentError
            No angle is in any range and ``fallback_to_all`` is off.
        """
        angles = np.asarray(angles, dtype=np.float64)
        keep = np.flatnonzero(self.mask(angles))
        if keep.size:
            return keep, False
        if self.fallback_to_all:
            return np.arange(angles.size), True
        raise InvalidArgumentError(
            f"{where}: no angle lies in the phi ranges {[list(r) for r in self.ranges]} "
            f"(degrees); the angles present are {np.round(np.unique(angles), 3).tolist()}. "
            "Widen the ranges, or allow every angle (fallback_to_all_angles: true)."
        )


def pick_q(q_values: Any, requested: float | None, where: str) -> int:
    """Index of the distinct stored wavevector ``requested`` selects.

    ``q_values`` are the distinct stored values, ascending. With one value and no
    request, that one. Otherwise the nearest; the request must lie inside that
    bin (between the midpoints to its neighbours, mirrored at the ends; within
    5 % when there is only one bin, whose width the file does not give).

    Examples
    --------
    >>> pick_q([0.003, 0.005, 0.007], 0.0054, "f")
    1
    """
    q = np.asarray(q_values, dtype=np.float64)
    listed = np.round(q, 8).tolist()
    if requested is None:
        if q.size == 1:
            return 0
        raise InvalidArgumentError(
            f"{where} holds {q.size} wavevectors {listed} (1/A); choose one with q=... "
            "(--q, or analyzer_parameters.scattering.wavevector_q in the config)."
        )
    target = _number("q", requested)
    if target <= 0:
        raise InvalidArgumentError(f"q must be a positive wavevector in 1/A, got {requested}.")
    k = int(np.argmin(np.abs(q - target)))
    if q.size == 1:
        half_width = _SINGLE_BIN_TOLERANCE * abs(q[0])
    else:
        gaps = np.diff(q)
        left = gaps[k - 1] if k > 0 else gaps[0]
        right = gaps[k] if k < q.size - 1 else gaps[-1]
        half_width = 0.5 * (left if target < q[k] else right)
    if abs(target - q[k]) > half_width:
        raise InvalidArgumentError(
            f"{where}: no stored wavevector bin holds q={target:g} (1/A); the stored q "
            f"are {listed}. Choose one of them."
        )
    return k


def frame_window(frames: Any, n_frames: int, where: str) -> tuple[int, int]:
    """The frames ``[start, stop)`` that ``frames`` (a slice or None) asks for.

    Negative bounds count from the end, as in Python. A stop past the last frame,
    a step other than 1, or an empty window are errors (nothing is clipped silently).

    Examples
    --------
    >>> frame_window(slice(10, None), 100, "f"), frame_window(None, 100, "f")
    ((10, 100), (0, 100))
    """
    if frames is None:
        return 0, n_frames
    if not isinstance(frames, slice):
        raise InvalidTypeError(
            f"frames must be a slice of frame indices, got {type(frames).__name__} "
            f"{frames!r}; for example frames=slice(0, 500)."
        )
    parts = {}
    for name in ("start", "stop", "step"):
        value = getattr(frames, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | np.integer)
        ):
            raise InvalidTypeError(f"frames.{name} must be an int or None, got {value!r}.")
        parts[name] = None if value is None else int(value)
    if parts["step"] not in (None, 1):
        raise InvalidArgumentError(
            f"frames={frames!r}: a step other than 1 is not supported (it would change the "
            "time step); read every frame of the window."
        )
    for name in ("start", "stop"):
        value = parts[name]
        if value is not None and not -n_frames <= value <= n_frames:
            raise InvalidArgumentError(
                f"{where}: frames.{name}={value} lies outside the {n_frames} frames of the "
                "data (frame indices 0 .. "
                f"{n_frames - 1}); for all frames leave it out (end_frame: -1 in a config)."
            )
    start, stop, _ = frames.indices(n_frames)
    if stop <= start:
        raise InvalidArgumentError(
            f"{where}: frames={frames!r} selects no frame of the {n_frames} present."
        )
    return start, stop
