"""The numba kernels move words, not numbers: any dtype, any layout, one compiled variant.

Every array is a row of the table of moves (``backends/_numba_moves.py``); these
tests check that bytes arrive exactly (C1: ``a[order]`` bit for bit, dtype kept)
for every kind of array stratify accepts, in copy mode, through ``take`` and
through ``chunks()``, and that new dtypes or more arrays compile nothing new.
"""

from __future__ import annotations

import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastsplit
from fastsplit.errors import SparseGroupWarning

pytest.importorskip("numba")

from fastsplit.backends import _numba_gather, _numba_moves, _numba_scatter

DTYPES = [
    "f8", "f4", "f2", "i8", "i4", "i2", "i1", "u8", "u1", "?", "c16", "c8",
    ">f8", "<i4", "M8[ns]", "m8[s]", "longdouble", "clongdouble",
]  # fmt: skip


def _view(data: np.ndarray, how: str) -> np.ndarray:
    """The same values as a contiguous, strided, reversed or misaligned view."""
    if how == "strided":
        wide = np.empty(2 * data.size, dtype=data.dtype)
        wide[::2] = data
        return wide[::2]
    if how == "reversed":
        return data[::-1].copy()[::-1]
    if how == "misaligned":
        raw = np.zeros(data.nbytes + 1, dtype=np.uint8)
        view = raw[1:].view(data.dtype)  # address 1 mod 16: read as 1-byte words
        view[:] = data
        return view
    return data


@st.composite
def cases(draw):
    n = draw(st.integers(0, 700))
    groups = draw(st.integers(1, 9))
    labels = np.sort(draw(hnp.arrays(np.int8, n, elements=st.integers(0, groups - 1))))
    if draw(st.booleans()):
        labels = draw(st.permutations(labels)) if n < 200 else labels[::-1].copy()
    dtypes = draw(st.lists(st.sampled_from(DTYPES), min_size=1, max_size=6))
    views = [
        draw(st.sampled_from(["contiguous", "strided", "reversed", "misaligned"])) for _ in dtypes
    ]
    seed = draw(st.integers(0, 2**31))
    chunk = draw(st.integers(1, max(1, n + 5)))
    layout = draw(st.sampled_from(["strided", "contiguous"]))
    rng = np.random.default_rng(seed)
    arrays = []
    for dtype, how in zip(dtypes, views, strict=True):
        raw = rng.integers(0, 256, size=n * np.dtype(dtype).itemsize, dtype=np.uint8)
        arrays.append(_view(raw.view(dtype), how))  # any bit pattern: NaNs included
    return np.asarray(labels), arrays, chunk, layout


