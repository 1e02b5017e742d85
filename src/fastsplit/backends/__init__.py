"""Backend registry and the ``backend="auto"`` dispatcher.

A backend is a module that provides ``name``, ``factorize``, ``remap``, ``order``,
``reorder`` and ``take`` (see ``_numpy.py``, the reference). Adding one means
adding a module and one line to ``_REGISTRY``. Modules are imported on first use
only; deciding which backend to use never imports numba or jax.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from ..errors import BackendUnavailableError, InvalidArgumentError


@dataclass(frozen=True)
class _Entry:
    module: str
    requires: str | None  # top-level package that must be importable
    extra: str | None  # pip extra that installs it


_REGISTRY: dict[str, _Entry] = {
    "numpy": _Entry("fastsplit.backends._numpy", None, None),
    # numba is a dependency of fastsplit itself, not an extra: name the package.
    "numba": _Entry("fastsplit.backends._numba", "numba", "numba"),
    "jax": _Entry("fastsplit.backends._jax", "jax", "fastsplit[jax]"),
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


@cache
def get_backend(name: str) -> ModuleType:
    """Import (once) and return the backend module called ``name``."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise InvalidArgumentError(
            f"backend={name!r} is not valid; use one of {', '.join(map(repr, BACKENDS))}."
        )
    if not _installed(entry.requires):
        raise BackendUnavailableError(
            f"backend={name!r} needs {entry.requires}, which is not installed; "
            f"install it with: pip install {entry.extra}"
        )
    return importlib.import_module(entry.module)


def is_jax_array(x: Any) -> bool:
    """True for a JAX array, decided without importing jax."""
    if "jax" not in sys.modules:
        return False
    jax = sys.modules["jax"]
    return isinstance(x, jax.Array)


def resolve(backend: str, arrays: tuple[Any, ...] = ()) -> str:
    """The backend that ``backend`` means for these arrays.

    ``"auto"``: JAX arrays -> ``"jax"``; else ``$FASTSPLIT_BACKEND`` if set; else
    ``"numba"`` when installed; else ``"numpy"``.
    """
    if backend != "auto" and backend not in _REGISTRY:
        raise InvalidArgumentError(
            f"backend={backend!r} is not valid; use one of {', '.join(map(repr, BACKENDS))}."
        )
    if backend != "auto":
        return backend
    if any(is_jax_array(a) for a in arrays):
        return "jax"
    override = os.environ.get(ENV_VAR, "").strip()
    if override and override != "auto":
        if override not in _REGISTRY:
            raise InvalidArgumentError(
                f"{ENV_VAR}={override!r} is not valid; use one of {', '.join(map(repr, BACKENDS))}."
            )
        return override
    return "numba" if _installed("numba") else "numpy"


__all__ = ["BACKENDS", "available_backends", "get_backend", "is_jax_array", "resolve"]
