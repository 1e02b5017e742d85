"""Bad input (docs/user-guide.md, "Bad input"): a clear error for each, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import fastsplit
from fastsplit import errors
from fastsplit.backends import _REGISTRY, get_backend

PHI = np.repeat([0.0, 45.0, 90.0], 10)
Y = np.arange(30.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sort", [True, False])
def test_non_finite_labels(backend, bad, dtype, sort):
    labels = PHI.astype(dtype).copy()
    labels[17] = bad
    if not sort:
        labels = labels[::-1].copy()
    with pytest.raises(errors.InvalidLabelsError, match=r"NaN or infinite.*index") as info:
        fastsplit.stratify(labels, Y, chunk_size=7, backend=backend)
    assert isinstance(info.value, ValueError)
    assert "np.isfinite" in str(info.value)  # says how to fix it


def test_nan_with_decimals_and_plan(backend):
    labels = PHI.copy()
    labels[0] = np.nan
    with pytest.raises(errors.InvalidLabelsError):
        fastsplit.stratify(labels, Y, decimals=2, backend=backend)
    with pytest.raises(errors.InvalidLabelsError):
        fastsplit.plan(labels, backend=backend)


def test_length_mismatch(backend):
    with pytest.raises(
        errors.LengthMismatchError, match=r"labels have 30 points but arrays\[0\] has 29"
    ):
        fastsplit.stratify(PHI, Y[:-1], backend=backend)
    with pytest.raises(errors.LengthMismatchError, match=r"arrays\[1\]"):
        fastsplit.stratify(PHI, Y, Y[:-2], backend=backend)
    s = fastsplit.stratify(PHI, Y, chunk_size=10, backend=backend)
    with pytest.raises(errors.LengthMismatchError):
        s.take(Y[:5])


@pytest.mark.parametrize(
    ("labels", "arrays", "name"),
    [
        (np.float64(3.0), (), "labels"),
        (PHI.reshape(3, 10), (), "labels"),
        (PHI, (Y.reshape(30, 1, 1),), r"arrays\[0\]"),  # 2-D rows are data; 3-D is not
        (PHI, (np.float64(1.0),), r"arrays\[0\]"),
    ],
)
def test_wrong_rank(backend, labels, arrays, name):
    with pytest.raises(errors.InvalidShapeError, match=name) as info:
        fastsplit.stratify(labels, *arrays, backend=backend)
    message = str(info.value)
    # says how to fix the shape: flatten, wrap, or (3-D data) one row per point
    assert any(hint in message for hint in ("ravel()", "atleast_1d", ".reshape("))


@pytest.mark.parametrize("labels", [np.array([1 + 2j, 3j]), "abc"])
def test_labels_that_are_no_group_values(backend, labels):
    # strings, bytes and objects are labels (tests/test_labels.py); complex numbers
    # have no order, and a bare string is not one label per point
    with pytest.raises(errors.InvalidTypeError, match="labels"):
        fastsplit.stratify(labels, backend=backend)


def test_missing_object_labels(backend):
    with pytest.raises(errors.InvalidLabelsError, match="labels contain 1 missing"):
        fastsplit.stratify(np.array([None, 1]), backend=backend)


def test_group_sizes_must_add_up(backend):
    with pytest.raises(errors.InvalidLabelsError, match="add up to 29 but the arrays have 30"):
        fastsplit.stratify(None, Y, group_sizes=[10, 10, 9], backend=backend)
    with pytest.raises(errors.InvalidLabelsError, match="negative"):
        fastsplit.stratify(None, Y, group_sizes=[20, 20, -10], backend=backend)
    with pytest.raises(errors.InvalidTypeError, match="integers"):
        fastsplit.stratify(None, Y, group_sizes=[10.0, 10.0, 10.0], backend=backend)
    with pytest.raises(errors.InvalidArgumentError, match="not both"):
        fastsplit.stratify(PHI, Y, group_sizes=[10, 10, 10], backend=backend)
    with pytest.raises(errors.InvalidArgumentError, match="group_sizes"):
        fastsplit.stratify(None, Y, backend=backend)


@pytest.mark.parametrize("chunk_size", [0, -5])
def test_chunk_size_not_positive(chunk_size):
    with pytest.raises(errors.InvalidArgumentError, match="chunk_size must be a positive int"):
        fastsplit.stratify(PHI, Y, chunk_size=chunk_size)


@pytest.mark.parametrize("chunk_size", [2.5, 10.0, "10", None, True])
def test_chunk_size_not_int(chunk_size):
    with pytest.raises(errors.InvalidTypeError, match="chunk_size"):
        fastsplit.stratify(PHI, Y, chunk_size=chunk_size)
    with pytest.raises(errors.InvalidTypeError, match="chunk_size"):
        fastsplit.plan(PHI, chunk_size=chunk_size)


def test_numpy_integer_chunk_size_is_fine():
    assert fastsplit.stratify(PHI, Y, chunk_size=np.int64(10)).n_chunks == 3


@pytest.mark.parametrize(
    ("kwargs", "valid"),
    [
        ({"backend": "cuda"}, "'numpy'"),
        ({"mode": "lazy"}, "'copy', 'index'"),
        ({"layout": "random"}, "'strided', 'contiguous'"),
    ],
)
def test_unknown_choices_list_the_valid_ones(kwargs, valid):
    with pytest.raises(errors.InvalidArgumentError, match="use one of") as info:
        fastsplit.stratify(PHI, Y, **kwargs)
    assert valid in str(info.value)


@pytest.mark.parametrize("labels", [PHI, None])
def test_plan_refuses_an_unknown_backend_even_without_labels(labels):
    sizes = None if labels is not None else [3, 4]
    with pytest.raises(errors.InvalidArgumentError, match="backend='cuda' is not valid"):
        fastsplit.plan(labels, group_sizes=sizes, backend="cuda")


def test_backend_env_override_is_checked(monkeypatch):
    monkeypatch.setenv("FASTSPLIT_BACKEND", "fortran")
    with pytest.raises(errors.InvalidArgumentError, match="FASTSPLIT_BACKEND"):
        fastsplit.stratify(PHI, Y)


def test_missing_backend_names_the_extra(monkeypatch):
    from fastsplit import backends

    monkeypatch.setitem(
        _REGISTRY,
        "numba",
        backends._Entry(
            "fastsplit.backends._numba:NumbaBackend",
            "fastsplit.backends._numba_sizes:NumbaSizes",
            "numba_absent",
            "numba",
        ),
    )
    get_backend.cache_clear()
    try:
        with pytest.raises(errors.BackendUnavailableError, match="pip install numba") as info:
            fastsplit.stratify(PHI, Y, backend="numba")
        assert isinstance(info.value, ImportError)
        assert "numba_absent is not installed" in fastsplit.available_backends()["numba"]
    finally:
        get_backend.cache_clear()


def test_rounding_arguments():
    with pytest.raises(errors.InvalidArgumentError, match="not both"):
        fastsplit.stratify(PHI, decimals=1, atol=0.1)
    with pytest.raises(errors.InvalidTypeError, match="decimals"):
        fastsplit.stratify(PHI, decimals=1.5)
    with pytest.raises(errors.InvalidArgumentError, match="atol"):
        fastsplit.stratify(PHI, atol=-1.0)
    with pytest.raises(errors.InvalidArgumentError, match="atol"):
        fastsplit.stratify(PHI, atol=float("nan"))


def test_every_error_is_a_builtin_subclass():
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.InvalidTypeError, TypeError)
    assert issubclass(errors.MemoryBudgetError, MemoryError)
    assert issubclass(errors.BackendUnavailableError, ImportError)
    assert issubclass(errors.FastsplitError, Exception)
