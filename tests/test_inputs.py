"""Unusual but valid inputs (docs/user-guide.md, "Bad input"): handled exactly, never errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastsplit
from contract import check_contract
from fastsplit.errors import SparseGroupWarning

RNG = np.random.default_rng(7)
PHI = np.sort(RNG.choice([-30.5, 0.0, 12.25, 90.0], size=4000))


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def test_inputs_are_never_written(backend):
    labels = _readonly(PHI)
    arrays = tuple(_readonly(RNG.normal(size=PHI.size)) for _ in range(3))
    before = [a.copy() for a in arrays]
    for mode in ("copy", "index"):
        s = fastsplit.stratify(labels, *arrays, chunk_size=333, mode=mode, backend=backend)
        check_contract(labels, arrays if mode == "copy" else (), 333, s)
        list(s.chunks())
    for a, b in zip(arrays, before, strict=True):
        assert np.array_equal(a, b)


def test_non_contiguous_and_big_endian_arrays(backend):
    base = RNG.normal(size=2 * PHI.size)
    strided = base[::2]  # a view with stride 16 bytes
    big_endian = RNG.normal(size=PHI.size).astype(">f8")
    ints = RNG.integers(-5, 5, size=PHI.size).astype(">i4")
    small = RNG.normal(size=PHI.size) > 0
    arrays = (strided, big_endian, ints, small, RNG.normal(size=PHI.size).astype(np.complex128))
    s = fastsplit.stratify(PHI[::-1][::-1], *arrays, chunk_size=500, backend=backend)
    check_contract(PHI, arrays, 500, s)
    assert s.arrays[1].dtype == np.dtype(">f8")
    assert np.array_equal(s.arrays[1], big_endian[s.order])


def test_non_contiguous_and_big_endian_labels(backend):
    doubled = np.repeat(PHI, 2)[::2]
    assert not doubled.flags.c_contiguous
    s1 = fastsplit.stratify(doubled, chunk_size=300, backend=backend, mode="index")
    s2 = fastsplit.stratify(PHI.astype(">f8"), chunk_size=300, backend=backend, mode="index")
    s3 = fastsplit.stratify(PHI, chunk_size=300, backend=backend, mode="index")
    assert np.array_equal(s1.order, s3.order)
    assert np.array_equal(s2.order, s3.order)
    assert s2.groups.tolist() == [-30.5, 0.0, 12.25, 90.0]


def test_negative_zero_is_zero(backend):
    labels = np.array([0.0, -0.0, 1.0, -0.0, 0.0, 1.0] * 50)
    s = fastsplit.stratify(labels, chunk_size=10, backend=backend, mode="index")
    assert s.groups.tolist() == [0.0, 1.0]
    assert s.counts.tolist() == [200, 100]
    assert not np.signbit(s.groups).any()


def test_float32_labels_keep_their_type(backend):
    labels = PHI.astype(np.float32)
    s = fastsplit.stratify(labels, chunk_size=300, backend=backend)
    assert s.groups.dtype == np.float32
    check_contract(labels, (), 300, s)


def test_integer_and_bool_labels(backend):
    codes = RNG.integers(0, 5, size=1000).astype(np.uint16)
    s = fastsplit.stratify(codes, chunk_size=100, backend=backend)
    assert s.groups.tolist() == [0, 1, 2, 3, 4]
    flags = RNG.random(1000) > 0.3
    s = fastsplit.stratify(flags, chunk_size=100, backend=backend)
    assert s.counts.sum() == 1000 and s.groups.size == 2


def test_extreme_integer_labels(backend):
    labels = np.array([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max] * 25)
    s = fastsplit.stratify(labels, chunk_size=10, backend=backend, mode="index")
    assert s.groups.tolist() == sorted(set(labels.tolist()))
    assert s.counts.tolist() == [25, 25, 25, 25]


def test_more_groups_than_chunk_size(backend):
    labels = np.arange(300) % 250  # 250 groups, chunks of 20: most groups are sparse
    with pytest.warns(SparseGroupWarning, match="fewer points than the 15 chunks"):
        s = fastsplit.stratify(labels, chunk_size=20, backend=backend)
    check_contract(labels, (), 20, s)
    assert s.sparse_groups.size == 250
    assert s.diagnostics.groups_per_chunk_min < 250
    assert "SPARSE" in s.report()


def test_many_groups_wider_codes(backend):
    labels = RNG.permutation(np.arange(70_000) % 66_000)  # > 65536 groups: 32-bit codes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        s = fastsplit.stratify(
            labels.astype(np.float64), chunk_size=35_000, backend=backend, mode="index"
        )
    assert s.groups.size == 66_000
    assert np.array_equal(np.sort(s.order), np.arange(labels.size))


def test_decimals_merges_near_equal_angles(backend):
    noisy = PHI + RNG.normal(scale=1e-9, size=PHI.size)
    assert np.unique(noisy).size > 4
    s = fastsplit.stratify(noisy, chunk_size=500, decimals=3, backend=backend, mode="index")
    assert s.groups.tolist() == [-30.5, 0.0, 12.25, 90.0]
    assert s.counts.sum() == PHI.size


def test_atol_merges_chains_and_labels_by_smallest(backend):
    labels = np.array([1.0, 1.05, 1.1, 2.0, 5.0, 5.04] * 10)
    s = fastsplit.stratify(labels, chunk_size=6, atol=0.06, backend=backend, mode="index")
    assert s.groups.tolist() == [1.0, 2.0, 5.0]
    assert s.counts.tolist() == [30, 10, 20]
    ref = fastsplit.stratify(
        np.array([1.0, 1.0, 1.0, 2.0, 5.0, 5.0] * 10), chunk_size=6, backend=backend, mode="index"
    )
    assert np.array_equal(s.order, ref.order)


def test_chunk_size_at_least_n_is_one_chunk(backend):
    s = fastsplit.stratify(PHI, chunk_size=PHI.size, backend=backend)
    assert s.n_chunks == 1 and s.bounds.tolist() == [0, PHI.size]
    s = fastsplit.stratify(PHI, chunk_size=10**12, backend=backend)
    assert s.n_chunks == 1
