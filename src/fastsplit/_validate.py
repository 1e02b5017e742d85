"""Argument checks shared by every entry point.

Everything a user can get wrong is caught here, before any work or allocation,
with an error that names the argument and says how to fix it.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import (
    FastsplitError,
    InvalidArgumentError,
    InvalidLabelsError,
    InvalidShapeError,
    InvalidTypeError,
    LengthMismatchError,
)

MODES = ("auto", "copy", "index")
MAX_POINTS = 2**62
"""More points than any machine holds; larger counts overflow int64 arithmetic."""
MAX_DECIMALS = 300
"""Rounding further than this overflows float64 (``x * 10**decimals``) for any label."""
LAYOUTS = ("auto", "strided", "contiguous")


def check_choice(name: str, value: object, valid: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``valid``, else raise naming every valid choice."""
    if not isinstance(value, str) or value not in valid:
        choices = ", ".join(repr(v) for v in valid)
        raise InvalidArgumentError(f"{name}={value!r} is not valid; use one of {choices}.")
    return value


def check_chunk_size(chunk_size: object) -> int:
    """``chunk_size`` must be a positive integer (numpy integers accepted, bools refused)."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral):
        raise InvalidTypeError(
            f"chunk_size must be a positive int, got {type(chunk_size).__name__} "
            f"{chunk_size!r}; pass for example chunk_size=100_000."
        )
    if chunk_size <= 0:
        raise InvalidArgumentError(
            f"chunk_size must be a positive int, got {chunk_size}; "
            "pass the number of points per chunk, for example chunk_size=100_000."
        )
    return int(chunk_size)


def check_1d(
    name: str,
    value: Any,
    *,
    n: int | None = None,
    kinds: str | None = None,
    host: bool = False,
    length_of: str = "labels",
    rows: bool = False,
) -> Any:
    """The one check of a per-point array: 1-D, the right kind of values, ``n`` long.

    Parameters
    ----------
    name : str
        How the error message names the argument (``"labels"``, ``"arrays[2]"``, ``"y"``).
    value : array_like
        NumPy and JAX arrays are kept as they are (JAX arrays stay on their device
        unless ``host``); anything else goes through ``np.asarray`` once.
    n : int, optional
        Required length.
    kinds : str, optional
        Accepted ``dtype.kind`` letters, e.g. ``"fiu"`` for real numbers.
    host : bool
        Bring JAX arrays to the host as NumPy arrays.
    length_of : str
        What ``n`` is the length of, for the mismatch message.
    rows : bool
        Also accept a 2-D array of shape (n, d): one row per point.
    """
    if isinstance(value, str | bytes):
        raise InvalidTypeError(f"{name} must be a 1-D numeric array, got a string.")
    if isinstance(value, np.ma.MaskedArray):
        raise InvalidTypeError(
            f"{name} is a masked array; fastsplit would drop the mask and use the masked "
            f"values as data. Keep only the valid points first, e.g. keep = ~{name}.mask "
            "(and apply keep to every other array), then pass the plain arrays."
        )
    if type(value).__module__.split(".")[0] == "dask":
        raise InvalidTypeError(
            f"{name} is a dask array; fastsplit.stratify works on arrays in memory and "
            f"would compute all of it. Call {name}.compute() first if it fits in memory, "
            "or use fastsplit.dask.stratify (pip install 'fastsplit[dask]'), which "
            "stratifies dask arrays block by block."
        )
    if not isinstance(value, np.ndarray) and (host or not is_jax_array(value)):
        # pandas Series, xarray DataArrays, lists: converted once, here.
        value = as_array(name, value)
    ndim = len(value.shape)
    if rows and ndim == 2:
        pass
    elif rows and ndim > 2:
        raise InvalidShapeError(
            f"{name} must have one value or one row per point (1-D or 2-D), got shape "
            f"{tuple(value.shape)}; reshape it to (n, -1) first, e.g. "
            f"{name}.reshape({name}.shape[0], -1)."
        )
    elif ndim != 1:
        hint = (
            f"flatten it first, e.g. {name}.ravel() (row-major order), "
            "and flatten every other array the same way"
            if ndim > 1
            else f"wrap it, e.g. np.atleast_1d({name})"
        )
        raise InvalidShapeError(
            f"{name} must be one-dimensional, got shape {tuple(value.shape)}; {hint}."
        )
    if kinds is not None and np.dtype(value.dtype).kind not in kinds:
        raise InvalidTypeError(
            f"{name} must hold {_KIND_WORDS.get(kinds, 'numbers')}, got dtype {value.dtype}."
        )
    if n is not None and value.shape[0] != n:
        raise LengthMismatchError(
            f"{name} has {value.shape[0]} points but {length_of} have {n}; every array "
            "must have one value per point (flatten all arrays in the same order)."
        )
    return value


_KIND_WORDS = {
    "fiu": "real numbers",
    "fiub": "real numbers or booleans",
    "fiubUSOMm": "group labels: numbers, text or other sortable values",
}


def as_array(name: str, value: Any) -> np.ndarray:
    """``np.asarray(value)``, with what numpy cannot make of it said about ``name``."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(
            f"{name} cannot be read as an array ({exc}); pass a 1-D numpy array with one "
            "number per point (a list of lists of unequal length is not one)."
        ) from None


