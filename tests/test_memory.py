"""Memory policy: the byte model matches tracemalloc, and what does not fit is refused early."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tracemalloc
import warnings
from dataclasses import replace

import numpy as np
import pytest

import fastsplit
from fastsplit import _memory
from fastsplit.backends._interface import Inputs, Shape
from fastsplit.errors import InvalidArgumentError, MemoryBudgetError

N = 1_500_000
N_GROUPS = 23
PHI = np.repeat(np.linspace(-170.0, 170.0, N_GROUPS), -(-N // N_GROUPS))[:N]


def _traced_peak(fn):
    """(result, peak bytes allocated during ``fn`` beyond what was live before)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    shuffled = PHI.copy()
    rng.shuffle(shuffled)
    arrays = (
        *(rng.normal(size=N) for _ in range(2)),
        rng.normal(size=N).astype("f4"),
        (rng.normal(size=N) + 1j).astype("c16"),  # 16-byte items are scattered as 2 words
    )
    return {"major": PHI, "shuffled": shuffled}, arrays


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("layout", ["strided", "contiguous"])
@pytest.mark.parametrize("mode", ["copy", "index"])
@pytest.mark.parametrize("order", ["major", "shuffled"])
def test_estimate_matches_tracemalloc_within_10_percent(data, backend, layout, mode, order):
    if backend == "numba":
        pytest.importorskip("numba")
    labels, arrays = data
    labels = labels[order]
    kwargs = {"chunk_size": 50_000, "layout": layout, "backend": backend, "mode": mode}
    fastsplit.stratify(labels[:5000], *(a[:5000] for a in arrays), **kwargs)  # compile first
    s, measured = _traced_peak(lambda: fastsplit.stratify(labels, *arrays, **kwargs))
    estimate = fastsplit.estimate_memory(
        N,
        itemsize=[a.dtype.itemsize for a in arrays],
        n_groups=N_GROUPS,
        chunk_size=50_000,
        layout=layout,
        backend=backend,
        mode=mode,
        grouped=order == "major",
    )
    assert s.mode == estimate.mode == mode
    error = (estimate.peak_bytes - measured) / measured
    assert abs(error) <= 0.10, (estimate.breakdown, measured, f"{error:+.1%}")


def test_estimate_fields_and_auto_choice():
    big = fastsplit.estimate_memory(
        3_000_000, n_arrays=4, itemsize=8, n_groups=23, backend="numba", available=2**34
    )
    assert big.mode == "copy" and big.safe
    assert big.peak_bytes == big.copy_bytes == sum(big.breakdown.values())
    assert big.breakdown["outputs"] == 3_000_000 * 32 and big.breakdown["codes"] == 3_000_000
    assert big.data_bytes == 3_000_000 * 32
    # index mode: int32 order + 1-byte codes + ~n/16 int32 block table (section 9: <= 6 B/pt)
    assert 5.25 <= big.index_bytes / 3_000_000 <= 6.0
    assert big.budget_bytes == int(0.7 * 2**34)
    middle = fastsplit.estimate_memory(
        3_000_000, n_arrays=4, n_groups=23, backend="numba", available=int(big.index_bytes * 2)
    )
    assert middle.mode == "index" and middle.safe
    small = fastsplit.estimate_memory(3_000_000, n_arrays=4, backend="numba", available=10**6)
    assert small.mode == "index" and not small.safe
    assert "NOT safe" in small.report()
    # explicit mode: no fallback, just the verdict
    assert not fastsplit.estimate_memory(
        3_000_000, n_arrays=4, mode="copy", backend="numba", available=int(big.index_bytes * 2)
    ).safe


def test_code_width_and_64bit_order_are_modelled():
    wide = fastsplit.estimate_memory(10**6, n_groups=70_000, backend="numba", mode="index")
    narrow = fastsplit.estimate_memory(10**6, n_groups=200, backend="numba", mode="index")
    assert wide.breakdown["codes"] == 4 * 10**6 and narrow.breakdown["codes"] == 10**6
    huge = fastsplit.estimate_memory(2**31, backend="numba", mode="index", available=2**50)
    assert huge.breakdown["order"] == 8 * 2**31


def test_numpy_oracle_needs_far_more_than_numba():
    numba = fastsplit.estimate_memory(10**6, backend="numba", mode="index")
    numpy = fastsplit.estimate_memory(10**6, backend="numpy", mode="index")
    assert numpy.index_bytes > 8 * numba.index_bytes


