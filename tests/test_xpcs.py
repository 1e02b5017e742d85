"""fastsplit.xpcs: the two-time model (NumPy and JAX), the synthetic generator, the settings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fastsplit.errors import ConfigError, InvalidArgumentError, InvalidTypeError
from fastsplit.xpcs import (
    LAMINAR_FLOW_PARAMETERS,
    STATIC_PARAMETERS,
    TwoTimeData,
    TwoTimeModel,
    XpcsSettings,
    synthesize,
)


def _reference_g2(model: TwoTimeModel, phi, t1, t2, p):
    """Straight transcription of docs/xpcs-model.md, one point at a time."""
    dt, n = model.dt, model.n_frames
    t = np.maximum(np.arange(n) * dt, dt / 2)
    diff = np.maximum(p["D0"] * t ** p["alpha"] + p["D_offset"], 1e-10)
    cum_d = np.concatenate([[0.0], np.cumsum(dt * (diff[1:] + diff[:-1]) / 2)])
    if model.mode == "laminar_flow":
        rate = np.maximum(p["gamma_dot_t0"] * t ** p["beta"] + p["gamma_dot_t_offset"], 1e-10)
        cum_s = np.concatenate([[0.0], np.cumsum(dt * (rate[1:] + rate[:-1]) / 2)])
    out = []
    for a, u, v in zip(phi, t1, t2, strict=True):
        i, j = round(u / dt), round(v / dt)
        g1 = np.exp(-(model.q**2 / 2) * abs(cum_d[j] - cum_d[i]))
        if model.mode == "laminar_flow":
            x = (
                model.q
                * model.L
                / (2 * np.pi)
                * np.cos(np.deg2rad(p["phi0"] - a))
                * abs(cum_s[j] - cum_s[i])
            )
            sinc = 1.0 if x == 0 else np.sin(x) / x
            g1 *= sinc**2
        g1 = max(g1, 1e-10)
        out.append(p["offset"] + p["contrast"] * g1 * g1)
    return np.array(out)


@pytest.mark.parametrize("mode", ["static", "laminar_flow"])
def test_model_matches_the_formula(mode):
    model = TwoTimeModel(30, mode=mode)
    rng = np.random.default_rng(3)
    phi = rng.uniform(-180, 180, 40)
    t1 = rng.integers(0, 30, 40) * model.dt
    t2 = rng.integers(0, 30, 40) * model.dt
    p = {**model.default_p0(), "contrast": 0.31, "offset": 0.97}
    got = model((phi, t1, t2), **p)
    np.testing.assert_allclose(got, _reference_g2(model, phi, t1, t2, p), rtol=1e-12)
    # On the diagonal g1 = 1, so g2 = offset + contrast.
    np.testing.assert_allclose(model((phi, t1, t1), **p), 0.97 + 0.31, rtol=1e-12)


def test_names_and_defaults():
    static = TwoTimeModel(10)
    assert static.shared_names == STATIC_PARAMETERS
    laminar = TwoTimeModel(10, mode="laminar_flow")
    assert laminar.shared_names == LAMINAR_FLOW_PARAMETERS
    assert laminar.parameter_names[-2:] == ("contrast", "offset")
    bounds = laminar.default_bounds()
    for name, value in laminar.default_p0().items():
        lo, hi = bounds[name]
        assert lo <= value <= hi, name
    assert "laminar_flow" in repr(laminar)


@pytest.mark.parametrize("mode", ["static", "laminar_flow"])
def test_rough_start_is_away_from_the_truth_and_within_bounds(mode):
    model = TwoTimeModel(10, mode=mode)
    rough, typical, bounds = model.rough_p0(), model.default_p0(), model.default_bounds()
    assert list(rough) == list(model.parameter_names)
    for name, value in rough.items():
        lo, hi = bounds[name]
        assert lo <= value <= hi, name
    assert all(rough[name] != typical[name] for name in model.shared_names)
    assert (rough["D0"], rough["alpha"], rough["D_offset"]) == (1.0e4, -0.8, 500.0)


def test_model_errors():
    with pytest.raises(InvalidArgumentError, match="mode"):
        TwoTimeModel(10, mode="flowing")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="n_frames"):
        TwoTimeModel(10.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="dt"):
        TwoTimeModel(10, dt=0.0)
    model = TwoTimeModel(10)
    with pytest.raises(InvalidArgumentError, match="missing"):
        model((np.zeros(2), np.zeros(2), np.zeros(2)), D0=1.0)
    with pytest.raises(InvalidArgumentError, match=r"\(phi, t1, t2\)"):
        model(np.zeros(2), **model.default_p0())


def test_synthesize_layout_and_truth():
    d = synthesize(n_angles=4, n_frames=12, seed=7)
    assert d.n_points == 4 * 12 * 12
    assert d.angles.shape == (4,) and np.all(np.diff(d.angles) > 0)
    assert not np.allclose(d.angles, np.round(d.angles))  # non-integer angles
    assert np.all(np.abs(d.angles) < 180)
    # Angle-major: every point of the first angle, then the second, ...
    runs = np.flatnonzero(np.diff(d.phi)) + 1
    assert runs.tolist() == [144, 288, 432]
    np.testing.assert_array_equal(np.unique(d.phi), d.angles)
    np.testing.assert_array_equal(d.counts(), [144] * 4)
    for name in ("contrast", "offset"):
        assert d.truth[name].shape == (4,)
    assert np.all((d.truth["contrast"] >= 0.27) & (d.truth["contrast"] <= 0.32))
    assert np.all((d.truth["offset"] >= 0.76) & (d.truth["offset"] <= 1.0))
    assert len(np.unique(d.truth["contrast"])) == 4  # per-angle values differ
    # Deterministic per seed.
    again = synthesize(n_angles=4, n_frames=12, seed=7)
    np.testing.assert_array_equal(d.g2, again.g2)
    assert not np.array_equal(d.g2, synthesize(n_angles=4, n_frames=12, seed=8).g2)


def test_synthesize_noise_free_equals_model_and_options():
    d = synthesize(n_angles=3, n_frames=9, noise=0.0, mode="laminar_flow", seed=1)
    g = np.searchsorted(d.angles, d.phi)
    shared = {k: d.truth[k] for k in d.model.shared_names}
    expected = d.model(d.x, **shared, contrast=d.truth["contrast"][g], offset=d.truth["offset"][g])
    np.testing.assert_array_equal(d.g2, expected)
    np.testing.assert_array_equal(d.sigma, 1.0)
    upper = synthesize(n_angles=2, n_frames=9, upper_only=True, drop_diagonal=True)
    assert upper.n_points == 2 * 9 * 8 // 2
    assert np.all(upper.t2 > upper.t1)
    f32 = synthesize(n_angles=2, n_frames=5, dtype=np.float32)
    assert f32.g2.dtype == np.float32 and f32.phi.dtype == np.float32
    custom = synthesize(n_angles=2, n_frames=5, truth={"contrast": 0.5, "D0": 1000.0})
    np.testing.assert_array_equal(custom.truth["contrast"], [0.5, 0.5])
    assert custom.truth["D0"] == 1000.0
    with pytest.raises(InvalidArgumentError, match="unknown parameters"):
        synthesize(n_angles=2, n_frames=5, truth={"gamma": 1.0})
    with pytest.raises(InvalidArgumentError, match="n_angles"):
        synthesize(n_angles=0)
    with pytest.raises(InvalidArgumentError, match="noise"):
        synthesize(n_angles=1, n_frames=3, noise=-1.0)


def test_generator_does_not_import_jax():
    code = (
        "import sys; from fastsplit.xpcs import synthesize; synthesize(2, 5); "
        "bad = [m for m in ('jax', 'nlsq', 'scipy', 'matplotlib') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.jax
@pytest.mark.parametrize("mode", ["static", "laminar_flow"])
def test_jax_traceable_and_equal_to_numpy(mode):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    d = synthesize(n_angles=3, n_frames=10, mode=mode, noise=0.0, seed=2)
    g = np.searchsorted(d.angles, d.phi)
    params = {k: d.truth[k] for k in d.model.shared_names}
    params["contrast"] = d.truth["contrast"][g]
    params["offset"] = d.truth["offset"][g]
    with jax.enable_x64(True):
        f = jax.jit(lambda x, p: d.model(x, **p))
        got = f(tuple(jnp.asarray(a) for a in d.x), {k: jnp.asarray(v) for k, v in params.items()})
        np.testing.assert_allclose(np.asarray(got), d.g2, rtol=1e-12, atol=1e-14)

        # Gradients are finite everywhere, including Phi = 0 on the diagonal (sinc's 0/0).
        def total(p):
            return jnp.sum(d.model(tuple(jnp.asarray(a) for a in d.x), **p))

        grads = jax.grad(total)({k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()})
        for name, value in grads.items():
            assert np.all(np.isfinite(np.asarray(value))), name


def _file_data(q=None, n_frames=6):
    d = synthesize(n_angles=2, n_frames=n_frames, seed=0)
    return TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, q=q, dt=0.25, n_frames=n_frames)


def test_settings_build_the_model_arguments_first_then_settings_then_file():
    data = _file_data(q=0.004)
    model = XpcsSettings().model_for(data)
    assert (model.q, model.dt, model.n_frames, model.mode) == (0.004, 0.25, 6, "static")
    xs = XpcsSettings(mode="laminar_flow", q=0.005, dt=0.5, L=1e6)
    model = xs.model_for(data)
    assert (model.q, model.dt, model.L, model.mode) == (0.005, 0.5, 1e6, "laminar_flow")
    model = xs.model_for(data, q=0.006, dt=1.0, mode="static")
    assert (model.q, model.dt, model.mode) == (0.006, 1.0, "static")
    with pytest.raises(InvalidArgumentError, match="no q"):
        XpcsSettings().model_for(_file_data(q=None))


def test_settings_override_start_and_bounds_by_name():
    model = TwoTimeModel(6)
    xs = XpcsSettings(p0={"D0": 5e3, "contrast": [0.2, 0.3]}, bounds={"D0": [1, 2]})
    p0 = xs.p0_for(model)
    assert p0["D0"] == 5e3 and p0["contrast"] == [0.2, 0.3]
    assert p0["alpha"] == model.default_p0()["alpha"]
    bounds = xs.bounds_for(model)
    assert bounds["D0"] == (1, 2) and bounds["alpha"] == model.default_bounds()["alpha"]
    with pytest.raises(InvalidArgumentError, match=r"p0 names \['gamma_dot_t0'\]"):
        XpcsSettings(p0={"gamma_dot_t0": 1.0}).p0_for(model)


def test_settings_section_errors_name_the_key():
    assert XpcsSettings.from_config(None) == XpcsSettings()
    empty = XpcsSettings.from_config({"fastsplit": {"xpcs": {"p0": None, "bounds": None}}})
    assert empty.p0 == {} and empty.bounds == {}
    with pytest.raises(ConfigError, match=r"fastsplit\.xpcs\.mode"):
        XpcsSettings.from_config({"fastsplit": {"xpcs": {"mode": "flowing"}}})
    with pytest.raises(ConfigError, match=r"fastsplit\.xpcs\.q"):
        XpcsSettings.from_config({"fastsplit": {"xpcs": {"q": -1.0}}})
    with pytest.raises(ConfigError, match=r"fastsplit\.xpcs\.p0"):
        XpcsSettings.from_config({"fastsplit": {"xpcs": {"p0": [1.0]}}})
    # a scalar is no application section: the core rejects it as one of its own keys
    with pytest.raises(ConfigError, match="unknown key 'xpcs'"):
        XpcsSettings.from_config({"fastsplit": {"xpcs": "static"}})


def test_old_import_paths_give_the_same_objects():
    import fastsplit.io
    import fastsplit.xpcs

    for name in ("TwoTimeData", "load", "read_aps_8idi", "read_npz"):
        assert getattr(fastsplit.io, name) is getattr(fastsplit.xpcs, name)
    assert fastsplit.io.C2_GROUP == "xpcs/twotime/correlation_map"
