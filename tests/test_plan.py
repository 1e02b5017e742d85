"""The chunk plan and the in-chunk placement rule, on their own (docs/contract.md, C2-C5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastsplit._plan import BLOCK, ChunkPlan, place_blocks

shares = st.lists(st.integers(0, 200), min_size=1, max_size=40).map(
    lambda xs: np.asarray(xs, dtype=np.int64)
)


def _by_definition(share: np.ndarray) -> np.ndarray:
    """Block starts straight from the rule's words: sort blocks by (i / a, group), lay out."""
    blocks = [(i / a, g, i) for g, a in enumerate(share.tolist()) for i in range(-(-a // BLOCK))]
    placed = sorted(blocks)
    start = {}
    p = 0
    for _, g, i in placed:
        start[g, i] = p
        p += min(BLOCK, int(share[g]) - BLOCK * i)
    return np.array([start[g, i] for _, g, i in blocks], dtype=np.int64)


def _run(rule, share: np.ndarray) -> tuple[int, np.ndarray]:
    total = int((-(-share // BLOCK)).sum())
    starts = np.full(max(total, 1), -1, dtype=np.int64)
    scratch = np.zeros((4, total + 1), dtype=np.int64)
    keys = np.zeros(2 * total + 2)
    n = rule(share, starts, scratch, keys)
    return int(n), starts[:total]


@given(shares)
def test_place_blocks_is_the_rule_as_written(share):
    n, starts = _run(place_blocks, share)
    assert n == int((-(-share // BLOCK)).sum())
    assert np.array_equal(starts, _by_definition(share))


@given(shares)
def test_compiled_rule_agrees_with_the_python_one(share):
    pytest.importorskip("numba")
    from fastsplit.backends._numba_scatter import _place_blocks

    assert np.array_equal(_run(_place_blocks, share)[1], _run(place_blocks, share)[1])


def test_blocks_tile_the_chunk_exactly():
    share = np.array([100, 3, 47, 0, 16])
    _, starts = _run(place_blocks, share)
    sizes = [min(BLOCK, a - BLOCK * i) for a in share.tolist() for i in range(-(-a // BLOCK))]
    covered = np.zeros(share.sum(), dtype=int)
    for s, size in zip(starts, sizes, strict=True):
        covered[s : s + size] += 1
    assert covered.tolist() == [1] * int(share.sum())


@given(
    st.lists(st.integers(0, 500), min_size=1, max_size=30),
    st.integers(1, 700),
)
def test_plan_counts_are_floor_or_ceil_and_add_up(counts, chunk_size):
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    plan = ChunkPlan(n, chunk_size, "strided", np.arange(counts.size), counts)
    if n == 0:
        assert plan.n_chunks == 0 and plan.bounds.tolist() == [0]
        return
    k = -(-n // chunk_size)
    m = plan.counts_matrix
    assert m.shape == (k, counts.size)
    assert np.array_equal(m.sum(axis=0), counts)
    assert np.all((m == counts // k) | (m == -(-counts // k)))
    assert np.array_equal(np.diff(plan.bounds), m.sum(axis=1))
    assert plan.chunk_sizes.max() - plan.chunk_sizes.min() <= 1


def test_plan_from_group_sizes_needs_no_code_per_point():
    """2**33 points as run lengths: a plan is O(groups), so this allocates next to nothing."""
    import tracemalloc

    import fastsplit

    tracemalloc.start()
    try:
        plan = fastsplit.plan(None, group_sizes=[2**31] * 4, chunk_size=10**6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert plan.n == 2**33 and plan.n_chunks == 8590
    assert peak < 10 * 2**20


@given(st.lists(st.integers(1, 40), min_size=1, max_size=300), st.integers(5, 400))
def test_diagnostics_coverage_matches_the_counts_matrix(counts, chunk_size):
    """Coverage is computed without a loop over groups; it must equal the K x G matrix's."""
    from fastsplit._result import Diagnostics

    counts = np.asarray(counts, dtype=np.int64)
    plan = ChunkPlan(int(counts.sum()), chunk_size, "strided", np.arange(counts.size), counts)
    d = Diagnostics.from_plan(plan, 1.0, 0, "index", "numpy")
    present = (plan.counts_matrix > 0).sum(axis=1)
    assert d.groups_per_chunk_min == present.min()
    assert d.full_coverage_chunks == int((present == counts.size).sum())


def test_stratify_a_plan_reuses_its_grouping(monkeypatch):
    """plan first, choose the chunk size, then stratify the plan: labels are grouped once."""
    import fastsplit
    from fastsplit.backends import get_backend

    phi = np.repeat([-2.5, 0.0, 7.5], [400, 250, 350])
    y = np.arange(1000.0)
    counted = fastsplit.plan(phi, chunk_size=100)
    backend = get_backend("numpy")
    monkeypatch.setattr(
        type(backend), "factorize", lambda self, labels: pytest.fail("labels grouped again")
    )
    s = fastsplit.stratify(counted, y, chunk_size=300, backend="numpy")
    monkeypatch.undo()
    ref = fastsplit.stratify(phi, y, chunk_size=300, backend="numpy")
    assert s.n_chunks == 4 and np.array_equal(s.order, ref.order)
    assert np.array_equal(s.arrays[0], ref.arrays[0])
    sized = fastsplit.plan(None, group_sizes=[400, 250, 350], chunk_size=100)
    assert np.array_equal(
        fastsplit.stratify(sized, y, chunk_size=300).arrays[0],
        y[fastsplit.stratify(None, y, group_sizes=[400, 250, 350], chunk_size=300).order],
    )
    with pytest.raises(ValueError, match="do not pass them again"):
        fastsplit.stratify(counted, y, decimals=2)
    with pytest.raises(ValueError, match="the plan has 1000 points"):
        fastsplit.stratify(counted, y[:10])