def check_flag(name: str, value: object) -> bool:
    """A true/false option: ``bool`` or ``numpy.bool_`` only (the string "False" is true)."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidTypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_count(
    name: str,
    value: object,
    *,
    minimum: int = 0,
    maximum: int = MAX_POINTS,
    wrong_type: type[FastsplitError] = InvalidTypeError,
) -> int:
    """A whole number in [minimum, maximum] (numpy integers accepted, bools and floats refused)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise wrong_type(f"{name} must be an int, got {type(value).__name__} {value!r}.")
    number = int(value)
    if not minimum <= number <= maximum:
        raise InvalidArgumentError(
            f"{name} must be an int from {minimum} to {maximum:,}, got {number:,}."
        )
    return number


def is_jax_array(x: Any) -> bool:
    """True for a JAX array, decided without importing jax."""
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(x, jax.Array)


def check_labels(labels: Any, *, values: bool = False) -> np.ndarray:
    """Labels must be a 1-D array of real numbers (float, int or bool).

    With ``values``, also strings, bytes, dates and Python objects
    (``_labels.VALUE_KINDS``), which are grouped by their values.
    """
    labels = check_1d("labels", labels)
    labels = np.asarray(labels)  # JAX labels are brought to the host (small compared to data)
    kind = labels.dtype.kind
    if values and kind in "USOMm":
        return labels
    if kind not in "fiub":
        accepted = (
            "numbers, strings, bytes or other sortable values"
            if values
            else "numeric (float angles or integer codes)"
        )
        raise InvalidTypeError(
            f"labels must be {accepted}, got dtype {labels.dtype}; map them to integers "
            "first, e.g. np.unique(labels, return_inverse=True)[1]."
        )
    if kind == "f" and labels.dtype.itemsize not in (4, 8):
        raise InvalidTypeError(
            f"labels of dtype {labels.dtype} are not supported; convert with "
            "labels.astype(np.float64)."
        )
    return labels


def check_arrays(arrays: Sequence[Any], n: int | None, *, rows: bool = False) -> tuple[Any, ...]:
    """Every data array must be 1-D (or, with ``rows``, 2-D: a row per point), n long."""
    out = []
    for i, a in enumerate(arrays):
        a = check_1d(f"arrays[{i}]", a, rows=rows)
        if n is not None and a.shape[0] != n:
            raise LengthMismatchError(
                f"arrays[{i}] has {a.shape[0]} points but labels have {n}; every array "
                "must have one value per label (flatten all arrays in the same order)."
            )
        if a.dtype.hasobject:
            raise InvalidTypeError(
                f"arrays[{i}] has dtype {a.dtype}: Python objects, which fastsplit does not "
                "copy (it moves fixed-size values). Convert it to a fixed-size dtype, e.g. "
                f"np.asarray(a, dtype=str) or series.to_numpy(dtype=str) for text, or "
                "stratify without it and reorder it yourself: a[s.order] (pandas: "
                "df.iloc[s.order])."
            )
        out.append(a)
    return tuple(out)


