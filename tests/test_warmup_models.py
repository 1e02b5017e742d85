"""``fastsplit.warmup(models=...)`` and ``fastsplit warmup --fit``: what they accept and run."""

from __future__ import annotations

import numpy as np
import pytest

import fastsplit
from fastsplit.errors import InvalidArgumentError, InvalidTypeError


def line(x, *, slope, offset):
    return slope * x + offset


def _sample() -> dict:
    x = np.tile(np.linspace(0.0, 1.0, 30), 2)
    g = np.repeat([1.0, 2.0], 30)
    return {
        "x": x,
        "y": 2.0 * x + g,
        "groups": g,
        "p0": {"slope": 1.0, "offset": 0.0},
        "per_group": ["offset"],
        "sigma": 0.01,
    }


@pytest.mark.parametrize(
    ("models", "error", "words"),
    [
        ("quadratic", InvalidArgumentError, "unknown model name 'quadratic'"),
        ([line], InvalidTypeError, "(model, sample)"),
        ([(line, {"x": 1})], InvalidArgumentError, "at least x, y, groups and p0"),
        (3, InvalidTypeError, "models must be"),
    ],
)
def test_wrong_models_are_refused_before_anything_compiles(models, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        fastsplit.warmup("numpy", models=models)


def test_a_users_model_is_fitted_once_on_its_sample():
    pytest.importorskip("nlsq")
    from fastsplit._fit._warmup import model_entries, warm_models

    (warmed,) = warm_models(model_entries((line, _sample())), "numpy")
    assert warmed.name == "line"
    assert warmed.seconds > 0
    fastsplit.warmup("numpy", models=[(line, _sample())])  # the public door, same entry


def test_the_xpcs_warmup_runs_what_the_small_demo_runs():
    """The warm-up's options are the command's own for `fastsplit demo --small`."""
    from fastsplit.cli._parser import build_parser
    from fastsplit.xpcs._warmup import demo_arguments

    for mode in ("static", "laminar_flow"):
        parsed = vars(build_parser().parse_args(["demo", "--small", "--no-plots", "--mode", mode]))
        ours = vars(demo_arguments(mode))
        for key, value in ours.items():
            if key in parsed and key not in ("quiet",):
                assert parsed[key] == value, key


def test_warmup_fit_option_parses():
    from fastsplit.cli._parser import build_parser

    parser = build_parser()
    assert parser.parse_args(["warmup"]).fit is None
    assert parser.parse_args(["warmup", "--fit"]).fit == []
    assert parser.parse_args(["warmup", "--fit", "static"]).fit == ["static"]
    with pytest.raises(SystemExit):
        parser.parse_args(["warmup", "--fit", "quadratic"])
