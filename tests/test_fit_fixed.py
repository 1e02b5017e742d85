"""Fixed parameters, equal bounds, and fits without groups.

``fixed=`` and equal bounds hold a parameter at one value: the fit equals
the fit of the model with that value written in, the parameter is reported
with error 0, zero covariance and in ``result.fixed``, and the checks never
call it unconstrained. ``groups=None`` is an ordinary fit chunked by
position, equal to scipy's on the same data.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
pytest.importorskip("nlsq")

import jax.numpy as jnp  # noqa: E402
from scipy.optimize import curve_fit as scipy_curve_fit  # noqa: E402

from fastsplit._fit import choose_strategy, fit  # noqa: E402
from fastsplit.errors import InvalidArgumentError  # noqa: E402

N = 180
LABELS = np.array([10.0, 20.0, 30.0])
rng = np.random.default_rng(11)
X = np.tile(np.linspace(0.0, 4.0, N // 3), 3)
G = np.repeat(LABELS, N // 3)
BASE = np.array([0.1, 0.2, 0.3])
Y = 2.0 * np.exp(-1.3 * X) + BASE[np.searchsorted(LABELS, G)] + 0.01 * rng.normal(size=N)


def decay(x, *, a, k, c):
    return a * jnp.exp(-k * x) + c


def test_no_groups_is_an_ordinary_fit_equal_to_scipys():
    y = 2.0 * np.exp(-1.3 * X) + 0.4 + 0.01 * rng.normal(size=N)
    r = fit(decay, X, y, p0={"a": 1.0, "k": 1.0, "c": 0.0}, chunk_size=50)
    ref, cov = scipy_curve_fit(lambda x, a, k, c: a * np.exp(-k * x) + c, X, y, p0=[1, 1, 0])
    np.testing.assert_allclose(r.x, ref, rtol=1e-6)
    np.testing.assert_allclose(np.diag(r.covariance), np.diag(cov), rtol=1e-4)
    assert r.success and not r.grouped and r.info["n_chunks"] == 4
    text = r.report()
    assert "group" not in text.lower(), text
    assert "group" not in repr(r)


def test_no_groups_is_chunked_by_position_and_reported_so():
    lines = []
    fit(decay, X, Y, p0={"a": 1.0, "k": 1.0, "c": 0.0}, chunk_size=50, progress=lines.append)
    assert any("chunks by position" in line for line in lines), lines
    assert not any("groups" in line for line in lines), lines


def test_fixed_shared_parameter_equals_the_fit_with_its_value_written_in():
    r = fit(decay, X, Y, groups=G, p0={"a": 1.0, "k": 1.3, "c": 0.0}, per_group=["c"],
            fixed=("k",), chunk_size=50)  # fmt: skip

    def written_in(x, *, a, c):
        return a * jnp.exp(-1.3 * x) + c

    ref = fit(written_in, X, Y, groups=G, p0={"a": 1.0, "c": 0.0}, per_group=["c"], chunk_size=50)
    assert r.fixed == ("k",) and r.params["k"] == 1.3 and r.errors["k"] == 0.0
    np.testing.assert_allclose(r.params["a"], ref.params["a"], rtol=1e-10)
    np.testing.assert_allclose(r.params["c"], ref.params["c"], rtol=1e-10)
    np.testing.assert_allclose(r.errors["c"], ref.errors["c"], rtol=1e-8)
    k = r.param_names.index("k")
    assert np.all(r.covariance[k] == 0) and np.all(r.covariance[:, k] == 0)
    assert r.success and not r.check.unconstrained
    assert "k" in r.report() and "(fixed)" in r.report()


def test_fixed_per_group_parameter_holds_every_groups_value():
    p0 = {"a": 1.0, "k": 1.0, "c": BASE}
    r = fit(decay, X, Y, groups=G, p0=p0, per_group=["c"], fixed=["c"], chunk_size=50)
    np.testing.assert_array_equal(r.params["c"], BASE)
    np.testing.assert_array_equal(r.errors["c"], np.zeros(3))
    assert r.success and r.x.size == 5 and r.covariance.shape == (5, 5)
    np.testing.assert_allclose([r.params["a"], r.params["k"]], [2.0, 1.3], rtol=2e-2)


def test_equal_bounds_fix_a_parameter_at_that_value():
    bounds = {"k": (1.3, 1.3), "a": (0.0, 10.0)}
    r = fit(decay, X, Y, groups=G, p0={"a": 1.0, "k": 1.3, "c": 0.0}, per_group=["c"],
            bounds=bounds, chunk_size=50)  # fmt: skip
    fixed = fit(decay, X, Y, groups=G, p0={"a": 1.0, "k": 1.3, "c": 0.0}, per_group=["c"],
                fixed=["k"], bounds={"a": (0.0, 10.0)}, chunk_size=50)  # fmt: skip
    assert r.fixed == ("k",) and r.params["k"] == 1.3
    np.testing.assert_allclose(r.x, fixed.x, rtol=1e-12)


def test_fixed_parameters_on_other_strategies():
    p0 = {"a": 1.0, "k": 1.3, "c": 0.0}
    ref = fit(decay, X, Y, groups=G, p0=p0, per_group=["c"], fixed=["k"], chunk_size=50)
    for strategy in ("full", "sequential"):
        r = fit(decay, X, Y, groups=G, p0=p0, per_group=["c"], fixed=["k"], chunk_size=50,
                strategy=strategy)  # fmt: skip
        assert r.fixed == ("k",) and r.params["k"] == 1.3, strategy
        # each strategy's own tolerance: the same minimum within 5 % of an error bar
        np.testing.assert_allclose(
            r.params["c"], ref.params["c"], rtol=0, atol=0.05 * ref.errors["c"].min()
        )


def test_the_dry_run_sees_the_free_problem():
    p0 = {"a": 1.0, "k": 1.3, "c": 0.0}
    c = choose_strategy(decay, X, Y, groups=G, p0=p0, per_group=["c"], fixed=["k"], chunk_size=50)
    assert c.n_parameters == 4  # a and c for 3 groups; k is fixed


def test_bad_fixed_and_bounds_are_clear_errors():
    p0 = {"a": 1.0, "k": 1.0, "c": 0.0}
    with pytest.raises(InvalidArgumentError, match=r"fixed names \['d'\] are not parameters"):
        fit(decay, X, Y, p0=p0, fixed=["d"])
    with pytest.raises(InvalidArgumentError, match="nothing to fit"):
        fit(decay, X, Y, p0=p0, fixed=["a", "k", "c"])
    with pytest.raises(InvalidArgumentError, match="for every group or none"):
        fit(decay, X, Y, groups=G, p0={**p0, "c": [0.1, 0.5, 0.5]}, per_group=["c"],
            bounds={"c": ([0.1, 0.0, 0.0], [0.1, 1.0, 1.0])})  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="lower <= upper"):
        fit(decay, X, Y, p0=p0, bounds={"k": (2.0, 1.0)})
    with pytest.raises(InvalidArgumentError, match="p0 is outside the bounds"):
        fit(decay, X, Y, p0=p0, bounds={"k": (1.3, 1.3)})
    with pytest.raises(InvalidArgumentError, match="needs groups="):
        fit(decay, X, Y, p0=p0, per_group=["c"])
    with pytest.raises(InvalidArgumentError, match="p0 is required"):
        fit(decay, X, Y)


def test_dask_inputs_without_groups_or_with_fixed_parameters_are_refused_with_the_fix():
    da = pytest.importorskip("dask.array")
    p0 = {"a": 1.0, "k": 1.0, "c": 0.0}
    with pytest.raises(InvalidArgumentError, match=r"needs groups="):
        fit(decay, da.from_array(X, chunks=60), da.from_array(Y, chunks=60), p0=p0)
    with pytest.raises(InvalidArgumentError, match=r"\.compute\(\)"):
        fit(decay, da.from_array(X, chunks=60), da.from_array(Y, chunks=60), p0=p0,
            groups=da.from_array(G, chunks=60), fixed=["c"])  # fmt: skip
