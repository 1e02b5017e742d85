"""2-D arrays: stratify and take reorder rows of (n, d) arrays on every backend.

A row is one point: the result equals ``a[order]`` bit for bit (contract C1) for
C-ordered, row-strided, reversed, Fortran-ordered and column-sliced inputs, in
copy and index mode, and the memory models count a row's bytes.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import fastsplit
from fastsplit.errors import InvalidShapeError

N = 4000
RNG = np.random.default_rng(8)
LABELS = RNG.choice(np.linspace(-60.0, 60.0, 7), size=N)
BASE = RNG.normal(size=(N, 6))
LAYOUTS = {
    "C": BASE,
    "row-strided": RNG.normal(size=(2 * N, 3))[::2],
    "reversed": BASE[::-1],
    "Fortran": np.asfortranarray(BASE),
    "column-slice": BASE[:, ::2],
    "one-column": BASE[:, 2:3],
    "no-columns": np.empty((N, 0)),
    "int8": (10 * BASE).astype(np.int8),
    "complex": BASE[:, :2] + 1j,
}


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("mode", ["copy", "index"])
@pytest.mark.parametrize("seed", [None, 4])
def test_rows_move_together(backend, name, mode, seed):
    a = LAYOUTS[name]
    if backend == "jax" and a.dtype.kind == "c":
        a = a.astype(np.complex64)
    elif backend == "jax" and a.dtype.itemsize == 8:
        a = a.astype(np.float32)
    y = np.arange(N, dtype=np.int32)
    s = fastsplit.stratify(LABELS, a, y, chunk_size=600, backend=backend, mode=mode, seed=seed)
    expected = a[s.order]
    outputs = s.arrays if mode == "copy" else s.take(a, y)
    for out, want in zip(outputs, (expected, y[s.order]), strict=True):
        out = np.asarray(out)
        assert out.shape == want.shape and out.dtype == want.dtype
        assert out.tobytes() == want.tobytes()
    assert np.array_equal(np.asarray(s.take(a)), expected)
    chunks = [np.asarray(c[0]) for c in s.chunks()]
    assert np.array_equal(np.concatenate(chunks), expected)
    assert all(c.shape[1:] == a.shape[1:] for c in chunks)


def test_every_backend_gives_the_oracle_rows(fast_backend):
    a = LAYOUTS["Fortran"].astype(np.float32)
    ref = fastsplit.stratify(LABELS, a, chunk_size=500, backend="numpy", seed=1)
    got = fastsplit.stratify(LABELS, a, chunk_size=500, backend=fast_backend, seed=1)
    assert np.asarray(got.arrays[0]).tobytes() == ref.arrays[0].tobytes()


def test_labels_are_never_2d_and_arrays_not_3d():
    with pytest.raises(InvalidShapeError, match="labels must be one-dimensional"):
        fastsplit.stratify(LABELS.reshape(-1, 2), chunk_size=10)
    with pytest.raises(InvalidShapeError, match=r"arrays\[0\].*1-D or 2-D.*reshape"):
        fastsplit.stratify(LABELS, np.zeros((N, 2, 2)), chunk_size=10)
    s = fastsplit.stratify(LABELS, chunk_size=1000, mode="index")
    with pytest.raises(InvalidShapeError, match="1-D or 2-D"):
        s.take(np.zeros((N, 2, 2)))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("mode", ["copy", "index"])
@pytest.mark.parametrize("name", ["C", "Fortran"])
def test_memory_model_counts_rows(backend, mode, name):
    if backend == "numba":
        pytest.importorskip("numba")
    n = 400_000
    labels = np.repeat(np.linspace(-10.0, 10.0, 9), -(-n // 9))[:n]
    rows = np.random.default_rng(1).normal(size=(n, 5))
    rows = np.asfortranarray(rows) if name == "Fortran" else rows
    kwargs = {"chunk_size": 20_000, "backend": backend, "mode": mode}
    fastsplit.stratify(labels[:5000], rows[:5000], **kwargs)  # compile first
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fastsplit.stratify(labels, rows, **kwargs)
        measured = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    estimate = fastsplit.estimate_memory(
        n, itemsize=[5 * 8], n_groups=9, chunk_size=20_000, backend=backend, mode=mode
    )
    error = (estimate.peak_bytes - measured) / measured
    assert abs(error) <= 0.10, (estimate.breakdown, measured, f"{error:+.1%}")
