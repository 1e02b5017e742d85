"""Cluster-robust errors (docs/errors.md): the sandwich, its anchors, and that it holds.

* Linear models: the covariance is statsmodels' ``cov_type="cluster"`` (one-way,
  two-way, weighted), to rounding.
* The parameters do not depend on the error kind, bit for bit; both kinds are kept.
* Bad input is refused before any work, with the argument named.
* Simulated speckle (``fastsplit.xpcs._speckle``): over many data sets the spread
  of ``z = (estimate - truth) / error`` is about 1 with two-way frame-block
  clusters, and far above 1 with independent-point errors (the data are
  correlated, and the test can fail).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
nlsq = pytest.importorskip("nlsq")

import fastsplit  # noqa: E402
from fastsplit.errors import (  # noqa: E402
    ClusterWarning,
    InvalidArgumentError,
    InvalidTypeError,
    LengthMismatchError,
)
from fastsplit.xpcs import fit_two_time  # noqa: E402
from fastsplit.xpcs._clusters import frame_blocks  # noqa: E402
from fastsplit.xpcs._speckle import simulate_speckle  # noqa: E402


def _line(x, *, slope, offset):
    return slope * x + offset


@pytest.fixture(scope="module")
def clustered_line():
    """A line whose noise shares random effects within two crossed cluster labels."""
    rng = np.random.default_rng(7)
    n = 2400
    x = rng.uniform(0.0, 1.0, n)
    a = rng.integers(0, 24, n)
    b = rng.integers(0, 15, n)
    shock_x = rng.normal(size=24)[a] * x  # the slope varies by cluster: the sandwich matters
    y = 1.5 * x + 0.3 + rng.normal(size=n) + rng.normal(size=24)[a] + rng.normal(size=15)[b]
    y += shock_x
    sigma = rng.uniform(0.5, 2.0, n)
    return x, y, a, b, sigma


def _fastsplit(x, y, clusters, sigma=None, **options):
    return fastsplit.fit(
        _line,
        x,
        y,
        groups=np.zeros(x.shape[0]),
        p0={"slope": 1.0, "offset": 0.0},
        per_group=[],
        sigma=sigma,
        errors="cluster",
        clusters=clusters,
        **options,
    )


@pytest.mark.parametrize("two_way", [False, True], ids=["one-way", "two-way"])
@pytest.mark.parametrize("weighted", [False, True], ids=["ols", "wls"])
def test_the_covariance_is_statsmodels_cluster_covariance(clustered_line, two_way, weighted):
    sm = pytest.importorskip("statsmodels.api")
    x, y, a, b, sigma = clustered_line
    groups = np.column_stack([a, b]) if two_way else a
    design = sm.add_constant(x)
    if weighted:
        model = sm.WLS(y, design, weights=1.0 / sigma**2)
    else:
        model = sm.OLS(y, design)
    reference = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    result = _fastsplit(x, y, (a, b) if two_way else a, sigma=sigma if weighted else None)
    # fastsplit orders (slope, offset), statsmodels (const, x).
    np.testing.assert_allclose(result.x, reference.params[::-1], rtol=1e-8)
    np.testing.assert_allclose(result.covariance, reference.cov_params()[::-1, ::-1], rtol=1e-6)
    assert result.error_kind == "cluster"
    terms = result.info["clusters"]["terms"]
    assert terms == (
        ["clusters[0]", "clusters[1]", "clusters[0] x clusters[1]"] if two_way else ["clusters"]
    )


def test_parameters_are_bit_identical_and_both_errors_are_kept(clustered_line):
    x, y, a, b, _ = clustered_line
    model_only = fastsplit.fit(
        _line, x, y, groups=np.zeros(x.size), p0={"slope": 1.0, "offset": 0.0}, per_group=[]
    )
    cluster = _fastsplit(x, y, (a, b))
    shown_model = fastsplit.fit(
        _line,
        x,
        y,
        groups=np.zeros(x.size),
        p0={"slope": 1.0, "offset": 0.0},
        per_group=[],
        errors="model",
        clusters=(a, b),
    )
    assert model_only.error_kind == "model" and model_only.errors_cluster is None
    for r in (cluster, shown_model):
        assert np.array_equal(r.x, model_only.x)
        assert r.errors_model == model_only.errors
        np.testing.assert_array_equal(r.covariance_model, model_only.covariance)
    assert shown_model.errors == model_only.errors
    assert shown_model.errors_cluster == cluster.errors_cluster == cluster.errors
    assert cluster.errors["slope"] > 1.5 * cluster.errors_model["slope"]
    assert "cluster-robust" in cluster.report() and "[" in cluster.report()


def test_per_group_parameters_and_a_robust_loss_get_cluster_errors():
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.uniform(0, 1, n)
    g = rng.integers(0, 3, n).astype(float)
    c = rng.integers(0, 30, n)
    y = 2.0 * x + np.array([0.1, 0.2, 0.3])[g.astype(int)] + 0.05 * rng.normal(size=n)
    y += 0.05 * rng.normal(size=30)[c]
    r = fastsplit.fit(
        _line,
        x,
        y,
        groups=g,
        p0={"slope": 1.0, "offset": 0.0},
        per_group=["offset"],
        errors="cluster",
        clusters=c,
        loss="soft_l1",
        f_scale=0.1,
    )
    assert np.all(np.isfinite(r.errors["offset"]))
    assert np.all(r.errors["offset"] > r.errors_model["offset"])


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"errors": "cluster"}, InvalidArgumentError, 'errors="cluster" needs clusters'),
        ({"errors": "robust", "clusters": "ok"}, InvalidArgumentError, "errors"),
        ({"clusters": "short"}, LengthMismatchError, "clusters"),
        ({"clusters": "2d"}, InvalidTypeError, "clusters must be a 1-D"),
        ({"clusters": ("ok", "2d")}, InvalidTypeError, "clusters[1] must be a 1-D"),
        ({"clusters": "one"}, InvalidArgumentError, "at least 2"),
        ({"clusters": "nan"}, InvalidArgumentError, "NaN"),
    ],
)
@pytest.mark.parametrize("call", [fastsplit.fit, fastsplit.choose_strategy])
def test_bad_clusters_are_refused_before_any_work(kwargs, error, words, call):
    n = 200
    x = np.linspace(0, 1, n)
    made = {
        "ok": np.arange(n) % 20,
        "short": np.arange(n - 1) % 20,
        "2d": np.zeros((n, 2)),
        "one": np.zeros(n),
        "nan": np.where(np.arange(n) == 3, np.nan, 1.0),
    }
    clusters = kwargs.get("clusters")
    if isinstance(clusters, tuple):
        kwargs = {**kwargs, "clusters": tuple(made[c] for c in clusters)}
    elif clusters is not None:
        kwargs = {**kwargs, "clusters": made[clusters]}
    with pytest.raises(error) as info:
        call(
            _line,
            x,
            2 * x,
            groups=np.zeros(n),
            p0={"slope": 1.0, "offset": 0.0},
            per_group=[],
            **kwargs,
        )
    assert words in str(info.value)


def test_few_clusters_warn():
    n = 200
    x = np.linspace(0, 1, n)
    with pytest.warns(ClusterWarning, match="only 5 clusters"):
        fastsplit.choose_strategy(
            _line,
            x,
            2 * x,
            groups=np.zeros(n),
            p0={"slope": 1.0, "offset": 0.0},
            per_group=[],
            errors="cluster",
            clusters=np.arange(n) % 5,
        )


# --- coverage on simulated speckle ------------------------------------------------
#
# One decay rate shared by every bin (the static model with alpha = 0, D_offset = 0:
# g1 = exp(-q^2 D lag / 2)), a contrast and an offset per bin; the clusters are the
# two-way frame blocks fit_two_time uses, sized from the fitted decay. (The full
# static model, whose three shared parameters are strongly nonlinear, is in
# benchmarks/cluster_coverage.py.)

SIMULATION = {"n_bins": 2, "n_frames": 150, "n_pixels": 600, "max_lag": 40}
DATA_SETS = 32
RATE = 85_700.0  # A^2/s: g1**2 falls to 1/e in 4-5 frames (blocks of 8-10)


def _one_rate(x, *, D, contrast, offset):
    import jax.numpy as jnp

    _, t1, t2 = x
    return offset + contrast * jnp.exp(-(0.0054**2) * D * jnp.abs(t2 - t1))


@pytest.fixture(scope="module")
def coverage():
    """z of the rate and the contrasts, both kinds, over DATA_SETS simulated measurements."""
    z = {"cluster": [], "model": []}
    for seed in range(DATA_SETS):
        data = simulate_speckle(
            seed=100 + seed, truth={"D0": RATE, "alpha": 0.0, "D_offset": 0.0}, **SIMULATION
        )
        blocks = frame_blocks(data, data.model)
        r = fastsplit.fit(
            _one_rate,
            data.x,
            data.g2,
            groups=data.phi,
            p0={"D": RATE / 2, "contrast": 0.2, "offset": 1.0},
            per_group=["contrast", "offset"],
            errors="cluster",
            clusters=lambda p, blocks=blocks: blocks({"D0": p["D"], "alpha": 0.0, "D_offset": 0.0}),
        )
        assert r.error_kind == "cluster" and 8 <= blocks.block_frames <= 12
        for kind, errors in (("cluster", r.errors_cluster), ("model", r.errors_model)):
            shared = (r.params["D"] - RATE) / errors["D"]
            contrast = (r.params["contrast"] - data.truth["contrast"]) / errors["contrast"]
            z[kind].append((shared, contrast))
    return {
        kind: (np.array([s for s, _ in rows]), np.array([c for _, c in rows]))
        for kind, rows in z.items()
    }


def test_cluster_errors_hold_on_simulated_speckle(coverage):
    shared, contrast = coverage["cluster"]
    assert 0.6 <= shared.std() <= 1.5, shared
    assert contrast.std() <= 1.7, contrast
    assert (np.abs(shared) < 2).mean() >= 0.8, shared


def test_independent_point_errors_are_far_too_small_on_speckle(coverage):
    shared, contrast = coverage["model"]
    assert shared.std() > 2.5
    assert contrast.std() > 2.5


def test_two_time_fits_say_which_errors_they_show():
    data = simulate_speckle(seed=1, n_bins=2, n_frames=150, n_pixels=200, max_lag=40)
    model = data.model
    import warnings

    with warnings.catch_warnings():
        # 150 frames with lags <= 40 hardly separate D0, alpha and D_offset: this small
        # fit ends with D0 on its upper bound (noted); the error kinds are what is tested.
        warnings.simplefilter("ignore", fastsplit.ParameterAtBoundWarning)
        robust = fit_two_time(model, data, p0=dict(model.rough_p0()), block_frames=10)
        plain = fit_two_time(
            model, data, p0=dict(model.rough_p0()), errors="model", block_frames=10
        )
    assert robust.error_kind == "cluster" and plain.error_kind == "model"
    assert robust.info["clusters"]["block_frames"] == 10
    assert robust.info["clusters"]["n_clusters"][:2] == [15, 15]
    assert np.array_equal(robust.x, plain.x)
    for name, value in robust.errors.items():
        np.testing.assert_array_equal(plain.errors_cluster[name], value)
    assert robust.errors["D0"] > 2 * robust.errors_model["D0"]


# --- Dask blocks and several devices give the in-memory cluster errors ---------------


@pytest.mark.dask
def test_dask_blocks_give_the_in_memory_cluster_errors(clustered_line):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    x, y, a, b, sigma = clustered_line
    groups = (a % 3).astype(float)
    options = dict(
        p0={"slope": 1.0, "offset": 0.0}, per_group=["offset"], chunk_size=300, errors="cluster"
    )
    ref = fastsplit.fit(_line, x, y, groups=groups, sigma=sigma, clusters=(a, b), **options)

    def lazy(values):
        return da.from_array(np.asarray(values), chunks=1200)

    with dask.config.set(scheduler="sync"):
        r = fastsplit.fit(
            _line,
            lazy(x),
            lazy(y),
            groups=lazy(groups),
            sigma=lazy(sigma),
            clusters=(lazy(a), b),  # a NumPy dimension is cut into y's blocks
            **options,
        )
    assert r.info["dask_blocks"] == 2
    assert r.info["clusters"]["n_clusters"] == ref.info["clusters"]["n_clusters"]
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-8)
    np.testing.assert_allclose(r.covariance_cluster, ref.covariance_cluster, rtol=1e-8)
    assert r.error_kind == "cluster"


def test_the_fit_command_prints_and_records_robust_errors_by_default(tmp_path, capsys):
    from fastsplit.cli import main

    data = simulate_speckle(seed=5, n_bins=2, n_frames=150, n_pixels=200, max_lag=40)
    path = tmp_path / "speckle.npz"
    data.save_npz(path)
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "-o", str(out), "--no-figure", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "errors: cluster-robust (sandwich) errors; in [ ]: independent-point" in printed
    record = json.loads(out.read_text())
    assert record["error_kind"] == "cluster" and record["fit_options"]["errors"] == "cluster"
    assert record["errors"] == record["errors_cluster"] != record["errors_model"]
    assert record["clusters"]["terms"][-1] == "clusters[0] x clusters[1]"
    assert record["clusters"]["block_frames"] >= 4
    argv = ["fit", str(path), "-o", str(out), "--no-figure", "--quiet", "--force"]
    assert main([*argv, "--errors", "model", "--block-frames", "10"]) == 0
    record = json.loads(out.read_text())
    assert record["error_kind"] == "model" and record["errors"] == record["errors_model"]
    assert record["clusters"]["block_frames"] == 10


@pytest.mark.parametrize("strategy", ["full", "sequential"])
def test_every_strategy_gets_cluster_errors_at_its_solution(clustered_line, strategy):
    x, y, a, b, sigma = clustered_line
    groups = (a % 3).astype(float)
    options = dict(
        p0={"slope": 1.0, "offset": 0.0},
        per_group=["offset"],
        sigma=sigma,
        errors="cluster",
        clusters=(a, b),
    )
    chunked = fastsplit.fit(_line, x, y, groups=groups, strategy="chunked", **options)
    other = fastsplit.fit(_line, x, y, groups=groups, strategy=strategy, **options)
    assert other.strategy == strategy and other.error_kind == "cluster"
    assert np.all(np.isfinite(other.covariance_cluster))
    assert other.errors["slope"] > other.errors_model["slope"]
    if strategy == "full":  # the same minimum: the same errors
        np.testing.assert_allclose(other.x, chunked.x, rtol=1e-6)
        np.testing.assert_allclose(other.covariance_cluster, chunked.covariance_cluster, rtol=1e-4)
    # sequential combines per-group fits: another estimate, its own errors at it


def _blocky(n=6000):
    """Three groups, a noise offset shared by each block of 100 points (clustered)."""
    rng = np.random.default_rng(0)
    x = np.linspace(0, 4, n)
    g = np.repeat([0.0, 1.0, 2.0], n // 3)
    shared = 0.05 * rng.normal(size=n // 100).repeat(100)
    y = 2.5 * np.exp(-1.3 * x) + np.repeat([0.4, 0.5, 0.6], n // 3) + shared
    y = y + 0.01 * rng.normal(size=n)
    return x, y, g, np.arange(n) // 100


def test_a_numpy_model_gets_the_same_cluster_errors_by_finite_differences():
    fit = fastsplit.fit
    import warnings

    import jax.numpy as jnp

    x, y, g, blocks = _blocky()

    def with_jax(x, *, a, k, c):
        return a * jnp.exp(-k * x) + c

    def with_numpy(x, *, a, k, c):
        return a * np.exp(-k * x) + c

    kw = dict(
        groups=g,
        p0={"a": 1.0, "k": 1.0, "c": 0.0},
        per_group=["c"],
        chunk_size=1000,
        errors="cluster",
        clusters=blocks,
    )
    exact = fit(with_jax, x, y, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the finite-difference note
        numeric = fit(with_numpy, x, y, **kw)
    assert numeric.error_kind == "cluster"
    np.testing.assert_allclose(numeric.covariance, exact.covariance, rtol=1e-4, atol=0)
    assert exact.errors["k"] > 5 * exact.errors_model["k"]  # the blocks are correlated


def test_fixed_parameters_have_zero_error_of_both_kinds():
    fit = fastsplit.fit
    import jax.numpy as jnp

    x, y, g, blocks = _blocky()

    def model(x, *, a, k, c):
        return a * jnp.exp(-k * x) + c

    r = fit(
        model,
        x,
        y,
        groups=g,
        p0={"a": 2.5, "k": 1.0, "c": 0.0},
        per_group=["c"],
        fixed=("a",),
        chunk_size=1000,
        errors="cluster",
        clusters=blocks,
    )
    assert r.fixed == ("a",)
    assert r.errors["a"] == r.errors_cluster["a"] == r.errors_model["a"] == 0.0
    assert r.errors["k"] == r.errors_cluster["k"] > r.errors_model["k"] > 0
    assert r.covariance_cluster.shape == r.covariance_model.shape == (5, 5)
