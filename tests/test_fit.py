"""fastsplit.fit end to end: recovery, the raw nlsq failure, the never-silent checks.

These tests need nlsq (and JAX); the CI runs them against nlsq 0.6.x and 0.7.x.
Tolerances come from the fit's own covariance: every parameter must lie within
``Z`` standard errors of the truth. The other ``test_fit_*`` modules import the
helpers defined here (strategies, bad input); ``test_fit_parts`` needs no nlsq.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
nlsq = pytest.importorskip("nlsq")

from fastsplit._fit import (  # noqa: E402  (after importorskip: nlsq brings JAX)
    FitQualityWarning,
    FitResult,
    fit,
    nlsq_chunked_baseline,
)
from fastsplit._versions import parse  # noqa: E402
from fastsplit.errors import FitFailedError  # noqa: E402
from fastsplit.xpcs import synthesize  # noqa: E402

Z = 5.0  # standard errors allowed between fit and truth
PER_GROUP = ("contrast", "offset")


def assert_recovers(result: FitResult, truth: dict, names) -> None:
    for name in names:
        value = np.asarray(result.params[name], dtype=float)
        error = np.asarray(result.errors[name], dtype=float)
        assert np.all(np.isfinite(error)) and np.all(error > 0), name
        z = np.abs(value - np.asarray(truth[name])) / error
        assert np.all(z < Z), f"{name}: |fit - truth| / error = {np.max(z):.2f}"


def fit_xpcs(d, **kwargs):
    """The XPCS fit of these tests: rough start, per-angle contrast and offset, model bounds."""
    m = d.model
    options = {
        "groups": d.phi,
        "p0": m.rough_p0(),  # a user's rough guess, away from the truth
        "per_group": PER_GROUP,
        "sigma": d.sigma,
        "bounds": m.default_bounds(),
    }
    return fit(m, d.x, d.g2, **{**options, **kwargs})


@pytest.fixture(scope="module")
def xpcs3():
    return synthesize(n_angles=3, n_frames=60, seed=0)


@pytest.fixture(scope="module")
def chunked3(xpcs3):
    return fit_xpcs(xpcs3, chunk_size=2000)


# -- end to end --------------------------------------------------------------------


def test_xpcs_3_angles_recovers_truth(xpcs3, chunked3):
    r = chunked3
    assert r.success and r.check.ok and r.check.problems == []
    assert r.strategy == "chunked" and r.info["n_chunks"] == 6
    assert r.n_points == xpcs3.n_points == 10_800
    assert_recovers(r, xpcs3.truth, xpcs3.model.parameter_names)
    # Parameters by name; per-group ones indexed like the sorted group labels.
    np.testing.assert_array_equal(r.groups, xpcs3.angles)
    assert isinstance(r.params["D0"], float) and r["D0"] == r.params["D0"]
    assert r.params["contrast"].shape == (3,)
    assert r.param_names[:3] == ["D0", "alpha", "D_offset"]
    assert r.param_names[3] == "contrast[0]" and len(r.x) == 3 + 2 * 3
    cov = r.covariance
    assert cov.shape == (9, 9)
    np.testing.assert_allclose(cov, cov.T, rtol=1e-10, atol=1e-30)
    np.testing.assert_allclose(np.sqrt(np.diag(cov))[0], r.errors["D0"])
    # Full-data figures, diagnostics and timings.
    assert r.cost < r.cost_start and 0.9 < r.reduced_chi2 < 1.1
    assert r.gradient_norm >= 0 and r.nfev > 0
    assert r.diagnostics is not None and r.diagnostics.n_chunks == 6
    assert r.diagnostics.sparse_groups == []
    t = r.timings
    assert t.stratify > 0 and t.fit > 0 and t.ratio == pytest.approx(t.stratify / t.fit)
    assert "chunked" in r.report() and "stratify" in r.report()
    assert r.x.dtype == np.float64


@pytest.mark.slow
def test_xpcs_23_angles_recovers_truth():
    d = synthesize(n_angles=23, n_frames=24, seed=3)
    m = d.model
    r = fit_xpcs(d, chunk_size=2000)
    assert r.success and r.strategy == "chunked" and len(r.groups) == 23
    assert r.info["n_chunks"] == math.ceil(d.n_points / 2000)
    assert r.diagnostics.groups_per_chunk_min == 23  # every chunk holds every angle
    assert_recovers(r, d.truth, m.parameter_names)


@pytest.mark.slow
def test_xpcs_laminar_flow_23_angles_53_parameters():
    d = synthesize(n_angles=23, n_frames=30, mode="laminar_flow", seed=4)
    m = d.model
    r = fit_xpcs(d, chunk_size=5000)
    assert r.success and len(r.x) == 7 + 2 * 23
    assert_recovers(r, d.truth, m.parameter_names)


# -- the raw failure, reproduced and fixed -----------------------------------------------


@pytest.mark.slow
def test_raw_nlsq_chunked_path_on_angle_major_data_and_the_fix():
    d = synthesize(n_angles=3, n_frames=30, seed=0)
    m = d.model
    per_angle = d.n_points // 3
    p0 = m.rough_p0()
    raw = nlsq_chunked_baseline(
        m,
        d.x,
        d.g2,
        groups=d.phi,
        p0=p0,
        per_group=PER_GROUP,
        sigma=d.sigma,
        bounds=m.default_bounds(),
        chunk_size=per_angle,
    )
    assert raw.strategy == "nlsq-chunked" and raw.info["n_chunks"] == 3
    if parse(nlsq.__version__) < (0, 7, 2):
        # nlsq fits the chunks in order and says it succeeded...
        assert raw.info["success"] is True and not raw.info["shuffles"]
        # ... but the per-angle values of angles not in the last chunk are wrong,
        z = np.abs(raw.params["contrast"] - d.truth["contrast"]) / raw.errors["contrast"]
        assert z.max() > 10
        # and fastsplit's full-data check says so, naming the parameters and groups.
        assert not raw.check.ok and not raw.success
        text = " ".join(raw.check.problems)
        assert "contrast[" in text and "group" in text
    else:
        # 0.7.2+ shuffles every point before chunking: each chunk sees every angle.
        assert raw.info["shuffles"] is True
    fixed = fit_xpcs(d, p0=p0, chunk_size=per_angle)
    assert fixed.success and fixed.strategy == "chunked"
    assert fixed.diagnostics.groups_per_chunk_min == 3
    assert_recovers(fixed, d.truth, m.parameter_names)
    assert fixed.cost <= raw.cost * (1 + 1e-9)


# -- never silent ------------------------------------------------------------------------


def _gated_line(x, *, slope, offset):
    # offset only acts where x > 0: a group with x <= 0 everywhere cannot constrain it.
    return slope * x + offset * (x > 0)


def _line_data(seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate(
        [rng.uniform(0.1, 1, 300), rng.uniform(0.1, 1, 300), -rng.uniform(0.1, 1, 300)]
    )
    groups = np.repeat([5.0, 6.0, 7.0], 300)
    y = 2.0 * x + np.where(x > 0, np.repeat([0.5, -0.5, 9.0], 300), 0.0) + rng.normal(0, 0.01, 900)
    return x, y, groups


def test_unconstrained_group_raises_naming_it():
    x, y, g = _line_data()
    with pytest.raises(FitFailedError) as info:
        fit(
            _gated_line,
            x,
            y,
            groups=g,
            p0={"slope": 1.0, "offset": 0.0},
            per_group=["offset"],
            sigma=0.01,
            chunk_size=300,
        )
    text = str(info.value)
    assert "offset[2] (group 7.0)" in text and "do not constrain" in text
    result = info.value.result  # the result travels with the error
    assert not result.success and result.check.unconstrained == ["offset[2]"]


def test_on_failure_warn_returns_the_result():
    x, y, g = _line_data()
    with pytest.warns(FitQualityWarning, match=r"offset\[2\]"):
        r = fit(
            _gated_line,
            x,
            y,
            groups=g,
            p0={"slope": 1.0, "offset": 0.0},
            per_group=["offset"],
            sigma=0.01,
            chunk_size=300,
            on_failure="warn",
        )
    assert not r.success
    assert math.isnan(r.errors["offset"][2])
    np.testing.assert_allclose(r.params["offset"][:2], [0.5, -0.5], atol=0.01)
    assert abs(r.params["slope"] - 2.0) < 0.01


def test_check_flags_a_fit_that_did_not_move_and_untouched_groups(xpcs3, chunked3):
    from fastsplit._fit._checks import check_solution, information_inverse
    from fastsplit._fit._model import make_bounds, make_layout

    m = xpcs3.model
    layout = make_layout(m.rough_p0(), PER_GROUP, 3)
    lower, upper = make_bounds(layout, m.default_bounds())
    p0 = layout.pack(m.rough_p0())
    # Re-evaluate the exact normal equations at p0 through a fit's own machinery.
    objective = _objective_for(xpcs3, layout)
    at_p0 = objective.normal(p0)
    inverse, constrained = information_inverse(at_p0.hessian)
    check = check_solution(
        layout,
        chunked3.groups,
        p0,
        p0,
        lower,
        upper,
        at_p0,
        at_p0.cost,
        inverse,
        constrained,
        error_scale=1.0,
    )
    assert not check.ok
    assert check.problems[0].startswith("the fit did not move from p0")
    # A solution where group 1's per-group values never left p0.
    x = chunked3.x.copy()
    x[layout.group_index(1)] = p0[layout.group_index(1)]
    normal = objective.normal(x)
    inverse, constrained = information_inverse(normal.hessian)
    check = check_solution(
        layout,
        chunked3.groups,
        x,
        p0,
        lower,
        upper,
        normal,
        at_p0.cost,
        inverse,
        constrained,
        error_scale=1.0,
    )
    assert check.untouched_groups == [chunked3.groups[1]]
    assert any("exactly at p0" in p for p in check.problems)
    assert "contrast[1]" in check.not_converged


def _objective_for(data, layout):
    from fastsplit._fit._data import ChunkStacks, count_groups, stratified
    from fastsplit._fit._normal import Objective

    counted, _ = count_groups(data.phi, 2000, "auto")
    chunking = stratified(counted, 2000, "auto", 0.0)
    stacks = ChunkStacks.build(data.x, data.g2, 1 / data.sigma, chunking)
    return Objective(data.model, layout, True, stacks)


# -- shared data ----------------------------------------------------------------------


def line(x, *, slope, offset):
    return slope * x + offset


def sparse_data():
    rng = np.random.default_rng(1)
    counts = [2000, 2000, 5]
    g = np.repeat([1.0, 2.0, 3.0], counts)
    x = rng.uniform(0, 1, g.size)
    offsets = np.repeat([0.3, -0.2, 1.5], counts)
    y = 1.7 * x + offsets + rng.normal(0, 0.01, g.size)
    return x, y, g


def fit_sparse_line(**kwargs):
    """A line with per-group offsets; group 3.0 has 5 points, fewer than the 9 chunks."""
    x, y, g = sparse_data()
    p0 = {"slope": 1.0, "offset": 0.0}
    return fit(
        line, x, y, groups=g, p0=p0, per_group=["offset"], sigma=0.01, chunk_size=500, **kwargs
    )


# -- a clean fit ----------------------------------------------------------------------


def test_no_warnings_on_a_clean_fit(xpcs3):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = fit_xpcs(xpcs3, p0=xpcs3.truth, chunk_size=5000)
    # Starting at the truth: the checks accept a fit that barely moves from a minimum.
    assert r.success
