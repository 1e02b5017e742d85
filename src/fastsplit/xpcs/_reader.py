"""Read two-time XPCS data files into flat per-point arrays ``phi, t1, t2, g2``.

Two inputs are understood, told apart by their content (not their name):

* **APS 8-ID-I two-time results** (HDF5, needs ``h5py``: ``pip install
  'fastsplit[fit]'``), in the current layout or the older one homodyne reads;
  :mod:`fastsplit.xpcs._aps` says which matrix is which (q, phi) cell and how
  long a two-time step is.
* **npz** files with arrays ``phi, t1, t2, g2`` (optionally ``sigma``, and
  scalars ``q``, ``dt``, ``n_frames``), as written by :meth:`TwoTimeData.save_npz`.

The same selections apply to both (:mod:`fastsplit.xpcs._selection`): one q bin,
angle ranges, a frame window (time then starts at the window's first frame), and
a two-time step ``dt`` that overrides the file's (with a warning when they differ).
Points come out angle-major (detector order), exactly like the real data. Every
problem with a file is an :class:`~fastsplit.errors.InvalidArgumentError` that
names the file and what is wrong.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import check_flag
from ..errors import InvalidArgumentError, InvalidTypeError
from . import _aps
from ._data import TwoTimeData
from ._files import checked_path, format_of, need_h5py
from ._selection import AngleRanges, frame_window, pick_q
from ._warnings import XpcsWarning

__all__ = ["load", "read_aps_8idi", "read_npz"]

_DT_AGREE = 1e-9  # relative difference below which a given dt agrees with the file's


def _positive(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidTypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise InvalidArgumentError(f"{name} must be a positive finite number, got {value!r}.")
    return number


def _angle_ranges(phi: Any) -> AngleRanges | None:
    if phi is None or isinstance(phi, AngleRanges):
        return phi
    return AngleRanges(phi)


def _warn_dt(where: str, given: float, file_dt: float, how: str) -> None:
    if abs(given - file_dt) > _DT_AGREE * file_dt:
        warnings.warn(
            f"{where}: using the given dt={given:g} s, but the file says {file_dt:g} s "
            f"({how}); fitted rates scale with dt.",
            XpcsWarning,
            stacklevel=3,
        )


def _pairs(
    n_frames: int, *, upper_only: bool, drop_diagonal: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices ``(i, j)`` of the points of one matrix, row-major."""
    i, j = np.triu_indices(n_frames, k=1 if drop_diagonal else 0)
    if not upper_only:
        i, j = np.concatenate([i, j[i != j]]), np.concatenate([j, i[i != j]])
        order = np.lexsort((j, i))
        i, j = i[order], j[order]
    return i, j


def _common_size(f: Any, keys: list[str], where: str) -> int:
    """The frames of the (square, numeric, equal-sized) matrices, from their metadata."""
    sizes = set()
    for key in keys:
        node = f[key]
        shape = getattr(node, "shape", None)
        if shape is None or len(shape) != 2 or shape[0] != shape[1]:
            raise InvalidArgumentError(
                f"{where}: /{key} has shape {shape}, expected frames x frames; windowed "
                "(non-square) two-time maps are not supported."
            )
        if node.dtype.kind not in "fiu":
            raise InvalidArgumentError(f"{where}: /{key} holds {node.dtype}, not numbers.")
        sizes.add(int(shape[0]))
    if len(sizes) != 1:
        raise InvalidArgumentError(
            f"{where}: the correlation matrices differ in size ({sorted(sizes)} frames); "
            "they must share one time grid."
        )
    return sizes.pop()


def _upper(matrix: np.ndarray, *, mirror: bool) -> np.ndarray:
    """The stored half as an upper triangle (a lower-triangle file is transposed).

    With ``mirror`` the full symmetric matrix, its lower half copied from the upper.
    """
    if np.any(np.tril(matrix, -1)) and not np.any(np.triu(matrix, 1)):
        matrix = matrix.T
    if mirror:
        upper = np.triu(matrix)
        return upper + np.triu(upper, 1).T
    return matrix