def test_jax_model_adds_device_buffers_on_cpu():
    jax_copy = fastsplit.estimate_memory(10**6, n_arrays=2, itemsize=4, backend="jax")
    assert jax_copy.breakdown["outputs"] == 8 * 10**6
    assert jax_copy.breakdown["device_order"] == 4 * 10**6
    assert jax_copy.device_available_bytes is None  # a CPU device shares host memory


class _FakeGPU:
    platform = "gpu"

    def __init__(self, free: int) -> None:
        self.free = free

    def memory_stats(self) -> dict[str, int]:
        return {"bytes_limit": self.free + 100, "bytes_in_use": 100}


def test_accelerator_memory_is_checked_separately():
    shape = Shape.balanced(10**6, 3, 100_000, "strided")
    kwargs = {
        "mode": "auto",
        "backend": "jax",
        "code_bytes": 1,
        "max_memory_fraction": 0.7,
        "available": (2**40, "given"),
    }
    on_gpu = Inputs(itemsizes=(4, 4), device_arrays=True, device_free=2**30)
    roomy = _memory.estimate(shape, inputs=on_gpu, **kwargs)
    assert roomy.mode == "copy" and roomy.safe
    assert roomy.device_bytes == 4 * 10**6 + 8 * 10**6  # order + outputs, on the device
    assert "outputs" not in roomy.breakdown  # not counted against host memory
    tight = _memory.estimate(shape, inputs=replace(on_gpu, device_free=10 * 10**6), **kwargs)
    assert tight.mode == "index" and tight.safe


@pytest.mark.jax
def test_free_device_memory_is_read_from_the_device():
    _jax = pytest.importorskip("fastsplit.backends._jax")
    assert _jax.device_free_memory(None) is None
    assert _jax.device_free_memory(_FakeGPU(12345)) == 12345


def test_available_memory_is_the_least_limit():
    psutil = pytest.importorskip("psutil")
    available, source = _memory.available_memory()
    assert 0 < available <= psutil.virtual_memory().available
    assert source


