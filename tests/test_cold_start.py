"""numba's cache empty: ``auto`` serves small calls from numpy while numba compiles.

The decision rules, in-process on a faked state; ``test_numba_cache.py`` runs a
fresh install end to end (fresh interpreters on an empty ``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastsplit

pytest.importorskip("numba")

from fastsplit.backends import _cold


@pytest.fixture
def cold(monkeypatch, tmp_path):
    """A fresh state whose cache reads as empty; spawning records instead of compiling."""
    state = _cold._Cold()
    monkeypatch.setattr(_cold, "_STATE", state)
    monkeypatch.delenv(_cold.ENV_VAR, raising=False)
    monkeypatch.delenv("FASTSPLIT_BACKEND", raising=False)
    lock = tmp_path / _cold.LOCK_NAME
    spawned: list[Path] = []

    def spawn(path: Path) -> None:
        state.spawned = True
        spawned.append(path)
        path.touch()  # a compile in progress

    monkeypatch.setattr(state, "_check", lambda: None if state.ready else lock)
    monkeypatch.setattr(state, "_spawn", spawn)
    return state, lock, spawned


def test_small_calls_served_by_numpy_while_compiling(cold):
    state, lock, spawned = cold
    labels = np.repeat([1.0, 2.0, 3.0], 100)
    s = fastsplit.stratify(labels, np.arange(300.0), chunk_size=50)
    assert s.backend == "numpy"
    assert fastsplit.plan(labels, chunk_size=50).n_chunks == s.n_chunks
    fastsplit.stratify(labels, chunk_size=50, mode="index")
    assert spawned == [lock]  # one compile, however many calls
    # asked by name, numba is numba: it compiles in the call
    assert fastsplit.stratify(labels, chunk_size=50, backend="numba").backend == "numba"
    lock.unlink()  # the compile ended; the cache now reads as populated
    state.ready = True
    assert fastsplit.stratify(labels, chunk_size=50).backend == "numba"


def test_large_calls_compile_in_the_call(cold):
    state, lock, spawned = cold
    assert state.backend_for(_cold.COLD_LIMIT + 1) == "numba"
    assert spawned == []  # the call's own compile fills the cache
    assert state.backend_for(_cold.COLD_LIMIT) == "numpy"
    assert spawned == [lock]


def test_a_failed_compile_is_not_retried(cold):
    state, lock, spawned = cold
    assert state.backend_for(10) == "numpy"
    lock.unlink()  # the compile ended, and the cache is still empty
    assert state.backend_for(10) == "numba"
    assert state.ready and spawned == [lock]


def test_stale_lock_is_not_a_compile(cold):
    state, lock, _ = cold
    lock.touch()
    old = lock.stat().st_mtime - _cold.STALE_SECONDS - 1
    os.utime(lock, (old, old))
    assert not state._compiling(lock)
    lock.unlink()
    lock.touch()
    assert state._compiling(lock)


@pytest.mark.parametrize(
    "setting", [{"FASTSPLIT_COLD_START": "wait"}, {"FASTSPLIT_BACKEND": "numba"}]
)
def test_settings_that_mean_numba_now(cold, monkeypatch, setting):
    _, _, spawned = cold
    for key, value in setting.items():
        monkeypatch.setenv(key, value)
    assert fastsplit.stratify(np.repeat([1.0, 2.0], 10), chunk_size=5).backend == "numba"
    assert spawned == []


def test_a_lock_whose_process_has_gone_holds_nothing(cold):
    state, lock, _ = cold
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock.write_text(f"{socket.gethostname()} {int(gone.stdout)}\n")
    assert not state._compiling(lock)  # a compile that died: the next call compiles itself
    lock.write_text(f"{socket.gethostname()} {os.getpid()}\n")
    assert state._compiling(lock)  # alive
    lock.write_text(f"another-host {int(gone.stdout)}\n")
    assert state._compiling(lock)  # cannot be checked from here: trusted while young


def test_a_child_reaped_elsewhere_is_not_waited_for(cold):
    state, _, _ = cold
    state.child = os.getpid()  # not a child of this process (as after a fork)
    assert not state._child_running()
    assert state.child is None


def test_batches_and_group_labels_are_served_too(cold):
    """A training loop's epochs on a fresh install: numpy's order, the same batches."""
    _, lock, spawned = cold
    labels = np.repeat([0, 1, 2], [40, 25, 35])
    served = [b.tolist() for b in fastsplit.batches(labels, 10, seed=3)]
    assert spawned == [lock]
    reference = [b.tolist() for b in fastsplit.batches(labels, 10, seed=3, backend="numpy")]
    assert served == reference


def test_a_device_backend_orders_on_the_numpy_host_while_compiling(cold):
    pytest.importorskip("jax")
    import jax.numpy as jnp

    _, lock, spawned = cold
    labels = np.repeat([1.0, 2.0, 3.0], 100)
    s = fastsplit.stratify(labels, jnp.arange(300, dtype=jnp.float32), chunk_size=50)
    assert s.backend == "jax"
    assert s._kernels.host.name == "numpy"  # the order on the host, from the reference
    assert spawned == [lock]
    expected = fastsplit.stratify(labels, np.arange(300, dtype=np.float32), chunk_size=50)
    assert np.array_equal(np.asarray(s.arrays[0]), expected.arrays[0])
