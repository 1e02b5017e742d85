"""fastsplit.load_config: homodyne-compatible YAML into typed settings."""

from __future__ import annotations

import textwrap

import pytest

from fastsplit.config import (
    FitSettings,
    SequentialSettings,
    Settings,
    StratificationSettings,
    load_config,
)
from fastsplit.errors import ConfigError, InvalidArgumentError, InvalidTypeError
from fastsplit.xpcs import XpcsSettings

RELEASE_NOTES_YAML = """
analysis_mode: static            # the host application's own sections are ignored
optimization:
  method: nlsq
  stratification:
    enabled: "auto"
    target_chunk_size: 50000
    max_imbalance_ratio: 3.5
    force_sequential_fallback: false
    check_memory_safety: true
    use_index_based: true
    collect_diagnostics: true
    log_diagnostics: true
  sequential:
    min_success_rate: 0.75
    weighting: "n_points"
"""


def test_none_and_empty_give_defaults(tmp_path):
    defaults = load_config(None)
    assert defaults == Settings()
    assert defaults.stratification.target_chunk_size == 100_000
    assert defaults.stratification.enabled == "auto"
    assert defaults.stratification.max_imbalance_ratio == 5.0
    assert defaults.sequential == SequentialSettings(0.5, "inverse_variance")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_config(empty).stratification == StratificationSettings()


def test_release_notes_sections_are_read(tmp_path):
    path = tmp_path / "homodyne.yaml"
    path.write_text(RELEASE_NOTES_YAML)
    s = load_config(path)
    assert s.source == str(path)
    st = s.stratification
    assert (st.enabled, st.target_chunk_size, st.max_imbalance_ratio) == ("auto", 50_000, 3.5)
    assert st.use_index_based and st.stratify_mode == "index"
    assert st.collect_diagnostics and st.log_diagnostics and st.check_memory_safety
    assert not st.force_sequential_fallback
    assert s.sequential.min_success_rate == 0.75
    assert s.sequential.weighting == "n_points"


def test_missing_section_means_defaults():
    s = load_config({"optimization": {"sequential": {"weighting": "uniform"}}})
    assert s.stratification == StratificationSettings()
    assert s.sequential.weighting == "uniform"
    s = load_config({"something_else": {"a": 1}})
    assert s == Settings()


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as info:
        load_config({"optimization": {"stratification": {"target_chunksize": 10}}})
    text = str(info.value)
    assert "target_chunksize" in text
    assert "did you mean 'target_chunk_size'" in text
    for key in ("enabled", "max_imbalance_ratio", "force_sequential_fallback", "log_diagnostics"):
        assert key in text
    with pytest.raises(ConfigError, match="valid keys are: min_success_rate, weighting"):
        load_config({"optimization": {"sequential": {"weights": "uniform"}}})


def test_misspelt_section_is_an_error_not_ignored():
    with pytest.raises(ConfigError, match="did you mean 'stratification'"):
        load_config({"optimization": {"stratificaton": {"enabled": True}}})


@pytest.mark.parametrize(
    ("section", "values", "match"),
    [
        ("stratification", {"enabled": "sometimes"}, "enabled"),
        ("stratification", {"target_chunk_size": 0}, "target_chunk_size"),
        ("stratification", {"target_chunk_size": 2.5}, "target_chunk_size"),
        ("stratification", {"max_imbalance_ratio": 0.5}, "max_imbalance_ratio"),
        ("stratification", {"use_index_based": "yes"}, "use_index_based"),
        ("sequential", {"min_success_rate": 1.5}, "min_success_rate"),
        ("sequential", {"weighting": "median"}, "inverse_variance"),
    ],
)
def test_bad_values_name_the_key(section, values, match):
    with pytest.raises(ConfigError, match=match):
        load_config({"optimization": {section: values}})


def test_yaml_quirks_are_accepted():
    # PyYAML reads 1e5 (no dot) as a string, and "true" may be quoted.
    s = load_config(
        {
            "optimization": {"stratification": {"target_chunk_size": "1e5", "enabled": "true"}},
            "fastsplit": {"xpcs": {"L": "2e6", "q": 0.0054}},
        }
    )
    assert s.stratification.target_chunk_size == 100_000
    assert s.stratification.enabled is True
    # the application reads its own section with the same rules (tests/test_xpcs.py)
    assert XpcsSettings.from_config(s).L == 2e6


