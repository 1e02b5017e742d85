"""Smoke tests of the Dask benchmarks (``benchmarks/dask_scaling.py``, ``dask_fit.py``).

It checks that the script runs, checks its dask results against memory and
reports every figure; the numbers themselves are benchmarks (docs/scaling-out.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the harness is not installed: import it from the checkout
pytest.importorskip("distributed")
pytest.importorskip("numba")

from benchmarks import dask_scaling  # noqa: E402

pytestmark = pytest.mark.dask


def test_dask_scaling_reports_every_figure(tmp_path: Path, capsys) -> None:
    out = tmp_path / "dask.json"
    tiny = ["--sizes", "30000", "--block", "7000", "--per-block", "1", "--repeat", "1"]
    dask_scaling.main([*tiny, "--json", str(out)])
    (row,) = json.loads(out.read_text())["rows"]
    assert row["n"] == 30_000 and row["input_blocks"] == 5 and row["output_blocks"] == 1
    assert set(row["ratio_to_memory"]) == {"memory", "dask-threads", "dask-cluster"}
    assert row["worker_peak_rss_bytes"] > 0 and row["memory_extra_peak_bytes"] > 0
    assert "tasks BxO" in capsys.readouterr().out


def test_dask_fit_benchmark_reports_every_figure(tmp_path: Path) -> None:
    pytest.importorskip("nlsq")
    from benchmarks import dask_fit

    out = tmp_path / "fit.json"
    tiny = ["--frames", "12", "--block", "1500", "--devices", "2", "--repeat", "1"]
    dask_fit.main([*tiny, "--json", str(out)])
    figures = json.loads(out.read_text())
    (row,) = figures["fits"]
    assert row["n"] == 23 * 12 * 12 and row["blocks"] == 3
    assert set(row["ratio_to_memory"]) == {"memory", "dask-threads", "dask-cluster"}
    assert max(row["max_relative_parameter_difference"].values()) < 1e-8
    assert row["worker_peak_rss_bytes"] > 0
    (sharded,) = figures["devices"]
    assert sharded["devices"] == 2 and sharded["max_relative_difference"] < 1e-12
