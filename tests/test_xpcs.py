"""fastsplit.xpcs: the two-time model (NumPy and JAX), the synthetic generator, the settings."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from fastsplit.config import load_config
from fastsplit.errors import ConfigError, FastsplitError, InvalidArgumentError, InvalidTypeError
from fastsplit.xpcs import (
    LAMINAR_FLOW_PARAMETERS,
    STATIC_PARAMETERS,
    AngleRanges,
    TwoTimeData,
    TwoTimeModel,
    XpcsSettings,
    XpcsWarning,
    fit_two_time,
    load,
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


def _file_data(q=None, n_frames=6, dt=0.25):
    d = synthesize(n_angles=2, n_frames=n_frames, seed=0)
    return TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, q=q, dt=dt, n_frames=n_frames)


def test_the_model_takes_the_data_step_and_the_q_of_the_bin_read():
    data = _file_data(q=0.004)
    model = XpcsSettings().model_for(data)
    assert (model.q, model.dt, model.n_frames, model.mode) == (0.004, 0.25, 6, "static")
    # q given in the settings selected the bin; the model uses the bin's centre
    xs = XpcsSettings(mode="laminar_flow", q=0.0041, L=1e6)
    model = xs.model_for(data)
    assert (model.q, model.dt, model.L, model.mode) == (0.004, 0.25, 1e6, "laminar_flow")
    assert xs.model_for(data, mode="static").mode == "static"
    # a file without q takes the argument, else the settings'
    assert XpcsSettings(q=0.005).model_for(_file_data(q=None)).q == 0.005
    assert XpcsSettings(q=0.005).model_for(_file_data(q=None), q=0.006).q == 0.006
    with pytest.raises(InvalidArgumentError, match="has no q"):
        XpcsSettings().model_for(_file_data(q=None))


def test_read_options_carry_the_selection():
    xs = XpcsSettings(
        q=0.0054, dt=0.1, start_frame=11, end_frame=500, phi_ranges=[[-10, 10]], phi_fallback=True
    )
    options = xs.read_options()
    assert options["q"] == 0.0054 and options["dt"] == 0.1
    assert options["frames"] == slice(10, 500)  # 1-based inclusive -> 0-based slice
    assert options["phi"] == AngleRanges(((-10.0, 10.0),), fallback_to_all=True)
    assert xs.read_options(q=0.008, dt=0.5)["q"] == 0.008
    assert XpcsSettings().read_options() == {
        "q": None,
        "dt": None,
        "phi": None,
        "frames": slice(0, None),
    }


def test_settings_override_start_and_bounds_by_name():
    model = TwoTimeModel(6)
    xs = XpcsSettings(p0={"D0": 5e3, "contrast": [0.2, 0.3]}, bounds={"D0": [1, 2]})
    p0 = xs.p0_for(model)
    assert p0["D0"] == 5e3 and p0["contrast"] == [0.2, 0.3]
    assert p0["alpha"] == model.default_p0()["alpha"]
    bounds = xs.bounds_for(model)
    assert bounds["D0"] == (1, 2) and bounds["alpha"] == model.default_bounds()["alpha"]
    with pytest.raises(ConfigError, match=r"fastsplit\.xpcs\.p0\.gamma_dot_t0.*static model"):
        XpcsSettings(p0={"gamma_dot_t0": 1.0})
    laminar = XpcsSettings(mode="laminar_flow", p0={"gamma_dot_t0": 1e-3})
    with pytest.raises(InvalidArgumentError, match=r"gamma_dot_t0.*not parameters of the static"):
        laminar.p0_for(model)


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"mode": "flowing"}, r"fastsplit\.xpcs\.mode"),
        ({"q": -1.0}, r"fastsplit\.xpcs\.q: must be > 0"),
        ({"dt": 0}, r"fastsplit\.xpcs\.dt: must be > 0"),
        ({"dt": "fast"}, r"fastsplit\.xpcs\.dt: expected a number"),
        ({"p0": [1.0]}, r"fastsplit\.xpcs\.p0: expected a mapping"),
        ({"p0": {"D0": "big"}}, r"fastsplit\.xpcs\.p0\.D0: expected a number"),
        ({"p0": {"D0": [1.0, 2.0]}}, r"fastsplit\.xpcs\.p0\.D0: expected a number"),
        ({"bounds": {"D0": [100]}}, r"fastsplit\.xpcs\.bounds\.D0: expected a \[lower, upper\]"),
        ({"bounds": {"D0": 100}}, r"bounds\.D0: expected a \[lower, upper\]"),
        ({"bounds": {"D0": [10, 1]}}, r"bounds\.D0: lower 10.0 must be below upper 1.0"),
        ({"bounds": {"D0": ["a", 1]}}, r"bounds\.D0\[0\]: expected a number"),
        ({"bounds": {"beta": [0, 1]}}, r"bounds\.beta.*not a parameter of the static model"),
        ({"start_frame": 0}, r"start_frame: expected an integer >= 1"),
        ({"start_frame": 5, "end_frame": 3}, r"end_frame: 3 is before start_frame 5"),
        ({"phi_ranges": [[0]]}, r"phi_ranges\[0\]: expected a \[min, max\] pair"),
        ({"phi_ranges": "all"}, r"phi_ranges: expected a list"),
        ({"loss": "l1"}, r"fastsplit\.xpcs\.loss: expected one of \['linear', 'soft_l1'"),
        ({"f_scale": -1}, r"f_scale: must be > 0"),
        ({"phi_fallback": "yes"}, r"phi_fallback: expected true or false"),
        ({"wavevector": 1.0}, r"fastsplit\.xpcs.*unknown key 'wavevector'"),
    ],
)
def test_settings_errors_name_the_key_at_load_time(section, match):
    with pytest.raises(ConfigError, match=match):
        XpcsSettings.from_config({"fastsplit": {"xpcs": section}})


def test_settings_section_edge_cases():
    assert XpcsSettings.from_config(None) == XpcsSettings()
    empty = XpcsSettings.from_config({"fastsplit": {"xpcs": {"p0": None, "bounds": None}}})
    assert empty.p0 == {} and empty.bounds == {}
    # open bounds and per-angle bounds
    xs = XpcsSettings.from_config(
        {
            "fastsplit": {
                "xpcs": {"bounds": {"D_offset": ["-inf", "inf"], "contrast": [[0, 0], [1, 1]]}}
            }
        }
    )
    assert xs.bounds["D_offset"] == (-np.inf, np.inf)
    assert xs.bounds["contrast"] == ([0.0, 0.0], [1.0, 1.0])
    # a scalar is no application section: the core rejects it as one of its own keys
    with pytest.raises(ConfigError, match="unknown key 'xpcs'"):
        XpcsSettings.from_config({"fastsplit": {"xpcs": "static"}})


HOMODYNE = """
metadata:
  config_version: "2.23.2"
  analysis_mode: "static"
