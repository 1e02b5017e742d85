"""The reader of fastsplit.xpcs (also fastsplit.io): APS 8-ID-I HDF5 and npz into flat arrays."""

from __future__ import annotations

import numpy as np
import pytest

from fastsplit import xpcs as fio
from fastsplit.errors import InvalidArgumentError, LengthMismatchError
from fastsplit.xpcs import synthesize

N_FRAMES = 7
DT = 0.25


def _write_aps_file(path, *, n_q=2, phis=(-40.5, 10.25, 95.0), bins=None, frame_time=True):
    """A small file in the APS 8-ID-I layout, upper-triangular c2 matrices.

    Returns the expected full matrices keyed by 1-based bin number.
    """
    h5py = pytest.importorskip("h5py")
    n_phi = len(phis)
    if bins is None:
        bins = list(range(1, n_q * n_phi + 1))
    rng = np.random.default_rng(0)
    expected = {}
    with h5py.File(path, "w") as f:
        f.create_dataset("xpcs/qmap/dynamic_v_list_dim0", data=np.linspace(0.004, 0.006, n_q))
        f.create_dataset("xpcs/qmap/dynamic_v_list_dim1", data=np.asarray(phis))
        f.create_dataset("xpcs/twotime/processed_bins", data=np.asarray(bins, dtype=np.int64))
        group = f.create_group("xpcs/twotime/correlation_map")
        for k, b in enumerate(bins):
            full = rng.uniform(1.0, 1.3, (N_FRAMES, N_FRAMES))
            full = (full + full.T) / 2
            expected[b] = full
            group.create_dataset(f"c2_{k + 1:05d}", data=np.triu(full).astype(np.float32))
        if frame_time:
            f.create_dataset("entry/instrument/detector_1/frame_time", data=DT)
    return expected


def test_reads_one_q_angle_major(tmp_path):
    path = tmp_path / "result.hdf"
    expected = _write_aps_file(path)
    data = fio.read_aps_8idi(path, q=0.0061)  # nearest q is the second (0.006)
    assert data.q == pytest.approx(0.006)
    assert data.dt == DT and data.n_frames == N_FRAMES
    per = N_FRAMES * (N_FRAMES - 1) // 2  # upper triangle, diagonal dropped
    assert data.n_points == 3 * per
    # Angle-major, in the order of the processed bins (bins 4, 5, 6 = q index 1).
    np.testing.assert_array_equal(data.phi, np.repeat([-40.5, 10.25, 95.0], per))
    i, j = np.triu_indices(N_FRAMES, k=1)
    np.testing.assert_allclose(data.t1[:per], i * DT)
    np.testing.assert_allclose(data.t2[:per], j * DT)
    for k, b in enumerate((4, 5, 6)):
        stored = expected[b].astype(np.float32).astype(np.float64)
        np.testing.assert_array_equal(data.g2[k * per : (k + 1) * per], stored[i, j])
    np.testing.assert_array_equal(data.angles, [-40.5, 10.25, 95.0])
    assert data.x[0] is data.phi


def test_full_matrix_and_diagonal_options(tmp_path):
    path = tmp_path / "result.h5"
    expected = _write_aps_file(path, n_q=1)
    data = fio.read_aps_8idi(path, upper_only=False, drop_diagonal=False)
    assert data.n_points == 3 * N_FRAMES * N_FRAMES
    first = data.g2[: N_FRAMES * N_FRAMES].reshape(N_FRAMES, N_FRAMES)
    np.testing.assert_allclose(first, expected[1].astype(np.float32), rtol=1e-7)
    frames = fio.read_aps_8idi(path, frames=slice(0, 4))
    assert frames.n_frames == 4 and frames.n_points == 3 * 6


def test_processed_bin_subset_maps_to_phi(tmp_path):
    path = tmp_path / "subset.hdf"
    # Only bins 2 and 6 of a 2 q x 3 phi grid: bin 2 -> (q0, phi1), bin 6 -> (q1, phi2).
    _write_aps_file(path, bins=[2, 6])
    with pytest.raises(InvalidArgumentError, match="choose one with q="):
        fio.read_aps_8idi(path)
    low = fio.read_aps_8idi(path, q=0.004)
    np.testing.assert_array_equal(np.unique(low.phi), [10.25])
    high = fio.read_aps_8idi(path, q=0.006)
    np.testing.assert_array_equal(np.unique(high.phi), [95.0])


def test_hdf5_errors(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "no_dt.hdf"
    _write_aps_file(path, n_q=1, frame_time=False)
    with pytest.raises(InvalidArgumentError, match="dt="):
        fio.read_aps_8idi(path)
    assert fio.read_aps_8idi(path, dt=0.5).dt == 0.5
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("data", data=np.zeros(3))
    with pytest.raises(InvalidArgumentError, match="not an APS 8-ID-I two-time file"):
        fio.read_aps_8idi(other)
    broken = tmp_path / "broken.h5"
    _write_aps_file(broken, n_q=1)
    with h5py.File(broken, "a") as f:
        del f["xpcs/twotime/correlation_map/c2_00003"]
    with pytest.raises(InvalidArgumentError, match="inconsistent"):
        fio.read_aps_8idi(broken)
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        fio.read_aps_8idi(tmp_path / "missing.h5")


def test_npz_round_trip_and_dispatch(tmp_path):
    d = synthesize(n_angles=2, n_frames=6, seed=0)
    path = tmp_path / "d.npz"
    src = fio.TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, 0.0054, d.model.dt, 6)
    src.save_npz(path)
    back = fio.load(path)
    for name in ("phi", "t1", "t2", "g2", "sigma"):
        np.testing.assert_array_equal(getattr(back, name), getattr(src, name))
    assert (back.q, back.dt, back.n_frames) == (0.0054, d.model.dt, 6)
    # Without dt / n_frames they are inferred from the time grid.
    bare = tmp_path / "bare.npz"
    np.savez(bare, phi=d.phi, t1=d.t1, t2=d.t2, g2=d.g2)
    inferred = fio.read_npz(bare)
    assert inferred.dt == pytest.approx(d.model.dt) and inferred.n_frames == 6
    assert inferred.sigma is None and inferred.q is None


def test_npz_errors(tmp_path):
    missing = tmp_path / "m.npz"
    np.savez(missing, phi=np.zeros(3), g2=np.zeros(3))
    with pytest.raises(InvalidArgumentError, match=r"lacks arrays \['t1', 't2'\]"):
        fio.read_npz(missing)
    uneven = tmp_path / "u.npz"
    np.savez(uneven, phi=np.zeros(3), t1=np.zeros(3), t2=np.zeros(2), g2=np.zeros(3))
    with pytest.raises(LengthMismatchError):
        fio.read_npz(uneven)
    with pytest.raises(InvalidArgumentError, match="suffix"):
        fio.load(tmp_path / "data.csv")
    with pytest.raises(InvalidArgumentError, match="HDF5 input only"):
        fio.load(missing, q=1.0)
