"""Dask itself, on first use, and the inputs as aligned 1-D dask arrays.

Everything here runs on the client before any task: the checks of the in-memory
front end (``_validate``) applied to each array's dtype, plus what is particular
to dask arrays (known block sizes, one blocking shared by the labels and the data).
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from .. import _validate as v
from ..backends import get_backend, host_backend, resolve
from ..errors import (
    BackendUnavailableError,
    InvalidArgumentError,
    InvalidShapeError,
    LengthMismatchError,
)
from ._tasks import VALUE_KINDS

TEXT_KINDS = "SU"
"""Fixed-size strings and bytes: data arrays the blocks move as they move numbers."""

BACKENDS = ("auto", "numba", "numpy")
"""What runs the per-block kernels on the workers (JAX has none: the work is on CPUs)."""


def require_dask() -> ModuleType:
    """``dask.array``, or an error that names the extra to install."""
    try:
        import dask.array
    except ImportError as exc:
        raise BackendUnavailableError(
            "fastsplit.dask needs dask, which is not installed; install it with: "
            "pip install 'fastsplit[dask]' (dask[array] and distributed)."
        ) from exc
    return dask.array


def host_kernels(backend: object) -> str:
    """The backend whose kernels run on the workers: ``"numba"`` or ``"numpy"``."""
    v.check_choice("backend", backend, BACKENDS)
    name = resolve(str(backend))
    if name not in BACKENDS:  # $FASTSPLIT_BACKEND=jax: its host backend does the work
        name = host_backend()
    get_backend(name)  # refuses, naming the package, when numba is missing
    return name


def _check_1d(name: str, shape: tuple[Any, ...]) -> None:
    if len(shape) != 1:
        raise InvalidShapeError(
            f"{name} must be one-dimensional, got shape {shape}; flatten it first, "
            f"e.g. {name}.ravel() (row-major order), and flatten every other array the same way."
        )


def _unwrapped(da: ModuleType, value: Any) -> Any:
    """The dask array inside an xarray DataArray (never computed here), else ``value``."""
    if isinstance(value, np.ndarray | da.Array):
        return value
    wrapped = getattr(value, "data", None)
    return wrapped if isinstance(wrapped, da.Array) else value


def as_dask(da: ModuleType, name: str, value: Any, chunks: Any) -> Any:
    """``value`` as a 1-D dask array with known block sizes (NumPy inputs cut into ``chunks``)."""
    value = _unwrapped(da, value)
    if not isinstance(value, da.Array):
        value = v.as_array(name, value)
        _check_1d(name, value.shape)
        if chunks != "auto" and sum(chunks[0]) != value.shape[0]:
            chunks = "auto"  # a length mismatch, reported by the caller
        value = da.from_array(value, chunks=chunks)
    _check_1d(name, value.shape)
    if any(math.isnan(size) for size in value.chunks[0]):
        raise InvalidArgumentError(
            f"{name} has blocks of unknown size (NaN), e.g. after boolean indexing; call "
            f"{name}.compute_chunk_sizes() first (on every array): the plan needs the "
            "length of every block."
        )
    return value


def meta_of(value: Any) -> np.ndarray:
    """An empty host array with ``value``'s dtype and array type, for the dtype checks."""
    meta = getattr(value, "_meta", None)
    return meta if isinstance(meta, np.ndarray) else np.empty(0, dtype=value.dtype)


def aligned(labels: Any, arrays: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """Labels and arrays as 1-D dask arrays cut into the same blocks.

    The blocks of the first dask array among them are kept (NumPy inputs are cut
    the same way; with none, dask's ``"auto"`` blocks); the others are rechunked
    to match, so block b of every array holds the same points.
    """
    da = require_dask()
    inputs = [_unwrapped(da, a) for a in (labels, *arrays)]
    first = next((a for a in inputs if isinstance(a, da.Array)), None)
    chunks = "auto" if first is None or first.ndim != 1 else first.chunks
    labels = as_dask(da, "labels", labels, chunks)
    if labels.dtype.kind not in VALUE_KINDS:  # strings, bytes, objects: grouped by sorting
        v.check_labels(meta_of(labels))
    arrays = tuple(as_dask(da, f"arrays[{i}]", a, labels.chunks) for i, a in enumerate(arrays))
    v.check_arrays(tuple(meta_of(a) for a in arrays if a.dtype.kind not in TEXT_KINDS), None)
    out = []
    for i, a in enumerate(arrays):
        if a.shape[0] != labels.shape[0]:
            raise LengthMismatchError(
                f"arrays[{i}] has {a.shape[0]} points but labels have {labels.shape[0]}; "
                "every array must have one value per label (flatten all arrays in the same "
                "order)."
            )
        out.append(a if a.chunks == labels.chunks else a.rechunk(labels.chunks))
    return labels, tuple(out)


__all__ = [
    "BACKENDS",
    "TEXT_KINDS",
    "aligned",
    "as_dask",
    "host_kernels",
    "meta_of",
    "require_dask",
]
