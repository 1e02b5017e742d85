"""fastsplit.dask on a real cluster: 2 worker processes with a memory limit.

The tasks are pickled to other processes, run there and send their pieces to
each other; the result must still be the in-memory one bit for bit, and errors
raised on a worker must reach the caller as the same fastsplit errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastsplit
from fastsplit.errors import InvalidLabelsError, SparseGroupWarning

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
fsd = pytest.importorskip("fastsplit.dask")

pytestmark = pytest.mark.dask

PHI = np.repeat(np.linspace(-170.3, 170.9, 23), 6007)  # angle-major, 23 angles
RNG = np.random.default_rng(12)
G2 = RNG.normal(1.0, 0.1, PHI.size)
T1 = RNG.integers(0, 1001, PHI.size).astype(np.float32)


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
def test_cluster_result_is_the_in_memory_one(on_cluster, layout):
    index = np.arange(PHI.size)
    ref = fastsplit.stratify(PHI, G2, T1, index, chunk_size=9000, layout=layout)
    with distributed.get_task_stream(on_cluster) as stream:
        s = fsd.stratify(
            da.from_array(PHI, chunks=20_000),
            da.from_array(G2, chunks=20_000),
            da.from_array(T1, chunks=33_333),
            da.from_array(index, chunks=20_000),
            chunk_size=9000,
            layout=layout,
            chunks_per_block=4,
        )
        values = dask.compute(*s.arrays)
    assert np.array_equal(s.bounds, ref.bounds)
    for got, expected in zip(values, ref.arrays, strict=True):
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
    ran = {(t["key"][0] if isinstance(t["key"], tuple) else t["key"]) for t in stream.data}
    workers = {t["worker"] for t in stream.data}
    assert any(key.startswith("fastsplit-combine") for key in ran)
    assert any(key.startswith("count_block") for key in ran)
    assert len(workers) == 2  # the work was shared, and pieces crossed processes


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
def test_cluster_seeded_result_is_the_in_memory_seeded_one(on_cluster, layout):
    """Several seeds, int and (seed, epoch); a sparse group; labels in random order."""
    labels = np.append(PHI[::7], [999.0, 999.0])  # 999: fewer points than chunks
    RNG.shuffle(labels)
    index = np.arange(labels.size)
    for seed in (3, (3, 0), (3, 1)):
        with pytest.warns(SparseGroupWarning, match="1 group"):
            ref = fastsplit.stratify(labels, index, chunk_size=900, layout=layout, seed=seed)
        with pytest.warns(SparseGroupWarning, match="1 group"):
            s = fsd.stratify(
                da.from_array(labels, chunks=5000),
                da.from_array(index, chunks=5000),
                chunk_size=900,
                layout=layout,
                seed=seed,
                chunks_per_block=3,
            )
        (got,) = dask.compute(*s.arrays)
        assert np.array_equal(s.bounds, ref.bounds)
        assert got.tobytes() == ref.arrays[0].tobytes()
        assert 999.0 in s.sparse_groups


def test_chunks_feed_a_loop_block_by_block(on_cluster):
    phi = da.from_array(PHI, chunks=40_000)
    s = fsd.stratify(phi, phi, G2, chunk_size=20_000, chunks_per_block=2)
    ref = fastsplit.stratify(PHI, PHI, G2, chunk_size=20_000)
    seen = 0
    for (phi_k, g2_k), (_, expected) in zip(s.chunks(), ref.chunks(), strict=True):
        assert np.unique(phi_k).size == 23  # every chunk holds every angle
        assert np.array_equal(g2_k, expected)
        seen += 1
    assert seen == ref.n_chunks


def test_worker_errors_reach_the_caller(on_cluster):
    labels = PHI.copy()
    labels[50_001] = np.inf
    with pytest.raises(InvalidLabelsError, match=r"first at index 50001 .*input block 2"):
        fsd.stratify(da.from_array(labels, chunks=20_000))
