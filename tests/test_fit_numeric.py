"""Models JAX cannot trace: finite-difference Jacobians, chunk by chunk.

The rules are scipy's (compared with ``scipy.optimize._numdiff.approx_derivative``
entry by entry, bounds included); a NumPy model reaches the minimum the
jax.numpy model reaches, shared and per-group parameters, plain and robust
loss; the note is a warning users can silence, given once per model; a model
that is not pointwise, or a strategy that needs JAX, is a clear error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
pytest.importorskip("nlsq")

import jax.numpy as jnp  # noqa: E402
from scipy.optimize._numdiff import approx_derivative  # noqa: E402

from fastsplit import FiniteDifferenceWarning, ParameterAtBoundWarning  # noqa: E402
from fastsplit._fit import fit  # noqa: E402
from fastsplit._fit._fd import fd_column, fd_steps  # noqa: E402
from fastsplit.errors import InvalidArgumentError  # noqa: E402

N = 180
LABELS = np.array([-1.0, 0.5, 3.0])
rng = np.random.default_rng(2)
X = rng.uniform(0.0, 3.0, N)
G = np.repeat(LABELS, N // 3)
AMP = np.array([1.0, 1.5, 2.0])
Y = AMP[np.searchsorted(LABELS, G)] * np.exp(-0.8 * X) + 0.3 + 0.01 * rng.normal(size=N)
P0 = {"rate": 1.0, "amp": 1.0, "base": 0.0}


def decay_np(x, *, rate, amp, base):
    return amp * np.exp(-rate * x) + base


def decay_jax(x, *, rate, amp, base):
    return amp * jnp.exp(-rate * x) + base


@pytest.fixture
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FiniteDifferenceWarning)
        yield


@pytest.mark.parametrize("rule", ["2-point", "3-point"])
def test_steps_and_columns_are_scipys(rule):
    def f(v):
        return np.array([np.sin(v[0]) * v[1], v[1] ** 3 - v[2], np.exp(v[2] * v[0])])

    x0 = np.array([0.3, -2.0, 1e-9])
    cases = [
        (np.full(3, -np.inf), np.full(3, np.inf)),
        (np.array([0.3, -3.0, 0.0]), np.array([1.0, -2.0, 1e-9])),  # on and near bounds
    ]
    for lower, upper in cases:
        ref = approx_derivative(f, x0, method=rule, bounds=(lower, upper))
        f0 = f(x0)
        step, one_sided = fd_steps(x0, lower, upper, rule)
        for i in range(3):

            def at(v, i=i):
                x = x0.copy()
                x[i] = v
                return f(x)

            column = fd_column(at, x0[i], f0, step[i], one_sided[i], rule)
            np.testing.assert_array_equal(column, ref[:, i])


@pytest.mark.parametrize("rule", ["2-point", "3-point"])
@pytest.mark.parametrize("loss", ["linear", "soft_l1"])
def test_a_numpy_model_reaches_the_jax_models_minimum(rule, loss, quiet):
    kwargs = dict(groups=G, p0=P0, per_group=["amp"], chunk_size=50, loss=loss, sigma=0.01)
    ref = fit(decay_jax, X, Y, **kwargs)
    r = fit(decay_np, X, Y, jac=rule, **kwargs)
    assert r.success and r.strategy == "chunked"
    assert r.info["jacobian"] == f"finite differences ({rule})"
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-6)
    np.testing.assert_allclose(np.diag(r.covariance), np.diag(ref.covariance), rtol=1e-4)


def test_a_per_group_parameter_on_its_bound_takes_a_one_sided_step(quiet):
    bounds = {"amp": ([1.0, 0.0, 0.0], [1.0 + 1e-12, 5.0, 5.0])}  # group 0 pinned at 1
    kwargs = dict(groups=G, p0=P0, per_group=["amp"], bounds=bounds, chunk_size=50, sigma=0.01)
    with pytest.warns(ParameterAtBoundWarning, match=r"amp\[0\] \(group -1.0\) at its upper"):
        ref = fit(decay_jax, X, Y, **kwargs)
    with pytest.warns(ParameterAtBoundWarning):
        r = fit(decay_np, X, Y, **kwargs)
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-6)
    assert 1.0 <= r.params["amp"][0] <= 1.0 + 1e-12


def test_the_note_is_a_warning_given_once_per_model():
    def once(x, *, rate, amp, base):
        return amp * np.exp(-rate * x) + base

    with pytest.warns(FiniteDifferenceWarning, match="jax.numpy") as caught:
        fit(once, X, Y, p0=P0, chunk_size=50)
    assert len(caught) == 1 and caught[0].filename == __file__  # the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second fit of the same model: silent
        fit(once, X, Y, p0=P0, chunk_size=50)


def test_python_control_flow_on_parameters_falls_back_too(quiet):
    def branchy(x, *, rate, amp, base):
        return amp * np.exp(-rate * x) + (base if base > -1 else 0.0)

    r = fit(branchy, X, Y, p0=P0, chunk_size=50)
    assert r.success and r.info["jacobian"].startswith("finite differences")


def test_a_model_that_is_not_pointwise_is_refused(quiet):
    def mixing(x, *, rate, amp, base):
        return np.mean(amp) * np.exp(-rate * x) + base

    with pytest.raises(InvalidArgumentError, match="not pointwise in 'amp'"):
        fit(mixing, X, Y, groups=G, p0=P0, per_group=["amp"], chunk_size=50)


def test_strategies_that_need_jax_are_a_clear_error_and_auto_takes_chunked(quiet):
    with pytest.raises(InvalidArgumentError, match="strategy='full' needs a model JAX can trace"):
        fit(decay_np, X, Y, groups=G, p0=P0, per_group=["amp"], strategy="full")
    config = {"optimization": {"stratification": {"force_sequential_fallback": True}}}
    r = fit(decay_np, X, Y, groups=G, p0=P0, per_group=["amp"], config=config, chunk_size=50)
    assert r.strategy == "chunked" and "not traceable by JAX" in r.reason


def test_the_dry_run_agrees_with_fit_on_a_numpy_model(quiet):
    from fastsplit._fit import choose_strategy

    config = {"optimization": {"stratification": {"force_sequential_fallback": True}}}
    c = choose_strategy(decay_np, X, Y, groups=G, p0=P0, per_group=["amp"], config=config)
    assert c.strategy == "chunked" and "not traceable by JAX" in c.reason


def test_fixed_parameters_of_a_numpy_model(quiet):
    p0 = {**P0, "amp": AMP}
    kwargs = dict(groups=G, p0=p0, per_group=["amp"], fixed=["amp"], chunk_size=50, sigma=0.01)
    ref = fit(decay_jax, X, Y, **kwargs)
    r = fit(decay_np, X, Y, **kwargs)
    np.testing.assert_array_equal(r.params["amp"], AMP)
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-6)
    assert r.fixed == ("amp",) and r.info["jacobian"] == "finite differences (2-point)"
