"""Backend registry and the ``backend="auto"`` dispatcher.

A backend is a :class:`~fastsplit.backends._interface.Backend` (its kernels) and a
:class:`~fastsplit.backends._interface.MemoryModel` (what they allocate), named by
one entry of ``_REGISTRY``. Adding one means adding a module and one entry. The
kernels are imported on first use only, and the memory model never needs the
backend's library: deciding which backend to use, and whether a call fits in
memory, never imports numba or jax.

A device backend (``jax``) orders on the host and gathers on its device; its host
backend is decided here, once: numba when installed, else the numpy oracle. A host
backend also names its per-block kernels for ``fastsplit.dask`` (:func:`block_kernels`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

from .._validate import is_jax_array
from ..errors import BackendUnavailableError, InvalidArgumentError
from ._interface import Backend, BlockKernels, MemoryModel


@dataclass(frozen=True)
class _Entry:
    kernels: str  # "module:Class" of the Backend, imported on first use
    sizes: str  # "module:Class" of its MemoryModel, importable without `requires`
    requires: str | None  # top-level package that must be importable
    extra: str | None  # pip extra (or package) that installs it
    on_host: bool = True  # False: a device backend, ordering on the host backend
    blocks: str | None = None  # "module:Class" of its BlockKernels (fastsplit.dask)


_REGISTRY: dict[str, _Entry] = {
    "numpy": _Entry(
        "fastsplit.backends._numpy:NumpyBackend",
        "fastsplit.backends._numpy:NumpySizes",
        None,
        None,
        blocks="fastsplit.backends._blocks:NumpyBlocks",
    ),
    # numba is a dependency of fastsplit itself, not an extra: name the package.
    "numba": _Entry(
        "fastsplit.backends._numba:NumbaBackend",
        "fastsplit.backends._numba_sizes:NumbaSizes",
        "numba",
        "numba",
        blocks="fastsplit.backends._numba_blocks:NumbaBlocks",
    ),
    "jax": _Entry(
        "fastsplit.backends._jax:JaxBackend",
        "fastsplit.backends._jax_sizes:JaxSizes",
        "jax",
        "fastsplit[jax]",
        on_host=False,
    ),
}

BACKENDS = ("auto", *_REGISTRY)
ENV_VAR = "FASTSPLIT_BACKEND"


def _installed(package: str | None) -> bool:
    if package is None:
        return True
    if package in sys.modules:  # None there means "import blocked": not usable
        return sys.modules[package] is not None
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def available_backends() -> dict[str, str]:
    """Which backends can run here, and why the others cannot.

    Returns
    -------
    dict
        backend name -> ``"available"`` or the reason it is not.

    Examples
    --------
    >>> import fastsplit
    >>> fastsplit.available_backends()["numpy"]
    'available'
    """
    status = {}
    for name, entry in _REGISTRY.items():
        if _installed(entry.requires):
            status[name] = "available"
        else:
            status[name] = f"{entry.requires} is not installed; pip install {entry.extra}"
    return status


def _entry(name: str) -> _Entry:
    entry = _REGISTRY.get(name)
    if entry is None:
        raise InvalidArgumentError(
            f"backend={name!r} is not valid; use one of {', '.join(map(repr, BACKENDS))}."
        )
    return entry


def host_backend() -> str:
    """The backend that computes codes and permutations on the host for a device backend."""
    return "numba" if _installed("numba") else "numpy"


@cache
def get_backend(name: str, host: str | None = None) -> Backend:
    """Import (once) and return the kernels of the backend called ``name``.

    ``host``: for a device backend, the host backend that computes its order
    (default :func:`host_backend`).
    """
    entry = _entry(name)
    if not _installed(entry.requires):
        raise BackendUnavailableError(
            f"backend={name!r} needs {entry.requires}, which is not installed; "
            f"install it with: pip install {entry.extra}"
        )
    on_host = None if entry.on_host else get_backend(host or host_backend())
    backend: Backend = _load(entry.kernels)(host=on_host)
    return backend


def serve(backend: str, arrays: tuple[Any, ...] = (), n: int = 0) -> tuple[str, Backend]:
    """The backend name and kernels of one call of ``n`` points.

    As :func:`resolve`, except while numba's kernels are not compiled yet (a
    fresh install): where numba would run only because ``"auto"`` chose it, or as
    a device backend's host, a call of up to 4M points runs on the numpy reference
    (the same output) while numba compiles in the background (``_cold``).
    """
    name, by_default = _resolve(backend, arrays)
    kernels = get_backend(name)
    as_host = not _entry(name).on_host and host_backend() == "numba"
    if (by_default and name == "numba") or as_host:
        from . import _cold

        if _cold.backend_for(n) == "numpy":
            if as_host:
                return name, get_backend(name, host="numpy")
            return "numpy", get_backend("numpy")
    return name, kernels


@cache
def block_kernels(name: str) -> BlockKernels:
    """The per-block kernels of ``fastsplit.dask`` for the host backend called ``name``."""
    entry = _entry(name)
    if entry.blocks is None:
        raise InvalidArgumentError(
            f"backend={name!r} has no per-block kernels; fastsplit.dask runs on the "
            "workers' CPUs: use backend='numba' or 'numpy'."
        )
    get_backend(name)  # refuses, naming the extra, when its library is missing
    kernels: BlockKernels = _load(entry.blocks)()
    return kernels


@cache
def memory_model(name: str) -> MemoryModel:
    """The memory model of the backend called ``name`` (never imports its library)."""
    entry = _entry(name)
    host = None if entry.on_host else memory_model(host_backend())
    model: MemoryModel = _load(entry.sizes)(host=host)
    return model


def resolve(backend: str, arrays: tuple[Any, ...] = ()) -> str:
    """The backend that ``backend`` means for these arrays.

    ``"auto"``: JAX arrays -> ``"jax"``; else ``$FASTSPLIT_BACKEND`` if set; else
    ``"numba"`` when installed; else ``"numpy"``.
    """
    return _resolve(backend, arrays)[0]


def _resolve(backend: str, arrays: tuple[Any, ...]) -> tuple[str, bool]:
    """:func:`resolve`, and whether the name is ``"auto"``'s default (no array type or
    ``$FASTSPLIT_BACKEND`` chose it)."""
    if not isinstance(backend, str) or (backend != "auto" and backend not in _REGISTRY):
        raise InvalidArgumentError(
            f"backend={backend!r} is not valid; use one of {', '.join(map(repr, BACKENDS))}."
        )
    if backend != "auto":
        return backend, False
    if any(is_jax_array(a) for a in arrays):
        return "jax", False
    override = os.environ.get(ENV_VAR, "").strip()
    if override and override != "auto":
        if override not in _REGISTRY:
            raise InvalidArgumentError(
                f"{ENV_VAR}={override!r} is not valid; use one of {', '.join(map(repr, BACKENDS))}."
            )
        return override, False
    return host_backend(), True


__all__ = [
    "BACKENDS",
    "BlockKernels",
    "available_backends",
    "block_kernels",
    "get_backend",
    "host_backend",
    "is_jax_array",
    "memory_model",
    "resolve",
    "serve",
]
