"""``fastsplit.choose_strategy`` on dask arrays reads the labels' counts and nothing else.

The data arrays (x, y, sigma) are judged from their shapes and dtypes: blocks that
raise when computed prove it. The labels are counted once per block, as
``fastsplit.dask.stratify`` counts them.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastsplit
from fastsplit.errors import InvalidLabelsError, InvalidShapeError, LengthMismatchError

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
pytest.importorskip("fastsplit.dask")

pytestmark = pytest.mark.dask


def line(x, *, slope, offset):
    return slope * x + offset


def _never_read(block):
    if block.size:  # dask calls it once on an empty block for the meta
        raise AssertionError("the dry run computed a block of a data array")
    return block


def _unreadable(n, chunks):
    return da.from_array(np.ones(n), chunks=chunks).map_blocks(_never_read, dtype=np.float64)


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def test_dry_run_reads_only_the_labels_counts():
    labels = np.repeat([10.0, 20.0, 30.0, 40.0], [400, 300, 297, 3])  # 40.0: sparse
    counted = []

    def counting(block):
        if block.size:  # dask calls it once on an empty block for the meta
            counted.append(block.size)
        return block

    groups = da.from_array(labels, chunks=250).map_blocks(counting, dtype=np.float64)
    x, y, sigma = _unreadable(1000, 250), _unreadable(1000, 250), _unreadable(1000, 250)
    choice = fastsplit.choose_strategy(
        line,
        x,
        y,
        groups=groups,
        sigma=sigma,
        p0={"slope": 1.0, "offset": 0.0},
        per_group=["offset"],
        chunk_size=100,
    )
    assert sorted(counted) == [250] * 4  # each label block read once
    assert choice.strategy == "chunked" and "4 blocks" in choice.reason
    assert (choice.n_points, choice.n_groups, choice.n_parameters) == (1000, 4, 5)
    assert (choice.chunk_size, choice.n_chunks) == (100, 12)  # each block: 100, 100, 50
    assert choice.sparse_groups == [40.0]
    assert choice.memory["chunked"] > 0


def test_dry_run_keeps_each_blocks_own_chunks_and_a_tuple_x():
    labels = da.from_array(np.tile([1, 2, 3], 300), chunks=(400, 0, 500))  # an empty block
    x = (_unreadable(900, (400, 0, 500)), _unreadable(900, 300))
    choice = fastsplit.choose_strategy(
        lambda x, *, a: a * x[0] + x[1],
        x,
        _unreadable(900, 450),
        groups=labels,
        p0={"a": 1.0},
        per_group=(),
        chunk_size=10**6,
    )
    # chunk length: the largest block (y's blocks win: 450, 450)
    assert (choice.chunk_size, choice.n_chunks, choice.n_groups) == (450, 2, 3)


def test_dry_run_still_refuses_what_the_fit_would():
    ok = {"p0": {"slope": 1.0, "offset": 0.0}, "per_group": ["offset"]}
    labels = np.repeat([1.0, 2.0], 50)
    labels[60] = np.nan
    with pytest.raises(InvalidLabelsError, match="first at index 60"):
        fastsplit.choose_strategy(
            line,
            _unreadable(100, 30),
            _unreadable(100, 30),
            groups=da.from_array(labels, chunks=30),
            **ok,
        )
    with pytest.raises(LengthMismatchError, match="groups has 99 points"):
        fastsplit.choose_strategy(
            line, _unreadable(100, 30), _unreadable(100, 30), groups=da.zeros(99, chunks=30), **ok
        )
    with pytest.raises(InvalidShapeError, match="x must be 1-D"):
        fastsplit.choose_strategy(
            line, da.zeros((100, 2)), _unreadable(100, 30), groups=da.zeros(100, chunks=30), **ok
        )
