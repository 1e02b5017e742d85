"""Hunting for raw errors: wrong types and values thrown at every public entry point of the core.

Whatever the argument, the answer is a result or a fastsplit error (a subclass of the
built-in that fits) naming the argument; never a raw numpy/Python error, never a hang,
and the caller's arrays are never written.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastsplit
from fastsplit.errors import FastsplitError, SparseGroupWarning

PHI = np.repeat([-1.5, 0.0, 2.5], 40)
Y = np.arange(120.0)
SECONDS = 5.0  # a bad argument is refused at once; nothing may run away with it

BAD = st.sampled_from(
    [
        None,
        "",
        "numba",
        "False",
        b"x",
        0,
        -1,
        1,
        2**70,
        -(2**70),
        0.5,
        -0.0,
        float("nan"),
        float("inf"),
        1j,
        True,
        np.bool_(False),
        np.int64(3),
        np.float32(2.5),
        [],
        [1, 2],
        [[1, 2], [3]],
        ["a", "b"],
        (1.0, None),
        {"a": 1},
        {1.0, 2.0},
        object(),
        np.zeros((2, 2)),
        np.array(3.0),
        np.array(["x"] * 120),
        np.ma.masked_array(np.arange(120.0), mask=np.arange(120) % 2 == 0),
        np.arange(120, dtype=object),
        np.full(120, np.nan),
        np.arange(7.0),
    ]
)


def _call(fn, **kwargs):
    """Run ``fn``; a fastsplit error or a result is fine, anything else fails the test."""
    before = (PHI.copy(), Y.copy())
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        try:
            result = fn(**kwargs)
        except FastsplitError as exc:
            error = exc
            result = None
        else:
            error = None
    assert error is None or isinstance(error, ValueError | TypeError | MemoryError | ImportError)
    assert time.perf_counter() - start < SECONDS
    assert np.array_equal(PHI, before[0]) and np.array_equal(Y, before[1])
    return result


STRATIFY_ARGS = [
    "labels",
    "arrays",
    "chunk_size",
    "mode",
    "layout",
    "backend",
    "decimals",
    "atol",
    "group_sizes",
    "check_memory_safety",
    "max_memory_fraction",
]


@settings(max_examples=150)
@given(st.sampled_from(STRATIFY_ARGS), BAD)
def test_stratify_refuses_every_bad_argument_cleanly(name, value):
    kwargs = {"chunk_size": 50}
    labels, arrays = PHI, (Y,)
    if name == "labels":
        labels = value
    elif name == "arrays":
        arrays = (value,)
    else:
        kwargs[name] = value
        if name == "group_sizes":
            labels = None

    def run(**kw):
        return fastsplit.stratify(labels, *arrays, **kw)

    _call(run, **kwargs)


@settings(max_examples=100)
@given(
    st.sampled_from(
        ["labels", "chunk_size", "layout", "backend", "decimals", "atol", "group_sizes"]
    ),
    BAD,
)
def test_plan_refuses_every_bad_argument_cleanly(name, value):
    kwargs = {"chunk_size": 50}
    labels = PHI
    if name == "labels":
        labels = value
    else:
        kwargs[name] = value
        if name == "group_sizes":
            labels = None
    _call(lambda **kw: fastsplit.plan(labels, **kw), **kwargs)


ESTIMATE_ARGS = [
    "n",
    "n_arrays",
    "itemsize",
    "mode",
    "backend",
    "n_groups",
    "chunk_size",
    "layout",
    "max_memory_fraction",
    "available",
]


@settings(max_examples=120)
@given(st.sampled_from(ESTIMATE_ARGS), BAD)
def test_estimate_memory_refuses_every_bad_argument_cleanly(name, value):
    kwargs = {"n": 1000, name: value}
    _call(lambda **kw: fastsplit.estimate_memory(**kw), **kwargs)


@settings(max_examples=60)
@given(BAD)
def test_stratified_methods_refuse_bad_arguments_cleanly(value):
    s = fastsplit.stratify(PHI, Y, chunk_size=50)
    _call(s.take, a=value)
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for kwargs in ({"max_chunks": value}, {"path": value}):
        if isinstance(value, str):
            continue  # a string is a valid path: it would write a file
        fig = _call(s.plot, **kwargs)
        if fig is not None:
            plt.close(fig)


def test_ragged_and_masked_labels_name_the_argument():
    with pytest.raises(FastsplitError, match="labels"):
        fastsplit.stratify([[1.0, 2.0], [3.0]], chunk_size=1)
    masked = np.ma.masked_array(PHI, mask=PHI > 0)
    with pytest.raises(TypeError, match="masked"):
        fastsplit.stratify(masked, Y)
    with pytest.raises(TypeError, match="masked"):
        fastsplit.stratify(PHI, np.ma.masked_array(Y))


def test_string_flag_is_not_true():
    with pytest.raises(TypeError, match="check_memory_safety must be True or False"):
        fastsplit.stratify(PHI, Y, check_memory_safety="False")


def test_decimals_out_of_range_and_overflowing():
    with pytest.raises(ValueError, match="decimals=400 is out of range"):
        fastsplit.stratify(PHI, decimals=400)
    with pytest.raises(ValueError, match="too many for these labels"):
        fastsplit.stratify(PHI * 1e10, decimals=300)
    assert fastsplit.stratify(PHI + 1e-9, decimals=6).groups.tolist() == [-1.5, 0.0, 2.5]


def test_overflowing_group_sizes():
    with pytest.raises(ValueError, match="group_sizes add up to about"):
        fastsplit.plan(None, group_sizes=[2**62, 2**62])


def test_pandas_and_xarray_inputs_are_converted_once():
    pd = pytest.importorskip("pandas")
    s = fastsplit.stratify(pd.Series(PHI), pd.Series(Y), chunk_size=50, mode="index")
    ref = fastsplit.stratify(PHI, Y, chunk_size=50)
    assert np.array_equal(s.order, ref.order)
    assert np.array_equal(np.concatenate([c[0] for c in s.chunks()]), ref.arrays[0])
    assert np.array_equal(s.take(pd.Series(Y)), ref.arrays[0])


def test_dask_arrays_are_refused_with_a_way_out():
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match=r"dask array.*compute\(\)"):
        fastsplit.stratify(PHI, da.from_array(Y, chunks=40))


def test_xarray_inputs_are_converted_once():
    xr = pytest.importorskip("xarray")
    labels = xr.DataArray(PHI, dims="point")
    s = fastsplit.stratify(labels, xr.DataArray(Y, dims="point"), chunk_size=50)
    assert np.array_equal(s.arrays[0], fastsplit.stratify(PHI, Y, chunk_size=50).arrays[0])