def test_rlimit_is_seen():
    code = (
        "import resource, json\n"
        "from fastsplit._memory import available_memory\n"
        "resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, resource.RLIM_INFINITY))\n"
        "print(json.dumps(available_memory()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    available, source = json.loads(out.stdout)
    if source != "RLIMIT_AS":
        pytest.skip(f"a tighter limit applies here: {source}")
    assert available < 8 * 2**30


def test_too_big_is_refused_before_allocating_anything():
    """2**40 points (8 TiB of float64) exist only as broadcast views: zero bytes."""
    n = 2**40
    labels = np.broadcast_to(np.float64(1.5), (n,))
    y = np.broadcast_to(np.float64(0.0), (n,))
    for mode in ("auto", "index", "copy"):
        with pytest.raises(MemoryBudgetError) as info:
            fastsplit.stratify(labels, y, y, mode=mode)
        assert isinstance(info.value, MemoryError)
    message = str(info.value)
    for needle in ("1,099,511,627,776 points", "TiB", "Available", "mode='index'", "memmap"):
        assert needle in message, needle
    _, peak = _traced_peak(lambda: _refused(labels, y))
    assert peak < 256 * 1024  # nothing of size n was allocated


def _refused(labels, y):
    with pytest.raises(MemoryBudgetError):
        fastsplit.stratify(labels, y)


@pytest.fixture(autouse=True)
def check_every_size(monkeypatch):
    """These tests use small inputs on purpose: check them as if they were large."""
    monkeypatch.setattr(_memory, "UNCHECKED_BYTES", 0)


@pytest.fixture
def tight(monkeypatch):
    """Pretend only ``limit`` bytes are available."""

    def set_limit(limit: int) -> None:
        monkeypatch.setattr(_memory, "available_memory", lambda: (limit, "test limit"))

    return set_limit


def test_auto_falls_back_to_index_mode(tight, caplog):
    y = np.arange(N, dtype=np.float64)
    copy_needs = fastsplit.estimate_memory(N, n_arrays=2, n_groups=N_GROUPS, backend="numba")
    tight(int(copy_needs.index_bytes / 0.7 * 1.5))  # index fits, copy does not
    with caplog.at_level(logging.INFO, logger="fastsplit"):
        s = fastsplit.stratify(PHI, y, y, chunk_size=100_000, backend="numba")
    assert s.mode == "index" and s.arrays is None
    assert "using index mode" in caplog.text
    chunk = next(iter(s.chunks()))
    assert np.array_equal(chunk[0], y[s.order[: s.bounds[1]]])
    with pytest.raises(MemoryBudgetError, match="mode='index'"):
        fastsplit.stratify(PHI, y, y, mode="copy", backend="numba")
    # the check can be turned off, or given more room
    assert fastsplit.stratify(PHI, y, y, check_memory_safety=False).mode == "copy"
    assert fastsplit.stratify(PHI, y, y, max_memory_fraction=1.0, mode="index").mode == "index"


def test_exact_check_after_grouping_stops_before_the_outputs(tight):
    """Labels that turn out to need wide codes: refused after grouping, before the copy."""
    labels = np.arange(N, dtype=np.float64) % 70_000  # 4-byte codes, unknown beforehand
    ys = (np.zeros(N), np.zeros(N), np.zeros(N))
    kwargs = {"n_arrays": 3, "mode": "copy", "backend": "numba", "chunk_size": 100_000}
    lower = fastsplit.estimate_memory(N, **kwargs)
    exact = fastsplit.estimate_memory(N, n_groups=70_000, **kwargs)
    assert exact.peak_bytes > 1.2 * lower.peak_bytes
    tight(int((lower.peak_bytes + exact.peak_bytes) / 2 / 0.7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fastsplit.stratify(labels[:1000], *(y[:1000] for y in ys), check_memory_safety=False)
    _, peak = _traced_peak(lambda: _refused_copy(labels, ys))
    assert peak < exact.breakdown["outputs"]  # grouping ran; no output was allocated


def _refused_copy(labels, ys):
    with pytest.raises(MemoryBudgetError, match="mode='index'"):
        fastsplit.stratify(labels, *ys, mode="copy", backend="numba")


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, "0.7", True, float("nan")])
def test_bad_fraction(fraction):
    with pytest.raises(InvalidArgumentError, match="max_memory_fraction"):
        fastsplit.stratify(PHI[:10], max_memory_fraction=fraction)
    with pytest.raises(InvalidArgumentError, match="max_memory_fraction"):
        fastsplit.estimate_memory(10, max_memory_fraction=fraction)


@pytest.mark.parametrize(
    "kwargs",
    [{"n": -1}, {"n": 2.5}, {"n": 10, "n_groups": 0}, {"n": 10, "itemsize": 0}],
)
def test_bad_estimate_arguments(kwargs):
    with pytest.raises(InvalidArgumentError):
        fastsplit.estimate_memory(**kwargs)


def test_empty_needs_nothing():
    e = fastsplit.estimate_memory(0, n_arrays=3)
    assert e.peak_bytes == e.copy_bytes == e.index_bytes == 0 and e.safe


@pytest.mark.jax
def test_stratify_checks_accelerator_memory_for_jax(monkeypatch):
    """When the data's device reports little free memory, auto falls back to index mode."""
    jnp = pytest.importorskip("jax.numpy")
    y = jnp.arange(200_000, dtype=jnp.float32)
    labels = np.repeat([0.0, 1.0], 100_000)
    assert fastsplit.stratify(labels, y, chunk_size=10_000).mode == "copy"
    _jax = pytest.importorskip("fastsplit.backends._jax")
    monkeypatch.setattr(_jax, "device_free_memory", lambda device: 2 * 200_000 * 4)
    s = fastsplit.stratify(labels, y, chunk_size=10_000)
    assert s.mode == "index" and s.backend == "jax"  # outputs would not fit on the device
    with pytest.raises(MemoryBudgetError, match="On the accelerator"):
        fastsplit.stratify(labels, y, chunk_size=10_000, mode="copy")


def test_small_requests_skip_the_memory_check(monkeypatch):
    """Below UNCHECKED_BYTES the check (psutil, limits: ~0.25 ms) is not worth running."""
    monkeypatch.setattr(_memory, "UNCHECKED_BYTES", 64 * 2**20)
    calls = []
    monkeypatch.setattr(_memory, "available_memory", lambda: calls.append(1) or (2**40, "x"))
    y = np.arange(1000.0)
    fastsplit.stratify(np.repeat([1.0, 2.0], 500), y, chunk_size=100, backend="numba")
    assert calls == []
    n_big = _memory.UNCHECKED_BYTES // 24 + 1  # one float64 array: 8 + 16 bytes a point
    fastsplit.stratify(
        None, np.zeros(n_big), group_sizes=[n_big], chunk_size=10**9, mode="index", backend="numba"
    )
    assert calls
