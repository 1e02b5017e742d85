"""npz two-time files: flat ``phi, t1, t2, g2`` points (as :meth:`TwoTimeData.save_npz` writes).

Times are seconds on the grid ``t = k dt``; the frame window and a new ``dt``
act on the frame indices ``k``. Called by :func:`fastsplit.xpcs.read_npz`, which
turns numpy's own errors (a truncated archive, pickled objects) into one that
names the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, LengthMismatchError
from ._data import TwoTimeData
from ._selection import AngleRanges, frame_window, pick_q
from ._warnings import XpcsWarning

__all__ = ["read"]

REQUIRED = ("phi", "t1", "t2", "g2")
_ON_GRID = 1e-6  # |t / dt - k| above this: the times are not on the file's grid


def _scalar(z: Any, name: str, where: str) -> float | None:
    if name not in z.files:
        return None
    value = np.asarray(z[name])
    if value.size != 1 or value.dtype.kind not in "fiu" or not np.isfinite(value).all():
        raise InvalidArgumentError(f"{where}: {name!r} must be one finite number, got {value!r}.")
    return float(value.ravel()[0])


def _array(z: Any, name: str, where: str) -> np.ndarray:
    value = np.asarray(z[name])
    if value.dtype.kind not in "fiu":
        raise InvalidArgumentError(
            f"{where}: array {name!r} must hold real numbers, got {value.dtype}."
        )
    value = value.ravel().astype(np.float64, copy=False)
    bad = int(np.count_nonzero(~np.isfinite(value)))
    if bad:
        raise InvalidArgumentError(f"{where}: array {name!r} holds {bad} non-finite values.")
    return value


def read(
    file: Path,
    *,
    q: float | None,
    ranges: AngleRanges | None,
    frames: slice | None,
    dt: float | None,
) -> TwoTimeData:
    where = repr(str(file))
    # numpy leaves the file open when the archive is corrupt; this handle is always closed.
    with file.open("rb") as handle, np.load(handle, allow_pickle=False) as z:
        missing = [k for k in REQUIRED if k not in z.files]
        if missing:
            raise InvalidArgumentError(
                f"{where} lacks arrays {missing}; an npz input needs phi, t1, t2, g2 "
                f"(it has {sorted(z.files)})."
            )
        arrays = {k: _array(z, k, where) for k in REQUIRED}
        sigma = _array(z, "sigma", where) if "sigma" in z.files else None
        q_file = _scalar(z, "q", where)
        dt_file = _scalar(z, "dt", where)
        n_file = _scalar(z, "n_frames", where)
    lengths = {a.shape[0] for a in arrays.values()}
    if sigma is not None:
        lengths.add(sigma.shape[0])
        if np.any(sigma <= 0):
            raise InvalidArgumentError(f"{where}: sigma must be positive everywhere.")
    if len(lengths) != 1:
        raise LengthMismatchError(
            f"{where}: arrays have different lengths {sorted(lengths)}; each needs one "
            "value per point."
        )
    if arrays["g2"].size == 0:
        raise InvalidArgumentError(f"{where} holds no points.")
    grid = dt_file if dt_file is not None else _grid_step(arrays, where)
    if grid <= 0:
        raise InvalidArgumentError(f"{where}: dt must be positive, got {grid}.")
    i, j = (_frame_index(arrays[name], grid, where, name) for name in ("t1", "t2"))
    n_frames = int(max(i.max(), j.max())) + 1
    if n_file is not None:
        if int(n_file) < n_frames:
            raise InvalidArgumentError(
                f"{where}: n_frames={int(n_file)} but the times reach frame {n_frames - 1}."
            )
        n_frames = int(n_file)
    q_out = q_file
    if q is not None and q_file is not None:
        pick_q([q_file], q, where)
    keep = np.ones(arrays["g2"].shape[0], dtype=bool)
    fallback = False
    if ranges is not None:
        angles = np.unique(arrays["phi"])
        chosen, fallback = ranges.select(angles, where)
        keep &= np.isin(arrays["phi"], angles[chosen])
        if fallback:
            warnings.warn(
                f"{where}: no angle in the phi ranges; reading all {angles.size} angles "
                "(fallback_to_all_angles).",
                XpcsWarning,
                stacklevel=4,
            )
    start, stop = frame_window(frames, n_frames, where)
    keep &= (i >= start) & (i < stop) & (j >= start) & (j < stop)
    if not keep.any():
        raise InvalidArgumentError(f"{where}: the selection leaves no point.")
    step = grid
    if dt is not None:
        if dt_file is not None and abs(dt - dt_file) > 1e-9 * dt_file:
            warnings.warn(
                f"{where}: using the given dt={dt:g} s, but the file says {dt_file:g} s; "
                "fitted rates scale with dt.",
                XpcsWarning,
                stacklevel=4,
            )
        step = dt
    out = {name: arrays[name][keep] for name in ("phi", "g2")}
    if start or step != grid:  # re-time the grid; otherwise keep the stored times exactly
        out["t1"], out["t2"] = (i[keep] - start) * step, (j[keep] - start) * step
    else:
        out["t1"], out["t2"] = arrays["t1"][keep], arrays["t2"][keep]
    return TwoTimeData(
        phi=out["phi"],
        t1=out["t1"],
        t2=out["t2"],
        g2=out["g2"],
        sigma=None if sigma is None else sigma[keep],
        q=q_out,
        dt=step,
        n_frames=stop - start,
        source=str(file),
        meta={
            "format": "npz",
            "q_requested": q,
            "frames": [start, stop],
            "dt_file": dt_file,
            "phi_fallback": fallback,
        },
    )


def _grid_step(arrays: dict[str, np.ndarray], where: str) -> float:
    """The spacing of the time grid when the file stores no dt: the smallest positive step."""
    times = np.unique(np.concatenate([arrays["t1"], arrays["t2"]]))
    steps = np.diff(times)
    steps = steps[steps > 1e-9 * max(abs(times[-1]), 1e-300)]  # not float noise
    if steps.size == 0:
        raise InvalidArgumentError(
            f"{where} has no dt and only one time value; store dt in the file (or pass dt=...)."
        )
    return float(steps.min())


def _frame_index(t: np.ndarray, step: float, where: str, name: str) -> np.ndarray:
    k = np.rint(t / step)
    if np.any(k < 0) or np.any(np.abs(t / step - k) > _ON_GRID):
        raise InvalidArgumentError(
            f"{where}: {name} holds times that are not whole multiples of dt={step:g} s "
            "(or are negative); the model needs the frame grid t = k dt."
        )
    return k.astype(np.int64)
