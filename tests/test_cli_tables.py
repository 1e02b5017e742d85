"""``fastsplit stratify FILE --labels NAME``: any table (npz, HDF5, parquet, CSV), any labels."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from aps_files import Q_CENTRES, write_result
from fastsplit.cli import build_parser, main

RNG = np.random.default_rng(5)
N = 900
STATION = np.array(["north", "south", "east", "west-2"])[RNG.integers(0, 4, N)]


def _every_chunk_holds_every_group(z, labels_name):
    bounds, labels = z["bounds"], z[labels_name]
    assert bounds[0] == 0 and bounds[-1] == labels.shape[0] and len(bounds) > 2
    for k in range(len(bounds) - 1):
        assert set(labels[bounds[k] : bounds[k + 1]]) == set(z["groups"])


def _one_error_line(err, *words):
    lines = [line for line in err.strip().splitlines() if not line.startswith("[")]
    assert len(lines) == 1 and lines[0].startswith("fastsplit: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_a_table_with_string_labels(tmp_path, capsys):
    x = RNG.normal(size=N)
    names = np.char.add("pt", np.arange(N).astype(str))
    rows = RNG.normal(size=(N, 2)).astype(np.float32)
    table = tmp_path / "table.npz"
    np.savez(table, station=STATION, x=x, name=names, rows=rows, meta=np.arange(3))
    out = tmp_path / "out.npz"
    assert main(["stratify", str(table), "--labels", "station", "-o", str(out),
                 "--chunk-size", "100", "--backend", "numpy"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "every chunk holds every group" in captured.out
    assert "not one value per point, so not written: meta" in captured.err
    with np.load(out) as z:
        assert sorted(z.files) == ["bounds", "counts", "groups", "name", "order", "rows",
                                   "station", "x"]  # fmt: skip
        order = z["order"]
        assert z["groups"].tolist() == ["east", "north", "south", "west-2"]
        for name, a in (("station", STATION), ("x", x), ("name", names), ("rows", rows)):
            assert z[name].dtype == a.dtype and np.array_equal(z[name], a[order]), name
        _every_chunk_holds_every_group(z, "station")
    # the same order as the integer codes of the same grouping
    codes = tmp_path / "codes.npz"
    np.savez(codes, code=np.unique(STATION, return_inverse=True)[1], x=x)
    out2 = tmp_path / "out2.npz"
    argv = ["stratify", str(codes), "--labels", "code", "--arrays", "x", "-o", str(out2)]
    assert main([*argv, "--chunk-size", "100", "--backend", "numpy", "--quiet"]) == 0
    with np.load(out) as z, np.load(out2) as z2:
        assert np.array_equal(z["order"], z2["order"]) and z2.files.count("x") == 1


def test_only_the_arrays_named_are_written(tmp_path):
    table = tmp_path / "t.npz"
    np.savez(table, station=STATION, x=np.arange(N), y=np.ones(N))
    out = tmp_path / "o.npz"
    assert main(["stratify", str(table), "--labels", "station", "--arrays", "y", "-o", str(out),
                 "--quiet"]) == 0  # fmt: skip
    with np.load(out) as z:
        assert "x" not in z.files and {"y", "station", "order"} <= set(z.files)


def test_hdf5_datasets_by_path(tmp_path):
    h5py = pytest.importorskip("h5py")
    table = tmp_path / "t.h5"
    with h5py.File(table, "w") as f:
        f["run/station"] = STATION.astype("S")  # fixed-length bytes
        f.create_dataset("run/name", data=[f"p{i}" for i in range(N)], dtype=h5py.string_dtype())
        f["run/x"] = np.arange(N, dtype=np.float64)
        f["calibration"] = np.arange(4.0)
    out = tmp_path / "o.npz"
    assert main(["stratify", str(table), "--labels", "/run/station", "-o", str(out),
                 "--chunk-size", "100", "--quiet"]) == 0  # fmt: skip
    with np.load(out) as z:
        assert set(z.files) == {"run/station", "run/name", "run/x", "order", "bounds",
                                "groups", "counts"}  # fmt: skip
        order = z["order"]
        assert z["groups"].tolist() == [b"east", b"north", b"south", b"west-2"]
        assert np.array_equal(z["run/x"], np.arange(N)[order])
        assert z["run/name"].dtype.kind == "U" and z["run/name"][0] == f"p{order[0]}"
        _every_chunk_holds_every_group(z, "run/station")


def test_csv_and_parquet_with_pandas(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"station": STATION, "x": RNG.normal(size=N), "tag": STATION})
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "o.npz"
    assert main(["stratify", str(tmp_path / "t.csv"), "--labels", "station", "-o", str(out),
                 "--chunk-size", "100", "--quiet"]) == 0  # fmt: skip
    with np.load(out) as z:
        assert z["tag"].dtype.kind == "U" and np.array_equal(z["station"], z["tag"])
        np.testing.assert_allclose(z["x"], frame["x"].to_numpy()[z["order"]])
        _every_chunk_holds_every_group(z, "station")
    frame.loc[3, "station"] = None
    frame.to_csv(tmp_path / "holes.csv", index=False)
    argv = ["stratify", str(tmp_path / "holes.csv"), "--labels", "station"]
    assert main([*argv, "-o", str(tmp_path / "h.npz"), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "labels contain 1 missing", "dropna")
    pytest.importorskip("pyarrow")
    frame = frame.dropna().astype({"tag": "category"})
    frame.to_parquet(tmp_path / "t.parquet")
    out = tmp_path / "p.npz"
    assert main(["stratify", str(tmp_path / "t.parquet"), "--labels", "tag", "-o",
                 str(out), "--chunk-size", "100", "--quiet"]) == 0  # fmt: skip
    with np.load(out) as z:
        assert z["tag"].dtype.kind == "U" and np.array_equal(z["station"], z["tag"])
        np.testing.assert_allclose(z["x"], frame["x"].to_numpy()[z["order"]])
        _every_chunk_holds_every_group(z, "tag")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--labels", "nope"], ["--labels 'nope'", "has no array", "'station'"]),
        (["--labels", "station", "--arrays", "meta"], ["--arrays 'meta'", "shape (3,)"]),
        (["--labels", "station", "--q", "0.01"], ["--q", "drop --labels"]),
        (["--arrays", "x"], ["--arrays", "--labels NAME"]),
        ([], ["lacks arrays", "--labels NAME"]),
    ],
)
def test_table_mistakes_are_one_line_naming_the_option(tmp_path, capsys, extra, words):
    table = tmp_path / "t.npz"
    np.savez(table, station=STATION, x=np.arange(N), meta=np.arange(3))
    assert main(["stratify", str(table), *extra, "-o", str(tmp_path / "o.npz"), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, *words)
    assert not (tmp_path / "o.npz").exists()


def test_arrays_named_like_the_outputs_and_unknown_formats_are_refused(tmp_path, capsys):
    table = tmp_path / "t.npz"
    np.savez(table, station=STATION, order=np.arange(N))
    assert main(["stratify", str(table), "--labels", "station", "-o", "o.npz", "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "named ['order']", "--arrays")
    text = tmp_path / "t.json"
    text.write_text("{}")
    assert main(["stratify", str(text), "--labels", "station", "-o", "o.npz", "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "npz, HDF5", "parquet or CSV")


def test_xpcs_stratify_takes_q(tmp_path, capsys):
    pytest.importorskip("h5py")
    path = tmp_path / "aps.hdf"
    write_result(path)
    out = tmp_path / "o.npz"
    assert main(["stratify", str(path), "-o", str(out), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "--q")
    argv = ["stratify", str(path), "--q", str(Q_CENTRES[1]), "-o", str(out), "--quiet"]
    assert main(argv) == 0
    with np.load(out) as z:
        assert float(z["q"]) == pytest.approx(Q_CENTRES[1])
        assert {"phi", "t1", "t2", "g2", "order", "bounds", "groups"} <= set(z.files)


def test_no_option_is_read_as_an_abbreviation(tmp_path, capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert parser.allow_abbrev is False
    assert all(sub.allow_abbrev is False for sub in commands.values())
    table = tmp_path / "t.npz"
    np.savez(table, station=STATION)
    for abbreviation in (["--qu"], ["--lab", "station"], ["--chunk", "10"]):
        with pytest.raises(SystemExit) as info:
            main(["stratify", str(table), "-o", "o.npz", *abbreviation])
        assert info.value.code == 2
        assert "unrecognized arguments" in capsys.readouterr().err
    assert isinstance(parser, argparse.ArgumentParser)


def test_synthetic_data_saved_for_the_command(tmp_path, capsys):
    from fastsplit.xpcs import load, synthesize

    d = synthesize(n_angles=3, n_frames=12, seed=2)
    path = tmp_path / "synthetic"  # written under exactly this name
    d.save_npz(path)
    data = load(path)
    assert np.array_equal(data.g2, d.g2) and np.array_equal(data.sigma, d.sigma)
    assert (data.q, data.dt, data.n_frames) == (d.model.q, d.model.dt, 12)
    out = tmp_path / "o.npz"
    assert main(["stratify", str(path), "-o", str(out), "--chunk-size", "100", "--quiet"]) == 0
    with np.load(out) as z:
        assert np.array_equal(z["g2"], d.g2[z["order"]]) and z["groups"].size == 3
