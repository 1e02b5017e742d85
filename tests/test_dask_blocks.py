"""The per-block kernels of fastsplit.dask, without dask (docs/scaling-out.md).

Routing every input block and placing every output block's pieces must rebuild
the in-memory permutation exactly (the numpy oracle's ``order``), for any cut
into blocks; the numba kernels must equal the numpy ones step by step.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastsplit._labels import Grouping, code_dtype
from fastsplit._plan import ChunkPlan
from fastsplit._shuffle import permutation_keys, permute_ranks, unpermute_ranks
from fastsplit.backends import block_kernels, get_backend
from fastsplit.errors import InvalidArgumentError

KERNELS = ["numpy", "numba"]


@st.composite
def problems(draw, max_n=4000):
    n = draw(st.integers(1, max_n))
    n_groups = draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = rng.pareto(1.0, n_groups) + 1e-3
    codes = rng.choice(n_groups, size=n, p=weights / weights.sum())
    if draw(st.booleans()):
        codes = np.sort(codes)
    present, codes = np.unique(codes, return_inverse=True)
    codes = codes.astype(code_dtype(present.size))
    counts = np.bincount(codes, minlength=present.size).astype(np.int64)
    lowest = max(1, n * present.size // 200_000)
    chunk_size = max(lowest, draw(st.integers(1, n + 3)))
    layout = draw(st.sampled_from(["strided", "contiguous"]))
    seed = draw(st.sampled_from([None, (0,), (7, 1), (2**64 - 1,)]))
    plan = ChunkPlan(n, chunk_size, layout, np.arange(present.size), counts, seed=seed)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=8)))
    return codes, plan, cuts, draw(st.integers(1, 5))


def order_by_blocks(name: str, codes: np.ndarray, plan: ChunkPlan, cuts, per_block: int):
    """The dask route in plain numpy: route each block, place each output block.

    With a seed, each point travels with its shuffled rank (``shuffled_ranks``).
    """
    kernels = block_kernels(name)
    edges = np.append(np.arange(0, plan.n_chunks, per_block), plan.n_chunks)
    pieces: list[list[tuple[np.ndarray, ...]]] = [[] for _ in edges[1:]]
    first = np.zeros(plan.n_groups, dtype=np.int64)
    offset = 0
    for block in np.split(codes, cuts):
        ranks = None if plan.seed is None else kernels.shuffled_ranks(block, first, plan)
        dest, per_chunk = kernels.route(block, first.copy(), plan, ranks)
        perm = np.full(block.size, -1)
        perm[dest] = np.arange(block.size)
        assert np.array_equal(np.sort(perm), np.arange(block.size))
        assert per_chunk.sum() == block.size
        ends = np.concatenate(([0], np.cumsum(per_chunk)))
        moved = np.zeros(block.size, np.int64) if ranks is None else ranks[perm]
        for o, (k0, k1) in enumerate(pairwise(edges)):
            lo, hi = ends[k0], ends[k1]
            pieces[o].append(
                (block[perm][lo:hi], per_chunk[k0:k1], offset + perm[lo:hi], moved[lo:hi])
            )
        first += np.bincount(block, minlength=plan.n_groups)
        offset += block.size
    order = np.full(plan.n, -1, dtype=np.int64)
    for o, mine in enumerate(pieces):
        dest = kernels.place(
            np.concatenate([p[0] for p in mine]),
            np.stack([p[1] for p in mine]),
            plan,
            int(edges[o]),
            None if plan.seed is None else np.concatenate([p[3] for p in mine]),
        )
        order[plan.bounds[edges[o]] + dest] = np.concatenate([p[2] for p in mine])
    return order


@pytest.mark.parametrize("name", KERNELS)
@given(problem=problems())
def test_blocks_rebuild_the_in_memory_order(name, problem):
    codes, plan, cuts, per_block = problem
    expected = get_backend("numpy").order(Grouping(codes, plan.groups, plan.counts), plan)
    assert np.array_equal(order_by_blocks(name, codes, plan, cuts, per_block), expected)


@given(problem=problems(max_n=20_000))
def test_numba_kernels_equal_the_numpy_ones(problem):
    codes, plan, cuts, per_block = problem
    numpy_kernels, numba_kernels = block_kernels("numpy"), block_kernels("numba")
    first = np.zeros(plan.n_groups, dtype=np.int64)
    for block in np.split(codes, cuts):
        ranks = None
        if plan.seed is not None:
            ranks = numpy_kernels.shuffled_ranks(block, first, plan)
            assert np.array_equal(ranks, numba_kernels.shuffled_ranks(block, first, plan))
        ref = numpy_kernels.route(block, first, plan, ranks)
        got = numba_kernels.route(block, first, plan, ranks)
        assert np.array_equal(ref[0], got[0]) and np.array_equal(ref[1], got[1])
        first = first + np.bincount(block, minlength=plan.n_groups)
    pieces = np.split(codes, cuts)  # any codes will do: place ranks them as they come
    k1 = min(per_block, plan.n_chunks)
    wanted = plan.counts_matrix[:k1]
    counts = np.zeros((len(pieces), k1), dtype=np.int64)
    counts[-1] = wanted.sum(axis=1)  # everything in the last piece, in chunk order
    chunk_of = np.repeat(np.arange(k1), counts[-1])
    group_of = np.concatenate([np.repeat(np.arange(plan.n_groups), row) for row in wanted])
    arrival = np.lexsort((np.random.default_rng(0).random(chunk_of.size), chunk_of))
    arrived = group_of[arrival].astype(codes.dtype)
    assert np.array_equal(
        numpy_kernels.place(arrived, counts, plan, 0), numba_kernels.place(arrived, counts, plan, 0)
    )
    # with shuffled ranks: m-th point of (chunk k, group g) has rank slot + m K or start + m
    m = np.concatenate([np.arange(a) for a in wanted.ravel()]).astype(np.int64)
    g = group_of.astype(np.int64)
    if plan.layout == "strided":
        rank = (chunk_of - plan.shift[g]) % plan.n_chunks + m * plan.n_chunks
    else:
        rank = plan.contiguous_starts[chunk_of, g] + m
    ref = numpy_kernels.place(arrived, counts, plan, 0, rank[arrival])
    assert np.array_equal(ref, numba_kernels.place(arrived, counts, plan, 0, rank[arrival]))
    assert np.array_equal(np.sort(ref), np.arange(ref.size))  # every place taken once


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", ["f8", ">f8", "f4", "i2", "u1", "?", "c16", "M8[ns]", "i8"])
def test_scatter_moves_the_bytes_of_any_dtype(name, dtype):
    values = np.arange(50).astype(dtype)[::-1]  # a reversed view: not contiguous
    dest = np.random.default_rng(1).permutation(50)
    out = np.empty(50, dtype=values.dtype)
    block_kernels(name).scatter(values, dest, out)
    expected = np.empty_like(out)
    expected[dest] = values
    assert out.tobytes() == expected.tobytes()


def test_a_device_backend_has_no_block_kernels():
    with pytest.raises(InvalidArgumentError, match="'numba' or 'numpy'"):
        block_kernels("jax")


@pytest.mark.parametrize("count", [1, 2, 3, 16, 17, 1000, 2**16 + 1])
def test_the_inverse_shuffle_undoes_the_shuffle(count):
    """dask routes each point by sigma^-1 of its rank: it must invert sigma exactly."""
    counts = np.array([count, 5])
    keys = permutation_keys((9, 4), counts)
    rank = np.arange(count, dtype=np.int64)
    group = np.zeros(count, dtype=np.int64)
    shuffled = permute_ranks(rank, counts[group], keys[group])
    assert np.array_equal(unpermute_ranks(shuffled, counts[group], keys[group]), rank)
    assert np.array_equal(
        permute_ranks(
            unpermute_ranks(rank, counts[group], keys[group]), counts[group], keys[group]
        ),
        rank,
    )
