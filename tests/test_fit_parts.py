"""The parts of fastsplit.fit that need neither nlsq nor JAX: the strategy choice,
the strategy table against the config, the shared numerical helpers."""

from __future__ import annotations

import numpy as np
import pytest

from fastsplit._fit._choose import Choice, choose
from fastsplit._fit._common import at_bound, listing, unit_diagonal
from fastsplit._fit._model import make_layout
from fastsplit._fit._strategies import STRATEGIES
from fastsplit.config import STRATEGIES as CONFIG_STRATEGIES
from fastsplit.config import load_config


def test_config_strategies_are_auto_and_the_table():
    assert CONFIG_STRATEGIES == ("auto", *STRATEGIES)


def _layout(n_groups=3):
    return make_layout({"slope": 1.0, "offset": 0.0}, ["offset"], n_groups)


def _choose(requested="auto", counts=(2000, 2000, 5), chunk_size=500, config=None):
    counts = np.asarray(counts)
    return choose(
        requested,
        groups=np.arange(1.0, counts.size + 1),
        counts=counts,
        chunk_size=chunk_size,
        layout=_layout(counts.size),
        settings=load_config(config),
    )


def test_one_chunk_in_memory_is_full():
    c = _choose(counts=(100, 100, 100), chunk_size=1000)
    assert (c.strategy, c.chunk_size) == ("full", 1000)
    assert "one chunk" in c.reason


def test_many_chunks_are_chunked():
    c = _choose(counts=(1000, 1000, 1000), chunk_size=500)
    assert (c.strategy, c.chunk_size) == ("chunked", 500)
    assert "6 chunks" in c.reason


def test_sparse_groups_grow_the_chunks_once_from_the_counts():
    c = _choose()
    assert c.strategy == "chunked" and c.chunk_size == -(-4005 // 5)
    assert "3.0" in c.reason and "fewer points than the 9 chunks" in c.reason
    # Every group is then in every chunk.
    assert -(-4005 // c.chunk_size) <= 5


@pytest.mark.parametrize("requested", ["chunked", "streaming"])
def test_requested_chunked_strategies_grow_the_chunks_too(requested):
    c = _choose(requested)
    assert c.strategy == requested and c.chunk_size == 801
    assert c.reason == "requested; chunk_size raised to 801 for sparse groups"


@pytest.mark.parametrize("requested", ["full", "sequential"])
def test_requested_strategies_without_chunks_keep_the_chunk_size(requested):
    assert _choose(requested) == Choice(requested, "requested", 500)


def test_sparse_and_no_memory_falls_back_to_sequential(monkeypatch):
    monkeypatch.setattr("fastsplit._memory.budget", lambda *args: 1)
    c = _choose()
    assert (c.strategy, c.chunk_size) == ("sequential", 500)
    assert "max_imbalance_ratio" in c.reason and "3.0" in c.reason
    balanced = _choose(counts=(8, 8, 5), chunk_size=2)
    assert balanced.strategy == "chunked" and "would not fit in memory" in balanced.reason


def test_memory_check_can_be_turned_off(monkeypatch):
    monkeypatch.setattr("fastsplit._memory.budget", lambda *args: 1)
    config = {"optimization": {"stratification": {"check_memory_safety": False}}}
    assert _choose(config=config).chunk_size == 801


def test_force_sequential_fallback():
    config = {"optimization": {"stratification": {"force_sequential_fallback": True}}}
    c = _choose(counts=(1000, 1000, 1000), config=config)
    assert c.strategy == "sequential" and "force_sequential_fallback" in c.reason


def test_at_bound_holds_only_parameters_pushed_outward():
    x = np.array([0.0, 0.0, 1.0, 1.0, 0.5])
    g = np.array([1.0, -1.0, -1.0, 1.0, 1.0])
    lower, upper = np.zeros(5), np.ones(5)
    assert at_bound(x, g, lower, upper).tolist() == [True, False, True, False, False]


def test_unit_diagonal_and_listing():
    h = np.array([[1e8, 1e3], [1e3, 1.0]])
    scaled, d = unit_diagonal(h)
    np.testing.assert_allclose(np.diag(scaled), 1.0)
    np.testing.assert_allclose(d, [1e-4, 1.0])
    assert listing(list("abcde"), limit=2) == "a, b and 3 more"
