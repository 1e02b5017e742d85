"""fastsplit.fit refuses bad input with a fastsplit error that names the argument.

The hunting test throws wrong types and values at every argument of ``fit``
(and of its dry run, ``choose_strategy``), one at a time with every other
argument valid: only fastsplit errors come out, before any data are gathered
or fitted, and the caller's arrays are never written. It needs neither nlsq
nor JAX: every check runs before they are imported. The tests that fit are
marked ``nlsq``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastsplit._fit import _data, choose_strategy, fit
from fastsplit.errors import (
    BackendUnavailableError,
    ConfigError,
    FastsplitError,
    InvalidArgumentError,
    InvalidShapeError,
    InvalidTypeError,
    LengthMismatchError,
)


def line(x, *, slope, offset):
    return slope * x + offset


N = 120
X = np.linspace(0.0, 1.0, N)
GROUPS = np.repeat([1.0, 2.0, 3.0], N // 3)
Y = 1.5 * X + GROUPS / 10
VALID = {
    "groups": GROUPS,
    "p0": {"slope": 1.0, "offset": 0.0},
    "per_group": ["offset"],
}

nan = float("nan")
inf = float("inf")
ragged = [[1.0], [1.0, 2.0]]

# Wrong values for every argument of fit, each paired with a word its error must name.
BAD: dict[str, tuple[str, list[object]]] = {
    "model": ("model", [1, "line", None, [line]]),
    "x": (
        "x",
        [
            "abc",
            None,
            X[:-1],
            np.stack([X, X]),
            ragged,
            (X, X[:-3]),
            (),
            {"a": 1},
            np.ma.masked_array(X),
            X.astype(complex),
            np.where(X > 0.5, nan, X),
        ],
    ),
    "y": (
        "y",
        [
            "abc",
            None,
            Y[:-1],
            Y.reshape(2, -1),
            ragged,
            Y.astype(complex),
            {1: 2},
            np.where(X > 0.5, inf, Y),
            np.array([]),
        ],
    ),
    "groups": (
        "groups",
        [
            "abc",
            GROUPS[:-1],
            GROUPS.reshape(3, -1),
            GROUPS.astype(complex),
            np.where(X > 0.5, nan, GROUPS),
            np.array(["a"] * (N - 1) + [None], dtype=object),  # text is fine; a hole is not
            ragged,
        ],
    ),
    "p0": (
        "p0",
        [
            None,
            [1.0, 0.0],
            {},
            {"slope": nan, "offset": 0.0},
            {"slope": "1", "offset": 0.0},
            {"slope": [1.0, 2.0], "offset": 0.0},
            {"slope": 1.0, "offset": [0.0, 1.0]},
            {"slope": 1.0, "offset": 0.0, 3: 1.0},
            {"slope": 1.0, "offset": 0.0, "not a name": 1.0},
            {"offset": 0.0},
            {"slope": None, "offset": 0.0},
        ],
    ),
    "per_group": ("per_group", [5, ["intercept"], ["offset", "offset"], [1], [None]]),
    "fixed": ("fixed", [5, ["intercept"], "gain", [None]]),
    "jac": ("jac", ["cs", 1, None, "3point"]),
    "sigma": (
        "sigma",
        [
            0.0,
            -1.0,
            nan,
            inf,
            "1",
            True,
            1j,
            np.zeros(N),
            X[:-1],
            np.full(N, nan),
            [[1.0]],
            {"a": 1},
        ],
    ),
    "bounds": (
        "bounds",
        [
            [(0, 1)],
            {"gain": (0, 1)},
            {"slope": (2, 1)},
            {"slope": 1.0},
            {"slope": ("a", "b")},
            {"slope": (nan, 1.0)},
            {"slope": (2.0, 3.0)},
            {"offset": ([0, 1], [1, 2])},
            "slope",
        ],
    ),
    "chunk_size": ("chunk_size", [0, -1, 2.5, "10", True, nan, [10], 10.0]),
    "strategy": ("strategy", ["fastest", 1, None, ["chunked"], "Chunked", True]),
    "backend": ("backend", ["fortran", 1, None, ["numpy"]]),
    "config": (
        "config",
        [
            1,
            2.5,
            "/nonexistent/fastsplit.yaml",
            {"optimization": 1},
            {"optimization": {"stratification": {"target_chunk_size": -1}}},
            {"optimization": {"sequential": {"weighting": "magic"}}},
            {"optimization": {"stratification": {"check_memory_safety": "no"}}},
        ],
    ),
    "on_failure": ("on_failure", ["ignore", 1, True, ["warn"]]),
    "max_nfev": ("max_nfev", [0, -1, 1.5, "10", True, 10**30, nan]),
    "absolute_sigma": ("absolute_sigma", ["False", 1, None, 0.0, [True]]),
    "max_step_sigma": ("max_step_sigma", [nan, 0, -1.0, inf, "1", True, None, 1j, [1.0]]),
    "loss": ("loss", ["l2", "Huber", 1, None, ["huber"], True]),
    "f_scale": ("f_scale", [0, -1.0, nan, inf, "1", True, None, 1j]),
    "progress": ("progress", [1, "yes", 2.5, [print]]),
}

ARGUMENTS = sorted(BAD)


def _call(function, name, value):
    kwargs = dict(VALID)
    positional = {"model": line, "x": X.copy(), "y": Y.copy()}
    if name in positional:
        positional[name] = value
    else:
        kwargs[name] = value
    return function(positional["model"], positional["x"], positional["y"], **kwargs)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a fit gets as far as gathering the data."""

    def refuse(*args, **kwargs):
        raise AssertionError("bad input reached the fit: the data were being gathered")

    monkeypatch.setattr(_data.ChunkStacks, "build", classmethod(refuse))


