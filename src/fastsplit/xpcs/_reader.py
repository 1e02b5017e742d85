"""Read two-time XPCS data files into flat per-point arrays ``phi, t1, t2, g2``.

Two inputs are understood:

* **APS 8-ID-I two-time results** (HDF5, needs ``h5py``: ``pip install
  'fastsplit[fit]'``). Each processed (q, phi) bin has one frames x frames
  matrix ``/xpcs/twotime/correlation_map/c2_00001 ...`` holding the upper
  triangle; ``/xpcs/twotime/processed_bins`` lists their 1-based bin numbers in
  the same order; the bin grid is q-major, so bin ``b`` has
  ``q = /xpcs/qmap/dynamic_v_list_dim0[(b-1) // n_phi]`` and
  ``phi = /xpcs/qmap/dynamic_v_list_dim1[(b-1) % n_phi]`` (``n_phi`` the
  length of ``dim1``). The frame time is read from
  ``/entry/instrument/detector_1/frame_time`` unless ``dt`` is given.
* **npz** files with arrays ``phi, t1, t2, g2`` (optionally ``sigma``, and
  scalars ``q``, ``dt``, ``n_frames``), as written by :meth:`TwoTimeData.save_npz`.

Points come out angle-major (detector order), exactly like the real data.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, InvalidArgumentError, LengthMismatchError
from ._data import TwoTimeData

__all__ = ["load", "read_aps_8idi", "read_npz"]

_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs")
C2_GROUP = "xpcs/twotime/correlation_map"
BINS = "xpcs/twotime/processed_bins"
Q_LIST = "xpcs/qmap/dynamic_v_list_dim0"
PHI_LIST = "xpcs/qmap/dynamic_v_list_dim1"
FRAME_TIME = "entry/instrument/detector_1/frame_time"


def _need_h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise BackendUnavailableError(
            "reading HDF5 needs h5py; install it with `pip install 'fastsplit[fit]'` "
            "(or `pip install h5py`)."
        ) from None
    return h5py


def _flatten(
    matrices: list[np.ndarray],
    angles: list[float],
    dt: float,
    *,
    upper_only: bool,
    drop_diagonal: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_frames = matrices[0].shape[0]
    i, j = np.triu_indices(n_frames, k=1 if drop_diagonal else 0)
    if not upper_only:
        i, j = np.concatenate([i, j[i != j]]), np.concatenate([j, i[i != j]])
        order = np.lexsort((j, i))
        i, j = i[order], j[order]
    per = i.shape[0]
    phi = np.repeat(np.asarray(angles, dtype=np.float64), per)
    t1 = np.tile(i * dt, len(matrices))
    t2 = np.tile(j * dt, len(matrices))
    g2 = np.concatenate([np.asarray(m, dtype=np.float64)[i, j] for m in matrices])
    return phi, t1, t2, g2


def read_aps_8idi(
    path: str | os.PathLike[str],
    *,
    q: float | None = None,
    dt: float | None = None,
    frames: slice | None = None,
    upper_only: bool = True,
    drop_diagonal: bool = True,
) -> TwoTimeData:
    """Read an APS 8-ID-I two-time HDF5 file into flat angle-major arrays.

    Parameters
    ----------
    path : path
        The ``.h5`` / ``.hdf`` results file.
    q : float, optional
        Keep the bins of the wavevector closest to this value; needed when the
        file holds more than one q.
    dt : float, optional
        Frame time in seconds (default: ``/entry/instrument/detector_1/frame_time``).
    frames : slice, optional
        Frames to keep, for example ``slice(0, 500)``.
    upper_only : bool
        Keep only ``t2 >= t1`` (the stored triangle; default) or mirror it.
    drop_diagonal : bool
        Leave out ``t1 == t2`` (default: dropped, as usual in fits).

    Returns
    -------
    TwoTimeData

    Examples
    --------
    >>> from fastsplit import xpcs
    >>> data = xpcs.read_aps_8idi("result.hdf", q=0.0054)  # doctest: +SKIP
    >>> data.phi.shape == data.g2.shape                   # doctest: +SKIP
    True
    """
    h5py = _need_h5py()
    path = Path(path)
    if not path.exists():
        raise InvalidArgumentError(f"{str(path)!r} does not exist; check the path.")
    with h5py.File(path, "r") as f:
        missing = [key for key in (C2_GROUP, BINS, PHI_LIST) if key not in f]
        if missing:
            raise InvalidArgumentError(
                f"{str(path)!r} is not an APS 8-ID-I two-time file: missing {missing} "
                f"(expected {C2_GROUP}/c2_00001..., {BINS}, {PHI_LIST})."
            )
        keys = sorted(k for k in f[C2_GROUP] if k.startswith("c2_"))
        bins = np.asarray(f[BINS][()], dtype=np.int64).ravel()
        phi_list = np.asarray(f[PHI_LIST][()], dtype=np.float64).ravel()
        q_list = np.asarray(f[Q_LIST][()], dtype=np.float64).ravel() if Q_LIST in f else None
        if len(keys) != bins.shape[0]:
            raise InvalidArgumentError(
                f"{str(path)!r}: {len(keys)} correlation matrices but {bins.shape[0]} processed "
                "bins; the file is inconsistent (matrices and bins must pair up in order)."
            )
        if dt is None:
            if FRAME_TIME not in f:
                raise InvalidArgumentError(
                    f"{str(path)!r} has no {FRAME_TIME}; pass the frame time as dt=... (seconds)."
                )
            dt = float(np.asarray(f[FRAME_TIME][()]).ravel()[0])
        n_phi = phi_list.shape[0]
        if bins.min(initial=1) < 1:
            raise InvalidArgumentError(
                f"{str(path)!r}: processed_bins must be 1-based bin numbers."
            )
        q_index = (bins - 1) // n_phi
        phi_index = (bins - 1) % n_phi
        selected = np.arange(bins.shape[0])
        q_value: float | None = None
        if q_list is not None:
            present = np.unique(q_index)
            if present.max(initial=0) >= q_list.shape[0]:
                raise InvalidArgumentError(
                    f"{str(path)!r}: processed_bins point past the q list ({q_list.shape[0]} q)."
                )
            if q is None and present.shape[0] > 1:
                raise InvalidArgumentError(
                    f"{str(path)!r} holds {present.shape[0]} wavevectors "
                    f"{np.round(q_list[present], 6).tolist()}; choose one with q=..."
                )
            chosen = (
                present[0] if q is None else present[int(np.argmin(np.abs(q_list[present] - q)))]
            )
            selected = np.flatnonzero(q_index == chosen)
            q_value = float(q_list[chosen])
        matrices = []
        for s in selected:
            m = np.asarray(f[C2_GROUP][keys[s]][()])
            if m.ndim != 2 or m.shape[0] != m.shape[1]:
                raise InvalidArgumentError(
                    f"{str(path)!r}: {keys[s]} has shape {m.shape}, expected frames x frames."
                )
            if frames is not None:
                m = m[frames, frames]
            matrices.append(m)
    if not matrices:
        raise InvalidArgumentError(f"{str(path)!r}: no correlation matrix selected.")
    if len({m.shape for m in matrices}) != 1:
        raise InvalidArgumentError(f"{str(path)!r}: the correlation matrices differ in size.")
    if not (math.isfinite(dt) and dt > 0):
        raise InvalidArgumentError(f"dt must be a positive number of seconds, got {dt}.")
    angles = [float(phi_list[phi_index[s]]) for s in selected]
    # The file stores the upper triangle; make the matrix symmetric first so that a
    # lower-triangle file (or a mirrored read) gives the same values.
    full = []
    for m in matrices:
        m = np.asarray(m, dtype=np.float64)
        upper = np.triu(m)
        lower = np.tril(m, -1)
        if np.any(lower != 0) and not np.any(np.triu(m, 1) != 0):
            upper = np.triu(m.T)
        full.append(upper + np.triu(upper, 1).T)
    phi, t1, t2, g2 = _flatten(
        full, angles, float(dt), upper_only=upper_only, drop_diagonal=drop_diagonal
    )
    return TwoTimeData(
        phi=phi,
        t1=t1,
        t2=t2,
        g2=g2,
        sigma=None,
        q=q_value,
        dt=float(dt),
        n_frames=int(full[0].shape[0]),
        source=str(path),
    )


def read_npz(path: str | os.PathLike[str]) -> TwoTimeData:
    """Read ``phi, t1, t2, g2`` (and optional ``sigma``, ``q``, ``dt``, ``n_frames``) from npz.

    Examples
    --------
    >>> from fastsplit import xpcs
    >>> data = xpcs.read_npz("two_time.npz")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise InvalidArgumentError(f"{str(path)!r} does not exist; check the path.")
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in ("phi", "t1", "t2", "g2") if k not in z.files]
        if missing:
            raise InvalidArgumentError(
                f"{str(path)!r} lacks arrays {missing}; an npz input needs phi, t1, t2, g2 "
                f"(it has {sorted(z.files)})."
            )
        arrays = {k: np.asarray(z[k]).ravel() for k in ("phi", "t1", "t2", "g2")}
        sigma = np.asarray(z["sigma"]).ravel() if "sigma" in z.files else None
        q = float(z["q"]) if "q" in z.files else None
        dt = float(z["dt"]) if "dt" in z.files else None
        n_frames = int(z["n_frames"]) if "n_frames" in z.files else None
    lengths = {a.shape[0] for a in arrays.values()}
    if sigma is not None:
        lengths.add(sigma.shape[0])
    if len(lengths) != 1:
        raise LengthMismatchError(
            f"{str(path)!r}: arrays have different lengths {sorted(lengths)}; each needs one "
            "value per point."
        )
    if dt is None:
        # Frame times are multiples of dt: the smallest positive spacing recovers it.
        times = np.unique(np.concatenate([arrays["t1"], arrays["t2"]]))
        steps = np.diff(times)
        steps = steps[steps > 0]
        if steps.size == 0:
            raise InvalidArgumentError(
                f"{str(path)!r} has no dt and only one time value; store dt in the file."
            )
        dt = float(steps.min())
    if n_frames is None:
        n_frames = int(np.rint(max(arrays["t1"].max(), arrays["t2"].max()) / dt)) + 1
    return TwoTimeData(
        phi=arrays["phi"].astype(np.float64),
        t1=arrays["t1"].astype(np.float64),
        t2=arrays["t2"].astype(np.float64),
        g2=arrays["g2"].astype(np.float64),
        sigma=None if sigma is None else sigma.astype(np.float64),
        q=q,
        dt=dt,
        n_frames=n_frames,
        source=str(path),
    )


def load(path: str | os.PathLike[str], **kwargs: Any) -> TwoTimeData:
    """Read ``path`` by its suffix: ``.npz`` or HDF5 (``.h5``, ``.hdf5``, ``.hdf``, ``.nxs``).

    Keyword arguments go to :func:`read_aps_8idi` for HDF5 files.

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
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        if kwargs:
            raise InvalidArgumentError(
                f"options {sorted(kwargs)} apply to HDF5 input only, not to {str(path)!r}."
            )
        return read_npz(path)
    if suffix in _HDF5_SUFFIXES:
        return read_aps_8idi(path, **kwargs)
    raise InvalidArgumentError(
        f"cannot tell the format of {str(path)!r} from its suffix; use .npz or one of "
        f"{list(_HDF5_SUFFIXES)}."
    )
