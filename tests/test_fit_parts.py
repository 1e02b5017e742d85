"""The parts of fastsplit.fit that need neither nlsq nor JAX: the strategy choice,
the strategy table against the config, the robust losses against scipy's
definitions, the verdict on exact normal equations, the shared numerical helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastsplit._fit._checks import check_solution, information_inverse
from fastsplit._fit._choose import Choice, choose
from fastsplit._fit._common import at_bound, listing, unit_diagonal
from fastsplit._fit._loss import LOSSES, Loss
from fastsplit._fit._model import make_layout
from fastsplit._fit._normal import NormalEquations
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


def test_auto_takes_chunked_the_fastest_at_every_size():
    # docs/fit.md: chunked beat full (nlsq.curve_fit) and streaming at every size measured.
    one = _choose(counts=(100, 100, 100), chunk_size=1000)
    assert (one.strategy, one.chunk_size, one.requested) == ("chunked", 1000, False)
    assert "1 chunk:" in one.reason and "fastest" in one.reason
    many = _choose(counts=(1000, 1000, 1000), chunk_size=500)
    assert (many.strategy, many.chunk_size) == ("chunked", 500)
    assert "6 chunks" in many.reason


def test_sparse_groups_grow_the_chunks_once_from_the_counts():
    c = _choose()
    assert c.strategy == "chunked" and c.chunk_size == -(-4005 // 5)
    assert "3.0" in c.reason and "fewer points than the 9 chunks" in c.reason
    # Every group is then in every chunk.
    assert -(-4005 // c.chunk_size) <= 5


@pytest.mark.parametrize("requested", ["chunked", "streaming"])
def test_requested_chunked_strategies_grow_the_chunks_too(requested):
    c = _choose(requested)
    assert c.strategy == requested and c.chunk_size == 801 and c.requested
    assert c.reason == "requested; chunk_size raised to 801 for sparse groups"


@pytest.mark.parametrize("requested", ["full", "sequential"])
def test_requested_strategies_without_chunks_keep_the_chunk_size(requested):
    assert _choose(requested) == Choice(requested, "requested", 500, requested=True)


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


# -- robust losses: scipy's definitions -------------------------------------------------

residuals = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=40
)


@pytest.mark.parametrize("name", LOSSES)
@given(f=residuals, f_scale=st.floats(1e-3, 1e3))
def test_loss_cost_and_scaling_are_scipys(name, f, f_scale):
    scipy_lsq = pytest.importorskip("scipy.optimize._lsq.least_squares")
    common = pytest.importorskip("scipy.optimize._lsq.common")
    f = np.asarray(f)
    loss = Loss(name, f_scale)
    rho = scipy_lsq.construct_loss_function(f.size, name, f_scale)
    if rho is None:  # linear
        assert loss.cost(np, f) == pytest.approx(0.5 * np.sum(f * f), rel=1e-12)
        return
    expected_cost = rho(f, cost_only=True)
    # scipy's soft_l1 cost cancels at small z: agree to its rounding, f_scale**2 * eps a point
    rounding = 4 * np.finfo(float).eps * f_scale**2 * f.size
    assert loss.cost(np, f) == pytest.approx(expected_cost, rel=1e-10, abs=rounding)
    j = np.ones((f.size, 1))
    js, fs = common.scale_for_robust_loss_function(j, f.copy(), rho(f))
    row, scaled = loss.scaling(np, f)
    # The exact gradient of the robust cost, point by point: rho' f (scipy's scaled J^T f).
    np.testing.assert_allclose(row * scaled, js[:, 0] * fs, rtol=1e-9, atol=1e-300)
    # The reweighting Hessian: rho' >= 0 on every point (positive: no point is ignored).
    np.testing.assert_allclose(row**2, rho(f)[1], rtol=1e-12)
    # Residuals whose plain sum of squares is the robust cost (for optimisers without a loss).
    g = loss.signed_root(np, f)
    np.testing.assert_allclose(0.5 * np.sum(g * g), expected_cost, rtol=1e-9, atol=rounding)
    assert np.all(np.sign(g) == np.sign(f))


def test_loss_is_ordinary_least_squares_below_f_scale():
    f = np.array([1e-6, -2e-6])
    for name in LOSSES:
        assert Loss(name, 1.0).cost(np, f) == pytest.approx(0.5 * np.sum(f * f), rel=1e-5)


# -- the verdict on exact normal equations ------------------------------------------------


def _line_normal(x, offset_truth, noise, at):
    """Normal equations of y = slope x + offset[g] (3 groups), noise of size ``noise``."""
    rng = np.random.default_rng(0)
    g = np.repeat([0, 1, 2], x.size // 3)
    y = 2.0 * x + np.asarray(offset_truth)[g] + noise * rng.standard_normal(x.size)
    j = np.zeros((x.size, 4))
    j[:, 0] = x
    j[np.arange(x.size), 1 + g] = 1.0
    r = at[0] * x + at[1:][g] - y
    return NormalEquations(j.T @ j, j.T @ r, 0.5 * float(r @ r)), y


def _verdict(normal, at, p0, *, scale, floor=0.0):
    layout = make_layout({"slope": 1.0, "offset": 0.0}, ["offset"], 3)
    inverse, constrained = information_inverse(normal.hessian)
    lower, upper = np.full(4, -np.inf), np.full(4, np.inf)
    return check_solution(
        layout,
        np.arange(3.0),
        at,
        p0,
        lower,
        upper,
        normal,
        normal.cost * 2 + 1,
        inverse,
        constrained,
        error_scale=max(scale, floor),
    )


def test_a_zero_residual_is_constrained_not_unconstrained():
    x = np.tile(np.linspace(0, 1, 30), 3)
    truth = np.array([2.0, 0.1, 0.2, 0.3])
    normal, _ = _line_normal(x, truth[1:], 0.0, truth)
    assert normal.cost == 0.0
    inverse, constrained = information_inverse(normal.hessian)
    assert constrained.all() and np.all(np.isfinite(np.diag(inverse)))


def test_exact_data_pass_with_the_precision_floor_and_a_wrong_answer_never_does():
    x = np.tile(np.linspace(0, 1, 30), 3)
    truth = np.array([2.0, 0.1, 0.2, 0.3])
    # At the truth up to rounding: the fit's own residual scale is 0, the floor decides.
    near = truth * (1 + 1e-13)
    normal, y = _line_normal(x, truth[1:], 0.0, near)
    floor = 1e-10 * np.sqrt(np.mean(y * y))
    assert _verdict(normal, near, near, scale=0.0, floor=floor).ok
    # Off by 1e-6: far beyond what any solver's precision excuses.
    wrong = truth + np.array([1e-6, 0, 0, 0])
    normal, y = _line_normal(x, truth[1:], 0.0, wrong)
    check = _verdict(normal, wrong, truth, scale=0.0, floor=floor)
    assert not check.ok and "slope" in check.not_converged
    # Noisy data: a remaining step of 5 standard errors fails, of 0.2 passes.
    normal, _ = _line_normal(x, truth[1:], 0.01, truth)
    best = truth - np.linalg.solve(normal.hessian, normal.gradient)  # a linear model
    sd = np.sqrt(np.diag(information_inverse(normal.hessian)[0])) * 0.01
    for shift, ok in ((0.2, True), (5.0, False)):
        at = best + np.array([shift * sd[0], 0, 0, 0])
        normal_at, _ = _line_normal(x, truth[1:], 0.01, at)
        check = _verdict(normal_at, at, truth, scale=0.01)
        assert check.ok == ok and check.step_sigma[0] == pytest.approx(shift, rel=1e-6)


# -- timings: stratify's first-call compilation is counted apart ---------------------------


def test_stratify_compilation_is_not_stratify_time(monkeypatch):
    import time
    from types import SimpleNamespace

    import fastsplit
    from fastsplit._fit import _data

    labels = np.repeat([1.0, 2.0], 50)
    counted, _ = _data.count_groups(labels, 40, "numpy")
    real = fastsplit.stratify

    def compiling_stratify(*args, **kwargs):
        s = real(*args, **kwargs)
        time.sleep(0.2)  # "compiling"
        diagnostics = SimpleNamespace(compile_seconds=0.2)
        return SimpleNamespace(
            plan=s.plan, order=s.order, codes=s.codes, diagnostics=diagnostics, backend="numba"
        )

    monkeypatch.setattr(fastsplit, "stratify", compiling_stratify)
    chunking = _data.stratified(counted, 40, "numpy", 0.0)
    # the plan's own first load (if this process had not loaded numpy's backend yet) adds
    assert chunking.compile_seconds == pytest.approx(0.2 + counted.compile_seconds)
    assert chunking.seconds < 0.1


def test_the_first_plan_reports_its_loading_apart_from_counting():
    """A fit's first count of the groups loads the numba kernels (import + cache or
    compile, hundreds of ms): that is compilation, not stratification time."""
    import subprocess
    import sys

    pytest.importorskip("numba")
    code = (
        "import numpy as np\n"
        "from fastsplit._fit import _data\n"
        "labels = np.repeat([1.0, 2.0, 3.0], 1000)\n"
        "counted, seconds = _data.count_groups(labels, 40, 'numba')\n"
        "again, seconds_again = _data.count_groups(labels, 40, 'numba')\n"
        "print(counted.compile_seconds, seconds, again.compile_seconds, seconds_again)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    first_compile, first, again_compile, again = map(float, out.stdout.split())
    assert first_compile > 0.05  # importing numba alone takes longer
    assert first < first_compile
    assert again_compile == 0.0
    assert again < 0.05


def test_a_chunk_whose_jacobian_would_not_fit_is_made_smaller(monkeypatch):
    from fastsplit._fit._strategies import chunked

    layout = _layout()
    per_point = chunked.chunk_bytes(1, layout)
    monkeypatch.setattr("fastsplit._memory.budget", lambda *args: 1000 * per_point)
    c = _choose(counts=(10_000, 10_000, 10_000), chunk_size=30_000)
    assert (c.strategy, c.chunk_size) == ("chunked", 1000)
    assert "lowered to 1,000" in c.reason and "memory budget" in c.reason
    full = _choose("full", counts=(10_000, 10_000, 10_000), chunk_size=30_000)
    assert full.chunk_size == 30_000  # full does not fit chunk by chunk


def test_the_dry_run_takes_exactly_the_arguments_of_fit():
    """choose_strategy repeats fit's signature by design; this keeps the two in step."""
    import inspect

    import fastsplit

    fit_params = inspect.signature(fastsplit.fit).parameters
    dry_params = inspect.signature(fastsplit.choose_strategy).parameters
    assert list(fit_params) == list(dry_params)
    for name, param in fit_params.items():
        assert dry_params[name].default == param.default, name
        assert dry_params[name].kind == param.kind, name