@pytest.mark.parametrize("name", ARGUMENTS)
def test_every_bad_value_of_every_argument_is_a_fastsplit_error_naming_it(name, no_work):
    word, values = BAD[name]
    for value in values:
        for function in (fit, choose_strategy):
            with pytest.raises(FastsplitError) as info:
                _call(function, name, value)
            error = info.value
            assert isinstance(error, ValueError | TypeError), (name, value, error)
            text = str(error)
            if name == "config":  # a config error names the key of the file at fault
                assert isinstance(error, ConfigError) or "config" in text, text
                continue
            assert word in text or (name in ("x", "y", "groups") and "points" in text), (
                f"{name}={value!r}: {text}"
            )


values_anywhere = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.complex_numbers(),
    st.text(max_size=5),
    st.lists(st.floats(allow_nan=True), max_size=4),
    st.dictionaries(st.text(max_size=3), st.floats(), max_size=3),
    st.sampled_from([np.array([]), np.zeros((2, 2)), np.array(["a"]), object()]),
)


@given(name=st.sampled_from(ARGUMENTS), value=values_anywhere)
def test_hunting_any_value_of_any_argument_gives_only_fastsplit_errors(name, value):
    """Anything at all, in any argument: a fastsplit error before any work, or (for a
    value that happens to be valid) no error; the caller's arrays are never written."""
    x, y, groups = X.copy(), Y.copy(), GROUPS.copy()
    kwargs = {"groups": groups, "p0": {"slope": 1.0, "offset": 0.0}, "per_group": ["offset"]}
    positional = {"model": line, "x": x, "y": y}
    if name in positional:
        positional[name] = value
    else:
        kwargs[name] = value
    refused: Exception | None = None
    try:
        choose_strategy(positional["model"], positional["x"], positional["y"], **kwargs)
    except FastsplitError as error:
        refused = error
    assert refused is None or isinstance(refused, ValueError | TypeError | MemoryError)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(y, Y)
    np.testing.assert_array_equal(groups, GROUPS)