analysis_mode: "static"
analyzer_parameters:
  dt: 0.06
  start_frame: 3
  end_frame: 400
  scattering:
    wavevector_q: 0.0054
  geometry:
    stator_rotor_gap: 2000000
experimental_data:
  file_path: "./data/sample/experiment.hdf"
phi_filtering:
  enabled: true
  target_ranges:
    - min_angle: -10.0
      max_angle: 10.0
      description: "Parallel to primary axis"
    - min_angle: 170.0
      max_angle: -170.0
      description: "Antiparallel"
  fallback_to_all_angles: false
  algorithm: "range_based"
  tolerance: 3.0
  quality_control:
    min_angles_required: 1
initial_parameters:
  parameter_names: [D0, alpha, D_offset]
  values: [1000.0, -1.2, 0.0]
  per_angle_scaling:
    contrast: 0.05
    offset: [1.0, 0.99]
  units: ["Å²/s", "dimensionless", "Å²/s"]
  active_parameters: null
  fixed_parameters: null
parameter_space:
  model: "static"
  bounds:
    - name: contrast
      min: 0.0
      max: 1.0
      type: TruncatedNormal
    - name: D0
      min: 100.0
      max: 100000.0
      type: TruncatedNormal
      prior_mu: 1000.0
      prior_sigma: 1000.0
      unit: "Å²/s"
  priors:
    contrast: {mu: 0.06}
optimization:
  method: "nlsq"
  nlsq:
    max_iterations: 100
    tolerance: 1.0e-8
    loss: "soft_l1"
    x_scale_map: null
  stratification:
    target_chunk_size: 50000
  sequential:
    weighting: "uniform"
  cmc:
    enable: "auto"
