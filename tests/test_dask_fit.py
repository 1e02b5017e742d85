"""``fastsplit.fit`` on dask arrays (docs/scaling-out.md, "Fitting on a cluster").

The blocks stay where dask holds them; each iteration sums the exact normal
equations over them. The answer must be the in-memory fit's (parameters within
rtol 1e-8, cost within 1e-10 relative), with the same never-silent checks. Unit
tests run on the synchronous scheduler; one end-to-end fit runs on the shared
LocalCluster of worker processes (``conftest.client``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.nlsq, pytest.mark.dask]
nlsq = pytest.importorskip("nlsq")
dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

import jax.numpy as jnp  # noqa: E402  (after importorskip: nlsq brings JAX)

from fastsplit import fit  # noqa: E402
from fastsplit.errors import (  # noqa: E402
    FastsplitError,
    FitFailedError,
    InvalidArgumentError,
    InvalidLabelsError,
    InvalidShapeError,
    InvalidTypeError,
    LengthMismatchError,
)
from fastsplit.xpcs import synthesize  # noqa: E402

PER_GROUP = ("contrast", "offset")


@pytest.fixture
def sync() -> Iterator[None]:
    with dask.config.set(scheduler="sync"):
        yield


@pytest.fixture(scope="module")
def xpcs():
    return synthesize(n_angles=3, n_frames=40, seed=3)


def fit_xpcs(d, x, y, groups, sigma, **kwargs):
    m = d.model
    return fit(
        m,
        x,
        y,
        groups=groups,
        p0=m.rough_p0(),
        per_group=PER_GROUP,
        sigma=sigma,
        bounds=m.default_bounds(),
        **kwargs,
    )


@pytest.fixture(scope="module")
def in_memory(xpcs):
    return fit_xpcs(xpcs, xpcs.x, xpcs.g2, xpcs.phi, xpcs.sigma, chunk_size=1000)


def lazy(a, blocks):
    return da.from_array(np.asarray(a), chunks=blocks)


def assert_same_minimum(r, ref):
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-8, atol=0)
    assert abs(r.cost - ref.cost) <= 1e-10 * ref.cost
    np.testing.assert_allclose(r.errors["D0"], ref.errors["D0"], rtol=1e-6)
    assert r.success and r.strategy == "chunked"
    assert r.groups.tolist() == ref.groups.tolist() and r.counts.tolist() == ref.counts.tolist()


@pytest.mark.parametrize("blocks", [1111, 4800, 10**6])  # ragged, group-aligned, one block
def test_dask_fit_is_the_in_memory_fit(sync, xpcs, in_memory, blocks):
    d = xpcs
    x = tuple(lazy(a, blocks) for a in d.x)
    r = fit_xpcs(d, x, lazy(d.g2, blocks), lazy(d.phi, blocks), lazy(d.sigma, blocks))
    assert_same_minimum(r, in_memory)
    assert r.info["dask_blocks"] == -(-d.g2.size // blocks)
    assert "dask arrays" in r.reason


def test_mixed_inputs_take_the_blocks_of_the_dask_one(sync, xpcs, in_memory):
    """NumPy groups and sigma, dask y cut one way and x another: aligned to y's blocks."""
    d = xpcs
    x = (lazy(d.x[0], 3000), d.x[1], lazy(d.x[2], 700))
    r = fit_xpcs(d, x, lazy(d.g2, 2000), d.phi, d.sigma)
    assert_same_minimum(r, in_memory)
    assert r.info["dask_blocks"] == 3


def test_scalar_sigma_and_robust_loss_match_in_memory(sync, xpcs):
    d = xpcs
    ref = fit_xpcs(d, d.x, d.g2, d.phi, 0.02, loss="soft_l1", chunk_size=1000)
    x = tuple(lazy(a, 1500) for a in d.x)
    r = fit_xpcs(d, x, lazy(d.g2, 1500), lazy(d.phi, 1500), 0.02, loss="soft_l1")
    assert_same_minimum(r, ref)