def test_fastsplit_section():
    s = load_config(
        {
            "fastsplit": {
                "strategy": "sequential",
                "on_failure": "warn",
                "max_nfev": 50,
                "xpcs": {"mode": "laminar_flow", "p0": {"D0": 1e4}, "bounds": {"D0": [1, 2]}},
            }
        }
    )
    assert s.fit.strategy == "sequential" and s.fit.on_failure == "warn"
    assert s.fit.max_nfev == 50
    xpcs = XpcsSettings.from_config(s)
    assert xpcs.mode == "laminar_flow" and xpcs.p0 == {"D0": 1e4}
    with pytest.raises(ConfigError, match="strategy"):
        load_config({"fastsplit": {"strategy": "fastest"}})
    with pytest.raises(ConfigError, match=r"fastsplit\.xpcs.*valid keys"):
        XpcsSettings.from_config({"fastsplit": {"xpcs": {"wavevector": 1.0}}})


def test_application_sections_pass_through_the_core():
    raw = {
        "fastsplit": {"max_nfev": 5, "xpcs": {"mode": "static"}, "other_app": None},
        "scattering": {"wavevector_q": 0.0054},
    }
    s = load_config(raw)
    assert s.fit == FitSettings(max_nfev=5)  # the core keeps only its own keys
    assert s.section("fastsplit", "xpcs") == {"mode": "static"}
    assert s.section("fastsplit", "other_app") == {}
    assert s.section("scattering") == {"wavevector_q": 0.0054}
    assert s.section("analyzer_parameters") == {}
    assert s == Settings(fit=FitSettings(max_nfev=5))  # the raw file is not compared
    with pytest.raises(ConfigError, match=r"scattering\.wavevector_q: expected a mapping"):
        s.section("scattering", "wavevector_q")
    # a misspelt key of the core's own is still an error, not an application section
    with pytest.raises(ConfigError, match="did you mean 'strategy'"):
        load_config({"fastsplit": {"stratgy": "full"}})


def test_xpcs_settings_keep_their_old_import_path():
    import fastsplit.config

    assert fastsplit.config.XpcsSettings is XpcsSettings
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        fastsplit.config.Nope


def test_bad_sources(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("optimization: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(top)
    with pytest.raises(InvalidTypeError):
        load_config(42)  # type: ignore[arg-type]
    # ConfigError is a ValueError, so generic handlers keep working.
    assert issubclass(ConfigError, InvalidArgumentError)
    assert issubclass(ConfigError, ValueError)


def test_settings_pass_through_and_str_path(tmp_path):
    s = Settings()
    assert load_config(s) is s
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(RELEASE_NOTES_YAML))
    assert load_config(str(path)).sequential.weighting == "n_points"


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (
            {"fastsplit": {"backend": "cuda"}},
            r"fastsplit\.backend: expected one of \['auto', 'numpy'",
        ),
        ({"fastsplit": {"backend": 3}}, r"fastsplit\.backend: expected one of"),
        ({"fastsplit": {"strategy": ["auto"]}}, r"fastsplit\.strategy: expected one of"),
        ({"fastsplit": {"max_nfev": "many"}}, r"fastsplit\.max_nfev: expected an integer"),
        ({"fastsplit": {"max_nfev": 0}}, r"fastsplit\.max_nfev: expected an integer >= 1"),
        ({"fastsplit": {"on_failure": True}}, r"fastsplit\.on_failure: expected one of"),
        ({"optimization": {"stratification": {"enabled": 1}}}, r"enabled: expected \"auto\""),
        ({"optimization": {"stratification": {"log_diagnostics": "no"}}}, "log_diagnostics"),
        ({"optimization": {"sequential": {"min_success_rate": "nan"}}}, "finite"),
        ({"optimization": {"sequential": {"min_success_rate": [0.5]}}}, "expected a number"),
        (
            {"optimization": {"stratification": []}},
            r"optimization\.stratification: expected a mapping",
        ),
        ({"fastsplit": {1: "x"}}, "keys must be strings"),
    ],
)
def test_wrong_kinds_anywhere_are_refused_at_load_time(raw, match):
    with pytest.raises(ConfigError, match=match):
        load_config(raw)


def test_every_backend_name_is_accepted_at_load_time():
    from fastsplit.backends import BACKENDS

    for name in BACKENDS:  # installed or not: that is decided when it is used
        assert load_config({"fastsplit": {"backend": name}}).fit.backend == name
