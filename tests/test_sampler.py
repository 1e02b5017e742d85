"""fastsplit.batches: coverage, balance, the split across ranks, epochs and drop_last.

(Named test_sampler, not test_batches: sorting after test_cli keeps JAX, which its
jax-backend case starts, out of the process before test_cli forks with resource limits.)
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastsplit
from fastsplit.errors import InvalidArgumentError, InvalidTypeError, SparseGroupWarning


@st.composite
def setups(draw):
    n_groups = draw(st.integers(1, 12))
    sizes = draw(st.lists(st.integers(0, 300), min_size=n_groups, max_size=n_groups))
    labels = np.repeat(np.arange(n_groups) * 1.5, sizes)
    if draw(st.booleans()):
        labels = np.random.default_rng(draw(st.integers(0, 99))).permutation(labels)
    batch_size = draw(st.integers(1, max(1, labels.size + 5)))
    world_size = draw(st.integers(1, 5))
    seed = draw(st.one_of(st.none(), st.integers(0, 2**32)))
    return labels, batch_size, world_size, seed, draw(st.integers(0, 50)), draw(st.booleans())


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        return fastsplit.batches(*args, **kwargs)


@given(setup=setups())
def test_every_epoch_covers_balances_and_splits_evenly(setup):
    labels, batch_size, world_size, seed, epoch, drop_last = setup
    n = labels.size
    ranks = [
        _quiet(
            labels,
            batch_size,
            seed=seed,
            epoch=epoch,
            drop_last=drop_last,
            rank=r,
            world_size=world_size,
        )
        for r in range(world_size)
    ]
    per_rank = [list(b) for b in ranks]
    k = -(-n // batch_size) if n else 0
    lengths = {len(b) for b in ranks} | {len(p) for p in per_rank}
    expected = k // world_size if drop_last else -(-k // world_size)
    assert lengths == {expected}  # every rank the same number of batches
    everything = [i for p in per_rank for i in p]
    assert all(i.dtype == np.int64 and i.ndim == 1 for i in everything)
    seen = np.concatenate(everything) if everything else np.empty(0, np.int64)
    groups, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    for batch in everything:
        # floor/ceil of n / K points, floor/ceil of c_g / K of every group
        assert batch.size in (n // k, -(-n // k))
        assert batch.size <= batch_size
        share = np.bincount(codes[batch], minlength=groups.size)
        assert np.all((share == counts // k) | (share == -(-counts // k)))
    if drop_last:
        assert seen.size == np.unique(seen).size  # nothing twice
        assert len(everything) == world_size * (k // world_size)
    else:
        assert np.array_equal(np.unique(seen), np.arange(n))  # every point, at least once
        padding = world_size * expected - k
        # padding deals the epoch's batches again from the first, whole: nothing else repeats
        one_rank = list(_quiet(labels, batch_size, seed=seed, epoch=epoch))
        padded = one_rank + [one_rank[j % k] for j in range(padding)] if k else []
        dealt = sorted(tuple(x.tolist()) for x in everything)
        assert dealt == sorted(tuple(x.tolist()) for x in padded)


def test_an_epoch_is_stratify_with_the_epoch_in_the_seed():
    labels = np.random.default_rng(0).choice(
        [-40.0, 0.0, 40.0, 85.0], size=5000, p=[0.5, 0.3, 0.19, 0.01]
    )
    b = fastsplit.batches(labels, 256, seed=11, epoch=3)
    s = fastsplit.stratify(labels, chunk_size=256, seed=(11, 3), mode="index")
    assert np.array_equal(np.concatenate(list(b)), s.order)
    assert [x.size for x in b] == np.diff(s.bounds).tolist()


def test_epochs_reshuffle_and_repeat():
    labels = np.repeat(np.arange(4), [400, 300, 200, 100])
    b = fastsplit.batches(labels, 50, seed=1)
    first = [x.copy() for x in b]
    assert all(np.array_equal(x, y) for x, y in zip(first, b, strict=True))  # same epoch again
    b.set_epoch(1)
    second = list(b)
    assert not any(np.array_equal(x, y) for x, y in zip(first, second, strict=True))
    again = fastsplit.batches(labels, 50, seed=1, epoch=1)  # same (seed, epoch): same batches
    assert all(np.array_equal(x, y) for x, y in zip(second, again, strict=True))
    b.set_epoch(0)
    assert all(np.array_equal(x, y) for x, y in zip(first, b, strict=True))


def test_without_a_seed_every_epoch_is_the_same():
    labels = np.repeat(np.arange(3), 100)
    b = fastsplit.batches(labels, 30)
    first = list(b)
    b.set_epoch(7)
    assert all(np.array_equal(x, y) for x, y in zip(first, b, strict=True))


def test_ranks_get_disjoint_round_robin_batches_and_padding_repeats_the_first():
    labels = np.repeat(np.arange(2), 50)  # K = 10 batches of 10 over 3 ranks: 4 each
    got = [list(fastsplit.batches(labels, 10, seed=0, rank=r, world_size=3)) for r in range(3)]
    assert [len(x) for x in got] == [4, 4, 4]
    all_batches = list(fastsplit.batches(labels, 10, seed=0))
    for r in range(3):
        for i, batch in enumerate(got[r]):
            assert np.array_equal(batch, all_batches[(r + 3 * i) % 10])
    dropped = [
        list(fastsplit.batches(labels, 10, seed=0, rank=r, world_size=3, drop_last=True))
        for r in range(3)
    ]
    assert [len(x) for x in dropped] == [3, 3, 3]


def test_every_backend_gives_the_same_batches(backend):
    labels = np.random.default_rng(4).choice(np.arange(5.0), size=3000)
    ref = list(fastsplit.batches(labels, 128, seed=2, backend="numpy"))
    got = list(fastsplit.batches(labels, 128, seed=2, backend=backend))
    assert all(np.array_equal(x, y) for x, y in zip(ref, got, strict=True))


def test_sparse_groups_are_reported_once():
    labels = np.repeat([0, 1], [995, 5])
    with pytest.warns(SparseGroupWarning, match="batch_size"):
        b = fastsplit.batches(labels, 100, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(b)  # iterating does not warn again
        b.set_epoch(1)
        list(b)


def test_empty_labels_give_no_batches():
    b = fastsplit.batches(np.array([], dtype=float), 8, seed=0)
    assert len(b) == 0 and list(b) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, InvalidArgumentError, "batch_size"),
        ({"batch_size": 2.5}, InvalidTypeError, "batch_size"),
        ({"rank": 2, "world_size": 2}, InvalidArgumentError, "rank"),
        ({"world_size": 0}, InvalidArgumentError, "world_size"),
        ({"rank": -1}, InvalidArgumentError, "rank"),
        ({"drop_last": "yes"}, InvalidTypeError, "drop_last"),
        ({"epoch": -1}, InvalidArgumentError, "epoch"),
        ({"seed": -3}, InvalidArgumentError, "seed"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    arguments = {"batch_size": 4, **kwargs}
    with pytest.raises(error, match=match):
        fastsplit.batches(np.zeros(20), **arguments)
    with pytest.raises(InvalidArgumentError, match="epoch"):
        fastsplit.batches(np.zeros(20), 4).set_epoch(-2)


def test_a_pytorch_batch_sampler():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    labels = np.repeat(np.arange(3), [60, 30, 10])
    data = TensorDataset(torch.arange(100), torch.as_tensor(labels))
    b = fastsplit.batches(labels, 20, seed=0)
    loader = DataLoader(data, batch_sampler=b)
    assert len(loader) == 5
    for _, group in loader:
        assert torch.bincount(group).tolist() == [12, 6, 2]


@pytest.mark.parametrize("seed", [None, 4])
def test_a_sampler_reused_over_epochs_equals_a_fresh_stratify(backend, seed):
    """What the epochs share is kept (member lists, block layout), and changes nothing."""
    labels = np.random.default_rng(7).choice(
        np.arange(5.0), size=20_000, p=[0.4, 0.3, 0.2, 0.09, 0.01]
    )
    b = fastsplit.batches(labels, 300, seed=seed, backend=backend)
    kept = None
    for epoch in range(3):
        b.set_epoch(epoch)
        fresh = fastsplit.stratify(
            labels,
            chunk_size=300,
            seed=None if seed is None else (seed, epoch),
            mode="index",
            backend=backend,
        )
        assert np.array_equal(np.concatenate(list(b)), fresh.order)
        if backend == "numba" and seed is not None:
            members = b._grouping.cache["members"]
            assert kept is None or members is kept  # built once, for every epoch
            kept = members


def test_copies_and_pickles_keep_the_batches():
    import copy
    import pickle

    labels = np.random.default_rng(5).permutation(np.repeat(np.arange(3), [50, 30, 20]))
    b = fastsplit.batches(labels, 10, seed=3, epoch=2)
    first = list(b)
    for other in (copy.deepcopy(b), pickle.loads(pickle.dumps(b))):
        assert all(np.array_equal(x, y) for x, y in zip(first, other, strict=True))
    assert not pickle.loads(pickle.dumps(b))._grouping.cache  # the shared lists stay behind


def test_the_benchmark_runs_and_its_methods_agree(monkeypatch, capsys):
    """benchmarks/batches.py (not installed: imported from the checkout) at a tiny size."""
    import sys
    from pathlib import Path

    pytest.importorskip("numba")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    from benchmarks import batches as bench

    names = [m.name for m in bench.methods(20_000, 256)]
    assert names[0] == "index" and "batches-epoch" in names
    monkeypatch.setattr(
        sys, "argv", ["batches", "--n", "20000", "--batch-size", "256", "--repeat", "1"]
    )
    bench.main()
    out = capsys.readouterr().out
    assert "index-seeded" in out and "x index" in out
