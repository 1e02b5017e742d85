"""Write two-time result files the way the APS 8-ID-I tools lay them out (for the reader tests).

Written from reading the public code of the tools (no code copied):

* pySimpleMask (``combine_partitions``) numbers only the non-empty (q, phi) cells:
  the ROI map holds 1, 2, ... in the order of the cells' full-grid index
  ``iq * n_phi + iphi``, and ``dynamic_index_mapping[r - 1]`` is that index of ROI r;
  ``map_names`` / ``map_units`` are stored as variable-length strings;
* boost_corr writes one ``c2_00001, c2_00002, ...`` per processed ROI, in the
  (sorted) order of ``processed_bins``, as ``triu(c2)`` in float32, lzf-compressed
  and chunked as the whole matrix when larger than 8192 values; its run options
  go to ``/xpcs/twotime/config`` (``stride_frame``, ``avg_frame``, ...), the frame
  time stays at ``/entry/instrument/detector_1/frame_time`` (copied from the
  detector's metadata file);
* the older layout homodyne reads: ``/xpcs/dqlist``, ``/xpcs/dphilist`` of shape
  ``(1, N)`` and ``/exchange/C2T_all/<name>`` half matrices in name order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

Q_CENTRES = (0.0031, 0.0054, 0.0081)
PHI_CENTRES = (-134.6, -44.9, 45.3, 135.2)
EMPTY = ((0, 1), (1, 2))  # (q index, phi index) cells with no pixel (beamstop, gaps)


def signature(iq: int, iphi: int) -> float:
    """The value every matrix of cell (iq, iphi) is built around: tells cells apart."""
    return 1.0 + 0.1 * iq + 0.01 * iphi


def tagged_matrix(iq: int, iphi: int, n_frames: int) -> np.ndarray:
    """A symmetric frames x frames matrix centred on the cell's signature."""
    i, j = np.meshgrid(np.arange(n_frames), np.arange(n_frames), indexing="ij")
    return signature(iq, iphi) + 0.001 * np.exp(-np.abs(i - j) / 3.0)


@dataclass
class Written:
    """What a written file holds, to compare the reader's answer with."""

    path: Path
    cells: list[tuple[int, int]]  # (iq, iphi) of c2_00001, c2_00002, ... in order
    matrices: list[np.ndarray]  # the full symmetric matrices, before float32 and triu
    dt: float
    extra: dict = field(default_factory=dict)


def write_result(
    path: Path,
    *,
    n_frames: int = 9,
    q_centres: Sequence[float] = Q_CENTRES,
    phi_centres: Sequence[float] = PHI_CENTRES,
    empty: Sequence[tuple[int, int]] = EMPTY,
    processed: Sequence[int] | None = None,
    frame_time: float = 0.01,
    stride_frame: int = 2,
    avg_frame: int = 3,
    map_names: Sequence[str] = ("q", "phi"),
    map_units: Sequence[str] = ("Å⁻¹", "deg"),
    matrix: Callable[[int, int, int], np.ndarray] = tagged_matrix,
    drop: Sequence[str] = (),
) -> Written:
    """A current-layout result: qmap with empty cells, a processed subset, stride and averaging.

    ``processed`` are the ROI numbers boost_corr correlated (default: all);
    ``drop`` lists dataset paths to leave out (to test missing fields).
    """
    n_q, n_phi = len(q_centres), len(phi_centres)
    occupied = [
        iq * n_phi + iphi for iq in range(n_q) for iphi in range(n_phi) if (iq, iphi) not in empty
    ]
    mapping = np.asarray(sorted(occupied), dtype=np.int64)  # ROI r -> mapping[r - 1]
    rois = list(range(1, mapping.size + 1)) if processed is None else sorted(processed)
    cells = [(int(mapping[r - 1] // n_phi), int(mapping[r - 1] % n_phi)) for r in rois]
    matrices = [matrix(iq, iphi, n_frames) for iq, iphi in cells]
    datasets: dict[str, object] = {
        "xpcs/qmap/dynamic_v_list_dim0": np.asarray(q_centres, dtype=np.float64),
        "xpcs/qmap/dynamic_v_list_dim1": np.asarray(phi_centres, dtype=np.float64),
        "xpcs/qmap/dynamic_num_pts": np.asarray([n_q, n_phi], dtype=np.int64),
        "xpcs/qmap/dynamic_index_mapping": mapping.astype(np.uint16),
        "xpcs/qmap/dynamic_roi_map": np.arange(mapping.size + 1, dtype=np.uint16).reshape(1, -1),
        "xpcs/twotime/processed_bins": np.asarray(rois, dtype=np.int64),
        "xpcs/twotime/config/stride_frame": stride_frame,
        "xpcs/twotime/config/avg_frame": avg_frame,
        "xpcs/twotime/config/begin_frame": 0,
        "xpcs/twotime/config/end_frame": -1,
        "xpcs/twotime/config/analysis_type": "twotime",
        "entry/instrument/detector_1/frame_time": frame_time,
    }
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            if key not in drop:
                f[key] = value
        for key, values in (("map_names", map_names), ("map_units", map_units)):
            if f"xpcs/qmap/{key}" not in drop:
                f.create_dataset(f"xpcs/qmap/{key}", data=list(values), dtype=h5py.string_dtype())
        if "xpcs/twotime/correlation_map" not in drop:
            group = f.create_group("xpcs/twotime/correlation_map")
            for k, m in enumerate(matrices):
                half = np.triu(m).astype(np.float32)
                options = {"compression": "lzf", "chunks": half.shape} if half.size > 8192 else {}
                group.create_dataset(f"c2_{k + 1:05d}", data=half, **options)
    return Written(path, cells, matrices, frame_time * stride_frame * avg_frame)


def write_old_layout(path: Path, *, n_frames: int = 7, q: float = 0.0054, phis=(-10.3, 0.4, 89.7)):
    """The older layout: one q for every matrix, phi per matrix, half matrices in name order."""
    h5py = pytest.importorskip("h5py")
    matrices = [tagged_matrix(1, k, n_frames) for k in range(len(phis))]
    with h5py.File(path, "w") as f:
        f["xpcs/dqlist"] = np.full((1, len(phis)), q)
        f["xpcs/dphilist"] = np.asarray(phis, dtype=np.float64).reshape(1, -1)
        group = f.create_group("exchange/C2T_all")
        for k, m in enumerate(matrices):
            group.create_dataset(f"c2_{k + 1:05d}", data=np.triu(m))
    return Written(path, [(1, k) for k in range(len(phis))], matrices, float("nan"))
