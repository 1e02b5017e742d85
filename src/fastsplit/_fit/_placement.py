"""Where the chunk stacks live: one device, or whole chunks sharded over several.

The stacks reach the devices from the host, each device its own chunks
(:func:`place_chunks`, :func:`shard_stack`), never whole on one device; a pass
over several devices scans each device's chunks and reduces with ``psum``
(:func:`over_devices`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "AXIS",
    "chunk_sharding",
    "over_devices",
    "place_chunks",
    "shard_chunks",
    "shard_codes",
    "shard_stack",
]


AXIS = "chunks"
"""The mesh axis the chunks are sharded along."""


def over_devices(
    total: Callable[..., Any], devices: tuple[Any, ...], n_data: int = 4
) -> Callable[..., Any]:
    """``total(constants, flat, f_scale, *data)`` summed over the chunks of every device
    (``n_data`` chunk-stacked arguments: ``xs, y, w, codes`` and, clustered, the
    cluster codes)."""
    import jax
    import numpy as np
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    def local(*args: Any) -> Any:
        return jax.tree.map(lambda t: jax.lax.psum(t, AXIS), total(*args))

    mesh = Mesh(np.array(devices), (AXIS,))
    data = P(AXIS)
    specs = (P(), P(), P(), *(data,) * n_data)
    # The per-chunk tangents (eye, ones) are the same on every device; JAX's check
    # of which values vary across devices would refuse mixing them with the data.
    if hasattr(jax, "shard_map"):
        mapped = jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=P(), check_vma=False)
    else:  # JAX before 0.6
        from jax.experimental.shard_map import shard_map

        mapped = shard_map(local, mesh=mesh, in_specs=specs, out_specs=P(), check_rep=False)
    return jax.jit(mapped)


def shard_chunks(stacks: tuple[Any, ...], devices: tuple[Any, ...]) -> tuple[Any, ...]:
    """``(xs, y, w, codes)`` stacks padded to a multiple of ``len(devices)`` chunks
    (weight-0 copies of chunk 0) and placed whole chunks per device, each stack by
    :func:`shard_stack`: no device ever holds a whole stack."""
    xs, y, w, codes = stacks
    return (
        tuple(shard_stack(a, devices) for a in xs),
        shard_stack(y, devices),
        shard_stack(w, devices, fill=0.0),
        shard_stack(codes, devices),
    )


def shard_stack(stack: Any, devices: tuple[Any, ...], fill: float | None = None) -> Any:
    """One ``(K, ...)`` stack placed whole chunks per device, straight from the host.

    The chunk count is padded to a multiple of ``len(devices)`` with copies of chunk
    0 (or rows of ``fill``); each device receives only its own rows, sliced (and
    padded) in NumPy (``jax.make_array_from_callback``). A stack that is a JAX array
    already is read back to the host first.
    """
    import jax
    import numpy as np

    host = np.asarray(stack)
    n_chunks = int(host.shape[0])
    total = n_chunks + (-n_chunks % len(devices))
    row = host.shape[1:]

    def rows(index: tuple[slice, ...] | None) -> np.ndarray:
        lo, hi, _ = (index[0] if index else slice(None)).indices(total)
        if hi <= n_chunks:
            return host[lo:hi]
        pad = host[:1] if fill is None else np.full((1, *row), fill, host.dtype)
        extra = np.broadcast_to(pad, (hi - max(lo, n_chunks), *row))
        return np.concatenate([host[lo:n_chunks], extra])

    return jax.make_array_from_callback((total, *row), chunk_sharding(devices), rows)


def chunk_sharding(devices: tuple[Any, ...]) -> Any:
    """Whole chunks (the first axis) split over ``devices``."""
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    return NamedSharding(Mesh(np.array(devices), (AXIS,)), P(AXIS))


def place_chunks(stacks: tuple[Any, ...], devices: tuple[Any, ...]) -> tuple[Any, ...]:
    """``(xs, y, w, codes)`` where the passes over ``devices`` read them.

    One device (or none: the default one): NumPy stacks become JAX arrays on it,
    JAX arrays stay as they are unless they are spread over several devices.
    Several: stacks already sharded over them (:func:`shard_chunks`) stay, anything
    else is sharded from the host.
    """
    import jax
    import jax.numpy as jnp

    xs, y, _, _ = stacks
    if len(devices) <= 1:

        def one(a: Any) -> Any:
            if not isinstance(a, jax.Array):
                return jnp.asarray(a) if not devices else jax.device_put(a, devices[0])
            if len(a.sharding.device_set) > 1:
                return jax.device_put(a, devices[0] if devices else jax.devices()[0])
            return a

        return jax.tree.map(one, stacks)
    sharding = chunk_sharding(devices)
    placed = all(
        isinstance(a, jax.Array)
        and a.shape[0] % len(devices) == 0
        and a.sharding.is_equivalent_to(sharding, a.ndim)
        for a in (*xs, y)
    )
    return stacks if placed else shard_chunks(stacks, devices)


def shard_codes(stacks: tuple[Any, ...], devices: tuple[Any, ...]) -> tuple[Any, ...]:
    """Code stacks (the cluster codes) placed as :func:`shard_chunks` places the data:
    whole chunks per device, from the host (:func:`shard_stack`)."""
    return tuple(shard_stack(a, devices) for a in stacks)
