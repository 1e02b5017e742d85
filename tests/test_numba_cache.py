"""Numba caching: on by default, an env switch turns it off, no crash when read-only,
and a fresh install's empty cache (``auto`` served by numpy while numba compiles).

Each case is a fresh interpreter that compiles numba's kernels from nothing (10-30 s
of CPU each); they start together, once per module, and each test reads its own.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("numba")

from fastsplit.backends import _cold

SRC = Path(__file__).resolve().parents[1] / "src"
RUN = (
    "import numpy as np, fastsplit\n"
    "from fastsplit.backends import _jit\n"
    "s = fastsplit.stratify(np.repeat([1.0, 2.0], 50), np.arange(100.0), chunk_size=10, "
    "backend='numba')\n"
    "assert np.array_equal(np.sort(s.order), np.arange(100))\n"
    "again = fastsplit.stratify(np.repeat([1.0, 2.0], 50), np.arange(100.0), chunk_size=10)\n"
    "print('compiled', s.diagnostics.compile_seconds > 0.01, again.diagnostics.compile_seconds)\n"
    "print('cache', _jit.CACHE)\n"
)

# A fresh install as a user meets it: backend="auto", numba's cache empty.
FIRST = r"""
import json, sys, time
from pathlib import Path
import numpy as np, fastsplit
from fastsplit.backends import _cold
labels = np.repeat(np.linspace(-170.0, 170.0, 23), 400)
data = np.random.default_rng(0).random(labels.size)
first = fastsplit.stratify(labels, data, chunk_size=1000)
index = fastsplit.stratify(labels, chunk_size=1000, mode="index")
state = _cold._STATE
during = _cold.status()
deadline = time.monotonic() + 600
while state._child_running() and time.monotonic() < deadline:
    time.sleep(0.1)
later = fastsplit.stratify(labels, data, chunk_size=1000)
print(json.dumps({
    "status": [during, _cold.status()],
    "backends": [first.backend, index.backend, later.backend],
    "spawned": state.spawned,
    "locks_left": [str(p) for p in Path(sys.argv[1]).rglob(_cold.LOCK_NAME)],
    "same": bool(np.array_equal(first.arrays[0], later.arrays[0])
                 and np.array_equal(index.order, fastsplit.stratify(
                     labels, chunk_size=1000, mode="index", backend="numpy").order)),
    "later_compile_s": later.diagnostics.compile_seconds,
}))
"""

AGAIN = r"""
import json
import numpy as np, fastsplit
labels = np.repeat(np.linspace(-170.0, 170.0, 23), 400)
s = fastsplit.stratify(labels, np.arange(labels.size, dtype=np.float32), chunk_size=700)
print(json.dumps({"backend": s.backend, "compile_s": s.diagnostics.compile_seconds}))
"""


def _start(
    code: str, env: dict[str, str], cwd: Path, pythonpath: Path, *args: str
) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if k != _cold.ENV_VAR}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**base, **env, "PYTHONPATH": str(pythonpath)},
        cwd=cwd,
    )


def _output(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    return out.strip()


def _read_only_site(tmp: Path) -> tuple[Path, Path]:
    """A package directory and cache locations nobody may write."""
    site = tmp / "site"
    shutil.copytree(
        SRC / "fastsplit", site / "fastsplit", ignore=shutil.ignore_patterns("__pycache__")
    )
    ro_cache = tmp / "ro-cache"
    ro_cache.mkdir()
    for path in [*site.rglob("*"), site, ro_cache]:
        mode = path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        path.chmod(mode)
    return site, ro_cache


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("numba-cache")
    blocker = tmp / "not-a-dir"  # even root cannot create a directory under a file
    blocker.write_text("")
    cold = tmp / "cold-cache"
    started = {
        "off": _start(RUN, {"FASTSPLIT_NUMBA_CACHE": "0"}, tmp, SRC),
        "dir": _start(RUN, {"NUMBA_CACHE_DIR": str(tmp / "dir-cache")}, tmp, SRC),
        "unwritable": _start(RUN, {"NUMBA_CACHE_DIR": str(blocker / "cache")}, tmp, SRC),
        "cold": _start(FIRST, {"NUMBA_CACHE_DIR": str(cold)}, tmp, SRC, str(cold)),
    }
    site = ro_cache = None
    if os.name == "posix":
        site, ro_cache = _read_only_site(tmp)
        if not os.access(ro_cache, os.W_OK):  # root writes anywhere: nothing to check
            env = {"NUMBA_CACHE_DIR": str(ro_cache / "sub"), "HOME": str(ro_cache)}
            started["read_only"] = _start(RUN, env, tmp, site)
    try:
        yield {"tmp": tmp, "cold_cache": cold, **started}
    finally:
        for proc in started.values():
            proc.kill()
            proc.communicate()
        for path in [*site.rglob("*"), site, ro_cache] if site and ro_cache else []:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_env_switch_turns_cache_off(runs):
    assert _output(runs["off"]).endswith("cache False")


def test_cache_dir_is_used(runs):
    out = _output(runs["dir"])
    assert out.endswith("cache True")
    assert any(p.suffix in (".nbi", ".nbc") for p in (runs["tmp"] / "dir-cache").rglob("*"))
    # an empty cache: the first call compiles, reported apart; the second compiles nothing
    assert "compiled True 0.0" in out


def test_unwritable_cache_dir_does_not_crash(runs):
    assert _output(runs["unwritable"]).endswith("cache False")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_read_only_install_does_not_crash(runs):
    if "read_only" not in runs:
        pytest.skip("running as a user who can write anywhere (root)")
    assert _output(runs["read_only"]).endswith("cache False")


def test_empty_cache_serves_numpy_then_numba(runs):
    """A new install: numpy now, numba once the background compile ends, and later."""
    first = json.loads(_output(runs["cold"]).splitlines()[-1])
    assert first["backends"] == ["numpy", "numpy", "numba"]
    assert first["spawned"]
    assert first["locks_left"] == []
    assert first["same"]  # numpy served exactly what numba computes
    assert first["later_compile_s"] < 2.0  # loaded from the cache, not compiled
    during, after = first["status"]  # what `fastsplit info` says
    assert during.startswith("compiling in the background into")
    assert after.startswith("compiled, cached in")
    # a later process finds every variant compiled (float32 data: no new kernel)
    again = json.loads(
        _output(_start(AGAIN, {"NUMBA_CACHE_DIR": str(runs["cold_cache"])}, runs["tmp"], SRC))
    )
    assert again["backend"] == "numba"
    assert again["compile_s"] < 2.0
