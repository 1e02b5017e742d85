"""The JAX backend: the permutation on the host, the gather on the arrays' device.

The order is decided by the host backend (numba when installed, else the numpy
oracle), so it is the same permutation, bit for bit, as every other backend
(contract C6). Only the group labels come to the host for that (one small value
per point; labels given as JAX arrays are copied there by validation); the int32
permutation then goes to the device that holds the data, where one jitted
``jnp.take`` gathers every array at once. A full-size data array never makes a
round trip through the host: JAX arrays in, JAX arrays out, on the same device.

NumPy inputs are moved to the device of the first JAX input (JAX's default device
when there is none) and come back as JAX arrays: asking for ``backend="jax"`` means
asking for JAX arrays. In index mode (:func:`gather_chunks`, behind
``Stratified.chunks()``) a NumPy or memory-mapped source is gathered on the host one
chunk at a time and only that chunk moves, so resident memory stays O(chunk).
NumPy inputs that no JAX type holds exactly (big-endian byte order, datetime64,
timedelta64) are gathered on the host and stay NumPy arrays with their own dtype,
so the contract's "same dtype" still holds.

This module never changes JAX's global configuration. Without
``jax_enable_x64`` JAX would silently turn 64-bit inputs (float64, int64,
complex128) into 32-bit ones and 64-bit indices would wrap; both are refused with
an error that says how to fix it instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._labels import Grouping
from .._plan import ChunkPlan
from ..errors import InvalidArgumentError, InvalidTypeError
from ._interface import Backend, Inputs, Reordered, point_bytes
from ._numpy import take as host_take

_JAX_KINDS = "biufc"  # dtype kinds JAX can hold (no datetime, timedelta, object)


def x64_enabled() -> bool:
    """Whether JAX's 64-bit mode is on (read, never changed)."""
    return bool(jax.config.read("jax_enable_x64"))


def check_index_range(n: int) -> None:
    """Refuse ``n`` points when their indices do not fit JAX's index type.

    Without ``jax_enable_x64`` JAX indexes with int32; an int64 permutation would
    wrap silently above 2**31 - 1.
    """
    if n >= 2**31 and not x64_enabled():
        raise InvalidArgumentError(
            f"backend='jax' cannot index {n:,} points: that needs 64-bit indices and "
            "JAX's 64-bit mode is off, so they would wrap around. Turn it on in your "
            "program before creating arrays (jax.config.update('jax_enable_x64', True)), "
            "stratify in smaller pieces, or use backend='numba'."
        )


def _stays_on_host(a: Any) -> bool:
    """NumPy input that no JAX type holds exactly (big-endian, datetime): gathered on the host.

    The result keeps the input's dtype (contract C1) and stays a NumPy array.
    """
    if isinstance(a, jax.Array):
        return False
    dtype = np.dtype(a.dtype)
    return dtype.kind not in _JAX_KINDS or not dtype.isnative


def _check_dtype(position: int, a: Any) -> None:
    """Refuse 64-bit data with x64 off: JAX would silently turn it into 32-bit data."""
    dtype = np.dtype(a.dtype)
    canonical = np.dtype(jax.dtypes.canonicalize_dtype(dtype))
    if canonical != dtype:
        raise InvalidTypeError(
            f"arrays[{position}] has dtype {dtype} but JAX's 64-bit mode is off, so JAX "
            f"would silently turn it into {canonical}. Pass {canonical} data yourself "
            f"(a.astype(np.{canonical})) if that precision is enough, turn 64-bit mode "
            "on in your program before creating arrays "
            "(jax.config.update('jax_enable_x64', True)), or use backend='numba'."
        )


def _device_of(a: Any) -> Any:
    """The single device that holds JAX array ``a`` (None for NumPy input)."""
    if not isinstance(a, jax.Array):
        return None
    devices = a.devices()
    if len(devices) != 1:
        raise InvalidArgumentError(
            "backend='jax' gathers arrays that live on one device; this array is "
            f"sharded over {len(devices)} devices. Gather it to one device first "
            "(jax.device_put(a, jax.devices()[0])) or stratify each shard separately."
        )
    return next(iter(devices))


def _target_device(arrays: Sequence[Any]) -> Any:
    """Where NumPy inputs go: the first JAX input's device, else JAX's default."""
    for a in arrays:
        device = _device_of(a)
        if device is not None:
            return device
    return jax.devices()[0]


def device_free_memory(device: Any) -> int | None:
    """Free memory of an accelerator, or None for a CPU device (its buffers are host memory)."""
    if device is None or getattr(device, "platform", "cpu") == "cpu":
        return None
    try:
        stats = device.memory_stats()
    except Exception:  # backends without memory statistics
        return None
    if not stats or "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))


@jax.jit
def _gather(arrays: tuple[jax.Array, ...], indices: jax.Array) -> tuple[jax.Array, ...]:
    # Defined once at import: jax.jit caches one compilation per
    # (number of arrays, dtypes, shapes), so a repeat call reuses it.
    # mode="clip" skips the out-of-bounds fill (2x faster); indices are in range.
    return tuple(jnp.take(a, indices, axis=0, mode="clip", unique_indices=True) for a in arrays)


