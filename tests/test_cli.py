"""The ``fastsplit`` command: info, stratify, fit, demo (tiny configurations)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from fastsplit.cli import build_parser, main
from fastsplit.xpcs import TwoTimeData, synthesize


@pytest.fixture(scope="module")
def nlsq_module():
    # Import nlsq before capsys swaps sys.stderr: nlsq calls faulthandler.enable()
    # on import, which needs a real file descriptor.
    return pytest.importorskip("nlsq")


def _npz(tmp_path, n_angles=3, n_frames=20, seed=0):
    d = synthesize(n_angles=n_angles, n_frames=n_frames, seed=seed)
    path = tmp_path / "data.npz"
    TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, d.model.q, d.model.dt, n_frames).save_npz(path)
    return path, d


def test_help_and_no_command(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"demo", "fit", "stratify", "info"} <= set(commands)


def test_bench_says_where_the_harness_went(capsys):
    assert main(["bench", "--repeat", "7", "--all-targets"]) == 2
    err = capsys.readouterr().err
    assert "make bench" in err and "source checkout" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit) as exit_info:  # other commands still refuse unknown options
        main(["info", "--repeat", "7"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --repeat 7" in capsys.readouterr().err


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "stratify backends" in out and "numpy" in out and "memory" in out
    assert "nlsq" in out


def test_stratify_writes_reordered_arrays(tmp_path, capsys):
    path, d = _npz(tmp_path)
    out = tmp_path / "strat.npz"
    assert main(["stratify", str(path), "-o", str(out), "--chunk-size", "300", "--quiet"]) == 0
    assert "stratification report" in capsys.readouterr().out
    with np.load(out) as z:
        order, bounds = z["order"], z["bounds"]
        np.testing.assert_array_equal(z["g2"], d.g2[order])
        np.testing.assert_array_equal(z["phi"], d.phi[order])
        np.testing.assert_array_equal(np.sort(order), np.arange(d.n_points))
        assert bounds[0] == 0 and bounds[-1] == d.n_points
        for k in range(len(bounds) - 1):
            assert np.unique(z["phi"][bounds[k] : bounds[k + 1]]).size == 3
        assert float(z["dt"]) == d.model.dt


def test_stratify_takes_chunk_size_and_mode_from_the_config(tmp_path, capsys):
    path, d = _npz(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "optimization:\n  stratification:\n    target_chunk_size: 400\n    use_index_based: true\n"
    )
    out = tmp_path / "s.npz"
    assert main(["stratify", str(path), "-o", str(out), "--config", str(cfg), "--quiet"]) == 0
    assert "index mode" in capsys.readouterr().out
    with np.load(out) as z:
        assert len(z["bounds"]) - 1 == -(-d.n_points // 400)
        np.testing.assert_array_equal(z["g2"], d.g2[z["order"]])


def test_missing_input_is_exit_2(tmp_path, capsys):
    assert main(["stratify", str(tmp_path / "nope.npz"), "-o", str(tmp_path / "o.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_importing_the_command_and_modules_stays_light():
    code = (
        "import sys; import fastsplit.cli, fastsplit._fit, fastsplit.config, fastsplit.io, "
        "fastsplit.xpcs; heavy = ('numba', 'jax', 'nlsq', 'psutil', 'scipy', 'matplotlib', "
        "'h5py', 'yaml'); bad = [m for m in heavy if m in sys.modules]; print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.nlsq
def test_fit_command_with_config(nlsq_module, tmp_path, capsys):
    path, d = _npz(tmp_path, n_angles=3, n_frames=24)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "optimization:\n"
        "  stratification:\n"
        "    target_chunk_size: 500\n"
        "  sequential:\n"
        "    weighting: inverse_variance\n"
        "fastsplit:\n"
        "  xpcs:\n"
        "    mode: static\n"
        "    p0: {D0: 1.0e4, alpha: -0.8, D_offset: 500}\n"
    )
    out = tmp_path / "result.json"
    code = main(["fit", str(path), "--config", str(cfg), "-o", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "strategy=chunked" in printed
    result = json.loads(out.read_text())
    assert result["success"] and result["strategy"] == "chunked"
    for name in ("D0", "alpha", "D_offset"):
        assert abs(result["params"][name] - d.truth[name]) < 5 * result["errors"][name]
    np.testing.assert_allclose(result["params"]["contrast"], d.truth["contrast"], atol=0.02)
    assert set(result["timings"]) == {"stratify", "fit", "ratio", "total"}


@pytest.mark.nlsq
def test_fit_command_on_an_aps_hdf5_file(nlsq_module, tmp_path, capsys):
    h5py = pytest.importorskip("h5py")
    n_frames = 24
    d = synthesize(n_angles=3, n_frames=n_frames, seed=1)
    path = tmp_path / "result.hdf"
    per = n_frames * n_frames
    with h5py.File(path, "w") as f:
        f["xpcs/qmap/dynamic_v_list_dim0"] = np.array([d.model.q])
        f["xpcs/qmap/dynamic_v_list_dim1"] = d.angles
        f["xpcs/twotime/processed_bins"] = np.arange(1, 4)
        f["entry/instrument/detector_1/frame_time"] = d.model.dt
        for k in range(3):
            c2 = d.g2[k * per : (k + 1) * per].reshape(n_frames, n_frames)
            f[f"xpcs/twotime/correlation_map/c2_{k + 1:05d}"] = np.triu(c2)
    code = main(["fit", str(path), "--chunk-size", "400", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "points 828" in printed  # 3 angles x upper triangle without the diagonal


@pytest.mark.nlsq
@pytest.mark.slow
def test_demo_tiny(nlsq_module, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    argv = [
        "demo",
        "--small",
        "--n-angles",
        "3",
        "--n-frames",
        "24",
        "--chunk-size",
        "500",
        "--raw-n-frames",
        "12",
        "--raw-max-nfev",
        "3",
        "--out",
        str(out),
        "--quiet",
    ]
    code = main(argv)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "own chunked path" in printed
    assert "overhead ratio stratify/fit" in printed
    assert "truth recovered within 5 standard errors: yes" in printed
    for name in ("composition.png", "data_vs_fit.png", "raw_nlsq_chunked.png"):
        assert (out / name).stat().st_size > 1000
