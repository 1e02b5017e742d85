"""An independent checker of the ordering contract C1-C7 (docs/contract.md).

Written from the contract's text, not from any backend's code: it looks only at
the labels, the chunk size and the result. With a seed, the within-group ranks
that C4 and C5 speak of are the shuffled ones: the checker derives them from the
seed with the array statement of the permutation (``fastsplit._shuffle.permute_ranks``,
checked against the scalar one the numba backend compiles in test_seed.py): the
place of rank j holds the point of rank sigma(j), so that point's shuffled rank
is j. The placement of every point is still checked exactly, not only "some order".
"""

from __future__ import annotations

import numpy as np

from fastsplit._shuffle import permutation_keys, permute_ranks

BLOCK = 16


def reference_groups(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ascending unique labels, per-point group index, counts), -0.0 folded onto 0.0."""
    canon = labels + labels.dtype.type(0) if labels.dtype.kind == "f" else labels
    groups, codes, counts = np.unique(canon, return_inverse=True, return_counts=True)
    return groups, codes.reshape(-1), counts


def check_contract(labels, arrays, chunk_size, s, layout="strided", seed=None) -> None:
    labels = np.asarray(labels)
    n = labels.shape[0]
    groups, codes, counts = reference_groups(labels)
    order = np.asarray(s.order)
    bounds = np.asarray(s.bounds)

    # C7: nothing to do is an empty result with bounds [0]
    if n == 0:
        assert order.size == 0
        assert bounds.tolist() == [0]
        return

    # C1: a permutation; copies equal a[order] bit for bit with the same dtype
    assert order.dtype == (np.int32 if n < 2**31 else np.int64)
    assert np.array_equal(np.sort(order), np.arange(n))
    if s.arrays is not None:
        assert len(s.arrays) == len(arrays)
        for a, out in zip(arrays, s.arrays, strict=True):
            out = np.asarray(out)
            assert out.dtype == a.dtype
            assert out.shape == (n, *np.shape(a)[1:])
            assert np.asarray(a)[order].tobytes() == out.tobytes()

    # C2: K = ceil(n / C) chunks of floor or ceil of n / K points, never above C
    k = -(-n // chunk_size)
    assert bounds.dtype == np.int64
    assert bounds.shape == (k + 1,)
    assert bounds[0] == 0 and bounds[-1] == n
    sizes = np.diff(bounds)
    assert set(np.unique(sizes).tolist()) <= {n // k, -(-n // k)}
    assert sizes.max() <= chunk_size

    assert np.array_equal(np.asarray(s.groups), groups.astype(np.asarray(s.groups).dtype))
    assert np.array_equal(s.counts, counts)

    code_out = codes[order]
    # within-group rank of every input point (stable: input order)
    by_group = np.argsort(codes, kind="stable")
    start = np.cumsum(counts) - counts
    rank = np.empty(n, dtype=np.int64)
    rank[by_group] = np.arange(n) - start[codes[by_group]]
    if seed is not None:  # the seed shuffles the ranks; everything below applies to them
        # the place of rank j gets the point of rank sigma(j): that point's shuffled rank is j
        keys = permutation_keys(seed if isinstance(seed, tuple) else (seed,), counts)
        sigma = permute_ranks(rank, counts[codes], keys[codes])  # sigma(rank) of every point
        shuffled = np.empty(n, dtype=np.int64)
        shuffled[by_group[start[codes] + sigma]] = rank
        rank = shuffled
    rank_out = rank[order]
    g_count = groups.size
    previous_end = np.zeros(g_count, dtype=np.int64)
    for c in range(k):
        lo, hi = bounds[c], bounds[c + 1]
        chunk_codes = code_out[lo:hi]
        per_group = np.bincount(chunk_codes, minlength=g_count)
        # C3: floor or ceil of c_g / K points of every group in every chunk
        assert np.all((per_group == counts // k) | (per_group == -(-counts // k)))
        size = hi - lo
        for g in np.flatnonzero(per_group):
            where = np.flatnonzero(chunk_codes == g)
            ranks = rank_out[lo:hi][where]
            ranks_sorted = np.sort(ranks)
            # C4: strided = ranks stepping by K; contiguous = one consecutive run
            if layout == "strided":
                assert np.all(np.diff(ranks_sorted) == k)
            else:
                assert np.all(np.diff(ranks_sorted) == 1)
                assert ranks_sorted[0] == previous_end[g]
                previous_end[g] = ranks_sorted[-1] + 1
            # inside a chunk a group's points keep their (shuffled) rank order
            assert np.array_equal(ranks, ranks_sorted)
            # C5: no window of W positions without a point of g
            window = BLOCK * (-(-size // where.size) + g_count)
            gaps = np.diff(np.concatenate(([-1], where, [size])))
            assert gaps.max() <= window, (gaps.max(), window)
