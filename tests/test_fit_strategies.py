"""fastsplit.fit strategies: sparse groups, the sequential fallback, streaming, the config,
and the strategy table (a new strategy is one module and one table entry)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
pytest.importorskip("nlsq")

import jax.numpy as jnp  # noqa: E402  (after importorskip: nlsq brings JAX)

from fastsplit._fit import StrategyChoice, _data, choose_strategy, fit  # noqa: E402
from fastsplit._fit._problem import Outcome  # noqa: E402
from fastsplit._fit._strategies import STRATEGIES, Strategy  # noqa: E402
from fastsplit.errors import FitFailedError  # noqa: E402
from fastsplit.xpcs import synthesize  # noqa: E402
from test_fit import assert_recovers, fit_sparse_line, line  # noqa: E402

# -- sparse groups -----------------------------------------------------------------------


def test_sparse_group_gets_bigger_chunks_and_is_reported():
    r = fit_sparse_line()
    assert r.success and r.strategy == "chunked"
    assert "3.0" in r.reason and "fewer points than the 9 chunks" in r.reason
    assert r.info["chunk_size"] == math.ceil(4005 / 5)
    assert r.info["n_chunks"] == 5 and r.diagnostics.sparse_groups == []
    np.testing.assert_allclose(r.params["offset"], [0.3, -0.2, 1.5], atol=0.05)


def test_sparse_group_without_memory_falls_back_to_sequential(monkeypatch):
    monkeypatch.setattr("fastsplit._memory.budget", lambda *args: 1)
    r = fit_sparse_line()
    assert r.strategy == "sequential" and r.success
    assert "max_imbalance_ratio" in r.reason and "3.0" in r.reason
    # The sparse group's offset comes from its own 5 points.
    assert abs(r.params["offset"][2] - 1.5) < 5 * r.errors["offset"][2] + 0.05
    assert any("sparse group" in note for note in r.check.notes)


# -- sequential fallback -----------------------------------------------------------------


def _decay(x, *, rate, amplitude, base):
    return amplitude * jnp.exp(-rate * x) + base


def _decay_data(seed=2):
    rng = np.random.default_rng(seed)
    truth = {
        "rate": 1.3,
        "amplitude": np.array([0.5, 2.0, 7.0, 1.5]),
        "base": np.array([1.0, -3.0, 0.25, 10.0]),
    }
    counts = [400, 250, 600, 300]
    g = np.repeat([-10.0, 0.5, 22.0, 90.0], counts)
    x = rng.uniform(0, 3, g.size)
    k = np.searchsorted([-10.0, 0.5, 22.0, 90.0], g)
    y = truth["amplitude"][k] * np.exp(-truth["rate"] * x) + truth["base"][k]
    y = y + rng.normal(0, 0.01, g.size)
    return x, y, g, truth


@pytest.mark.parametrize("weighting", ["inverse_variance", "uniform", "n_points"])
def test_sequential_recovers_per_group_parameters_that_differ(weighting):
    x, y, g, truth = _decay_data()
    config = {"optimization": {"sequential": {"weighting": weighting}}}
    r = fit(
        _decay,
        x,
        y,
        groups=g,
        p0={"rate": 1.0, "amplitude": 1.0, "base": 0.0},
        per_group=["amplitude", "base"],
        sigma=0.01,
        strategy="sequential",
        config=config,
    )
    assert r.strategy == "sequential" and r.success
    assert r.info["weighting"] == weighting and r.info["success_rate"] == 1.0
    assert_recovers(r, truth, ["rate", "amplitude", "base"])
    # Each group's own fit is on the result: values, errors, cost, success.
    assert [f.label for f in r.group_fits] == [-10.0, 0.5, 22.0, 90.0]
    for k, own in enumerate(r.group_fits):
        assert own.success and own.unconstrained == () and own.n_points == r.counts[k]
        assert set(own.params) == {"rate", "amplitude", "base"} == set(own.errors)
        for name in ("amplitude", "base"):
            z = abs(own.params[name] - truth[name][k]) / own.errors[name]
            assert z < 5, (name, k, z)
        assert 0.5 < 2 * own.cost / (own.n_points - 3) < 1.5


def _quadratic(x, *, a, slope, curv):
    return a + slope * x + curv * x * x


def test_sequential_never_uses_a_fit_that_cannot_constrain_a_parameter():
    rng = np.random.default_rng(4)
    # Group 0 has only two distinct x: slope and curvature are not separable there.
    x = np.concatenate([np.tile([0.0, 1.0], 100), rng.uniform(-1, 2, 300), rng.uniform(-1, 2, 300)])
    g = np.repeat([0.0, 1.0, 2.0], [200, 300, 300])
    a = np.repeat([1.0, 2.0, 3.0], [200, 300, 300])
    y = a + 0.5 * x - 0.25 * x * x + rng.normal(0, 0.01, x.size)
    r = fit(
        _quadratic,
        x,
        y,
        groups=g,
        p0={"a": 0.0, "slope": 0.0, "curv": 0.0},
        per_group=["a"],
        sigma=0.01,
        strategy="sequential",
    )
    weights = r.info["weights"]
    assert weights["curv"][0] == 0 and weights["slope"][0] == 0
    assert weights["curv"][1] > 0 and weights["curv"][2] > 0
    assert_recovers(r, {"a": [1.0, 2.0, 3.0], "slope": 0.5, "curv": -0.25}, ["a", "slope", "curv"])


def test_sequential_min_success_rate():
    x, y, g, _ = _decay_data()
    with pytest.raises(FitFailedError, match="min_success_rate"):
        fit(
            _decay,
            x,
            y,
            groups=g,
            p0={"rate": 1.0, "amplitude": 1.0, "base": 0.0},
            per_group=["amplitude", "base"],
            sigma=0.01,
            strategy="sequential",
            max_nfev=1,
        )


# -- config ------------------------------------------------------------------------------


def test_config_drives_the_strategy_and_diagnostics():
    x, y, g, truth = _decay_data()
    p0 = {"rate": 1.0, "amplitude": 1.0, "base": 0.0}
    forced = fit(
        _decay,
        x,
        y,
        groups=g,
        p0=p0,
        per_group=["amplitude", "base"],
        sigma=0.01,
        config={"optimization": {"stratification": {"force_sequential_fallback": True}}},
    )
    assert forced.strategy == "sequential" and "force_sequential_fallback" in forced.reason
    plain = fit(
        _decay,
        x,
        y,
        groups=g,
        p0=p0,
        per_group=["amplitude", "base"],
        sigma=0.01,
        config={
            "optimization": {
                "stratification": {
                    "enabled": False,
                    "collect_diagnostics": False,
                    "target_chunk_size": 300,
                }
            }
        },
    )
    assert plain.strategy == "chunked" and plain.info["chunk_size"] == 300
    assert plain.diagnostics is None
    assert any("stratification disabled" in n for n in plain.check.notes)
    assert_recovers(plain, truth, ["rate", "amplitude", "base"])
    explicit = fit(
        _decay,
        x,
        y,
        groups=g,
        p0=p0,
        per_group=["amplitude", "base"],
        sigma=0.01,
        strategy="chunked",
        chunk_size=500,
        config={"fastsplit": {"strategy": "sequential"}},
    )
    assert explicit.strategy == "chunked"  # an explicit argument wins over the config


# -- the strategy table ------------------------------------------------------------------


def _one_gauss_newton_step(problem):
    """A toy strategy: one Gauss-Newton step on the exact normal equations (exact for a line)."""
    normal = problem.objective.normal(problem.start)
    x = problem.start - np.linalg.solve(normal.hessian, normal.gradient)
    return Outcome(x, problem.objective.n_jac, True, "one Gauss-Newton step", {"toy": True})


def test_a_new_strategy_is_one_function_and_one_table_entry(monkeypatch):
    monkeypatch.setitem(STRATEGIES, "one-step", Strategy(_one_gauss_newton_step, chunked=False))
    r = fit_sparse_line(strategy="one-step")
    # Dispatched through the table, judged like any other strategy on all the data.
    assert r.strategy == "one-step" and r.reason == "requested" and r.success
    assert r.message == "one Gauss-Newton step" and r.info["toy"] is True and r.nfev == 1
    assert r.check.ok and r.cost < r.cost_start
    np.testing.assert_allclose(r.params["offset"], [0.3, -0.2, 1.5], atol=0.05)
    assert abs(r.params["slope"] - 1.7) < 0.05


# -- the dry run -----------------------------------------------------------------------


def _no_work(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dry run stratified or gathered the data")

    monkeypatch.setattr(_data, "stratified", refuse)
    monkeypatch.setattr(_data.ChunkStacks, "build", classmethod(refuse))


def test_the_dry_run_says_what_fit_would_do_without_doing_it(monkeypatch):
    from test_fit import sparse_data

    x, y, g = sparse_data()
    kwargs = {"groups": g, "p0": {"slope": 1.0, "offset": 0.0}, "per_group": ["offset"]}
    done = fit_sparse_line()
    _no_work(monkeypatch)
    dry = choose_strategy(line, x, y, sigma=0.01, chunk_size=500, **kwargs)
    assert isinstance(dry, StrategyChoice)
    assert (dry.strategy, dry.reason, dry.chunk_size) == (done.strategy, done.reason, 801)
    assert (dry.n_chunks, dry.n_points, dry.n_groups, dry.n_parameters) == (5, 4005, 3, 4)
    assert dry.sparse_groups == [] and dry.loss == "linear"
    assert set(dry.memory) == set(STRATEGIES) and dry.memory["full"] > dry.memory["chunked"]
    assert dry.budget is None or dry.budget > 0
    assert str(dry).startswith("chunked: group(s) 3.0 had fewer points than the 9 chunks")
    requested = choose_strategy(line, x, y, strategy="full", chunk_size=500, **kwargs)
    assert (requested.strategy, requested.reason) == ("full", "requested")


def test_the_dry_run_sees_that_one_group_cannot_constrain_laminar_flow(monkeypatch):
    d = synthesize(n_angles=4, n_frames=12, mode="laminar_flow", seed=2)
    m = d.model
    config = {"optimization": {"stratification": {"force_sequential_fallback": True}}}
    _no_work(monkeypatch)
    dry = choose_strategy(
        m, d.x, d.g2, groups=d.phi, p0=m.rough_p0(), per_group=m.per_group_names, config=config
    )
    assert dry.strategy == "chunked" and "no single group constrains" in dry.reason
    assert "phi0" in dry.reason
    static = synthesize(n_angles=3, n_frames=12, seed=2)
    s = static.model
    dry = choose_strategy(
        s,
        static.x,
        static.g2,
        groups=static.phi,
        p0=s.rough_p0(),
        per_group=s.per_group_names,
        config=config,
    )
    assert dry.strategy == "sequential" and "force_sequential_fallback" in dry.reason