def read_aps_8idi(
    path: str | os.PathLike[str],
    *,
    q: float | None = None,
    phi: AngleRanges | Sequence[tuple[float, float]] | None = None,
    frames: slice | None = None,
    dt: float | None = None,
    upper_only: bool = True,
    drop_diagonal: bool = True,
) -> TwoTimeData:
    """Read an APS 8-ID-I two-time HDF5 result into flat angle-major arrays.

    Each stored matrix is placed in its (q, phi) cell through the qmap
    (``/xpcs/qmap/dynamic_index_mapping``, only non-empty cells are numbered),
    and the two-time step is the frame time x ``stride_frame`` x ``avg_frame``.
    The older layout (``/xpcs/dqlist``, ``/xpcs/dphilist``, ``/exchange/C2T_all``)
    is read too. A field that is needed and missing is an error naming it.

    Parameters
    ----------
    path : path
        The HDF5 results file.
    q : float, optional
        Wavevector (1/A): the stored q bin that holds it is read. Needed when the
        file holds more than one q; a value outside every bin is an error.
    phi : sequence of (min, max) or AngleRanges, optional
        Read only the angles inside these ranges (degrees, wrap-aware across
        +-180, e.g. ``[(-10, 10), (170, -170)]``); default every angle.
    frames : slice, optional
        Frames to keep, for example ``slice(100, 600)``; times start at 0 at the
        window's first frame. A window past the last frame is an error.
    dt : float, optional
        The two-time step in seconds; default from the file (required for the
        older layout). A value that differs from the file's warns.
    upper_only : bool
        Keep only ``t2 >= t1`` (the stored triangle; default) or mirror it.
    drop_diagonal : bool
        Leave out ``t1 == t2`` (default: dropped; the stored diagonal holds the
        uncorrected, noise-inflated values).

    Returns
    -------
    TwoTimeData
        ``meta`` records the layout, the cells read, the step and the frames.

    Raises
    ------
    InvalidArgumentError
        The file is not a two-time result, lacks a needed field, or does not hold
        what was asked for; the message names the file and the field.

    Examples
    --------
    >>> from fastsplit import xpcs
    >>> data = xpcs.read_aps_8idi("result.hdf", q=0.0054)  # doctest: +SKIP
    >>> data.phi.shape == data.g2.shape                   # doctest: +SKIP
    True
    """
    file = checked_path(path)
    where = repr(str(file))
    q = _positive("q", q)
    dt = _positive("dt", dt)
    ranges = _angle_ranges(phi)
    upper_only = check_flag("upper_only", upper_only)
    drop_diagonal = check_flag("drop_diagonal", drop_diagonal)
    if frames is not None and not isinstance(frames, slice):
        frame_window(frames, 1, where)  # raises the type error
    h5py = need_h5py()
    if format_of(file) != "hdf5":
        raise InvalidArgumentError(f"{where} is not an HDF5 file; use read_npz or load.")
    try:
        with h5py.File(file, "r") as f:
            return _read_open(f, file, q, ranges, frames, dt, upper_only, drop_diagonal)
    except (OSError, KeyError, RuntimeError) as exc:  # h5py: truncated or corrupt file
        raise InvalidArgumentError(f"{where} cannot be read as HDF5: {exc}.") from None


def _read_open(
    f: Any,
    file: Path,
    q: float | None,
    ranges: AngleRanges | None,
    frames: slice | None,
    dt: float | None,
    upper_only: bool,
    drop_diagonal: bool,
) -> TwoTimeData:
    where = repr(str(file))
    cells = _aps.read_cells(f, where)
    distinct = np.unique(cells.q)
    chosen = pick_q(distinct, q, where)
    picked = np.flatnonzero(cells.q == distinct[chosen])
    fallback = False
    if ranges is not None:
        keep, fallback = ranges.select(cells.phi[picked], where)
        picked = picked[keep]
        if fallback:
            warnings.warn(
                f"{where}: no angle in the phi ranges; reading all {picked.size} angles "
                "(fallback_to_all_angles).",
                XpcsWarning,
                stacklevel=3,
            )
    angles = cells.phi[picked]
    if np.unique(angles).size != angles.size:
        raise InvalidArgumentError(
            f"{where}: two matrices at q={distinct[chosen]:g} have the same angle; the "
            "cells must be distinct."
        )
    if dt is None:
        step = _aps.read_step(f, cells.layout, where)
    else:
        try:
            step = _aps.read_step(f, cells.layout, where)
        except InvalidArgumentError:
            step = _aps.Step(dt)
        else:
            _warn_dt(where, dt, step.dt, "frame_time x stride_frame x avg_frame")
            step = _aps.Step(dt, step.frame_time, step.stride_frame, step.avg_frame)
    keys = [cells.keys[k] for k in picked]
    n_all = _common_size(f, keys, where)
    window = frame_window(frames, n_all, where)
    if drop_diagonal and window[1] - window[0] < 2:
        raise InvalidArgumentError(
            f"{where}: one frame leaves no point once the diagonal is dropped; read more frames."
        )
    i, j = _pairs(window[1] - window[0], upper_only=upper_only, drop_diagonal=drop_diagonal)
    per = i.shape[0]
    # One matrix in memory at a time; the points go straight into their place.
    g2 = np.empty(per * len(keys), dtype=np.float64)
    for block, (k, key) in enumerate(zip(picked, keys, strict=True)):
        matrix = _upper(np.asarray(f[key][()], dtype=np.float64), mirror=not upper_only)[
            window[0] : window[1], window[0] : window[1]
        ]
        values = g2[block * per : (block + 1) * per]
        values[:] = matrix[i, j]
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:
            raise InvalidArgumentError(
                f"{where}: /{key} (q={cells.q[k]:g}, phi={cells.phi[k]:g}) holds "
                f"{bad} non-finite values; leave this angle out with phi ranges."
            )
    phi = np.repeat(angles.astype(np.float64), per)
    t1 = np.tile(i * step.dt, len(keys))
    t2 = np.tile(j * step.dt, len(keys))
    meta: dict[str, Any] = {
        "format": "hdf5",
        "layout": cells.layout,
        "q_requested": q,
        "frames": list(window),
        "n_frames_stored": n_all,
        "matrices": keys,
        "phi_fallback": fallback,
        **step.as_dict(),
    }
    if cells.bins is not None:
        meta["bins"] = cells.bins[picked].tolist()
    return TwoTimeData(
        phi=phi,
        t1=t1,
        t2=t2,
        g2=g2,
        sigma=None,
        q=float(distinct[chosen]),
        dt=step.dt,
        n_frames=window[1] - window[0],
        source=str(file),
        meta=meta,
    )


