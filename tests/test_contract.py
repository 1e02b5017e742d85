"""Property tests: the ordering contract C1-C7 holds on every backend.

Hypothesis draws sizes, group counts, imbalance, label dtypes, group-major or
shuffled input, chunk sizes from 1 to beyond n and both layouts; the checker in
``contract.py`` verifies every clause from its definition.
"""

from __future__ import annotations

import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastsplit
from contract import check_contract
from fastsplit.errors import SparseGroupWarning


@st.composite
def datasets(draw, max_n=3000, max_groups=500):
    """Labels (float64/float32/int), one float64 and one float32 array, a chunk size."""
    n = draw(st.integers(0, max_n))
    n_groups = draw(st.integers(1, max_groups))
    kind = draw(st.sampled_from(["float64", "float32", "int64", "int16"]))
    if kind.startswith("float"):
        values = np.round(np.linspace(-180.0, 180.0, n_groups) + 0.37, 3).astype(kind)
        values = np.unique(values)
    else:
        values = np.arange(-n_groups // 2, n_groups - n_groups // 2).astype(kind)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    balance = draw(st.sampled_from(["balanced", "imbalanced"]))
    if balance == "balanced":
        weights = np.ones(values.size)
    else:  # one heavy group, the rest 1000x lighter
        weights = np.full(values.size, 1.0)
        weights[rng.integers(values.size)] = 1000.0
    labels = rng.choice(values, size=n, p=weights / weights.sum())
    if draw(st.booleans()):
        labels = np.sort(labels, kind="stable")  # group-major (angle-major) input
    # keep K x G moderate so the oracle's K x G tables stay small
    lowest = max(1, (n * values.size) // 2_000_000)
    chunk_size = draw(
        st.one_of(st.integers(lowest, max(lowest, n + 10)), st.sampled_from([1, 16, 17, 1000]))
    )
    chunk_size = max(chunk_size, lowest)
    arrays = (rng.normal(size=n), rng.normal(size=n).astype(np.float32))
    return labels, arrays, chunk_size


def _stratify(labels, arrays, chunk_size, **kwargs):
    k = -(-labels.shape[0] // chunk_size)
    counts = np.unique(labels, return_counts=True)[1] if labels.size else np.array([])
    sparse = bool(np.any(counts < k))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = fastsplit.stratify(labels, *arrays, chunk_size=chunk_size, **kwargs)
    raised = [w for w in caught if issubclass(w.category, SparseGroupWarning)]
    assert bool(raised) == sparse, "sparse groups must be reported, and only then"
    assert len(caught) == len(raised)
    return s


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
@given(data=datasets())
def test_contract_copy_mode(backend, layout, data):
    labels, arrays, chunk_size = data
    s = _stratify(labels, arrays, chunk_size, backend=backend, layout=layout, mode="copy")
    assert s.mode == "copy" and s.layout == layout and s.backend == backend
    check_contract(labels, arrays, chunk_size, s, layout)


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
@given(data=datasets())
def test_contract_index_mode(backend, layout, data):
    labels, arrays, chunk_size = data
    s = _stratify(labels, arrays, chunk_size, backend=backend, layout=layout, mode="index")
    assert s.arrays is None and s.mode == "index"
    check_contract(labels, (), chunk_size, s, layout)
    # index-mode chunks gather the same values copy mode would hold
    chunks = list(s.chunks())
    assert len(chunks) == s.n_chunks
    if chunks:
        assert np.array_equal(np.concatenate([c[0] for c in chunks]), arrays[0][s.order])


seeds = st.one_of(
    st.integers(0, 2**64 - 1), st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 1000))
)


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
@given(data=datasets(max_n=2000, max_groups=200), seed=seeds)
def test_contract_seeded(backend, layout, data, seed):
    """With a seed, C1-C5 hold for the shuffled ranks, on every backend, in both modes."""
    labels, arrays, chunk_size = data
    s = _stratify(labels, arrays, chunk_size, backend=backend, layout=layout, seed=seed)
    check_contract(labels, arrays, chunk_size, s, layout, seed=seed)
    index = _stratify(
        labels, (), chunk_size, backend=backend, layout=layout, seed=seed, mode="index"
    )
    assert np.array_equal(np.asarray(index.order), np.asarray(s.order))


@given(data=datasets(max_n=20_000, max_groups=60), seed=seeds)
def test_fast_backend_equals_oracle_seeded(fast_backend, data, seed):
    """C6 with a seed: same input and seed, same output on every backend."""
    labels, arrays, chunk_size = data
    for layout in ("strided", "contiguous"):
        ref = _stratify(labels, arrays, chunk_size, backend="numpy", layout=layout, seed=seed)
        got = _stratify(labels, arrays, chunk_size, backend=fast_backend, layout=layout, seed=seed)
        assert np.array_equal(ref.order, np.asarray(got.order))
        for a, b in zip(ref.arrays, got.arrays, strict=True):
            assert np.asarray(b).tobytes() == a.tobytes()


@given(data=datasets(max_n=20_000, max_groups=60))
def test_fast_backend_equals_oracle_bit_for_bit(fast_backend, data):
    """C6 across backends: order, bounds and every copied value are identical."""
    labels, arrays, chunk_size = data
    for layout in ("strided", "contiguous"):
        ref = _stratify(labels, arrays, chunk_size, backend="numpy", layout=layout)
        got = _stratify(labels, arrays, chunk_size, backend=fast_backend, layout=layout)
        assert np.array_equal(ref.bounds, got.bounds)
        assert np.array_equal(ref.order, np.asarray(got.order))
        for a, b in zip(ref.arrays, got.arrays, strict=True):
            assert np.asarray(b).tobytes() == a.tobytes()


@given(data=datasets(max_n=5000, max_groups=40))
def test_deterministic(backend, data):
    """C6: same input, same output."""
    labels, arrays, chunk_size = data
    first = _stratify(labels, arrays, chunk_size, backend=backend)
    again = _stratify(labels.copy(), tuple(a.copy() for a in arrays), chunk_size, backend=backend)
    assert np.array_equal(first.order, again.order)


@given(
    sizes=hnp.arrays(np.int64, st.integers(1, 40), elements=st.integers(0, 400)),
    chunk_size=st.integers(1, 3000),
)
def test_group_sizes_equals_labels(backend, sizes, chunk_size):
    """group_sizes=[...] gives exactly what the equivalent integer labels give."""
    n = int(sizes.sum())
    labels = np.repeat(np.arange(sizes.size), sizes)
    y = np.arange(n, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        by_sizes = fastsplit.stratify(
            None, y, group_sizes=sizes, chunk_size=chunk_size, backend=backend
        )
        by_labels = fastsplit.stratify(labels, y, chunk_size=chunk_size, backend=backend)
    # empty runs are groups with zero points; the others match label for label
    assert np.array_equal(by_sizes.counts[sizes > 0], by_labels.counts)
    assert np.array_equal(by_sizes.order, by_labels.order)
    assert np.array_equal(by_sizes.arrays[0], by_labels.arrays[0])


@pytest.mark.parametrize("n", [0, 1, 2, 17])
@pytest.mark.parametrize("chunk_size", [1, 5, 10**9])
def test_small_cases(backend, n, chunk_size):
    """C7 and the not-an-error list: n = 0, one point, chunk_size 1 and >= n."""
    labels = np.arange(n) % 3 * 1.5
    y = np.arange(n, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        s = fastsplit.stratify(labels, y, chunk_size=chunk_size, backend=backend)
    check_contract(labels, (y,), chunk_size, s)
    if n:
        assert s.n_chunks == -(-n // chunk_size)


def test_one_group_one_chunk_is_identity(backend):
    """C7: a single group in a single chunk keeps the input order."""
    y = np.arange(100.0)
    s = fastsplit.stratify(np.full(100, 7.5), y, chunk_size=100, backend=backend)
    assert np.array_equal(s.order, np.arange(100))
    assert np.array_equal(s.arrays[0], y)


def test_many_sparse_groups_cost_time_linear_in_n(backend):
    """200,000 groups of about two points in 100,000 chunks: the block layout visits only
    the groups in each chunk (it visited all of them in every chunk, 2e10 steps here), and
    the result is still the oracle's."""
    import time

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 200_000, 400_000).astype(np.float64)
    kwargs = {"chunk_size": 4, "mode": "index"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        fastsplit.stratify(labels[:5000], backend=backend, **kwargs)  # compile first
        t0 = time.perf_counter()
        s = fastsplit.stratify(labels, backend=backend, **kwargs)
        seconds = time.perf_counter() - t0
        ref = fastsplit.stratify(labels, backend="numpy", **kwargs)
    assert np.array_equal(np.asarray(s.order), ref.order)
    assert seconds < 30  # linear: about a second; the old O(K x G) layout needed minutes
