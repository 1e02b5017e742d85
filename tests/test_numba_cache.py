"""Numba caching: on by default, an env switch turns it off, no crash when read-only."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba")

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


def _run(env: dict[str, str], cwd: Path, pythonpath: Path) -> str:
    full = {**os.environ, **env, "PYTHONPATH": str(pythonpath)}
    out = subprocess.run(
        [sys.executable, "-c", RUN],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        check=True,
        timeout=300,
    )
    return out.stdout.strip()


def test_env_switch_turns_cache_off(tmp_path):
    assert _run({"FASTSPLIT_NUMBA_CACHE": "0"}, tmp_path, SRC).endswith("cache False")


def test_cache_dir_is_used(tmp_path):
    cache = tmp_path / "numba-cache"
    out = _run({"NUMBA_CACHE_DIR": str(cache)}, tmp_path, SRC)
    assert out.endswith("cache True")
    assert any(p.suffix in (".nbi", ".nbc") for p in cache.rglob("*"))
    # an empty cache: the first call compiles, reported apart; the second compiles nothing
    assert "compiled True 0.0" in out


def test_unwritable_cache_dir_does_not_crash(tmp_path):
    """Even root cannot create a directory under a file: caching turns itself off."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    assert _run({"NUMBA_CACHE_DIR": str(blocker / "cache")}, tmp_path, SRC).endswith("cache False")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_read_only_install_does_not_crash(tmp_path):
    """A package directory and cache locations nobody may write: runs uncached."""
    site = tmp_path / "site"
    shutil.copytree(
        SRC / "fastsplit", site / "fastsplit", ignore=shutil.ignore_patterns("__pycache__")
    )
    ro_cache = tmp_path / "ro-cache"
    ro_cache.mkdir()
    for path in [*site.rglob("*"), site, ro_cache]:
        mode = path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        path.chmod(mode)
    try:
        if os.access(ro_cache, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        env = {"NUMBA_CACHE_DIR": str(ro_cache / "sub"), "HOME": str(ro_cache)}
        assert _run(env, tmp_path, site).endswith("cache False")
    finally:
        for path in [*site.rglob("*"), site, ro_cache]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
