"""JAX's persistent compilation cache: set up by the first fit where the user has not.

Each case runs in a fresh interpreter (the cache is process-wide JAX state);
the cases run side by side. No timing is asserted: what a case checks is
where the cache points, which thresholds are set, and that a fit writes its
passes there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nlsq")

SRC = Path(__file__).resolve().parents[1] / "src"

# Imports nlsq the way a fit does, then reports JAX's cache settings.
SETTINGS = r"""
import json, os, sys
if os.environ.get("SET_BEFORE"):
    import jax
    jax.config.update("jax_compilation_cache_dir", os.environ["SET_BEFORE"])
from fastsplit._fit import _compile_cache, _nlsq
_nlsq.import_nlsq()
import jax
if os.environ.get("FIT"):
    import numpy as np, fastsplit
    def line(x, *, slope, offset):
        return slope * x + offset
    x = np.tile(np.linspace(0.0, 1.0, 40), 2)
    g = np.repeat([1.0, 2.0], 40)
    fastsplit.fit(line, x, 2.0 * x + g, groups=g, p0={"slope": 1.0, "offset": 0.0},
                  per_group=["offset"], sigma=0.01, backend="numpy")
s = _compile_cache.setting()
print(json.dumps({
    "dir": jax.config.jax_compilation_cache_dir,
    "min_time": jax.config.jax_persistent_cache_min_compile_time_secs,
    "min_size": jax.config.jax_persistent_cache_min_entry_size_bytes,
    "source": s.source, "reported": s.directory,
}))
"""

_CLEARED = (
    "JAX_COMPILATION_CACHE_DIR",
    "FASTSPLIT_JAX_CACHE",
    "FASTSPLIT_JAX_CACHE_DIR",
    "NLSQ_JAX_CACHE_DIR",
    "XDG_CACHE_HOME",
)


def _start(env: dict[str, str], home: Path) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    full = {**base, "HOME": str(home), "PYTHONPATH": str(SRC), **env}
    return subprocess.Popen(
        [sys.executable, "-c", SETTINGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
        cwd=home,
    )


def _results(cases: dict[str, dict[str, str]], tmp_path: Path) -> dict[str, dict]:
    running = {}
    for name, env in cases.items():
        home = tmp_path / name
        home.mkdir()
        running[name] = _start(env, home)
    out = {}
    for name, proc in running.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name}: {stderr[-2000:]}"
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


def test_cache_is_set_up_where_expected_and_respects_the_user(tmp_path):
    xdg = tmp_path / "xdg"
    mine = tmp_path / "mine"
    before = tmp_path / "before"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = _results(
        {
            "default": {"XDG_CACHE_HOME": str(xdg), "FIT": "1"},
            "chosen": {"FASTSPLIT_JAX_CACHE_DIR": str(mine)},
            "user_env": {"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "user-env")},
            "user_config": {"SET_BEFORE": str(before)},
            "off": {"FASTSPLIT_JAX_CACHE": "0", "NLSQ_DISABLE_PERSISTENT_CACHE": "1"},
            "unwritable": {"FASTSPLIT_JAX_CACHE_DIR": str(blocker / "cache")},
        },
        tmp_path,
    )
    # fastsplit's place under the user's cache directory, small passes kept too
    default = r["default"]
    assert default["dir"] == str(xdg / "fastsplit" / "jax") == default["reported"]
    assert default["source"] == "fastsplit"
    assert default["min_time"] == 0.0
    assert default["min_size"] == -1
    assert any((xdg / "fastsplit" / "jax").iterdir()), "the fit wrote no compiled pass"
    assert r["chosen"]["dir"] == str(mine)
    # a directory the user chose is kept, with JAX's own thresholds
    for case, where in (("user_env", tmp_path / "user-env"), ("user_config", before)):
        assert r[case]["dir"] == str(where), case
        assert r[case]["source"] == "user"
        assert r[case]["min_time"] == 1.0
        assert r[case]["min_size"] == 0
    # the switch: nothing set by fastsplit
    assert r["off"]["source"] == "off"
    assert r["off"]["dir"] is None
    assert r["off"]["min_time"] == 1.0
    # a directory that cannot be created leaves everything as it was
    assert r["unwritable"]["source"] == "unwritable"
    assert r["unwritable"]["min_time"] == 1.0


# Fits a small XPCS model (whose passes are exported) and says what JAX traced.
EXPORTED = r"""
import logging, warnings
logging.basicConfig(level=logging.WARNING)
import jax
jax.config.update("jax_log_compiles", True)
from fastsplit.xpcs import fit_two_time, synthesize
data = synthesize(n_angles=2, n_frames=12, seed=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    r = fit_two_time(data.model, data, p0=data.model.rough_p0(), on_failure="warn")
print("RESULT", r.cost.hex(), float(r.params["D0"]).hex())
"""


def _fit_process(env: dict[str, str], home: Path) -> tuple[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    full = {**base, "HOME": str(home), "PYTHONPATH": str(SRC), **env}
    done = subprocess.run(
        [sys.executable, "-c", EXPORTED],
        capture_output=True,
        text=True,
        env=full,
        cwd=home,
        timeout=300,
        check=True,
    )
    result = [line for line in done.stdout.splitlines() if line.startswith("RESULT")][-1]
    traced = "\n".join(line for line in done.stderr.splitlines() if "tracing" in line.lower())
    return result, traced


def test_xpcs_passes_are_exported_once_and_read_back(tmp_path):
    pytest.importorskip("flatbuffers")
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    first, traced_first = _fit_process(env, tmp_path)
    exported = sorted((tmp_path / "xdg" / "fastsplit" / "jax-exported").iterdir())
    # the XPCS fit's cluster-robust errors run the clustered pass: kept too
    assert {p.name.split("-")[0] for p in exported} == {"clustered", "cost", "normal", "probe"}
    second, traced_second = _fit_process(env, tmp_path)
    assert second == first  # the same answer, bit for bit
    assert "total_normal" in traced_first
    assert "total_normal" not in traced_second  # read back, not traced again
    assert "tracing total " not in traced_second.lower()  # the clustered pass neither
    assert "tracing total " in traced_first.lower()
    assert sorted((tmp_path / "xdg" / "fastsplit" / "jax-exported").iterdir()) == exported
    # switched off: traced again, nothing written, the same answer
    off, traced_off = _fit_process({**env, "FASTSPLIT_JAX_CACHE": "0"}, tmp_path)
    assert off == first
    assert "total_normal" in traced_off
