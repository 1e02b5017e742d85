"""Smoke tests of the side-by-side comparison (``fastsplit bench``) on tiny data.

They check that the command runs and reports every ratio; the numbers
themselves are benchmarks, not tests (DESIGN.md section 9).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

bench = pytest.importorskip("fastsplit.bench")
pytest.importorskip("numba")


def test_baselines_reorder_without_losing_points() -> None:
    labels, arrays = bench.make_data(1000, 7)
    assert np.all(np.diff(labels) >= 0)  # angle-major
    naive = bench.naive_stratify(labels, *arrays, chunk_size=100)
    shuffled = bench.shuffle_gather(arrays)
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
    report = json.loads(path.read_text())
    assert set(report["ratios"]) == set(bench.METHODS)
    assert set(report["ratios_min"]) == set(bench.METHODS)
    assert report["ratios"]["plain_copy"] == pytest.approx(1.0)
    for name in bench.METHODS:
        method = report["methods"][name]
        assert np.isfinite(report["ratios"][name]) and report["ratios"][name] > 0
        assert len(method["times_s"]) == 2
        assert method["points_per_s"] > 0 and method["gb_per_s"] > 0
        assert method["peak_bytes"] > 0
    names = {t["name"] for t in report["targets"]}
    assert {
        "copy mode vs plain copy",
        "index mode (order + bounds)",
        "extra peak memory, copy mode",
        "extra peak memory, index mode",
    } <= names


def test_cli_prints_table_and_targets(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "bench.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastsplit.bench",
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
    )
    out = proc.stdout
    assert "plain copy" in out and "fastsplit numba, copy mode" in out and "naive" in out
    assert "copy mode vs plain copy" in out
    assert "round 1/1" in proc.stderr  # progress goes to stderr, not into the table
    assert png.stat().st_size > 1000


def test_import_fastsplit_does_not_import_bench() -> None:
    code = "import sys, fastsplit; print('fastsplit.bench' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
