"""A fit's passes kept across processes as StableHLO (``jax.export``), where the model allows.

JAX's persistent cache (``_compile_cache``) saves XLA's compilation, but every
process still traces the model and lowers it to StableHLO before it can look
the executable up: 0.4-0.6 s for the normal-equation pass of the 3M-point
static XPCS fit (2-core machine), more for laminar flow. A pass exported once
(``jax.export``) is read back, lowered as a call of the saved module (a tenth of
the time) and compiled, from the persistent cache too.

Only a model that names everything its compiled passes depend on besides its
source code can be reused this way: its class defines
``__fastsplit_compile_key__(self) -> str`` in its own body (a subclass that
changes the model must define its own), as :class:`fastsplit.xpcs.TwoTimeModel`
does. Any other model is traced as before. The file name of a pass is a hash of
that key, the parameter layout, the loss, the shapes and dtypes of the arguments,
the source of every module of the fit package and of the model's module, and
the fastsplit, JAX and jaxlib versions, x64 and the device kind, so that a change
to any of them exports anew. A pass that cannot be exported or read back (no
``flatbuffers``, which ``jax.export`` needs; a damaged file) runs as before.

The files live beside JAX's cache (``<cache>/fastsplit/jax-exported``) and are
switched off with it (``FASTSPLIT_JAX_CACHE=0``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["portable", "store"]

log = logging.getLogger("fastsplit")

KEY = "__fastsplit_compile_key__"


def store() -> Path | None:
    """Where exported passes are kept (``None``: off, or not writable)."""
    from . import _compile_cache

    if _compile_cache.switched_off():
        return None
    base = _compile_cache.default_directory()
    path = base.with_name(base.name + "-exported")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def model_key(model: Any) -> str | None:
    """The model's own compile key, when its class defines one in its own body."""
    if KEY not in type(model).__dict__:
        return None
    key = getattr(model, KEY)()
    return key if isinstance(key, str) else None


def portable(
    kernels: Any, model: Callable[..., Any], layout: Any, x_is_tuple: bool, loss_name: str
) -> Any:
    """``kernels`` whose passes are exported once and read back in later processes.

    Returned unchanged for a model without a compile key, or without a store.
    ``kernels_for`` calls it once per compiled set of kernels and keeps the result.
    """
    key = model_key(model)
    where = store() if key is not None else None
    if key is None or where is None:
        return kernels

    prefix = (key, repr(layout), x_is_tuple, loss_name, _environment(_type_of(model)))
    clustered: dict[tuple[int, ...], _Pass] = {}

    def cluster_pass(sizes: tuple[int, ...]) -> _Pass:
        if sizes not in clustered:
            # the cluster counts shape the pass but are no argument: part of its name
            name = ("clustered", sizes, *prefix)
            clustered[sizes] = _Pass(kernels.clustered(sizes), name, where)
        return clustered[sizes]

    return kernels._replace(
        cost=_Pass(kernels.cost, ("cost", *prefix), where),
        normal=_Pass(kernels.normal, ("normal", *prefix), where),
        probe=_Pass(kernels.probe, ("probe", *prefix), where),
        clustered=cluster_pass,
    )


def _type_of(model: Any) -> Any:
    return type(model)


@functools.cache
def _environment(model_type: Any) -> tuple[str, ...]:
    import jax
    import jaxlib

    from .. import __version__

    digest = hashlib.sha256()
    # Every module of the fit package, not only those that build the passes today:
    # a pass moved to a new module must not leave a stale export behind.
    files = sorted(Path(__file__).resolve().parent.rglob("*.py"))
    with contextlib.suppress(TypeError, OSError):
        files.append(Path(inspect.getfile(model_type)))
    for path in files:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(str(path).encode())
    device = jax.devices()[0]
    return (
        __version__,
        digest.hexdigest(),
        jax.__version__,
        getattr(jaxlib, "__version__", "?"),
        f"{device.platform}:{getattr(device, 'device_kind', '?')}",
        sys.version.split()[0],
    )


def _platform(args: tuple[Any, ...]) -> str:
    """The platform the arguments live on (JAX's default backend for host arrays)."""
    import jax

    for leaf in jax.tree.leaves(args):
        if isinstance(leaf, jax.Array):
            return str(next(iter(leaf.devices())).platform)
    return str(jax.default_backend())


def _signature(args: tuple[Any, ...]) -> str:
    import jax
    import numpy as np

    leaves, tree = jax.tree.flatten(args)
    parts = [str(tree), str(bool(jax.config.jax_enable_x64)), _platform(args)]
    for leaf in leaves:
        if isinstance(leaf, int | float | bool | complex):
            parts.append(type(leaf).__name__)  # a Python scalar: weakly typed
        else:
            parts.append(f"{np.dtype(leaf.dtype).str}{tuple(np.shape(leaf))}")
    return ";".join(parts)


class _Pass:
    """One jitted pass, exported per argument signature and read back when saved."""

    def __init__(self, jitted: Callable[..., Any], prefix: tuple[Any, ...], where: Path) -> None:
        self.jitted = jitted
        self.prefix = prefix
        self.where = where
        self.calls: dict[str, Callable[..., Any]] = {}

    def __call__(self, *args: Any) -> Any:
        signature = _signature(args)
        call = self.calls.get(signature)
        if call is None:
            call = self.calls[signature] = self._callable(args, signature)
        return call(*args)

    def _callable(self, args: tuple[Any, ...], signature: str) -> Callable[..., Any]:
        import jax

        name = hashlib.sha256(repr((self.prefix, signature)).encode()).hexdigest()[:40]
        path = self.where / f"{self.prefix[0]}-{name}.jaxexport"
        try:
            from jax import export

            if path.exists():
                try:
                    exported = export.deserialize(bytearray(path.read_bytes()))
                    return jax.jit(exported.call)
                except Exception as exc:  # a damaged or foreign file: export anew
                    log.debug("exported pass %s not read (%s); exporting again", path, exc)
            # for the platform the data are on, which need not be JAX's default one
            exporting = export.export(self.jitted, platforms=[_platform(args)])  # type: ignore[arg-type]
            exported = exporting(*args)
            blob = exported.serialize()
        except Exception as exc:  # no flatbuffers, or a pass jax.export refuses
            log.debug("pass %s not exported (%s): traced in every process", self.prefix[0], exc)
            return self.jitted
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        try:
            partial.write_bytes(blob)
            os.replace(partial, path)
        except OSError as exc:
            log.debug("exported pass not written to %s: %s", path, exc)
        return jax.jit(exported.call)
