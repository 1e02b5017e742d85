"""The ``fastsplit`` command: its files (whole or none), its errors (one line), its outputs."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from aps_files import Q_CENTRES, write_result
from fastsplit import available_backends
from fastsplit.cli import build_parser, main
from fastsplit.xpcs import TwoTimeData, TwoTimeModel, synthesize

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def nlsq_module():
    # Import nlsq before capsys swaps sys.stderr: nlsq calls faulthandler.enable()
    # on import, which needs a real file descriptor.
    return pytest.importorskip("nlsq")


def _npz(tmp_path, n_angles=3, n_frames=20, seed=0, name="data.npz"):
    d = synthesize(n_angles=n_angles, n_frames=n_frames, seed=seed)
    path = tmp_path / name
    TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, d.model.q, d.model.dt, n_frames).save_npz(path)
    return path, d


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _one_error_line(err: str, *words: str) -> None:
    """One error line (warning lines, each one line too, may come before it)."""
    lines = [
        line for line in err.strip().splitlines() if not line.startswith("fastsplit: warning:")
    ]
    assert len(lines) == 1, err
    assert lines[0].startswith("fastsplit: error: "), err
    for word in words:
        assert word in lines[0], (word, err)


def _run(args, tmp_path, **kwargs):
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "fastsplit.cli", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        **kwargs,
    )


# -- the parser ------------------------------------------------------------------


def test_version_help_and_no_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    from fastsplit import __version__

    assert capsys.readouterr().out.strip() == f"fastsplit {__version__}"
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_every_option_has_help_and_fixed_choices():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"demo", "fit", "stratify", "warmup", "info", "bench"} <= set(commands)
    with_choices = {"--strategy", "--mode", "--backend", "--layout"}
    for name, sub in commands.items():
        assert sub.description, name
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.dest)
            if with_choices & set(action.option_strings):
                assert action.choices, (name, action.option_strings)


def test_bench_says_where_the_harness_went(capsys):
    assert main(["bench", "--repeat", "7", "--all-targets"]) == 2
    _one_error_line(capsys.readouterr().err, "make bench", "source checkout")
    with pytest.raises(SystemExit) as exit_info:  # other commands still refuse unknown options
        main(["info", "--repeat", "7"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --repeat 7" in capsys.readouterr().err


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "stratify backends" in out and "numpy" in out and "memory" in out
    assert "nlsq" in out
    if available_backends().get("numba") == "available":
        assert "numba kernels: " in out  # compiled, compiling, or not yet


def test_warmup_says_how_long(capsys):
    assert main(["warmup", "--backend", "numpy", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "fastsplit warmup: numpy kernels ready in" in out and " s (" in out


# -- stratify: files -------------------------------------------------------------


def test_stratify_writes_reordered_arrays(tmp_path, capsys):
    path, d = _npz(tmp_path)
    out = tmp_path / "strat.npz"
    assert main(["stratify", str(path), "-o", str(out), "--chunk-size", "300", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "stratification report" in printed and f"wrote {out}:" in printed
    with np.load(out) as z:
        order, bounds = z["order"], z["bounds"]
        np.testing.assert_array_equal(z["g2"], d.g2[order])
        np.testing.assert_array_equal(z["phi"], d.phi[order])
        np.testing.assert_array_equal(np.sort(order), np.arange(d.n_points))
        assert bounds[0] == 0 and bounds[-1] == d.n_points
        for k in range(len(bounds) - 1):
            assert np.unique(z["phi"][bounds[k] : bounds[k + 1]]).size == 3
        assert float(z["dt"]) == d.model.dt
    assert _leftovers(tmp_path) == []
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # not the temporary file's mode


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


def test_the_name_written_is_the_name_given(tmp_path, capsys):
    path, _ = _npz(tmp_path)
    out = tmp_path / "reordered"  # no suffix: numpy would have written reordered.npz
    assert main(["stratify", str(path), "-o", str(out), "--backend", "numpy", "--quiet"]) == 0
    assert out.is_file() and not (tmp_path / "reordered.npz").exists()
    assert f"wrote {out}:" in capsys.readouterr().out
    assert main(["stratify", str(out), "-o", str(tmp_path / "again.npz"), "--quiet"]) == 0


def test_existing_outputs_need_force_and_inputs_are_never_replaced(tmp_path, capsys):
    path, _ = _npz(tmp_path)
    out = tmp_path / "out.npz"
    out.write_bytes(b"precious")
    argv = ["stratify", str(path), "-o", str(out), "--backend", "numpy", "--quiet"]
    assert main(argv) == 2
    _one_error_line(capsys.readouterr().err, "out.npz", "exists", "--force")
    assert out.read_bytes() == b"precious"
    assert main([*argv, "--force"]) == 0
    assert out.read_bytes() != b"precious"
    before = path.read_bytes()
    for force in ([], ["--force"]):
        assert main(["stratify", str(path), "-o", str(path), "--quiet", *force]) == 2
        _one_error_line(capsys.readouterr().err, "input file", "never overwrites")
    link = tmp_path / "alias.npz"
    link.symlink_to(path)
    assert main(["stratify", str(path), "-o", str(link), "--quiet", "--force"]) == 2
    capsys.readouterr()
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("output", "words"),
    [
        ("missing_folder/out.npz", ["does not exist"]),
        (".", ["is a folder"]),
        ("read_only/out.npz", ["not writable"]),
    ],
)
def test_outputs_are_checked_before_any_work(tmp_path, capsys, monkeypatch, output, words):
    if output.startswith("read_only") and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    (tmp_path / "read_only").mkdir()
    (tmp_path / "read_only").chmod(0o500)
    path, _ = _npz(tmp_path)

    def no_work(*args, **kwargs):
        raise AssertionError("the input was read before the output was checked")

    monkeypatch.setattr("fastsplit.cli._commands.load", no_work)
    assert main(["stratify", str(path), "-o", str(tmp_path / output), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, *words)


def test_a_failing_writer_leaves_no_file(tmp_path, capsys, monkeypatch):
    path, _ = _npz(tmp_path)
    out = tmp_path / "out.npz"
    real = np.savez

    def disk_full(handle, **arrays):
        real(handle, phi=arrays["phi"])  # some bytes reach the disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    assert main(["stratify", str(path), "-o", str(out), "--backend", "numpy", "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "cannot write", "out.npz", "No space left")
    assert not out.exists() and _leftovers(tmp_path) == []

    def broken(handle, **arrays):
        handle.write(b"PK\x03\x04 half an archive")
        raise RuntimeError("a bug in the writer")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["stratify", str(path), "-o", str(out), "--backend", "numpy", "--quiet"])
    assert not out.exists() and _leftovers(tmp_path) == []

    def interrupted(handle, **arrays):
        handle.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    out.write_bytes(b"the old file")
    monkeypatch.setattr(np, "savez", interrupted)
    argv = ["stratify", str(path), "-o", str(out), "--force", "--backend", "numpy", "--quiet"]
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err
    assert out.read_bytes() == b"the old file" and _leftovers(tmp_path) == []


def test_a_file_size_limit_leaves_no_file(tmp_path):
    resource = pytest.importorskip("resource")
    path, _ = _npz(tmp_path, n_angles=4, n_frames=60)  # output ~0.7 MB
    limit = 200_000

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = _run(
        ["stratify", str(path), "-o", "out.npz", "--backend", "numpy", "--quiet"],
        tmp_path,
        preexec_fn=limited,
    )
    assert proc.returncode == 2, proc.stderr
    _one_error_line(proc.stderr, "cannot write", "out.npz", "File too large", "nothing was written")
    assert not (tmp_path / "out.npz").exists() and _leftovers(tmp_path) == []


def test_sigint_mid_write_leaves_no_file(tmp_path):
    path, _ = _npz(tmp_path, n_angles=3, n_frames=30)
    ready = tmp_path / "writing"
    script = textwrap.dedent(
        f"""
        import signal, sys, time
        import numpy as np
        from fastsplit.cli import main

        # Ctrl-C as in a terminal, even when this test runs as a background job
        # (whose shell made it ignore SIGINT, and Python then keeps ignoring it)
        signal.signal(signal.SIGINT, signal.default_int_handler)

        real = np.savez

        def slow(handle, **arrays):
            real(handle, phi=arrays["phi"])  # part of the archive is on disk
            handle.flush()
            open({str(ready)!r}, "w").close()
            time.sleep(60)

        np.savez = slow
        argv = ["stratify", {str(path)!r}, "-o", "out.npz", "--backend", "numpy", "--quiet"]
        sys.exit(main(argv))
        """
    )
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert any(p.name.startswith(".out.npz.") for p in tmp_path.iterdir())  # mid-write
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "fastsplit: interrupted; no partial output was left"
    assert not (tmp_path / "out.npz").exists() and _leftovers(tmp_path) == []


# -- bad input files: exit 2, one line ---------------------------------------------


def _corrupt_hdf5(tmp_path):
    path = tmp_path / "corrupt.hdf"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    return path


def _truncated_npz(tmp_path):
    good, _ = _npz(tmp_path, name="good.npz")
    path = tmp_path / "truncated.npz"
    path.write_bytes(good.read_bytes()[:-300])
    return path


def _wrong_layout(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "multitau.hdf"
    with h5py.File(path, "w") as f:
        f["xpcs/multitau/normalized_g2"] = np.ones((10, 3))
    return path


def _not_a_file(tmp_path):
    path = tmp_path / "folder.npz"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_corrupt_hdf5, ["corrupt.hdf", "cannot be read as HDF5"]),
        (_truncated_npz, ["truncated.npz", "cannot be read as npz"]),
        (_wrong_layout, ["multitau.hdf", "not an APS 8-ID-I two-time result"]),
        (_not_a_file, ["folder.npz", "not a file"]),
        (lambda tmp_path: tmp_path / "nope.npz", ["nope.npz", "does not exist"]),
    ],
)
@pytest.mark.parametrize("command", ["stratify", "fit"])
def test_bad_input_files_are_exit_2_with_one_line(
    tmp_path, capsys, monkeypatch, make, words, command
):
    monkeypatch.chdir(tmp_path)  # where fit's default record would go
    path = make(tmp_path)
    extra = ["-o", str(tmp_path / "out.npz")] if command == "stratify" else []
    assert main([command, str(path), *extra, "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, *words)
    assert not list(tmp_path.glob("*_fit.*")) and not (tmp_path / "out.npz").exists()


def test_a_bad_config_is_exit_2_before_the_data_are_read(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path, _ = _npz(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("parameter_space:\n  bounds:\n    - {name: D0, min: 100}\n")

    def no_work(*args, **kwargs):
        raise AssertionError("the data were read before the config was checked")

    monkeypatch.setattr("fastsplit.cli._commands.load", no_work)
    assert main(["fit", str(path), "--config", str(cfg), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "parameter_space.bounds[0].max: expected a number")


# -- fit: outputs ----------------------------------------------------------------------

TRUTH = {"D0": 19230.0, "alpha": -1.06, "D_offset": 879.0}


def _aps_file(tmp_path, n_frames=24):
    """A current-layout file whose matrices are the static model at each cell's q."""
    rng = np.random.default_rng(3)

    def matrix(iq, iphi, n):
        model = TwoTimeModel(n, dt=0.06, q=Q_CENTRES[iq])
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        points = (np.zeros(n * n), i.ravel() * 0.06, j.ravel() * 0.06)
        g2 = model(points, **TRUTH, contrast=0.25 + 0.01 * iphi, offset=1.0 + 0.002 * iphi)
        noise = np.triu(rng.normal(0.0, 0.001, (n, n)))
        return g2.reshape(n, n) + noise + np.triu(noise, 1).T

    return write_result(tmp_path / "result.hdf", n_frames=n_frames, matrix=matrix)