def read_npz(
    path: str | os.PathLike[str],
    *,
    q: float | None = None,
    phi: AngleRanges | Sequence[tuple[float, float]] | None = None,
    frames: slice | None = None,
    dt: float | None = None,
) -> TwoTimeData:
    """Read ``phi, t1, t2, g2`` (and optional ``sigma``, ``q``, ``dt``, ``n_frames``) from npz.

    ``q``, ``phi``, ``frames`` and ``dt`` select as in :func:`read_aps_8idi`: a
    ``q`` must match the file's (within 5 %), ``frames`` index the time grid
    ``t / dt``, a given ``dt`` re-times that grid (warning when it differs from
    the file's). Without ``dt`` in the file, the grid spacing of the times is used.

    Examples
    --------
    >>> from fastsplit import xpcs
    >>> data = xpcs.read_npz("two_time.npz")  # doctest: +SKIP
    """
    from ._npz import read  # the npz details live apart from the HDF5 reader

    file = checked_path(path)
    if format_of(file) != "npz":
        raise InvalidArgumentError(
            f"{str(file)!r} is not an npz archive; use read_aps_8idi or load."
        )
    try:
        return read(
            file,
            q=_positive("q", q),
            ranges=_angle_ranges(phi),
            frames=frames,
            dt=_positive("dt", dt),
        )
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        if isinstance(exc, InvalidArgumentError):
            raise
        raise InvalidArgumentError(f"{str(file)!r} cannot be read as npz: {exc}.") from None


def load(path: str | os.PathLike[str], **kwargs: Any) -> TwoTimeData:
    """Read ``path``: an npz archive or an APS 8-ID-I HDF5 result, told apart by content.

    Keyword arguments (``q``, ``phi``, ``frames``, ``dt``; for HDF5 also
    ``upper_only``, ``drop_diagonal``) go to :func:`read_npz` or :func:`read_aps_8idi`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from fastsplit.xpcs import TwoTimeData, load, synthesize
    >>> d = synthesize(n_angles=2, n_frames=4)
    >>> path = Path(tempfile.mkdtemp()) / "two_time.npz"
    >>> TwoTimeData(*d.x, d.g2, d.sigma, q=d.model.q, dt=d.model.dt, n_frames=4).save_npz(path)
    >>> data = load(path)
    >>> data.n_points, data.n_frames, data.angles.size
    (32, 4, 2)
    """
    unknown = sorted(set(kwargs) - {"q", "phi", "frames", "dt", "upper_only", "drop_diagonal"})
    if unknown:
        raise InvalidTypeError(
            f"load() got unknown options {unknown}; it takes q, phi, frames, dt "
            "(and for HDF5 upper_only, drop_diagonal)."
        )
    file = checked_path(path)
    if format_of(file) == "npz":
        hdf5_only = sorted(set(kwargs) & {"upper_only", "drop_diagonal"})
        if hdf5_only:
            raise InvalidArgumentError(
                f"options {hdf5_only} apply to HDF5 input only, not to the npz {str(file)!r}."
            )
        return read_npz(file, **kwargs)
    return read_aps_8idi(file, **kwargs)
