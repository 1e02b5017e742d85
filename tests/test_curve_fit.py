"""fastsplit.curve_fit against scipy.optimize.curve_fit on the same problems.

Exponential decay, Gaussian peak and a rational function, each written with
plain NumPy (finite-difference Jacobians) and with jax.numpy (exact), with and
without sigma / absolute_sigma and with bounds: popt within rtol 1e-6 and pcov
within rtol 1e-4 of scipy's. pcov's near-zero off-diagonal entries (a
correlation of 1e-14) are compared on the scale of the errors,
``|d pcov_ij| <= 1e-4 sqrt(pcov_ii pcov_jj)``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
pytest.importorskip("nlsq")

import jax.numpy as jnp  # noqa: E402
from scipy.optimize import curve_fit as scipy_curve_fit  # noqa: E402

import fastsplit  # noqa: E402
from fastsplit import FiniteDifferenceWarning, curve_fit  # noqa: E402
from fastsplit.errors import (  # noqa: E402
    FitFailedError,
    InvalidArgumentError,
    InvalidShapeError,
    InvalidTypeError,
)

N = 240
CHUNK = 70  # 4 chunks: the normal equations are summed chunk by chunk


def expo(x, a, k, c):
    return a * np.exp(-k * x) + c


def expo_jax(x, a, k, c):
    return a * jnp.exp(-k * x) + c


def gauss(x, a, mu, s, c):
    return a * np.exp(-0.5 * ((x - mu) / s) ** 2) + c


def gauss_jax(x, a, mu, s, c):
    return a * jnp.exp(-0.5 * ((x - mu) / s) ** 2) + c


def rational(x, a, b, c):  # NumPy and JAX alike: only arithmetic
    return (a + b * x) / (1 + c * x)


PROBLEMS = {
    "exponential": (expo, expo_jax, (2.5, 1.3, 0.5), [1.0, 1.0, 0.0]),
    "gaussian": (gauss, gauss_jax, (3.0, 2.0, 0.4, 0.2), [1.0, 1.8, 0.5, 0.0]),
    "rational": (rational, rational, (1.0, 2.0, 0.5), [1.0, 1.0, 1.0]),
}


@functools.cache
def data(name):
    f, _, truth, _ = PROBLEMS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x = np.linspace(0.0, 4.0, N)
    sigma = 0.02 * (1 + rng.random(N))
    return x, f(x, *truth) + sigma * rng.normal(size=N), sigma


@pytest.fixture(autouse=True)
def quiet_numeric_note():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FiniteDifferenceWarning)
        yield


def assert_same_fit(popt, pcov, ref_popt, ref_pcov):
    np.testing.assert_allclose(popt, ref_popt, rtol=1e-6)
    np.testing.assert_allclose(np.diag(pcov), np.diag(ref_pcov), rtol=1e-4)
    scale = np.sqrt(np.outer(np.diag(ref_pcov), np.diag(ref_pcov)))
    assert np.all(np.abs(pcov - ref_pcov) <= 1e-4 * scale), (pcov, ref_pcov)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("flavour", ["numpy", "jax"])
@pytest.mark.parametrize("weights", ["none", "sigma", "absolute"])
def test_popt_and_pcov_equal_scipys(name, flavour, weights):
    f, f_jax, _, p0 = PROBLEMS[name]
    x, y, sigma = data(name)
    kwargs = {
        "none": {},
        "sigma": {"sigma": sigma},
        "absolute": {"sigma": sigma, "absolute_sigma": True},
    }[weights]
    ref_popt, ref_pcov = scipy_curve_fit(f, x, y, p0=p0, **kwargs)
    model = f if flavour == "numpy" else f_jax
    popt, pcov = curve_fit(model, x, y, p0=p0, chunk_size=CHUNK, **kwargs)
    assert_same_fit(popt, pcov, ref_popt, ref_pcov)


@pytest.mark.parametrize("flavour", ["numpy", "jax"])
def test_bounds_as_scipy_takes_them_and_an_active_bound_holds(flavour):
    x, y, _ = data("exponential")
    lower, upper = [0.0, 0.0, 0.0], [10.0, 1.0, 1.0]  # k's upper bound is below its truth
    ref_popt, ref_pcov = scipy_curve_fit(expo, x, y, p0=[1, 0.5, 0.1], bounds=(lower, upper))
    model = expo if flavour == "numpy" else expo_jax
    with pytest.warns(fastsplit.ParameterAtBoundWarning, match="k at its upper bound 1"):
        popt, pcov, result = curve_fit(
            model, x, y, p0=[1, 0.5, 0.1], bounds=(lower, upper), chunk_size=CHUNK, full_output=True
        )
    assert popt[1] == 1.0  # on its bound, exactly
    assert_same_fit(popt, pcov, ref_popt, ref_pcov)
    assert result.success and result.check.at_bounds == ["k at its upper bound 1"]


def test_scalar_bounds_and_the_default_p0_moved_inside_them_as_scipy_does():
    x, y, _ = data("exponential")
    ref_popt, ref_pcov = scipy_curve_fit(expo, x, y, bounds=(0.0, 5.0))
    popt, pcov = curve_fit(expo, x, y, bounds=(0.0, 5.0), chunk_size=CHUNK)
    assert_same_fit(popt, pcov, ref_popt, ref_pcov)


def test_default_p0_is_ones_and_full_output_returns_the_fit_result():
    x, y, _ = data("rational")
    ref_popt, ref_pcov = scipy_curve_fit(rational, x, y)
    popt, pcov, result = curve_fit(rational, x, y, chunk_size=CHUNK, full_output=True)
    assert_same_fit(popt, pcov, ref_popt, ref_pcov)
    assert isinstance(result, fastsplit.FitResult) and result.success
    assert result.param_names == ["a", "b", "c"] and not result.grouped
    assert result.info["jacobian"] == "exact (JAX)"  # plain arithmetic: JAX traces it
    assert result.n_points == N and result.info["n_chunks"] == 4


def test_varargs_model_takes_its_count_from_p0():
    x, y, _ = data("exponential")

    def f(x, *p):
        return p[0] * np.exp(-p[1] * x) + p[2]

    popt, _ = curve_fit(f, x, y, p0=[1, 1, 0], chunk_size=CHUNK)
    ref, _ = scipy_curve_fit(f, x, y, p0=[1, 1, 0])
    np.testing.assert_allclose(popt, ref, rtol=1e-6)


def test_two_variables_arrive_as_one_k_by_n_array_as_in_scipy():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1, (2, N))

    def plane(v, a, b, c):
        return a * v[0] + b * v[1] ** 2 + c

    y = plane(xy, 1.5, -0.5, 0.2) + 0.01 * rng.normal(size=N)
    ref_popt, ref_pcov = scipy_curve_fit(plane, xy, y)
    for flavour in (plane, lambda v, a, b, c: a * v[0] + b * jnp.square(v[1]) + c):
        popt, pcov = curve_fit(flavour, xy, y, chunk_size=CHUNK)
        assert_same_fit(popt, pcov, ref_popt, ref_pcov)


def test_three_point_rule_and_fixed_parameters_pass_through():
    x, y, _ = data("exponential")
    popt, pcov = curve_fit(expo, x, y, p0=[1, 1, 0], chunk_size=CHUNK, jac="3-point")
    ref_popt, ref_pcov = scipy_curve_fit(expo, x, y, p0=[1, 1, 0])
    assert_same_fit(popt, pcov, ref_popt, ref_pcov)
    popt, pcov = curve_fit(expo, x, y, p0=[1, 1, 0.5], fixed=["c"], chunk_size=CHUNK)
    ref, _ = scipy_curve_fit(lambda x, a, k: expo(x, a, k, 0.5), x, y, p0=[1, 1])
    np.testing.assert_allclose(popt[:2], ref, rtol=1e-6)
    assert popt[2] == 0.5 and np.all(pcov[2] == 0) and np.all(pcov[:, 2] == 0)


def test_equal_bounds_hold_a_parameter_at_that_value():
    x, y, _ = data("exponential")
    popt, pcov = curve_fit(expo, x, y, bounds=([0, 0, 0.5], [10, 5, 0.5]), chunk_size=CHUNK)
    ref, _ = scipy_curve_fit(lambda x, a, k: expo(x, a, k, 0.5), x, y, bounds=(0, [10, 5]))
    np.testing.assert_allclose(popt, [*ref, 0.5], rtol=1e-6)
    assert pcov[2, 2] == 0


def test_per_group_parameters_with_groups():
    rng = np.random.default_rng(5)
    g = np.repeat([10.0, 20.0, 30.0], N // 3)
    x = np.tile(np.linspace(0, 4, N // 3), 3)
    base = np.array([0.1, 0.2, 0.3])[np.searchsorted([10.0, 20.0, 30.0], g)]
    y = 2.0 * np.exp(-1.3 * x) + base + 0.01 * rng.normal(size=N)
    popt, pcov, result = curve_fit(
        expo, x, y, p0=[1, 1, [0.0, 0.1, 0.2]], groups=g, per_group=["c"], chunk_size=CHUNK,
        full_output=True,
    )  # fmt: skip
    assert result.param_names == ["a", "k", "c[0]", "c[1]", "c[2]"] and result.grouped
    np.testing.assert_allclose(popt, [2.0, 1.3, 0.1, 0.2, 0.3], atol=0.02)
    assert pcov.shape == (5, 5)


def test_bad_inputs_are_clear_errors():
    x, y, sigma = data("exponential")
    with pytest.raises(InvalidArgumentError, match="p0 has 2 values but f takes 3"):
        curve_fit(expo, x, y, p0=[1, 1])
    with pytest.raises(InvalidArgumentError, match="f takes no parameter"):
        curve_fit(lambda x: x, x, y)
    with pytest.raises(InvalidArgumentError, match=r"\*args.*give p0"):
        curve_fit(lambda x, *p: x, x, y)
    with pytest.raises(InvalidShapeError, match="covariance matrix") as info:
        curve_fit(expo, x, y, sigma=np.diag(sigma**2))
    assert "np.sqrt(np.diag(sigma))" in str(info.value)
    with pytest.raises(InvalidArgumentError, match=r"fixed names.*'d'"):
        curve_fit(expo, x, y, fixed=["d"])
    with pytest.raises(InvalidArgumentError, match="method="):
        curve_fit(expo, x, y, method="lm")
    with pytest.raises(
        InvalidTypeError, match=r"curve_fit\(\) got .*'chunksize'. Did you mean 'chunk_size'"
    ):
        curve_fit(expo, x, y, chunksize=10)
    with pytest.raises(InvalidArgumentError, match="bounds must be a 2-tuple"):
        curve_fit(expo, x, y, bounds=[0, 1, 2])
    with pytest.raises(InvalidTypeError, match="f must be callable"):
        curve_fit("expo", x, y)
    with pytest.raises(InvalidArgumentError, match=r"per_group=.*needs groups"):
        curve_fit(expo, x, y, per_group=["c"])


def test_a_fit_that_cannot_be_trusted_raises_a_runtime_error_as_scipy():
    x, y, _ = data("exponential")

    def unused_parameter(x, a, k, c, d):
        return a * np.exp(-k * x) + c

    with pytest.raises(RuntimeError, match="do not constrain d"):
        curve_fit(unused_parameter, x, y, chunk_size=CHUNK)
    with pytest.raises(FitFailedError):
        curve_fit(unused_parameter, x, y, chunk_size=CHUNK)
