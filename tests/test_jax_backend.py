"""The JAX backend: JAX arrays stay on their device, x64 and int32 limits are guarded.

The contract itself (C1-C7, bit-for-bit equality with numpy and numba) runs on
this backend through the ``backend`` fixture in ``conftest.py``; this file covers
what is specific to JAX.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

import fastsplit
from fastsplit.errors import InvalidArgumentError, InvalidTypeError, SparseGroupWarning

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
_jax = pytest.importorskip("fastsplit.backends._jax")

pytestmark = pytest.mark.jax

RNG = np.random.default_rng(11)
PHI = np.sort(RNG.choice(np.linspace(-170.0, 170.0, 7), size=5000))


def _set_x64(value: bool) -> Iterator[None]:
    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", value)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


@pytest.fixture
def x64_off() -> Iterator[None]:
    """JAX's default: 64-bit mode off (other tests may have turned it on)."""
    yield from _set_x64(False)


@pytest.fixture
def x64_on() -> Iterator[None]:
    yield from _set_x64(True)


def _device(a):
    (device,) = a.devices()
    return device


def test_jax_arrays_in_jax_arrays_out_on_the_same_device(x64_off):
    a = jnp.asarray(RNG.normal(size=PHI.size).astype(np.float32))
    b = jnp.arange(PHI.size, dtype=jnp.int32)
    s = fastsplit.stratify(PHI, a, b, chunk_size=700)  # backend="auto" sees JAX arrays
    assert s.backend == "jax" and s.mode == "copy"
    assert isinstance(s.order, np.ndarray)  # the permutation stays on the host
    ref = fastsplit.stratify(PHI, np.asarray(a), np.asarray(b), chunk_size=700, backend="numba")
    for got, want, source in zip(s.arrays, ref.arrays, (a, b), strict=True):
        assert isinstance(got, jax.Array) and _device(got) == _device(source)
        assert got.dtype == source.dtype
        assert np.asarray(got).tobytes() == want.tobytes()
    assert np.array_equal(s.order, ref.order)
    taken = s.take(b)
    assert isinstance(taken, jax.Array) and np.array_equal(np.asarray(taken), ref.arrays[1])
    for chunk, lo, hi in zip(s.chunks(), s.bounds[:-1], s.bounds[1:], strict=True):
        assert all(isinstance(c, jax.Array) for c in chunk)
        assert np.array_equal(np.asarray(chunk[1]), ref.arrays[1][lo:hi])


def test_index_mode_chunks_gather_on_the_device(x64_off):
    a = jnp.asarray(RNG.normal(size=PHI.size).astype(np.float32))
    host = RNG.normal(size=PHI.size).astype(np.float32)
    s = fastsplit.stratify(PHI, a, host, chunk_size=999, mode="index")
    assert s.backend == "jax" and s.arrays is None
    chunks = list(s.chunks())
    assert len(chunks) == s.n_chunks == 6
    for (ca, ch), lo, hi in zip(chunks, s.bounds[:-1], s.bounds[1:], strict=True):
        idx = s.order[lo:hi]
        assert isinstance(ca, jax.Array) and isinstance(ch, jax.Array)  # NumPy moved per chunk
        assert np.array_equal(np.asarray(ca), np.asarray(a)[idx])
        assert np.array_equal(np.asarray(ch), host[idx])


def test_no_data_array_is_copied_to_the_host(x64_off):
    """Under a device-to-host transfer guard the whole API works on JAX data.

    On an accelerator this proves no data array round-trips through the host; on
    a CPU-only machine JAX reports no transfers at all, so it is a smoke test.
    """
    a = jnp.asarray(RNG.normal(size=PHI.size).astype(np.float32))
    with jax.transfer_guard_device_to_host("disallow_explicit"):
        s = fastsplit.stratify(PHI, a, chunk_size=1000)
        s.take(a)
        list(s.chunks())
        list(fastsplit.stratify(PHI, a, chunk_size=1000, mode="index").chunks())


def test_float64_with_x64_off_is_an_error_not_a_downcast(x64_off, monkeypatch):
    # Refused before any work: labels never reach factorize.
    def must_not_run(labels):
        raise AssertionError("factorize ran before the dtype check")

    monkeypatch.setattr(_jax.JaxBackend, "factorize", lambda self, labels: must_not_run(labels))
    for dtype in (np.float64, np.int64, np.uint64, np.complex128):
        with pytest.raises(InvalidTypeError, match="jax_enable_x64") as info:
            fastsplit.stratify(PHI, np.zeros(PHI.size, dtype=dtype), backend="jax")
        message = str(info.value)
        assert "arrays[0]" in message and str(np.dtype(dtype)) in message
        assert "astype" in message and "backend='numba'" in message


def test_float64_with_x64_on_is_exact(x64_on):
    y = RNG.normal(size=PHI.size)
    s = fastsplit.stratify(PHI, y, jnp.asarray(y), chunk_size=512, backend="jax")
    assert s.arrays[0].dtype == np.float64 and s.arrays[1].dtype == np.float64
    assert np.asarray(s.arrays[0]).tobytes() == y[s.order].tobytes()
    assert np.asarray(s.arrays[1]).tobytes() == y[s.order].tobytes()


def test_float32_with_x64_off_matches_numba_bit_for_bit(x64_off):
    y = RNG.normal(size=PHI.size).astype(np.float32)
    for layout in ("strided", "contiguous"):
        got = fastsplit.stratify(PHI, y, chunk_size=333, layout=layout, backend="jax")
        ref = fastsplit.stratify(PHI, y, chunk_size=333, layout=layout, backend="numba")
        assert np.array_equal(got.order, ref.order) and np.array_equal(got.bounds, ref.bounds)
        assert isinstance(got.arrays[0], jax.Array)
        assert np.asarray(got.arrays[0]).tobytes() == ref.arrays[0].tobytes()