HOMODYNE_CONFIG = """
analysis_mode: static
analyzer_parameters:
  dt: 0.06
  start_frame: 1
  end_frame: -1
  scattering: {wavevector_q: 0.0054}
phi_filtering:
  enabled: true
  target_ranges:
    - {min_angle: -60, max_angle: 0}
    - {min_angle: 170, max_angle: -100}
  fallback_to_all_angles: false
initial_parameters:
  parameter_names: [D0, alpha, D_offset]
  values: [10000.0, -0.8, 500.0]
optimization:
  method: nlsq
  nlsq: {max_iterations: 50}
  stratification: {target_chunk_size: 400}
plotting: {dpi: 300}
"""


@pytest.mark.nlsq
def test_fit_command_on_an_aps_file_with_a_homodyne_config(nlsq_module, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    written = _aps_file(tmp_path)
    cfg = tmp_path / "homodyne.yaml"
    cfg.write_text(HOMODYNE_CONFIG)
    out = tmp_path / "fit.json"
    argv = ["fit", str(written.path), "--config", str(cfg), "-o", str(out), "--strategy", "chunked"]
    code = main([*argv, "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    # the angles the ranges ask for (at q[1] the cell at 45.3 deg is empty anyway)
    assert "2 angles [-134.6, -44.9] deg" in captured.out
    assert "dt 0.06 s (frame_time 0.01 s x stride 2 x avg 3)" in captured.out
    assert "fastsplit: warning: config keys fastsplit does not read" in captured.err
    assert "optimization.nlsq.max_iterations, plotting" in captured.err
    record = json.loads(out.read_text())
    assert record["success"] and record["strategy"] == "chunked"
    assert record["model"]["q"] == Q_CENTRES[1] and record["model"]["dt"] == pytest.approx(0.06)
    assert record["input"]["angles"] == [-134.6, -44.9]
    assert record["input"]["bins"] == [4, 5] and record["input"]["layout"] == "aps-8idi"
    assert record["input"]["path"] == str(written.path)
    assert record["versions"]["fastsplit"] and record["versions"]["nlsq"]
    assert record["config"]["source"] == str(cfg)
    assert record["config"]["xpcs"]["phi_ranges"] == [[-60.0, 0.0], [170.0, -100.0]]
    assert record["config"]["stratification"]["target_chunk_size"] == 400
    n_params = len(record["param_names"])
    assert np.asarray(record["covariance"]).shape == (n_params, n_params)
    for name, value in TRUTH.items():
        assert abs(record["params"][name] - value) < 5 * record["errors"][name], name
    np.testing.assert_allclose(record["params"]["contrast"], [0.25, 0.26], atol=0.005)
    assert set(record["timings"]) >= {"stratify", "fit", "ratio", "total"}
    figure = tmp_path / "fit.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # again: refused without --force, before any work
    assert main([*argv, "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "fit.json", "exists", "--force")


@pytest.mark.nlsq
def test_a_failed_fit_still_leaves_its_record(nlsq_module, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path, _ = _npz(tmp_path, n_angles=3, n_frames=16)
    cfg = tmp_path / "c.yaml"
    # One iteration from far away cannot converge (from the rough start one
    # iteration can, and the verdict then rightly passes it).
    cfg.write_text(
        "fastsplit:\n  max_nfev: 1\n  xpcs:\n"
        "    p0: {D0: 90000.0, alpha: 1.5, D_offset: -50000.0}\n"
    )
    out = tmp_path / "data_fit.json"  # the default name: the data's, in this folder
    argv = ["fit", str(path), "--config", str(cfg), "--strategy", "chunked"]
    code = main([*argv, "--no-figure", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1, captured.out + captured.err
    assert "status: NOT TRUSTED" in captured.out
    record = json.loads(out.read_text())  # strict JSON: NaN errors are null
    assert record["success"] is False
    assert not (tmp_path / "data_fit.png").exists()


@pytest.mark.nlsq
def test_ctrl_c_while_drawing_leaves_neither_output_and_no_sigma_is_said(
    nlsq_module, tmp_path, capsys, monkeypatch
):
    """Ctrl-C while the figure is drawn: no record and no figure, so a rerun needs no --force.

    The data have no sigma: the report and the record say it was taken as 1.
    """
    pytest.importorskip("matplotlib")
    from fastsplit.xpcs import _fit_figure

    d = synthesize(n_angles=2, n_frames=16, seed=3)
    path = tmp_path / "nosigma.npz"
    TwoTimeData(d.phi, d.t1, d.t2, d.g2, None, d.model.q, d.model.dt, 16).save_npz(path)
    out = tmp_path / "fit.json"
    argv = ["fit", str(path), "-o", str(out), "--strategy", "chunked", "--quiet"]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(_fit_figure, "fit_figure", interrupted)
        assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "fastsplit: interrupted; no partial output was left"
    assert not out.exists() and not (tmp_path / "fit.png").exists()
    assert _leftovers(tmp_path) == []
    assert main(argv) == 0  # no --force needed: nothing was left
    printed = capsys.readouterr().out
    assert "note: no sigma was given, so sigma was taken as 1 for every point" in printed
    record = json.loads(out.read_text())
    assert record["sigma"]["given"] is False and "taken as 1" in record["sigma"]["note"]
    assert (tmp_path / "fit.png").exists()


def test_outputs_of_one_run_are_written_together(tmp_path, monkeypatch):
    from fastsplit.cli import _outputs

    real = _outputs.write_atomic

    def second_fails(path, writer):
        if path.name == "b.png":
            raise KeyboardInterrupt
        return real(path, writer)

    monkeypatch.setattr(_outputs, "write_atomic", second_fails)
    with pytest.raises(KeyboardInterrupt):
        _outputs.write_together({tmp_path / "a.json": b"{}", tmp_path / "b.png": b"png"})
    assert list(tmp_path.iterdir()) == []


def test_fit_outputs_are_checked_before_the_work(tmp_path, capsys, monkeypatch):
    path, _ = _npz(tmp_path)

    def no_work(*args, **kwargs):
        raise AssertionError("the input was read before the outputs were checked")

    monkeypatch.setattr("fastsplit.cli._commands.load", no_work)
    out = tmp_path / "r.json"
    argv = ["fit", str(path), "-o", str(out), "--quiet"]
    assert main([*argv, "--figure", str(out)]) == 2
    _one_error_line(capsys.readouterr().err, "already used by another output")
    (tmp_path / "r.png").write_bytes(b"old figure")
    assert main(argv) == 2
    _one_error_line(capsys.readouterr().err, "--figure", "r.png", "exists")
    assert main(["fit", str(path), "-o", str(path), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "input file")
    assert main(["fit", str(path), "-o", str(tmp_path / "fit.png"), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "ends in .png", "--figure")


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
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert main(argv) == 2  # figures exist: --force to replace them
    _one_error_line(capsys.readouterr().err, "composition.png", "--force")
