"""The numba backend splits large inputs into one segment per thread; results must not
depend on how many threads there are (C6), and must equal the oracle at that size."""

from __future__ import annotations

import numpy as np
import pytest

import fastsplit

numba = pytest.importorskip("numba")

N = 300_000  # above the per-thread minimum (65,536 points), so segments are used


@pytest.fixture(scope="module", params=["group-major", "shuffled", "runs"])
def labels(request):
    rng = np.random.default_rng(11)
    values = np.linspace(-170.0, 170.0, 23)
    if request.param == "group-major":
        return np.repeat(values, N // 23 + 1)[:N]
    if request.param == "shuffled":
        return rng.choice(values, size=N)
    return np.repeat(rng.choice(values, size=N // 50), 50)  # many short runs


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
def test_thread_count_does_not_change_the_result(labels, layout):
    y = np.arange(N, dtype=np.float64)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            s = fastsplit.stratify(labels, y, chunk_size=20_000, layout=layout, backend="numba")
            results.append((s.order.copy(), s.arrays[0].copy()))
    finally:
        numba.set_num_threads(before)
    ref = fastsplit.stratify(
        labels, chunk_size=20_000, layout=layout, backend="numpy", mode="index"
    )
    for order, values in results:
        assert np.array_equal(order, ref.order)
        assert np.array_equal(values, y[ref.order])


def test_segments_fit_8_bit_codes_but_their_union_does_not():
    """150 groups in each half, 300 in all: codes must widen after the merge."""
    labels = np.repeat(np.arange(300.0), N // 300)
    s = fastsplit.stratify(labels, chunk_size=1_000, backend="numba", mode="index")
    ref = fastsplit.stratify(labels, chunk_size=1_000, backend="numpy", mode="index")
    assert s.groups.size == 300
    assert s._grouping.codes.dtype == np.uint16
    assert np.array_equal(s.order, ref.order)


def test_nan_in_a_later_segment_reports_its_global_index():
    from fastsplit.errors import InvalidLabelsError

    labels = np.repeat([1.0, 2.0, 3.0], N // 3)
    labels[N - 7] = np.nan
    with pytest.raises(InvalidLabelsError, match=f"first at index {N - 7}"):
        fastsplit.stratify(labels, backend="numba")