MAX_SEED = 2**64 - 1


def check_seed(seed: object) -> tuple[int, ...] | None:
    """``seed``: None, a non-negative int, or a non-empty tuple (or list) of them.

    Returned as a tuple (``7`` and ``(7,)`` are the same seed); ``None`` stays ``None``.
    """
    if seed is None:
        return None
    values = tuple(seed) if isinstance(seed, tuple | list) else (seed,)
    if not values:
        raise InvalidArgumentError(
            "seed=() is empty; pass an int, a tuple of ints such as (seed, epoch), or None."
        )
    for value in values:
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
            raise InvalidTypeError(
                f"seed must be None, a non-negative int or a tuple of them (e.g. (seed, "
                f"epoch)), got {type(value).__name__} {value!r} in seed={seed!r}."
            )
        if not 0 <= int(value) <= MAX_SEED:
            raise InvalidArgumentError(
                f"seed values must be ints from 0 to 2**64 - 1, got {int(value)} in "
                f"seed={seed!r}; for a larger one pass several values, e.g. (high, low)."
            )
    return tuple(int(value) for value in values)


def check_group_sizes(group_sizes: Any, n: int | None) -> np.ndarray:
    """``group_sizes`` are non-negative integer run lengths that add up to n."""
    sizes = as_array("group_sizes", group_sizes)
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu":
        raise InvalidTypeError(
            "group_sizes must be a 1-D sequence of integers (points per group, in data "
            f"order), got {sizes.dtype} with shape {sizes.shape}."
        )
    if sizes.size and sizes.min() < 0:
        raise InvalidLabelsError("group_sizes must not contain negative sizes.")
    # The float sum cannot overflow: it only has to tell whether the exact one would.
    if sizes.size and float(sizes.sum(dtype=np.float64)) >= 2**62:
        raise InvalidLabelsError(
            f"group_sizes add up to about {float(sizes.sum(dtype=np.float64)):.3g} points, "
            "more than any array can hold; each entry is the number of points of one group."
        )
    sizes = sizes.astype(np.int64)
    if n is not None and int(sizes.sum()) != n:
        raise InvalidLabelsError(
            f"group_sizes add up to {int(sizes.sum())} but the arrays have {n} points; "
            "group_sizes must list the length of every group-major run, in order."
        )
    return sizes


def check_rounding(decimals: object, atol: object) -> tuple[int | None, float | None]:
    """``decimals`` (int) and ``atol`` (>= 0 float) merge near-equal float labels."""
    if decimals is not None and atol is not None:
        raise InvalidArgumentError("pass decimals= or atol=, not both.")
    rounded: int | None = None
    tolerance: float | None = None
    if decimals is not None:
        if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral):
            raise InvalidTypeError(f"decimals must be an int, got {decimals!r}.")
        rounded = int(decimals)
        if not -MAX_DECIMALS <= rounded <= MAX_DECIMALS:
            raise InvalidArgumentError(
                f"decimals={rounded} is out of range; a float64 label has about 16 "
                f"significant digits, so use -{MAX_DECIMALS} <= decimals <= {MAX_DECIMALS} "
                "(for example decimals=3 for angles given to a thousandth of a degree)."
            )
    if atol is not None:
        if isinstance(atol, bool) or not isinstance(atol, numbers.Real):
            raise InvalidTypeError(f"atol must be a non-negative float, got {atol!r}.")
        tolerance = float(atol)
        if not np.isfinite(tolerance) or tolerance < 0:
            raise InvalidArgumentError(f"atol must be a finite value >= 0, got {atol!r}.")
    return rounded, tolerance


def check_fraction(max_memory_fraction: object) -> float:
    """``max_memory_fraction`` must be a number in (0, 1]."""
    if (
        isinstance(max_memory_fraction, bool | np.bool_)
        or not isinstance(max_memory_fraction, numbers.Real)
        or not 0 < float(max_memory_fraction) <= 1
    ):
        raise InvalidArgumentError(
            f"max_memory_fraction must be a number in (0, 1], got {max_memory_fraction!r}; "
            "it is the share of available memory stratify may use, e.g. 0.7."
        )
    return float(max_memory_fraction)
