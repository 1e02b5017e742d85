"""Robust losses: the minimum scipy's ``least_squares`` finds, on every strategy.

A decay model with per-group amplitude and base on data with 8 % gross
outliers. scipy's ``least_squares(loss=..., f_scale=...)`` on the same
residuals (the same flat parameter vector) is the reference; fastsplit must
reach the same minimum, and judge (and report) the robust cost there.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
pytest.importorskip("nlsq")

import jax.numpy as jnp  # noqa: E402  (after importorskip: nlsq brings JAX)
from scipy.optimize import least_squares  # noqa: E402

from fastsplit._fit import LOSSES, fit  # noqa: E402
from fastsplit.errors import FitFailedError  # noqa: E402

LABELS = np.array([-3.0, 7.5, 40.0])
SIGMA = 0.01
F_SCALE = 2.0  # in units of sigma: residuals beyond 2 sigma are down-weighted


def decay(x, *, rate, amplitude, base):
    return amplitude * jnp.exp(-rate * x) + base


@functools.cache
def outlier_data():
    rng = np.random.default_rng(7)
    counts = [150, 120, 180]
    g = np.repeat(LABELS, counts)
    k = np.searchsorted(LABELS, g)
    x = rng.uniform(0, 3, g.size)
    y = np.array([0.5, 2.0, 1.2])[k] * np.exp(-1.3 * x) + np.array([1.0, -0.5, 0.2])[k]
    y += rng.normal(0, SIGMA, g.size)
    bad = rng.random(g.size) < 0.08
    y[bad] += rng.choice([-1, 1], bad.sum()) * rng.uniform(0.2, 1.0, bad.sum())
    return x, y, g, k


# Near the truth: cauchy and arctan are not convex, and from afar scipy and fastsplit
# may settle in different local minima (both valid); from here there is one.
P0 = {"rate": 1.2, "amplitude": np.array([0.45, 1.9, 1.1]), "base": np.array([0.9, -0.45, 0.25])}
PER_GROUP = ["amplitude", "base"]


def scipy_reference(loss, mine=None):
    """scipy's answer on the flat vector (rate, amplitude[...], base[...]) of the groups
    of the points ``mine`` (default: all points, all groups)."""
    x, y, _, k = outlier_data()
    if mine is not None:
        x, y, k = x[mine], y[mine], k[mine]
    present, local = np.unique(k, return_inverse=True)
    n_groups = present.size

    def residual(theta):
        amplitude, base = theta[1 : 1 + n_groups], theta[1 + n_groups :]
        return (amplitude[local] * np.exp(-theta[0] * x) + base[local] - y) / SIGMA

    start = np.concatenate([[P0["rate"]], P0["amplitude"][present], P0["base"][present]])
    return least_squares(
        residual, start, loss=loss, f_scale=F_SCALE, xtol=1e-14, ftol=1e-14, gtol=1e-14
    )


def fit_robust(strategy, loss, **options):
    x, y, g, _ = outlier_data()
    kwargs = {"p0": P0, "sigma": SIGMA, "strategy": strategy, "loss": loss, "f_scale": F_SCALE}
    return fit(decay, x, y, groups=g, per_group=PER_GROUP, chunk_size=200, **{**kwargs, **options})


def assert_same_minimum(result, reference, loss):
    errors = np.sqrt(np.diag(result.covariance))
    assert np.all(np.isfinite(errors)) and np.all(errors > 0)
    assert np.all(np.abs(result.x - reference.x) <= 0.01 * errors), (result.x, reference.x)
    # The result's cost is the robust cost, judged at its own minimum.
    assert result.cost == pytest.approx(reference.cost, rel=1e-7)
    assert result.info["loss"] == loss


@pytest.mark.parametrize("loss", LOSSES)
def test_chunked_reaches_scipys_minimum_for_every_loss(loss):
    r = fit_robust("chunked", loss)
    assert r.success and r.strategy == "chunked"
    assert_same_minimum(r, scipy_reference(loss), loss)


def test_robust_losses_resist_the_outliers_the_linear_loss_follows():
    linear = fit_robust("chunked", "linear")
    robust = fit_robust("chunked", "soft_l1")
    truth = np.array([1.3, 0.5, 2.0, 1.2, 1.0, -0.5, 0.2])
    err_linear = np.abs(linear.x - truth).max()
    err_robust = np.abs(robust.x - truth).max()
    assert err_robust < 0.2 * err_linear


@pytest.mark.parametrize("strategy", ["full", "streaming"])
def test_nlsq_strategies_reach_scipys_minimum(strategy):
    r = fit_robust(strategy, "soft_l1")
    assert r.success and r.strategy == strategy
    assert_same_minimum(r, scipy_reference("soft_l1"), "soft_l1")


def test_sequential_fits_each_group_with_the_loss():
    k = outlier_data()[3]
    r = fit_robust("sequential", "cauchy")
    assert r.success and r.info["loss"] == "cauchy"
    for i, own in enumerate(r.group_fits):
        reference = scipy_reference("cauchy", k == i)
        theta = [own.params["rate"], own.params["amplitude"], own.params["base"]]
        assert own.cost == pytest.approx(reference.cost, rel=1e-6)
        np.testing.assert_allclose(theta, reference.x, rtol=1e-4, atol=1e-6)


def test_the_checks_judge_the_robust_cost():
    # Stopped after one iteration from afar: the robust cost's remaining step is large.
    far = {"rate": 1.0, "amplitude": 1.0, "base": 0.0}
    with pytest.raises(FitFailedError, match="not a minimum"):
        fit_robust("chunked", "huber", p0=far, max_nfev=1)
    # From afar, to the end: the same minimum as scipy from near the truth.
    assert_same_minimum(fit_robust("chunked", "huber", p0=far), scipy_reference("huber"), "huber")