def _gated_line(x, *, slope, offset):
    # offset only acts where x > 0: a group with x <= 0 everywhere cannot constrain it.
    return slope * x + offset * (x > 0)


def _line_data():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(0.1, 1, 600), -rng.uniform(0.1, 1, 300)])
    g = np.repeat([5.0, 6.0, 7.0], 300)
    y = 2.0 * x + np.where(x > 0, np.repeat([0.5, -0.5, 9.0], 300), 0.0) + rng.normal(0, 0.01, 900)
    return x, y, g


def test_an_unconstrained_group_still_raises_naming_it(sync):
    x, y, g = _line_data()
    with pytest.raises(FitFailedError) as info:
        fit(
            _gated_line,
            lazy(x, 250),
            lazy(y, 250),
            groups=lazy(g, 250),
            p0={"slope": 1.0, "offset": 0.0},
            per_group=["offset"],
            sigma=0.01,
        )
    assert "offset[2] (group 7.0)" in str(info.value)
    assert info.value.result.check.unconstrained == ["offset[2]"]


def _line(x, *, slope, offset):
    return slope * jnp.exp(-x) + offset


LINE = {"p0": {"slope": 1.0, "offset": 0.0}, "per_group": ["offset"]}


@pytest.mark.parametrize("strategy", ["full", "streaming", "sequential"])
def test_other_strategies_are_refused_with_the_fix(strategy):
    x, y, g = _line_data()
    with pytest.raises(InvalidArgumentError, match=r"only 'chunked'.*compute"):
        fit(_line, lazy(x, 300), y, groups=g, strategy=strategy, **LINE)


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (
            {"y": np.where(np.arange(900) == 700, np.nan, 1.0)},
            InvalidArgumentError,
            "y .dask block 2",
        ),
        (
            {"x": np.where(np.arange(900) == 10, np.inf, 1.0)},
            InvalidArgumentError,
            "x .dask block 0",
        ),
        ({"g": np.where(np.arange(900) == 420, np.nan, 5.0)}, InvalidLabelsError, "index 420"),
        ({"sigma": -np.ones(900)}, InvalidArgumentError, "sigma must be positive"),
        ({"sigma": 0.0}, InvalidArgumentError, "sigma must be a positive"),
        ({"y": np.ones(899)}, LengthMismatchError, "groups has 900 points but y has 899"),
        ({"g": np.ones(901)}, LengthMismatchError, "groups has 901 points"),
        ({"x": np.ones((900, 2))}, InvalidShapeError, "tuple of 1-D arrays"),
        ({"y": np.array(["a"] * 900)}, InvalidTypeError, "y must hold real numbers"),
        ({"y": np.ones(0), "x": np.ones(0), "g": np.ones(0)}, InvalidArgumentError, "empty"),
    ],
)
def test_bad_data_are_refused_naming_them(sync, change, error, words):
    x, y, g = _line_data()
    data = {"x": x, "y": y, "g": g, "sigma": 0.01, **change}
    as_dask = {k: lazy(v, 300) if np.ndim(v) else v for k, v in data.items()}
    with pytest.raises(error, match=words):
        fit(_line, as_dask["x"], as_dask["y"], groups=as_dask["g"], sigma=as_dask["sigma"], **LINE)


def test_numpy_inputs_never_import_dask_for_fit():
    """The check for dask inputs reads type names: a NumPy fit does not need dask."""
    from fastsplit._fit._inputs import holds_dask

    x, y, g = _line_data()
    assert not holds_dask(x, y, g, None) and not holds_dask((x, x), y, g, 0.1)
    assert holds_dask((x, lazy(x, 100)), y, g, None) and holds_dask(x, y, g, lazy(y, 100))


