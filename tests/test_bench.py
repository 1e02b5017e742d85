"""Smoke tests of the benchmark harness (``benchmarks/``, ``make bench``) on tiny data.

They check that the harness runs and reports every ratio; the numbers
themselves are benchmarks, not tests (docs/benchmarks.md).
"""

from __future__ import annotations

import doctest
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# The harness is not installed with fastsplit: import it from the source checkout.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
pytest.importorskip("numba")

from benchmarks import baselines, bench, data, methods  # noqa: E402


def test_baselines_reorder_without_losing_points() -> None:
    labels, arrays = data.make_data(1000, 7)
    assert np.all(np.diff(labels) >= 0)  # angle-major
    naive = baselines.naive_stratify(labels, *arrays, chunk_size=100)
    shuffled = baselines.shuffle_gather(arrays)
    for out in (naive, shuffled):
        for a, b in zip(arrays, out, strict=True):
            np.testing.assert_array_equal(np.sort(a), np.sort(b))
    # every naive chunk holds every angle: the approach works, it is only slow
    for k in range(10):
        assert np.unique(naive[0][100 * k : 100 * (k + 1)]).size == 7


def test_json_has_every_ratio(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    code = bench.main(
        [
            "--n",
            "20000",
            "--groups",
            "5",
            "--repeat",
            "2",
            "--chunk-size",
            "3000",
            "--json",
            str(path),
            "--quiet",
        ]
    )
    assert code == 0
    document = json.loads(path.read_text())
    (report,) = document["runs"]
    assert set(report["ratios"]) == set(methods.METHODS)
    assert set(report["ratios_min"]) == set(methods.METHODS)
    assert report["ratios"]["plain_copy"] == pytest.approx(1.0)
    for name in methods.METHODS:
        method = report["methods"][name]
        assert np.isfinite(report["ratios"][name]) and report["ratios"][name] > 0
        assert len(method["times_s"]) == 2
        assert method["points_per_s"] > 0 and method["gb_per_s"] > 0
        assert method["peak_bytes"] > 0
    names = {t["name"] for t in document["targets"]}
    assert {
        "copy mode / floor @0.02M",
        "index mode (order + bounds) / floor @0.02M",
        "index + take(*arrays) / floor @0.02M",
        "index + every chunk / floor @0.02M",
        "extra peak memory, copy mode @0.02M",
        "extra peak memory, index mode @0.02M",
    } <= names
    assert all(t["value"] > 0 for t in document["targets"])


def test_cli_prints_table_and_targets(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "bench.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench",
            "--n",
            "5000",
            "--groups",
            "3",
            "--repeat",
            "1",
            "--methods",
            "fastsplit_copy",
            "naive_mask",
            "--png",
            str(png),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    out = proc.stdout
    assert "plain copy" in out and "fastsplit numba, copy mode" in out and "naive" in out
    assert "MET" in out or "MISSED" in out
    assert "copy mode / floor @0.005M" in out
    assert "round 1/1" in proc.stderr  # progress goes to stderr, not into the table
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("module", ["baselines", "data"])
def test_harness_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"benchmarks.{module}"))
    assert result.attempted > 0 and result.failed == 0


def test_the_harness_is_not_in_the_installed_package() -> None:
    code = (
        "import importlib.util, sys, fastsplit; "
        "print(importlib.util.find_spec('fastsplit.bench') is None, "
        "any(m.startswith('benchmarks') for m in sys.modules), "
        "hasattr(fastsplit, 'naive_stratify'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "False", "False"]


def test_every_extra_target_is_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--targets runs each named measurement and prints a verdict line for it (tiny sizes)."""
    from benchmarks import measures, targets

    monkeypatch.setattr(measures, "FIXED_N", (1000, 3000))
    path = tmp_path / "t.json"
    code = bench.main(
        [
            "--n",
            "3000",
            "--groups",
            "3",
            "--repeat",
            "1",
            "--methods",
            "fastsplit_copy",
            "--targets",
            "scaling",
            "groups",
            "--scaling-n",
            "2000",
            "4000",
            "--json",
            str(path),
            "--quiet",
        ]
    )
    assert code == 0
    names = [t["name"] for t in json.loads(path.read_text())["targets"]]
    assert any(name.startswith("scaling exponent") for name in names)
    assert any(name.startswith("360 vs 3 groups") for name in names)
    line = targets.Target("x", 2.0, 1.5, "x", False, "why").line()
    assert line.startswith("MISSED x: 2 x (target <= 1.5 x); why")


def test_gpu_script_runs_small_on_any_device() -> None:
    pytest.importorskip("jax")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", "--small", "--no-fit", "--sizes", "20000"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=600,
    )
    assert "device gather (jax backend)" in proc.stdout and "GB/s" in proc.stdout


def test_dashboard_copy_loads_only_local_files(tmp_path: Path) -> None:
    from benchmarks import dashboard

    if not all(p.exists() for p in dashboard.LOCAL.values()):
        pytest.skip("the Debian javascript packages are not installed")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(
        '<script src="https://code.jquery.com/jquery-3.3.1.min.js" integrity="x" '
        'crossorigin="anonymous" onerror="f()"></script>\n'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js">'
        "</script>\n"
        '<link href="https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css">\n'
    )
    out = dashboard.offline_copy(site, tmp_path / "copy")
    text = (out / "index.html").read_text()
    assert "https://" not in text and "integrity" not in text
    assert 'src="vendor/jquery.min.js"' in text and (out / "vendor" / "jquery.min.js").exists()


def test_two_versions_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import versions

    src = ROOT / "src"
    argv = ["--old", str(src), "--new", str(src), "--n", "5000", "--rounds", "1", "--repeat", "1"]
    assert versions.main(argv) == 0
    out = capsys.readouterr().out
    for method in ("floor", "copy", "index", "index_take"):
        line = next(row for row in out.splitlines() if row.startswith(method))
        assert len(re.findall(r"\d\.\d\dx", line)) == 3  # two ratios to the floor, new/old