@partial(jax.jit, static_argnames=("size",))
def _gather_slice(
    arrays: tuple[jax.Array, ...], indices: jax.Array, start: jax.Array, size: int
) -> tuple[jax.Array, ...]:
    # Chunks differ in size by at most one point, so at most two compilations.
    window = lax.dynamic_slice_in_dim(indices, start, size)
    return tuple(jnp.take(a, window, axis=0, mode="clip", unique_indices=True) for a in arrays)


class JaxBackend(Backend):
    """Codes and the permutation from a host backend; the gather on the data's device."""

    name = "jax"

    def __init__(self, host: Backend | None = None) -> None:
        if host is None:
            raise TypeError("the jax backend needs the host backend that computes its order")
        self.host = host

    # -- host side: one O(n) pass over the labels, the same permutation as every backend
    def factorize(self, labels: np.ndarray) -> Grouping:
        return self.host.factorize(labels)

    def remap(self, codes: np.ndarray, table: np.ndarray) -> np.ndarray:
        return self.host.remap(codes, table)

    def order(self, grouping: Grouping, plan: ChunkPlan) -> np.ndarray:
        return self.host.order(grouping, plan)

    def compile_seconds(self) -> float:
        return self.host.compile_seconds()  # the host kernels; JAX compiles its gather apart

    # -- device side
    def validate(self, arrays: tuple[Any, ...]) -> None:
        check_index_range(max((a.shape[0] for a in arrays), default=0))
        for position, a in enumerate(arrays):
            _device_of(a)
            if not _stays_on_host(a):
                _check_dtype(position, a)

    def memory_inputs(self, arrays: Sequence[Any]) -> Inputs:
        """Device arrays, host arrays that will be uploaded, and the device's free memory."""
        uploads = sum(
            point_bytes(a) for a in arrays if not isinstance(a, jax.Array) and not _stays_on_host(a)
        )
        return Inputs(
            itemsizes=tuple(point_bytes(a) for a in arrays),
            device_arrays=any(isinstance(a, jax.Array) for a in arrays),
            upload_itemsize=uploads,
            device_free=device_free_memory(_target_device(arrays)),
        )

    def _gather_all(self, arrays: tuple[Any, ...], indices: np.ndarray) -> tuple[Any, ...]:
        """Gather every array by ``indices``: one jitted call per device for all its arrays."""
        self.validate(arrays)
        check_index_range(indices.shape[0])
        default = _target_device(arrays)
        out: list[Any] = [None] * len(arrays)
        by_device: dict[Any, list[int]] = {}
        on_device: dict[int, jax.Array] = {}
        for position, a in enumerate(arrays):
            if _stays_on_host(a):
                out[position] = host_take(a, indices)
                continue
            if isinstance(a, jax.Array):
                on_device[position] = a
            else:  # NumPy input the caller asked JAX to handle: it moves once, to `default`
                on_device[position] = jax.device_put(a, default)
            by_device.setdefault(_device_of(on_device[position]), []).append(position)
        for device, positions in by_device.items():
            device_indices = jax.device_put(indices, device)
            gathered = _gather(tuple(on_device[p] for p in positions), device_indices)
            for p, g in zip(positions, gathered, strict=True):
                out[p] = g
        return tuple(out)

    def reorder(
        self,
        grouping: Grouping,
        plan: ChunkPlan,
        arrays: tuple[Any, ...],
        order: np.ndarray | None = None,
    ) -> Reordered:
        """Copy mode: every array gathered on its device by the host-computed permutation."""
        if order is None:
            order = self.order(grouping, plan)
        return Reordered(self._gather_all(arrays, order) if arrays else (), order)

    def gather(self, arrays: tuple[Any, ...], indices: np.ndarray) -> tuple[Any, ...]:
        """``a[indices]`` as JAX arrays on each array's device (default device for NumPy)."""
        return self._gather_all(arrays, np.asarray(indices))

    def gather_chunks(
        self, sources: tuple[Any, ...], order: np.ndarray, bounds: np.ndarray
    ) -> Iterator[tuple[Any, ...]]:
        """Index mode: yield each chunk of every source, gathered when it is reached.

        JAX sources are gathered on their device from one on-device copy of the
        permutation. NumPy (and memory-mapped) sources are gathered on the host,
        chunk by chunk, and only the chunk goes to the device: resident memory is
        O(chunk), not O(n).
        """
        self.validate(sources)
        default = _target_device(sources)
        device_order: dict[Any, jax.Array] = {}
        for a in sources:
            device = _device_of(a)
            if device is not None and device not in device_order:
                device_order[device] = jax.device_put(order, device)
        for k in range(bounds.shape[0] - 1):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            chunk: list[Any] = [None] * len(sources)
            by_device: dict[Any, list[int]] = {}
            for position, a in enumerate(sources):
                device = _device_of(a)
                if device is not None:
                    by_device.setdefault(device, []).append(position)
                    continue
                # np.take touches only this chunk's pages of a memory-mapped source.
                part = host_take(a, order[lo:hi])
                chunk[position] = part if _stays_on_host(a) else jax.device_put(part, default)
            for device, positions in by_device.items():
                gathered = _gather_slice(
                    tuple(sources[p] for p in positions), device_order[device], lo, size=hi - lo
                )
                for p, g in zip(positions, gathered, strict=True):
                    chunk[p] = g
            yield tuple(chunk)


__all__ = ["JaxBackend", "check_index_range", "device_free_memory", "x64_enabled"]