def test_dask_fit_on_a_cluster_of_processes(on_cluster, xpcs, in_memory):
    """Blocks persisted on 2 worker processes, the model pickled to them, summed there."""
    import distributed

    d = xpcs
    x = tuple(lazy(a, 1600) for a in d.x)
    with distributed.get_task_stream(on_cluster) as stream:
        r = fit_xpcs(d, x, lazy(d.g2, 1600), lazy(d.phi, 1600), lazy(d.sigma, 1600))
    assert_same_minimum(r, in_memory)
    workers = {task["worker"] for task in stream.data if "block_normal" in task["key"]}
    assert len(workers) == 2, "both workers computed normal equations"


def test_a_closure_model_pickles_to_the_workers(on_cluster):
    """A lambda is pickled by value with every task; each worker compiles it once per fit."""
    x, y, g = _line_data()
    y = 2.0 * np.exp(-x) + np.repeat([0.5, -0.5, 9.0], 300)
    shift = 0.0
    model = lambda x, *, slope, offset: slope * jnp.exp(-(x + shift)) + offset  # noqa: E731
    ref = fit(model, x, y, groups=g, sigma=0.01, chunk_size=200, **LINE)
    r = fit(model, lazy(x, 200), lazy(y, 200), groups=lazy(g, 200), sigma=0.01, **LINE)
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-8)
    assert r.info["dask_blocks"] == 5


def test_many_files_fit_at_once_on_the_cluster(client, tmp_path):
    """The recipe of docs/scaling-out.md ("Many datasets"): one task per file, each fit
    judged on its own; a broken file reports its error and the others succeed."""
    from fastsplit.xpcs import TwoTimeData

    paths = []
    for seed in range(3):
        d = synthesize(n_angles=3, n_frames=24, seed=seed)
        data = TwoTimeData(*d.x, d.g2, d.sigma, q=d.model.q, dt=d.model.dt, n_frames=24)
        paths.append(tmp_path / f"q{seed}.npz")
        data.save_npz(paths[-1])
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an npz archive")
    paths.insert(1, broken)

    def fit_one(path):  # a closure: pickled by value, as a script's function would be
        from fastsplit.xpcs import TwoTimeModel, fit_two_time, load

        data = load(path)
        model = TwoTimeModel(n_frames=data.n_frames, dt=data.dt, q=data.q)
        return fit_two_time(model, data, p0=model.rough_p0(), on_failure="warn")

    futures = client.map(fit_one, [str(p) for p in paths])
    outcome = []
    for future in futures:
        try:
            outcome.append(future.result())
        except FastsplitError as exc:  # raised on the worker, the same error here
            outcome.append(exc)
    error = outcome.pop(1)
    assert isinstance(error, InvalidArgumentError) and "broken.npz" in str(error)
    assert all(r.success and r.check.ok for r in outcome)
    assert [r.params["contrast"].size for r in outcome] == [3, 3, 3]


@settings(max_examples=10, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 899), max_size=6, unique=True),
    chunk_size=st.sampled_from([64, 100, 1000]),
)
def test_any_blocks_give_the_in_memory_minimum(cuts, chunk_size):
    """The contract: exact sums do not depend on how the points are cut into blocks."""
    x, y, g = _line_data()
    y = 2.0 * np.exp(-x) + np.repeat([0.5, -0.5, 9.0], 300) + np.sin(7 * x) * 0.01
    blocks = (tuple(np.diff([0, *sorted(cuts), 900]).tolist()),)
    ref = fit(_line, x, y, groups=g, sigma=0.01, chunk_size=chunk_size, **LINE)
    with dask.config.set(scheduler="sync"):
        r = fit(
            _line,
            da.from_array(x, chunks=blocks),
            da.from_array(y, chunks=blocks),
            groups=da.from_array(g, chunks=blocks),
            sigma=0.01,
            chunk_size=chunk_size,
            **LINE,
        )
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-8)
    assert abs(r.cost - ref.cost) <= 1e-10 * ref.cost
    assert r.info["dask_blocks"] == len(blocks[0])
    chunk_len = min(chunk_size, max(blocks[0]))
    assert r.info["n_chunks"] == sum(-(-b // chunk_len) for b in blocks[0])