def test_types_jax_cannot_hold_stay_numpy_with_their_dtype(x64_off):
    big_endian = RNG.normal(size=PHI.size).astype(">f8")  # no 64-bit mode needed here
    stamps = np.arange(PHI.size).astype("datetime64[s]")
    s = fastsplit.stratify(PHI, big_endian, stamps, chunk_size=800, backend="jax")
    assert isinstance(s.arrays[0], np.ndarray) and s.arrays[0].dtype == np.dtype(">f8")
    assert np.array_equal(s.arrays[0], big_endian[s.order])
    assert np.array_equal(s.arrays[1], stamps[s.order])
    chunks = list(fastsplit.stratify(PHI, stamps, chunk_size=800, mode="index").chunks())
    assert np.array_equal(np.concatenate([c[0] for c in chunks]), stamps[s.order])


def test_index_overflow_is_refused_without_x64(x64_off):
    _jax.check_index_range(2**31 - 1)
    with pytest.raises(InvalidArgumentError, match="64-bit indices"):
        _jax.check_index_range(2**31)
    huge = np.broadcast_to(np.float32(1.0), (2**31,))  # 8 GiB of points, no memory
    with pytest.raises(InvalidArgumentError, match="jax_enable_x64"):
        fastsplit.stratify(np.broadcast_to(0.0, (2**31,)), huge, backend="jax")


def test_index_range_is_fine_with_x64(x64_on):
    _jax.check_index_range(2**31)


def test_second_call_with_same_shapes_does_not_recompile(x64_off):
    y = jnp.asarray(RNG.normal(size=PHI.size).astype(np.float32))
    fastsplit.stratify(PHI, y, y, chunk_size=400)
    compiled = _jax._gather._cache_size()
    again = fastsplit.stratify(PHI[::-1].copy(), y + 1, y, chunk_size=400)
    assert _jax._gather._cache_size() == compiled
    fastsplit.stratify(PHI[:4000], y[:4000], y[:4000], chunk_size=400)  # new shape: compiles
    assert _jax._gather._cache_size() == compiled + 1
    # index mode: chunks differ by at most one point, so at most two slice kernels
    index = fastsplit.stratify(PHI, y, chunk_size=400, mode="index")
    list(index.chunks())
    sliced = _jax._gather_slice._cache_size()
    list(index.chunks())
    assert _jax._gather_slice._cache_size() == sliced
    assert np.asarray(again.arrays[1]).shape == (PHI.size,)


def test_jax_labels_come_to_the_host(x64_off):
    labels = jnp.asarray(PHI.astype(np.float32))
    y = jnp.arange(PHI.size, dtype=jnp.float32)
    s = fastsplit.stratify(labels, y, chunk_size=1000)
    ref = fastsplit.stratify(PHI.astype(np.float32), np.asarray(y), chunk_size=1000)
    assert s.backend == "jax" and np.array_equal(s.order, ref.order)
    assert fastsplit.plan(labels, chunk_size=1000, backend="jax").n_chunks == s.n_chunks


def test_empty_and_sparse(x64_off):
    s = fastsplit.stratify(np.array([]), jnp.zeros(0, jnp.float32), backend="jax")
    assert s.arrays[0].shape == (0,) and list(s.chunks()) == []
    labels = np.concatenate([np.zeros(300), np.ones(2)])
    with pytest.warns(SparseGroupWarning):
        s = fastsplit.stratify(labels, jnp.arange(302.0, dtype=jnp.float32), chunk_size=50)
    assert np.array_equal(np.sort(np.asarray(s.arrays[0])), np.arange(302.0))


_TWO_DEVICES = r"""
import json, numpy as np, jax, jax.numpy as jnp, fastsplit, warnings
d0, d1 = jax.devices()
phi = np.repeat([-20.0, 0.0, 35.0], 700)
a = jax.device_put(jnp.arange(2100, dtype=jnp.float32), d1)
b = jax.device_put(jnp.arange(2100, dtype=jnp.int32), d0)
s = fastsplit.stratify(phi, a, b, np.arange(2100, dtype=np.float32), chunk_size=300)
ref = fastsplit.stratify(phi, np.arange(2100.0, dtype=np.float32), chunk_size=300, backend="numpy")
i = fastsplit.stratify(phi, a, chunk_size=300, mode="index")
print(json.dumps({
    "devices": [str(next(iter(x.devices()))) for x in s.arrays],
    "expected": [str(d1), str(d0), str(d1)],
    "equal": all(np.array_equal(np.asarray(x), ref.arrays[0]) for x in s.arrays),
    "chunk_devices": sorted({str(next(iter(c[0].devices()))) for c in i.chunks()}),
}))
"""


def test_each_array_stays_on_its_own_device():
    """Two (virtual CPU) devices: outputs live where their inputs live."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, "-c", _TWO_DEVICES], capture_output=True, text=True, env=env, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # NumPy input joins the first JAX input's device
    assert result["devices"] == result["expected"]
    assert result["equal"]
    assert result["chunk_devices"] == [result["expected"][0]]


def test_library_never_changes_x64(x64_off):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        fastsplit.stratify(PHI, jnp.ones(PHI.size), chunk_size=100)
    assert jax.config.read("jax_enable_x64") is False