plotting:
  dpi: 300
"""


def _homodyne(tmp_path, text=HOMODYNE, **replace):
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "homodyne.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_homodyne_config_is_honoured(tmp_path):
    with pytest.warns(XpcsWarning) as record:
        xs = XpcsSettings.from_config(_homodyne(tmp_path))
    assert (xs.mode, xs.dt, xs.q, xs.L) == ("static", 0.06, 0.0054, 2e6)
    assert (xs.start_frame, xs.end_frame, xs.frames) == (3, 400, slice(2, 400))
    assert xs.phi_ranges == ((-10.0, 10.0), (170.0, -170.0)) and xs.phi_fallback is False
    assert xs.p0 == {
        "D0": 1000.0,
        "alpha": -1.2,
        "D_offset": 0.0,
        "contrast": 0.05,
        "offset": [1.0, 0.99],
    }
    assert xs.bounds == {"contrast": (0.0, 1.0), "D0": (100.0, 1e5)}
    assert xs.loss == "soft_l1" and xs.fit_options() == {"loss": "soft_l1", "errors": "cluster"}
    # one warning, naming every key nothing reads, each once
    assert len(record) == 1
    message = str(record[0].message)
    named = message.split(": ", 1)[1].split(", ")
    assert sorted(named) == sorted(
        [
            "metadata",
            "experimental_data",
            "plotting",
            "phi_filtering.tolerance",
            "phi_filtering.quality_control",
            "initial_parameters.units",
            "parameter_space.bounds[].type",
            "parameter_space.bounds[].prior_mu",
            "parameter_space.bounds[].prior_sigma",
            "parameter_space.bounds[].unit",
            "parameter_space.priors",
            "optimization.nlsq.max_iterations",
            "optimization.nlsq.tolerance",
            "optimization.cmc",
        ]
    )
    # the core's sections of the same file are read by the core
    core = load_config(_homodyne(tmp_path))
    assert core.stratification.target_chunk_size == 50_000
    assert core.sequential.weighting == "uniform"


def test_homodyne_and_fastsplit_sections_must_agree(tmp_path):
    both = HOMODYNE + "fastsplit:\n  xpcs:\n    dt: 0.06\n    p0: {D0: 1000.0}\n"
    with pytest.warns(XpcsWarning):
        assert XpcsSettings.from_config(_homodyne(tmp_path, both)).dt == 0.06
    clash = HOMODYNE + "fastsplit:\n  xpcs:\n    dt: 0.1\n"
    with pytest.raises(
        ConfigError,
        match=r"fastsplit\.xpcs\.dt: 0\.1 disagrees with analyzer_parameters\.dt: 0\.06",
    ):
        XpcsSettings.from_config(_homodyne(tmp_path, clash))
    clash = HOMODYNE + "fastsplit:\n  xpcs:\n    bounds: {D0: [1, 2]}\n"
    with pytest.raises(
        ConfigError, match=r"bounds\.D0.*disagrees with parameter_space\.bounds\[1\]"
    ):
        XpcsSettings.from_config(_homodyne(tmp_path, clash))
    with pytest.raises(ConfigError, match=r"parameter_space\.model.*disagrees with analysis_mode"):
        XpcsSettings.from_config(
            _homodyne(tmp_path, **{'model: "static"': 'model: "laminar_flow"'})
        )
    with pytest.raises(ConfigError, match=r"fastsplit\.xpcs\.mode: 'laminar_flow' disagrees"):
        XpcsSettings.from_config(
            _homodyne(tmp_path, HOMODYNE + "fastsplit:\n  xpcs:\n    mode: laminar_flow\n")
        )


@pytest.mark.parametrize(
    ("replace", "match"),
    [
        ({'method: "nlsq"': 'method: "cmc"'}, r"optimization\.method: 'cmc' is not something"),
        ({"fixed_parameters: null": "fixed_parameters: {D_offset: 0.0}"}, "cannot hold some fixed"),
        ({"active_parameters: null": "active_parameters: [D0]"}, "active_parameters"),
        ({'algorithm: "range_based"': 'algorithm: "nearest"'}, r"phi_filtering\.algorithm"),
        ({'loss: "soft_l1"': 'loss: "l1"'}, r"optimization\.nlsq\.loss: expected one of"),
        (
            {"values: [1000.0, -1.2, 0.0]": "values: [1000.0, -1.2]"},
            r"2 values for 3 parameter_names",
        ),
        (
            {"values: [1000.0, -1.2, 0.0]": "values: [1000.0, fast, 0.0]"},
            r"values\[1\]: expected a number",
        ),
        (
            {"parameter_names: [D0, alpha, D_offset]": "parameter_names: [D0, alpha, beta]"},
            r"values\[2\].*'beta' is not a parameter of the static model",
        ),
        ({"min: 100.0": "min: [100.0]"}, r"bounds\[1\]\.min: expected a number"),
        ({"max: 100000.0": "max: 10.0"}, r"bounds\[1\]: min 100.0 must be below max 10.0"),
        ({"dt: 0.06": "dt: -0.06"}, r"analyzer_parameters\.dt: must be > 0"),
        ({"start_frame: 3": "start_frame: 0"}, r"start_frame: expected an integer >= 1"),
        ({"end_frame: 400": "end_frame: 0"}, r"end_frame: frames count from 1"),
        (
            {'analysis_mode: "static"\nanalyzer': 'analysis_mode: "flow"\nanalyzer'},
            r"analysis_mode: expected one of",
        ),
        (
            {"min_angle: -10.0": "min_angle: north"},
            r"target_ranges\[0\]\.min_angle: expected a number",
        ),
        ({"wavevector_q: 0.0054": "wavevector_q: [0.0054]"}, r"wavevector_q: expected a number"),
    ],
)
def test_homodyne_values_are_checked_when_the_config_is_read(tmp_path, replace, match):
    with pytest.raises(ConfigError, match=match):
        XpcsSettings.from_config(_homodyne(tmp_path, **replace))


def test_homodyne_details(tmp_path):
    # legacy mode names; phi filtering off; per-angle start values
    text = HOMODYNE.replace(
        'analysis_mode: "static"\nanalyzer', 'analysis_mode: "static_isotropic"\nanalyzer'
    )
    text = text.replace("  enabled: true\n  target_ranges", "  enabled: false\n  target_ranges")
    with pytest.warns(XpcsWarning):
        xs = XpcsSettings.from_config(_homodyne(tmp_path, text))
    assert xs.mode == "static" and xs.phi_ranges is None
    with pytest.warns(XpcsWarning):
        xs = XpcsSettings.from_config(_homodyne(tmp_path, **{"end_frame: 400": "end_frame: -1"}))
    assert xs.frames == slice(2, None)
    quiet = {"analysis_mode": "laminar_flow", "analyzer_parameters": {"dt": 0.1}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing unread: no warning
        assert XpcsSettings.from_config(quiet).mode == "laminar_flow"


def test_fit_two_time_passes_a_robust_loss_through():
    d = synthesize(n_angles=2, n_frames=6, seed=0)
    calls = []

    def fitter(
        model, x, y, *, groups, p0, per_group, sigma, bounds, loss="linear", f_scale=1.0, **rest
    ):
        calls.append({"loss": loss, "f_scale": f_scale, **rest})
        return "result"

    assert (
        fit_two_time(d.model, d, fitter=fitter, loss="soft_l1", f_scale=0.5, chunk_size=10)
        == "result"
    )
    assert calls[-1] == {"loss": "soft_l1", "f_scale": 0.5, "chunk_size": 10}
    fit_two_time(d.model, d, fitter=fitter, loss="huber")
    assert calls[-1] == {"loss": "huber", "f_scale": 1.0}
    fit_two_time(d.model, d, fitter=fitter, loss="linear", f_scale=3.0)  # plain least squares
    assert calls[-1] == {"loss": "linear", "f_scale": 1.0}

    def plain_fitter(model, x, y, *, groups, p0, per_group, sigma, bounds):
        return "plain"

    assert fit_two_time(d.model, d, fitter=plain_fitter, loss="linear") == "plain"
    with pytest.raises(InvalidArgumentError, match=r"loss='cauchy' was asked for.*plain_fitter"):
        fit_two_time(d.model, d, fitter=plain_fitter, loss="cauchy")


# -- wrong types and values anywhere: only fastsplit errors ------------------------------

_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    # magnitudes a typo makes, and the non-finite ones (astronomic values overflow numpy
    # with a RuntimeWarning, which is numpy's own word and not checked here)
    st.floats(-1e6, 1e6),
    st.sampled_from([float("nan"), float("inf"), -float("inf")]),
    st.text(max_size=4),
    st.lists(st.floats(-1e3, 1e3), max_size=3),
    st.tuples(st.integers(), st.text(max_size=2)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(object()),
    st.just(slice(1, 2, 3)),
)


def _only_fastsplit_errors(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except FastsplitError:
        pass
    except XpcsWarning:  # warnings are errors under pytest; they are fastsplit's own
        pass


@hyp_settings(max_examples=80)
@given(name=st.sampled_from(["n_frames", "dt", "q", "L", "mode"]), value=_JUNK)
def test_the_model_refuses_junk_with_fastsplit_errors(name, value):
    kwargs = {"n_frames": 5, name: value}
    _only_fastsplit_errors(lambda: TwoTimeModel(**kwargs))


@hyp_settings(max_examples=80)
@given(
    name=st.sampled_from(["n_angles", "n_frames", "noise", "seed", "dt", "q", "mode", "truth"]),
    value=_JUNK,
)
@example(name="dt", value=1.051507329724768e-291)  # t**alpha overflowed: a raw RuntimeWarning
@example(name="truth", value={"alpha": -300.0})
def test_synthesize_refuses_junk_with_fastsplit_errors(name, value):
    kwargs = {"n_angles": 2, "n_frames": 3, name: value}
    _only_fastsplit_errors(synthesize, **kwargs)


@hyp_settings(max_examples=80)
@given(
    key=st.sampled_from(
        [
            "mode",
            "dt",
            "q",
            "L",
            "start_frame",
            "end_frame",
            "phi_ranges",
            "phi_fallback",
            "p0",
            "bounds",
            "loss",
            "f_scale",
        ]
    ),
    value=_JUNK,
)
def test_settings_refuse_junk_at_load_time(key, value):
    _only_fastsplit_errors(XpcsSettings.from_config, {"fastsplit": {"xpcs": {key: value}}})


@hyp_settings(max_examples=60)
@given(
    section=st.sampled_from(
        [
            "analysis_mode",
            "analyzer_parameters",
            "phi_filtering",
            "initial_parameters",
            "parameter_space",
            "optimization",
        ]
    ),
    value=st.one_of(
        _JUNK,
        st.dictionaries(
            st.sampled_from(
                [
                    "dt",
                    "start_frame",
                    "end_frame",
                    "scattering",
                    "geometry",
                    "enabled",
                    "target_ranges",
                    "values",
                    "parameter_names",
                    "per_angle_scaling",
                    "bounds",
                    "model",
                    "nlsq",
                    "method",
                ]
            ),
            _JUNK,
            max_size=3,
        ),
    ),
)
def test_homodyne_sections_refuse_junk_at_load_time(section, value):
    _only_fastsplit_errors(XpcsSettings.from_config, {section: value})


@hyp_settings(max_examples=60)
@given(
    name=st.sampled_from(["q", "phi", "frames", "dt", "upper_only", "drop_diagonal", "bogus"]),
    value=_JUNK,
)
def test_the_reader_refuses_junk_with_fastsplit_errors(tmp_path_factory, name, value):
    path = tmp_path_factory.getbasetemp() / "junk.npz"
    if not path.exists():
        d = synthesize(n_angles=2, n_frames=4, seed=0)
        TwoTimeData(d.phi, d.t1, d.t2, d.g2, d.sigma, q=0.0054, dt=0.1, n_frames=4).save_npz(path)
    _only_fastsplit_errors(load, path, **{name: value})
    _only_fastsplit_errors(load, value)


def test_fit_two_time_checks_its_model_and_data():
    d = synthesize(n_angles=2, n_frames=4, seed=0)
    with pytest.raises(InvalidTypeError, match=r"model must be a fastsplit\.xpcs\.TwoTimeModel"):
        fit_two_time(lambda x, **p: x, d)
    with pytest.raises(InvalidTypeError, match="data must be TwoTimeData"):
        fit_two_time(d.model, (d.phi, d.t1, d.t2, d.g2))
