"""Models whose constants are pass arguments: one compilation for every instance.

``TwoTimeModel`` passes ``dt``, ``q`` and ``L`` to its compiled passes, so the q bins
of a file share them; a user's class can declare its own constants the same way.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("jax")

import fastsplit
from fastsplit._fit._kernels import constants_of
from fastsplit.xpcs import TwoTimeModel, fit_two_time, synthesize


@pytest.fixture
def compiles():
    """Counts XLA compilations while a test runs."""
    import jax.monitoring

    seen = []

    def listen(event: str, secs: float, **kwargs) -> None:
        if event.endswith("backend_compile_duration"):
            seen.append(secs)

    jax.monitoring.register_event_duration_secs_listener(listen)
    yield seen
    jax.monitoring.unregister_event_duration_listener(listen)


def _fit(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastsplit.ParameterAtBoundWarning)
        return fit_two_time(data.model, data, p0=data.model.rough_p0())


@pytest.mark.parametrize("mode", ["static", "laminar_flow"])
def test_q_bins_share_one_compilation_and_fit_their_own_q(mode, compiles):
    first = synthesize(n_angles=3, n_frames=41, mode=mode, seed=1, q=0.0049, dt=0.2)
    other = synthesize(n_angles=3, n_frames=41, mode=mode, seed=2, q=0.0073, dt=0.1, L=1.5e6)
    _fit(first)
    compiled = len(compiles)
    result = _fit(other)
    assert len(compiles) == compiled  # the second q bin compiled nothing
    # ... and fitted its own geometry: its truth within 5 standard errors (D0 and
    # D_offset scale with 1/q^2: the first bin's q would put them 2.2x off)
    for name in other.model.shared_names:
        assert abs(result.params[name] - other.truth[name]) <= 5 * result.errors[name]
    assert result.reduced_chi2 == pytest.approx(1.0, abs=0.2)
    # the same answer as a model whose constants are baked in (nothing shared)
    baked = _Baked(other.model)
    assert constants_of(baked) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastsplit.ParameterAtBoundWarning)
        again = fit_two_time(baked, other, p0=other.model.rough_p0())
    for name in other.model.shared_names:
        assert again.params[name] == pytest.approx(result.params[name], rel=1e-9)


class _Baked(TwoTimeModel):
    """The XPCS model without the constants protocol (the key alone is inherited off)."""

    def __init__(self, model: TwoTimeModel) -> None:
        self.__dict__.update(model.__dict__)


class Decay:
    def __init__(self, rate_scale: float) -> None:
        self.rate_scale = rate_scale

    def __call__(self, t, *, a, k):
        import jax.numpy as jnp

        return a * jnp.exp(-k * self.rate_scale * t)

    def __fastsplit_compile_key__(self) -> str:
        return "Decay"

    def __fastsplit_constants__(self) -> dict[str, float]:
        return {"rate_scale": self.rate_scale}

    def __fastsplit_with_constants__(self, **values):
        return Decay(**values)


def test_a_users_class_declares_its_constants(compiles):
    t = np.linspace(0.0, 5.0, 300)
    fastsplit.fit(Decay(1.0), t, 2.0 * np.exp(-0.5 * t), p0={"a": 1.0, "k": 1.0})
    compiled = len(compiles)
    r = fastsplit.fit(Decay(3.0), t, 2.0 * np.exp(-1.5 * t), p0={"a": 1.0, "k": 1.0})
    assert len(compiles) == compiled
    assert r.params["k"] == pytest.approx(0.5, rel=1e-8)
    assert r.params["a"] == pytest.approx(2.0, rel=1e-8)


def test_a_class_without_its_own_key_bakes_its_constants_in():
    class Sub(Decay):  # inherits the protocol, but defines none of it in its own body
        pass

    assert constants_of(Sub(1.0)) is None
    assert constants_of(Decay(2.0)) == {"rate_scale": 2.0}
    assert constants_of(TwoTimeModel(5, q=0.01)) == {"dt": 0.1, "q": 0.01, "L": 2e6}


def test_cluster_counts_that_differ_never_share_an_exported_pass(tmp_path, monkeypatch):
    """The clustered pass is shaped by its cluster counts, which are not arguments: a
    fit with other counts but the same data shapes must not read another's export."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # a new store for the exports
    data = synthesize(n_angles=2, n_frames=17, seed=3)  # a frame count no other test uses
    x = (data.phi, data.t1, data.t2)
    frames = np.rint(data.t1 / data.model.dt).astype(int)
    errors = []
    for n_blocks in (12, 16):
        blocks = frames * n_blocks // 17
        r = fastsplit.fit(
            data.model,
            x,
            data.g2,
            groups=data.phi,
            p0=data.model.default_p0(),
            per_group=["contrast", "offset"],
            sigma=data.sigma,
            errors="cluster",
            clusters=(blocks,),
        )
        errors.append(r.errors["D0"])
    assert any(p.name.startswith("clustered-") for p in tmp_path.rglob("*.jaxexport"))
    assert len({p.name for p in tmp_path.rglob("clustered-*.jaxexport")}) == 2
    assert errors[0] != errors[1]


@pytest.mark.parametrize("values", [{"rate_scale": "fast"}, {"rate_scale": [1.0, 2.0]}, 3.0])
def test_constants_that_are_no_numbers_are_refused_by_name(values):
    class Odd(Decay):
        __fastsplit_compile_key__ = Decay.__fastsplit_compile_key__
        __fastsplit_with_constants__ = Decay.__fastsplit_with_constants__

        def __fastsplit_constants__(self):
            return values

    refused = fastsplit.errors.InvalidArgumentError
    with pytest.raises(refused, match=r"Odd\.__fastsplit_constants__"):
        constants_of(Odd(1.0))