def test_read_only_and_strided_inputs_are_accepted_and_never_written():
    x = np.repeat(X, 2)[::2]
    y = Y.copy()
    y.flags.writeable = False
    c = choose_strategy(line, x, y, **VALID)
    assert c.strategy == "chunked" and c.n_points == N


def test_named_errors():
    with pytest.raises(InvalidShapeError, match="tuple of 1-D arrays"):
        fit(line, np.stack([X, X]), Y, **VALID)
    with pytest.raises(LengthMismatchError, match="x has"):
        fit(line, X[:-1], Y, **VALID)
    with pytest.raises(InvalidArgumentError, match=r"strategy='fastest' is not valid"):
        fit(line, X, Y, **VALID, strategy="fastest")
    with pytest.raises(InvalidArgumentError, match="max_step_sigma must be a positive finite"):
        fit(line, X, Y, **VALID, max_step_sigma=nan)
    with pytest.raises(InvalidArgumentError, match="max_nfev must be an int from 1"):
        fit(line, X, Y, **VALID, max_nfev=0)
    with pytest.raises(InvalidTypeError, match="absolute_sigma must be True or False"):
        fit(line, X, Y, **VALID, absolute_sigma="False")
    with pytest.raises(InvalidArgumentError, match="loss='l2' is not valid; use one of 'linear'"):
        fit(line, X, Y, **VALID, loss="l2")
    with pytest.raises(InvalidArgumentError, match="does not accept the parameters"):
        fit(lambda x, *, slope: slope * x, X, Y, **VALID)


def test_an_unknown_keyword_names_the_close_match_and_every_valid_one():
    for function in (fit, choose_strategy):
        with pytest.raises(InvalidTypeError, match="Did you mean 'groups'") as info:
            function(line, X, Y, p0=VALID["p0"], grups=GROUPS)
        assert "per_group, fixed, sigma" in str(info.value)


def test_no_groups_is_one_group_and_the_dry_run_drops_the_group_wording():
    c = choose_strategy(line, X, Y, p0={"slope": 1.0, "offset": 0.0}, chunk_size=50)
    assert (c.strategy, c.n_groups, c.n_chunks, c.grouped) == ("chunked", 1, 3, False)
    assert "group" not in str(c)


# -- errors that need a model evaluation (JAX) ------------------------------------------


@pytest.mark.nlsq
def test_a_model_neither_jax_nor_numpy_can_evaluate_is_refused_with_both_named():
    """NumPy models are fitted with finite differences (tests/test_fit_numeric.py); one
    that fails with NumPy arrays too is an error that says so."""
    pytest.importorskip("nlsq")

    def broken(x, *, slope, offset):
        return np.exp(slope * x) + offset + undefined_name  # noqa: F821

    with pytest.raises(InvalidArgumentError, match="neither by JAX nor with NumPy") as info:
        fit(broken, X, Y, **VALID)
    assert "NameError" in str(info.value)


@pytest.mark.nlsq
def test_a_model_of_the_wrong_shape_is_refused():
    pytest.importorskip("nlsq")
    import jax.numpy as jnp

    def two_columns(x, *, slope, offset):
        return jnp.stack([slope * x + offset, x], axis=1)

    with pytest.raises(InvalidArgumentError, match="one real value per point"):
        fit(two_columns, X, Y, **VALID)


@pytest.mark.nlsq
def test_non_pointwise_model_is_rejected():
    pytest.importorskip("nlsq")
    import jax.numpy as jnp

    def normalised(x, *, slope, offset):
        return slope * x + offset / jnp.mean(offset)

    with pytest.raises(InvalidArgumentError, match="not pointwise"):
        fit(normalised, X, Y, groups=GROUPS, p0={"slope": 1.0, "offset": 1.0}, per_group="offset")


def test_missing_nlsq_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "nlsq":
            raise ImportError("No module named 'nlsq'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    from fastsplit._fit import _nlsq

    with pytest.raises(BackendUnavailableError, match=r"fastsplit\[fit\]"):
        _nlsq.import_nlsq()
