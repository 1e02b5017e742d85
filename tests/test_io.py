"""The reader of fastsplit.xpcs (also fastsplit.io): APS 8-ID-I HDF5 and npz into flat arrays.

The HDF5 files are written the way the facility's tools lay them out
(``tests/aps_files.py``: empty qmap cells, a processed subset of the bins, stride
and averaging, several q, float32 upper triangles, lzf compression).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from aps_files import (
    EMPTY,
    PHI_CENTRES,
    Q_CENTRES,
    signature,
    tagged_matrix,
    write_old_layout,
    write_result,
)
from fastsplit import xpcs as fio
from fastsplit.errors import InvalidArgumentError, InvalidTypeError, LengthMismatchError
from fastsplit.xpcs import AngleRanges, XpcsWarning, synthesize

h5py = pytest.importorskip("h5py")

N = 9  # frames of the written files
PER = N * (N - 1) // 2  # points per angle: upper triangle without the diagonal


def _cells_read(data):
    """(q index, phi index) of every angle block, recovered from the stored values."""
    out = []
    for k in range(data.angles.size):
        block = data.g2[k * PER : (k + 1) * PER]
        base = float(np.round(block.min() - 0.0, 2))  # signature + <= 0.001
        iq, iphi = divmod(round((base - 1.0) * 100), 10)
        out.append((iq, iphi))
    return out


def test_bins_map_to_cells_through_the_qmap_with_empty_cells(tmp_path):
    written = write_result(tmp_path / "r.hdf", n_frames=N)
    assert written.cells[:3] == [(0, 0), (0, 2), (0, 3)]  # (0, 1) is empty
    for iq, q in enumerate(Q_CENTRES):
        data = fio.read_aps_8idi(written.path, q=q)
        assert data.q == q
        expected = [(iq, iphi) for iphi in range(4) if (iq, iphi) not in EMPTY]
        assert _cells_read(data) == expected
        np.testing.assert_array_equal(data.angles, [PHI_CENTRES[c[1]] for c in expected])
        # angle-major, in the order of the processed bins, each block its cell's matrix
        np.testing.assert_array_equal(
            data.phi, np.repeat([PHI_CENTRES[c[1]] for c in expected], PER)
        )
        i, j = np.triu_indices(N, k=1)
        for k, cell in enumerate(expected):
            stored = tagged_matrix(*cell, N).astype(np.float32).astype(np.float64)
            np.testing.assert_array_equal(data.g2[k * PER : (k + 1) * PER], stored[i, j])


def test_the_naive_grid_formula_would_mislabel_this_file(tmp_path):
    # The test above can fail: with (b - 1) // n_phi, (b - 1) % n_phi the file of the
    # issue (3 q x 4 phi, two empty cells) gets 3 of 4 matrices at q[1] wrong.
    written = write_result(tmp_path / "r.hdf", n_frames=N)
    with h5py.File(written.path) as f:
        bins = f["xpcs/twotime/processed_bins"][()]
    naive = [divmod(int(b) - 1, len(PHI_CENTRES)) for b in bins]
    wrong = [(n, w) for n, w in zip(naive, written.cells, strict=True) if n != w]
    assert len(wrong) >= 3
    at_q1 = [w for n, w in zip(naive, written.cells, strict=True) if w[0] == 1 and n != w]
    assert len(at_q1) == 3 and any(
        n[0] != 1 for n, w in zip(naive, written.cells, strict=True) if w[0] == 1
    )


def test_a_processed_subset_of_bins(tmp_path):
    # boost_corr's dq_selection: only some ROIs were correlated.
    written = write_result(tmp_path / "r.hdf", n_frames=N, processed=[2, 4, 5, 9])
    assert written.cells == [(0, 2), (1, 0), (1, 1), (2, 2)]
    data = fio.read_aps_8idi(written.path, q=Q_CENTRES[1])
    assert _cells_read(data) == [(1, 0), (1, 1)]
    assert data.meta["bins"] == [4, 5]
    assert data.meta["matrices"][0].endswith("c2_00002")


@hyp_settings(max_examples=25)
@given(
    n_q=st.integers(1, 4),
    n_phi=st.integers(1, 6),
    data=st.data(),
)
def test_any_qmap_any_subset_reads_every_matrix_in_its_cell(tmp_path_factory, n_q, n_phi, data):
    cells = [(iq, iphi) for iq in range(n_q) for iphi in range(n_phi)]
    empty = data.draw(st.lists(st.sampled_from(cells), unique=True, max_size=len(cells) - 1))
    n_rois = len(cells) - len(empty)
    processed = data.draw(
        st.lists(st.integers(1, n_rois), unique=True, min_size=1, max_size=n_rois)
    )
    path = tmp_path_factory.mktemp("h") / "r.hdf"
    q = [0.002 * (k + 1) for k in range(n_q)]
    phi = list(np.linspace(-170.3, 170.1, n_phi))
    written = write_result(
        path, n_frames=4, q_centres=q, phi_centres=phi, empty=empty, processed=processed
    )
    got = []
    for iq in sorted({c[0] for c in written.cells}):
        d = fio.read_aps_8idi(path, q=q[iq], drop_diagonal=False)
        per = 4 * 5 // 2
        for k, angle in enumerate(d.angles):
            value = d.g2[k * per]  # the (0, 0) element: signature + 0.001
            got.append((iq, int(np.argmin(np.abs(np.asarray(phi) - angle))), value))
    assert sorted((c[0], c[1]) for c in got) == sorted(written.cells)
    for iq, iphi, value in got:
        assert value == pytest.approx(signature(iq, iphi) + 0.001, abs=1e-6)


def test_step_is_frame_time_times_stride_times_averaging(tmp_path):
    written = write_result(
        tmp_path / "r.hdf", n_frames=N, frame_time=0.01, stride_frame=2, avg_frame=3
    )
    data = fio.read_aps_8idi(written.path, q=Q_CENTRES[0])
    assert data.dt == pytest.approx(0.06)
    assert (data.meta["frame_time"], data.meta["stride_frame"], data.meta["avg_frame"]) == (
        0.01,
        2,
        3,
    )
    i, j = np.triu_indices(N, k=1)
    np.testing.assert_allclose(data.t1[:PER], i * 0.06)
    np.testing.assert_allclose(data.t2[:PER], j * 0.06)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fio.read_aps_8idi(written.path, q=Q_CENTRES[0], dt=0.06).dt == 0.06  # agrees: quiet
    with pytest.warns(XpcsWarning, match=r"dt=0.01 s, but the file says 0.06 s"):
        assert fio.read_aps_8idi(written.path, q=Q_CENTRES[0], dt=0.01).dt == 0.01


@pytest.mark.parametrize(
    ("names", "units", "q_scale", "phi_scale"),
    [
        (("q", "phi"), ("Å⁻¹", "deg"), 1.0, 1.0),
        (("q", "phi"), ("1/A", "degree"), 1.0, 1.0),
        (("q", "phi"), ("1/nm", "deg"), 0.1, 1.0),
        (("q", "phi"), ("Å⁻¹", "rad"), 1.0, 180.0 / np.pi),
    ],
)
def test_map_units_are_read(tmp_path, names, units, q_scale, phi_scale):
    written = write_result(tmp_path / "r.hdf", n_frames=N, map_names=names, map_units=units)
    data = fio.read_aps_8idi(written.path, q=Q_CENTRES[2] * q_scale)
    assert data.q == pytest.approx(Q_CENTRES[2] * q_scale)
    np.testing.assert_allclose(data.angles, np.sort(np.asarray(PHI_CENTRES)) * phi_scale)


def test_swapped_dimensions_are_read_by_name(tmp_path):
    # dim0 = phi, dim1 = q: the names say so, the values follow the names.
    written = write_result(
        tmp_path / "r.hdf",
        n_frames=N,
        q_centres=PHI_CENTRES[:3],
        phi_centres=Q_CENTRES,
        map_names=("phi", "q"),
        map_units=("deg", "Å⁻¹"),
        empty=(),
    )
    data = fio.read_aps_8idi(written.path, q=Q_CENTRES[1])
    np.testing.assert_array_equal(data.angles, PHI_CENTRES[:3])


@pytest.mark.parametrize(
    ("names", "units", "match"),
    [
        (("x", "y"), ("pixel", "pixel"), r"binned in \['x', 'y'\].*not q and phi"),
        (("q", "TTH"), ("Å⁻¹", "deg"), "not q and phi"),
        (("q", "phi"), ("furlong", "deg"), "q in 'furlong'"),
        (("q", "phi"), ("Å⁻¹", "grad"), "phi in 'grad'"),
    ],
)
def test_other_maps_and_units_are_refused(tmp_path, names, units, match):
    written = write_result(tmp_path / "r.hdf", n_frames=N, map_names=names, map_units=units)
    with pytest.raises(InvalidArgumentError, match=match):
        fio.read_aps_8idi(written.path, q=Q_CENTRES[0])


@pytest.mark.parametrize(
    "missing",
    [
        "xpcs/qmap/dynamic_index_mapping",
        "xpcs/qmap/map_names",
        "xpcs/qmap/map_units",
        "xpcs/qmap/dynamic_v_list_dim1",
        "xpcs/twotime/processed_bins",
    ],
)
def test_a_missing_qmap_field_is_named(tmp_path, missing):
    written = write_result(tmp_path / "r.hdf", n_frames=N, drop=(missing,))
    with pytest.raises(InvalidArgumentError, match=f"missing /{missing}") as info:
        fio.read_aps_8idi(written.path, q=Q_CENTRES[0])
    assert "r.hdf" in str(info.value)


@pytest.mark.parametrize(
    "missing",
    [
        "entry/instrument/detector_1/frame_time",
        "xpcs/twotime/config/stride_frame",
        "xpcs/twotime/config/avg_frame",
    ],
)
def test_a_missing_step_field_is_named_and_dt_replaces_it(tmp_path, missing):
    written = write_result(tmp_path / "r.hdf", n_frames=N, drop=(missing,))
    with pytest.raises(InvalidArgumentError, match=f"missing /{missing}.*dt="):
        fio.read_aps_8idi(written.path, q=Q_CENTRES[0])
    assert fio.read_aps_8idi(written.path, q=Q_CENTRES[0], dt=0.5).dt == 0.5


def test_inconsistent_files_are_refused(tmp_path):
    written = write_result(tmp_path / "r.hdf", n_frames=N)
    with h5py.File(written.path, "a") as f:
        del f["xpcs/twotime/correlation_map/c2_00003"]
    with pytest.raises(InvalidArgumentError, match=r"need matrices c2_00001 \.\. c2_00010"):
        fio.read_aps_8idi(written.path, q=Q_CENTRES[0])
    other = write_result(tmp_path / "m.hdf", n_frames=N)
    with h5py.File(other.path, "a") as f:
        del f["xpcs/qmap/dynamic_index_mapping"]
        f["xpcs/qmap/dynamic_index_mapping"] = np.array([0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    with pytest.raises(InvalidArgumentError, match="two bins to the same cell"):
        fio.read_aps_8idi(other.path, q=Q_CENTRES[0])
    num = write_result(tmp_path / "n.hdf", n_frames=N)
    with h5py.File(num.path, "a") as f:
        f["xpcs/qmap/dynamic_num_pts"][...] = [3, 5]
    with pytest.raises(InvalidArgumentError, match=r"dynamic_num_pts is \[3, 5\]"):
        fio.read_aps_8idi(num.path, q=Q_CENTRES[0])


def test_windowed_and_non_finite_matrices_are_refused(tmp_path):
    windowed = write_result(
        tmp_path / "w.hdf", n_frames=N, matrix=lambda iq, iphi, n: np.ones((n, n - 3))
    )
    with pytest.raises(InvalidArgumentError, match="windowed"):
        fio.read_aps_8idi(windowed.path, q=Q_CENTRES[0])

    def with_nan(iq, iphi, n):
        m = tagged_matrix(iq, iphi, n)
        if (iq, iphi) == (0, 2):
            m[1, 5] = np.nan
        return m

    bad = write_result(tmp_path / "b.hdf", n_frames=N, matrix=with_nan)
    with pytest.raises(InvalidArgumentError, match=r"c2_00002 \(q=0.0031, phi=45.3\) holds 1 non"):
        fio.read_aps_8idi(bad.path, q=Q_CENTRES[0])
    # the bad angle left out, the rest reads
    data = fio.read_aps_8idi(bad.path, q=Q_CENTRES[0], phi=[(-180, 0)])
    np.testing.assert_array_equal(data.angles, [-134.6])


def test_q_selection(tmp_path):
    written = write_result(tmp_path / "r.hdf", n_frames=N)
    with pytest.raises(InvalidArgumentError, match=r"holds 3 wavevectors.*choose one with q="):
        fio.read_aps_8idi(written.path)
    assert fio.read_aps_8idi(written.path, q=0.0060).q == Q_CENTRES[1]  # inside the bin
    for outside in (0.0005, 0.0120):
        with pytest.raises(InvalidArgumentError, match="no stored wavevector bin holds"):
            fio.read_aps_8idi(written.path, q=outside)
    single = write_result(tmp_path / "s.hdf", n_frames=N, q_centres=(0.0054,), empty=())
    assert fio.read_aps_8idi(single.path).q == 0.0054
    assert fio.read_aps_8idi(single.path, q=0.0055).q == 0.0054
    with pytest.raises(InvalidArgumentError, match="no stored wavevector"):
        fio.read_aps_8idi(single.path, q=0.007)


def test_angle_and_frame_selection(tmp_path):
    written = write_result(tmp_path / "r.hdf", n_frames=N)
    data = fio.read_aps_8idi(written.path, q=Q_CENTRES[2], phi=[(170, -130), (40, 50)])
    np.testing.assert_array_equal(data.angles, [-134.6, 45.3])  # wraps across 180
    with pytest.raises(InvalidArgumentError, match=r"no angle lies in the phi ranges.*-134.6"):
        fio.read_aps_8idi(written.path, q=Q_CENTRES[2], phi=[(0, 10)])
    with pytest.warns(XpcsWarning, match="reading all 4 angles"):
        every = fio.read_aps_8idi(
            written.path, q=Q_CENTRES[2], phi=AngleRanges([(0, 10)], fallback_to_all=True)
        )
    assert every.angles.size == 4 and every.meta["phi_fallback"]
    window = fio.read_aps_8idi(written.path, q=Q_CENTRES[2], frames=slice(2, 7))
    assert window.n_frames == 5 and window.meta["frames"] == [2, 7]
    assert window.t1.min() == 0.0 and window.t2.max() == pytest.approx(4 * 0.06)
    full = tagged_matrix(2, 0, N).astype(np.float32)
    i, j = np.triu_indices(5, k=1)
    np.testing.assert_array_equal(window.g2[: i.size], full[2:7, 2:7][i, j])
    with pytest.raises(InvalidArgumentError, match=r"frames.stop=20 lies outside the 9 frames"):
        fio.read_aps_8idi(written.path, q=Q_CENTRES[2], frames=slice(0, 20))
    with pytest.raises(InvalidArgumentError, match="step"):
        fio.read_aps_8idi(written.path, q=Q_CENTRES[2], frames=slice(0, 8, 2))
    with pytest.raises(InvalidArgumentError, match="no frame"):
        fio.read_aps_8idi(written.path, q=Q_CENTRES[2], frames=slice(5, 5))
    with pytest.raises(InvalidArgumentError, match="one frame leaves no point"):
        fio.read_aps_8idi(written.path, q=Q_CENTRES[2], frames=slice(5, 6))


def test_triangle_options_and_a_lower_triangle_file(tmp_path):
    written = write_result(tmp_path / "r.hdf", n_frames=N, q_centres=(0.0054,), empty=())
    data = fio.read_aps_8idi(written.path, upper_only=False, drop_diagonal=False)
    assert data.n_points == 4 * N * N
    first = data.g2[: N * N].reshape(N, N)
    np.testing.assert_array_equal(first, tagged_matrix(0, 0, N).astype(np.float32))
    with h5py.File(written.path, "a") as f:
        key = "xpcs/twotime/correlation_map/c2_00001"
        lower = f[key][()].T
        del f[key]
        f[key] = lower
    again = fio.read_aps_8idi(written.path)
    np.testing.assert_array_equal(again.g2, fio.read_aps_8idi(written.path).g2)
    np.testing.assert_array_equal(
        again.g2[:PER], data.g2[: N * N].reshape(N, N)[np.triu_indices(N, 1)]
    )


def test_older_layout(tmp_path):
    written = write_old_layout(tmp_path / "old.h5", n_frames=7)
    with pytest.raises(InvalidArgumentError, match=r"stores no frame time.*dt="):
        fio.read_aps_8idi(written.path)
    data = fio.read_aps_8idi(written.path, dt=0.1)
    assert data.meta["layout"] == "aps-8idi-old" and data.q == 0.0054 and data.dt == 0.1
    np.testing.assert_array_equal(data.angles, [-10.3, 0.4, 89.7])
    per = 7 * 6 // 2
    for k in range(3):
        assert data.g2[k * per : (k + 1) * per].min() == pytest.approx(signature(1, k), abs=2e-3)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"hello, world", "neither an npz archive nor an HDF5 file"),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 40, "cannot be read as HDF5"),
        (b"PK\x03\x04" + b"\0" * 40, "cannot be read as npz"),
    ],
)
def test_corrupt_files_name_the_file(tmp_path, content, match):
    path = tmp_path / "bad.hdf"
    path.write_bytes(content)
    with pytest.raises(InvalidArgumentError, match=match) as info:
        fio.load(path)
    assert "bad.hdf" in str(info.value)


def test_truncated_files(tmp_path):
    written = write_result(tmp_path / "r.hdf", n_frames=40, empty=())  # lzf-compressed matrices
    blob = written.path.read_bytes()
    cut = tmp_path / "cut.hdf"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InvalidArgumentError, match=r"cut.hdf.*cannot be read as HDF5"):
        fio.load(cut, q=Q_CENTRES[0])
    d = synthesize(n_angles=2, n_frames=6, seed=0)
    npz = tmp_path / "d.npz"
    fio.TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, 0.0054, 0.1, 6).save_npz(npz)
    short = tmp_path / "short.npz"
    short.write_bytes(npz.read_bytes()[:-200])
    with pytest.raises(InvalidArgumentError, match=r"short.npz"):
        fio.load(short)


def test_not_files(tmp_path):
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        fio.load(tmp_path / "missing.h5")
    with pytest.raises(InvalidArgumentError, match="not a file"):
        fio.load(tmp_path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(InvalidArgumentError, match="not an APS 8-ID-I two-time result"):
        fio.load(other)
    with pytest.raises(InvalidTypeError, match="path"):
        fio.load(3)  # type: ignore[arg-type]


def test_format_is_told_by_content_not_name(tmp_path):
    written = write_result(tmp_path / "result.dat", n_frames=N, q_centres=(0.0054,), empty=())
    assert fio.load(written.path).angles.size == 4
    d = synthesize(n_angles=2, n_frames=5, seed=0)
    npz = tmp_path / "looks_like.h5"
    fio.TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, 0.0054, 0.1, 5).save_npz(npz)
    assert fio.load(npz).n_points == d.n_points  # written under exactly that name
    with pytest.raises(InvalidArgumentError, match="HDF5 input only"):
        fio.load(npz, upper_only=False)
    with pytest.raises(InvalidArgumentError, match="not an HDF5 file"):
        fio.read_aps_8idi(npz)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"q": -1.0}, InvalidArgumentError, "q must be a positive"),
        ({"q": "0.005"}, InvalidTypeError, "q must be a number"),
        ({"dt": 0.0}, InvalidArgumentError, "dt must be a positive"),
        ({"dt": float("nan")}, InvalidArgumentError, "dt must be a positive"),
        ({"frames": (0, 4)}, InvalidTypeError, "frames must be a slice"),
        ({"frames": slice(0.5, 4)}, InvalidTypeError, "frames.start must be an int"),
        ({"phi": [(0, 10, 20)]}, InvalidArgumentError, r"phi range 0 must be a \(min, max\)"),
        ({"phi": "0:10"}, InvalidTypeError, "phi ranges must be a sequence"),
        ({"phi": [(0, float("inf"))]}, InvalidArgumentError, "finite"),
        ({"upper_only": "False"}, InvalidTypeError, "upper_only must be True or False"),
    ],
)
def test_reader_arguments_are_checked(tmp_path, kwargs, error, match):
    written = write_result(tmp_path / "r.hdf", n_frames=N, q_centres=(0.0054,), empty=())
    with pytest.raises(error, match=match):
        fio.read_aps_8idi(written.path, **kwargs)


# -- npz -------------------------------------------------------------------------------


def _npz(tmp_path, name="d.npz", **extra):
    d = synthesize(n_angles=3, n_frames=6, seed=0)
    path = tmp_path / name
    np.savez(path, phi=d.phi, t1=d.t1, t2=d.t2, g2=d.g2, **extra)
    return path, d


def test_npz_round_trip_and_inference(tmp_path):
    d = synthesize(n_angles=2, n_frames=6, seed=0)
    path = tmp_path / "d.npz"
    src = fio.TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, 0.0054, d.model.dt, 6)
    src.save_npz(path)
    back = fio.load(path)
    for name in ("phi", "t1", "t2", "g2", "sigma"):
        np.testing.assert_array_equal(getattr(back, name), getattr(src, name))
    assert (back.q, back.dt, back.n_frames) == (0.0054, d.model.dt, 6)
    bare, _ = _npz(tmp_path, "bare.npz")
    inferred = fio.read_npz(bare)
    assert inferred.dt == pytest.approx(d.model.dt) and inferred.n_frames == 6
    assert inferred.sigma is None and inferred.q is None


def test_npz_selections(tmp_path):
    path, d = _npz(tmp_path, dt=0.1, q=0.0054)
    sub = fio.read_npz(path, phi=[(-180, 0)], frames=slice(1, 5))
    assert sub.angles.tolist() == [a for a in d.angles if a <= 0]
    assert sub.n_frames == 4 and sub.t1.min() == 0.0 and sub.t2.max() == pytest.approx(0.3)
    assert sub.n_points == 4 * 4 * sub.angles.size
    with pytest.warns(XpcsWarning, match="dt=0.2 s, but the file says 0.1 s"):
        slow = fio.read_npz(path, dt=0.2)
    np.testing.assert_allclose(slow.t2, 2 * d.t2)
    with pytest.raises(InvalidArgumentError, match=r"no stored wavevector bin holds q=0.007"):
        fio.read_npz(path, q=0.007)
    assert fio.read_npz(path, q=0.0055).q == 0.0054


def test_npz_errors(tmp_path):
    missing = tmp_path / "m.npz"
    np.savez(missing, phi=np.zeros(3), g2=np.zeros(3))
    with pytest.raises(InvalidArgumentError, match=r"lacks arrays \['t1', 't2'\]"):
        fio.read_npz(missing)
    uneven = tmp_path / "u.npz"
    np.savez(uneven, phi=np.zeros(3), t1=np.zeros(3), t2=np.zeros(2), g2=np.zeros(3))
    with pytest.raises(LengthMismatchError):
        fio.read_npz(uneven)
    pickled = tmp_path / "p.npz"
    np.savez(pickled, phi=np.array([object()]), t1=np.zeros(1), t2=np.zeros(1), g2=np.zeros(1))
    with pytest.raises(InvalidArgumentError, match=r"p.npz"):
        fio.read_npz(pickled)
    nans, _ = _npz(tmp_path, "nan.npz")
    with np.load(nans) as z:
        arrays = dict(z)
    arrays["g2"][3] = np.nan
    np.savez(nans, **arrays)
    with pytest.raises(InvalidArgumentError, match="'g2' holds 1 non-finite"):
        fio.read_npz(nans)
    off_grid = tmp_path / "off.npz"
    np.savez(
        off_grid, phi=np.zeros(2), t1=np.zeros(2), t2=np.array([0.1, 0.15]), g2=np.ones(2), dt=0.1
    )
    with pytest.raises(InvalidArgumentError, match=r"not whole multiples of dt=0.1"):
        fio.read_npz(off_grid)


def test_old_import_paths_give_the_same_objects():
    import fastsplit.io

    for name in ("TwoTimeData", "load", "read_aps_8idi", "read_npz"):
        assert getattr(fastsplit.io, name) is getattr(fio, name)
    assert fastsplit.io.C2_GROUP == "xpcs/twotime/correlation_map"
    assert fastsplit.io.INDEX_MAPPING == "xpcs/qmap/dynamic_index_mapping"