def _stratify(labels, arrays, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        return fastsplit.stratify(labels, *arrays, backend="numba", **kwargs)


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == np.ascontiguousarray(want).tobytes()


@given(cases())
def test_bytes_arrive_exactly_in_every_path(case):
    labels, arrays, chunk, layout = case
    copy = _stratify(labels, arrays, chunk_size=chunk, layout=layout, mode="copy")
    index = _stratify(labels, arrays, chunk_size=chunk, layout=layout, mode="index")
    order = index.order
    assert np.array_equal(copy.order, order)
    for a, out in zip(arrays, copy.arrays, strict=True):
        _same(out, a[order])
    taken = index.take(*arrays)  # one array: an array; several: a tuple
    taken = taken if len(arrays) > 1 else (taken,)
    assert isinstance(taken, tuple) and len(taken) == len(arrays)
    for a, out in zip(arrays, taken, strict=True):
        _same(out, a[order])
    _same(index.take(arrays[0]), arrays[0][order])  # one array: an array, not a tuple
    for k, chunk_arrays in enumerate(index.chunks()):
        part = order[index.bounds[k] : index.bounds[k + 1]]
        for a, out in zip(arrays, chunk_arrays, strict=True):
            _same(out, a[part])


def test_more_arrays_and_new_dtypes_compile_nothing_new():
    labels = np.repeat(np.arange(5.0), 2000)
    _stratify(labels, [np.arange(10_000.0)], chunk_size=1000)
    _stratify(labels, [np.arange(10_000.0)], chunk_size=1000, mode="index").take(labels)
    kernels = (_numba_scatter._segment, _numba_gather._gather_part)
    before = [len(k.signatures) for k in kernels]
    rng = np.random.default_rng(0)
    many = [rng.random(10_000).astype(d) for d in ("f4", "i2", "c16", "u1", "f8", ">i8")]
    for count in (1, 3, 6):
        s = _stratify(labels, many[:count], chunk_size=1000, mode="copy")
        assert s.diagnostics.compile_seconds < 0.05  # nothing compiled, nothing loaded
        _stratify(labels, many[:count], chunk_size=1000, mode="index").take(*many[:count])
    assert [len(k.signatures) for k in kernels] == before


@pytest.mark.parametrize("index_type", [np.int32, np.int64])
@pytest.mark.parametrize("n_chunks", [1, 3, 40])
def test_lockstep_gather_equals_fancy_indexing(index_type, n_chunks):
    rng = np.random.default_rng(n_chunks)
    n = 50_000
    arrays = (rng.random(n), rng.integers(0, 9, n).astype(np.int16), rng.random(n) + 1j)
    indices = rng.permutation(n).astype(index_type)
    bounds = np.linspace(0, n, n_chunks + 1).astype(np.int64)
    for out, a in zip(_numba_gather.gather(arrays, indices, bounds), arrays, strict=True):
        _same(out, a[indices])
    empty = _numba_gather.gather(arrays, indices[:0])
    assert [e.shape for e in empty] == [(0,)] * 3


def test_word_is_the_widest_that_fits_size_stride_and_address():
    a = np.zeros(10, dtype="c16")
    assert _numba_moves.source(a)[:2] == (8, 2)  # two 8-byte words per point
    assert _numba_moves.source(a[::3])[4] == 6  # step in words
    raw = np.zeros(81, dtype=np.uint8)
    assert _numba_moves.source(raw[1:].view("f8"))[:2] == (1, 8)  # misaligned: bytes
    word, width, _, origin, step, span = _numba_moves.source(np.arange(5.0)[::-1])
    assert (word, width, step, origin, span) == (8, 1, -1, 4, 5)


def test_report_shows_compile_time_apart():
    s = fastsplit.stratify(np.repeat([1.0, 2.0], 50), np.arange(100.0), chunk_size=10)
    d = s.diagnostics
    assert d.compile_seconds >= 0 and d.seconds > 0
    text = s.report()
    assert ("compile" in text) == (d.compile_seconds > 0)


def test_warmup_covers_common_calls():
    fastsplit.warmup("numba")
    rng = np.random.default_rng(1)
    arrays = [rng.random(6000).astype(d) for d in ("f8", "f4", "c16", "i2")]
    for labels in (np.repeat(np.arange(3.0), 2000), np.repeat(np.arange(300.0), 20)):
        for dtype in ("f8", "f4", "i8"):
            lab = labels.astype(dtype)
            s = _stratify(lab, arrays, chunk_size=1000, mode="copy")
            t = _stratify(lab, arrays, chunk_size=1000, mode="index")
            t.take(*arrays)
            assert s.diagnostics.compile_seconds + t.diagnostics.compile_seconds < 0.05
    # labels in random order, and seeded orders (fastsplit.batches), are covered too
    for labels in (np.repeat(np.arange(3.0), 2000), np.repeat(np.arange(300.0), 20)):
        for lab in (labels, rng.permutation(labels)):
            for seed in (None, 1):
                t = _stratify(lab, arrays, chunk_size=1000, mode="index", seed=seed)
                assert t.diagnostics.compile_seconds < 0.05, (lab[:5], seed)


def test_misaligned_labels_are_grouped_like_aligned_ones():
    """Labels read from a byte buffer at an odd offset (as deserialised blocks can be)."""
    labels = np.repeat(np.array([-1.5, 0.0, 2.5, 7.0]), 50)
    raw = np.zeros(labels.nbytes + 1, dtype=np.uint8)
    odd = raw[1:].view(np.float64)
    odd[:] = labels
    a = _stratify(odd, [], chunk_size=40, mode="index")
    b = _stratify(labels, [], chunk_size=40, mode="index")
    assert np.array_equal(a.groups, b.groups) and np.array_equal(a.order, b.order)


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
def test_labels_in_random_order_are_filled_from_member_lists_and_match_the_oracle(layout):
    """Short runs (``short_runs``): the numba backend fills the order place by place."""
    from fastsplit._labels import short_runs

    rng = np.random.default_rng(11)
    labels = rng.choice(np.linspace(-40.0, 40.0, 9), size=60_000)
    assert short_runs(np.searchsorted(np.unique(labels), labels).astype(np.uint8))
    assert not short_runs(np.sort(labels))
    y = rng.normal(size=(60_000, 2))
    kwargs = {"chunk_size": 777, "layout": layout}
    ref = fastsplit.stratify(labels, backend="numpy", mode="index", **kwargs)
    fast = fastsplit.stratify(labels, backend="numba", mode="index", **kwargs)
    copied = fastsplit.stratify(labels, y, backend="numba", mode="copy", **kwargs)
    assert np.array_equal(fast.order, ref.order)
    assert np.array_equal(copied.arrays[0], y[ref.order])


def test_estimate_memory_counts_the_member_lists_of_labels_in_random_order():
    grouped = fastsplit.estimate_memory(10**6, n_groups=23, backend="numba", mode="index")
    mixed = fastsplit.estimate_memory(
        10**6, n_groups=23, backend="numba", mode="index", grouped=False
    )
    assert mixed.peak_bytes - grouped.peak_bytes == 4 * 10**6
    assert mixed.breakdown["members"] == 4 * 10**6
    with pytest.raises(fastsplit.errors.InvalidTypeError, match="grouped"):
        fastsplit.estimate_memory(10, grouped="no")
