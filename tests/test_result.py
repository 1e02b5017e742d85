"""The Stratified result, the plan and the diagnostics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastsplit
from fastsplit.errors import SparseGroupWarning

RNG = np.random.default_rng(3)


def test_plan_moves_no_data_and_matches_stratify(backend):
    labels = np.sort(RNG.choice([-10.0, 0.0, 10.0, 20.0], size=997, p=[0.1, 0.2, 0.3, 0.4]))
    p = fastsplit.plan(labels, chunk_size=100, backend=backend)
    s = fastsplit.stratify(labels, chunk_size=100, backend=backend, mode="index")
    assert p.n_chunks == s.n_chunks == 10
    assert np.array_equal(p.bounds, s.bounds)
    assert p.counts_matrix.shape == (10, 4)
    assert np.array_equal(p.counts_matrix.sum(axis=0), p.counts)
    assert np.array_equal(p.counts_matrix.sum(axis=1), p.chunk_sizes)
    codes = np.searchsorted(s.groups, labels)[s.order]
    for k in range(s.n_chunks):  # the matrix is what the chunks really hold
        chunk = codes[s.bounds[k] : s.bounds[k + 1]]
        assert np.array_equal(np.bincount(chunk, minlength=4), p.counts_matrix[k])


def test_plan_with_group_sizes():
    p = fastsplit.plan(None, group_sizes=[5, 0, 7], chunk_size=4)
    assert p.n == 12 and p.n_chunks == 3
    assert p.sparse_groups.tolist() == [1]


def test_take_and_codes(backend):
    labels = np.repeat([3.0, 1.0, 2.0], [40, 30, 30])  # not ascending: codes follow groups
    s = fastsplit.stratify(labels, chunk_size=25, backend=backend)
    assert s.groups.tolist() == [1.0, 2.0, 3.0]
    assert np.array_equal(s.take(labels), labels[s.order])
    assert np.array_equal(s.groups[s.codes], labels[s.order])
    assert len(s) == 100


def test_chunks_in_both_modes_agree(backend):
    labels = np.sort(RNG.choice(np.arange(5.0), size=1234))
    a, b = RNG.normal(size=1234), RNG.integers(0, 9, size=1234)
    copy = fastsplit.stratify(labels, a, b, chunk_size=100, backend=backend, mode="copy")
    index = fastsplit.stratify(labels, a, b, chunk_size=100, backend=backend, mode="index")
    pairs = list(zip(copy.chunks(), index.chunks(), strict=True))
    assert len(pairs) == 13
    for (ca, cb), (ia, ib) in pairs:
        assert np.array_equal(ca, ia) and np.array_equal(cb, ib)
        assert ia.dtype == a.dtype and ib.dtype == b.dtype
    # copy mode computes the permutation only when asked, and it is the same one
    assert np.array_equal(copy.order, index.order)


def test_diagnostics_and_report(backend):
    labels = np.repeat(np.linspace(-90, 90, 23), 1000)
    s = fastsplit.stratify(labels, labels, chunk_size=2000, backend=backend)
    d = s.diagnostics
    assert (d.n_points, d.n_groups, d.n_chunks) == (23_000, 23, 12)
    assert d.groups_per_chunk_min == 23 and d.min_coverage == 1.0
    assert d.full_coverage_chunks == 12 and d.sparse_groups == []
    assert d.chunk_size_max - d.chunk_size_min <= 1
    assert d.seconds > 0 and d.throughput > 0
    assert d.memory_bytes >= 23_000 * 8  # the copy (+ the permutation if one was built)
    text = s.report()
    for needle in ("23,000", "groups per chunk  >= 23 of 23", "copy mode", "none"):
        assert needle in text
    assert d.as_dict()["backend"] == backend
    assert "Stratified(n=23000" in repr(s)


def test_diagnostics_count_sparse_coverage(backend):
    labels = np.concatenate([np.zeros(1000), np.ones(3)])  # group 1 in only 3 of 10 chunks
    with pytest.warns(SparseGroupWarning):
        s = fastsplit.stratify(labels, chunk_size=101, backend=backend)
    d = s.diagnostics
    assert d.sparse_groups == [1.0]
    assert d.groups_per_chunk_min == 1 and d.full_coverage_chunks == 3
    with pytest.warns(SparseGroupWarning):
        again = fastsplit.stratify(labels, labels, chunk_size=101, backend=backend)
    present = [np.unique(chunk[0]).size for chunk in again.chunks()]
    assert sum(p == 2 for p in present) == 3


def test_empty_input(backend):
    s = fastsplit.stratify(np.array([]), np.array([]), backend=backend)
    assert s.bounds.tolist() == [0] and s.order.size == 0 and s.n_chunks == 0
    assert list(s.chunks()) == [] and s.arrays[0].size == 0
    assert "points            0" in s.report()


def test_warmup_runs(backend):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastsplit.warmup(backend)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    labels = np.concatenate([np.repeat([0.0, 45.0, 90.0], 300), [135.0]])
    with pytest.warns(SparseGroupWarning):
        s = fastsplit.stratify(labels, chunk_size=100)
    path = tmp_path / "composition.png"
    fig = s.plot(str(path))
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (4, 10)  # groups x chunks
    assert np.ma.getmaskarray(image)[3].sum() == 9  # the one-point group misses 9 chunks
    import matplotlib.pyplot as plt

    plt.close(fig)
