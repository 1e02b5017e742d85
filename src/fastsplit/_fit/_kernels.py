"""The compiled passes over the chunk stacks: cost, exact normal equations, probes.

For a pointwise model (see ``_model``) the Jacobian column of a per-group
parameter ``name[g]`` is the column of the per-point parameter ``name``, masked
to the points of group ``g``. So each chunk needs only ``n_shared + n_per_group``
forward-mode tangents, whatever the number of groups, and the blocks of
``J^T J`` and ``J^T r`` are reduced per group with one segment sum:

* ``A  = Js^T Js``                    (shared x shared)
* ``B_g = sum_{i in g} Js_i Jp_i^T``  (shared x per-group, per group)
* ``C_g = sum_{i in g} Jp_i Jp_i^T``  (per-group x per-group, per group)

Chunks are padded to one shape (weight 0 on padding, see ``_data``) and
scanned inside one compiled function, so a pass over the data is one dispatch,
one compilation, and holds one chunk's Jacobian at a time. With several JAX
devices, whole chunks are sharded over them (``shard_map``) and the per-device
sums reduced with ``psum``: every device sees every group. The stacks reach the
devices from the host, each device its own chunks (:func:`place_chunks`), never
whole on one device. A robust loss
(``_loss``) rescales each chunk's rows before the reduction. The kernels are
compiled once per model, layout and loss and reused by later fits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ._common import ModelCache, call_weakly
from ._loss import Loss
from ._model import ParameterLayout, evaluate

__all__ = [
    "AXIS",
    "Kernels",
    "chunk_sharding",
    "kernels_for",
    "place_chunks",
    "shard_chunks",
    "shard_codes",
    "shard_stack",
]


class Kernels(NamedTuple):
    """Jitted ``f(flat, f_scale, xs, y, w, codes)`` passes (``probe`` differs, see below)."""

    cost: Callable[..., Any]
    """Full-data robust cost."""
    normal: Callable[..., Any]
    """Blocks ``(A, B, C, bs, bg, cost)`` of the exact (robust-scaled) normal equations."""
    probe: Callable[..., Any]
    """``probe(flat, xs, codes, tangent)``: derivatives along per-point tangents."""
    clustered: Callable[[tuple[int, ...]], Callable[..., Any]]
    """``clustered(sizes)(flat, f_scale, xs, y, w, codes, clusters)``: the normal pass
    plus, per cluster term (code stacks ``clusters``, ``sizes`` clusters each), the
    summed scores ``(shared (G_k, ns), per_group (G_k, n_groups, npg))`` (``_cluster``)."""


def _materialise(a: Any) -> Any:
    """Compute ``a`` into memory before it is reduced.

    XLA on CPU otherwise fuses the whole model into the reduction loop, which
    runs single-threaded and unvectorised: the cost pass of the 3M-point XPCS
    fit took 214 ms fused and 40 ms with this barrier.
    """
    import jax

    return jax.lax.optimization_barrier(a)


_CACHE = ModelCache()


def kernels_for(
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    loss_name: str,
    devices: tuple[Any, ...] = (),
) -> Kernels:
    """The jitted kernels of a model, layout and loss, reused by later fits of the same model.

    With several ``devices`` the cost and normal passes take stacks whose chunks
    are sharded over them (:func:`shard_chunks`): each device scans its own whole
    chunks and the sums are reduced with ``psum``.
    """
    return _CACHE.get(
        model,
        (layout, x_is_tuple, loss_name, devices),
        lambda ref: _build(call_weakly(ref), layout, x_is_tuple, loss_name, devices),
    )


AXIS = "chunks"
"""The mesh axis the chunks are sharded along."""


def _over_devices(
    total: Callable[..., Any], devices: tuple[Any, ...], n_data: int = 4
) -> Callable[..., Any]:
    """``total(flat, f_scale, *data)`` summed over the chunks of every device (``n_data``
    chunk-stacked arguments: ``xs, y, w, codes`` and, clustered, the cluster codes)."""
    import jax
    import numpy as np
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    def local(*args: Any) -> Any:
        return jax.tree.map(lambda t: jax.lax.psum(t, AXIS), total(*args))

    mesh = Mesh(np.array(devices), (AXIS,))
    data = P(AXIS)
    specs = (P(), P(), *(data,) * n_data)
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


def _build(
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    loss_name: str,
    devices: tuple[Any, ...],
) -> Kernels:
    import jax
    import jax.numpy as jnp

    ns, npg, n_groups = layout.n_shared, layout.n_per_group, layout.n_groups

    def predict(shared: Any, per_point: Any, xs: tuple[Any, ...]) -> Any:
        out = evaluate(model, layout, x_is_tuple, xs, shared, per_point)
        return jnp.asarray(out, dtype=jnp.float64)

    def residual(shared: Any, per_point: Any, xs: tuple[Any, ...], y: Any, w: Any) -> Any:
        return (predict(shared, per_point, xs) - y) * w

    def chunk_residual(flat: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        shared, group_mat = layout.split(flat)
        return _materialise(residual(shared, group_mat[:, codes], xs, y, w))

    def chunk_cost(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        r = chunk_residual(flat, xs, y, w, codes)
        return jnp.sum(Loss(loss_name, f_scale).terms(jnp, r))

    def chunk_rows(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        """``(js, jp, r, cost)`` of a chunk: Jacobian rows and residuals, loss-scaled."""
        shared, group_mat = layout.split(flat)
        per_point = group_mat[:, codes]
        c = y.shape[0]
        # Shared and per-point tangents are pushed separately: the per-group
        # directions then skip the (expensive) shared part of the model, which
        # cut the normal pass by 20-45 % on the XPCS model.
        r, along_shared = jax.linearize(lambda s: residual(s, per_point, xs, y, w), shared)
        js = jnp.zeros((c, 0))
        if ns:
            js = _materialise(jax.vmap(along_shared)(jnp.eye(ns, dtype=jnp.float64))).T
        jp = jnp.zeros((c, 0))
        if npg:
            _, along_point = jax.linearize(lambda p: residual(shared, p, xs, y, w), per_point)
            unit = jnp.broadcast_to(jnp.eye(npg, dtype=jnp.float64)[:, :, None], (npg, npg, c))
            jp = _materialise(jax.vmap(along_point)(unit)).T
        r = _materialise(r)
        loss = Loss(loss_name, f_scale)
        cost = jnp.sum(loss.terms(jnp, r))
        if not loss.linear:
            row, r = loss.scaling(jnp, r)
            js = js * row[:, None]
            jp = jp * row[:, None]
        return js, jp, r, cost

    def normal_terms(js: Any, jp: Any, r: Any, codes: Any) -> Any:
        c = r.shape[0]
        a = js.T @ js
        bs = js.T @ r
        b = jax.ops.segment_sum(
            (js[:, :, None] * jp[:, None, :]).reshape(c, ns * npg), codes, num_segments=n_groups
        ).reshape(n_groups, ns, npg)
        cm = jax.ops.segment_sum(
            (jp[:, :, None] * jp[:, None, :]).reshape(c, npg * npg), codes, num_segments=n_groups
        ).reshape(n_groups, npg, npg)
        bg = jax.ops.segment_sum(jp * r[:, None], codes, num_segments=n_groups)
        return a, b, cm, bs, bg

    def chunk_normal(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        js, jp, r, cost = chunk_rows(flat, f_scale, xs, y, w, codes)
        return (*normal_terms(js, jp, r, codes), cost)

    def total_cost(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        def body(acc: Any, chunk: Any) -> Any:
            return acc + chunk_cost(flat, f_scale, *chunk), None

        acc, _ = jax.lax.scan(body, jnp.zeros((), jnp.float64), (xs, y, w, codes))
        return acc

    def zero_normal() -> list[Any]:
        """The accumulators of :func:`chunk_normal`'s terms ``(A, B, C, bs, bg, cost)``."""
        return [
            jnp.zeros((ns, ns)),
            jnp.zeros((n_groups, ns, npg)),
            jnp.zeros((n_groups, npg, npg)),
            jnp.zeros(ns),
            jnp.zeros((n_groups, npg)),
            jnp.zeros(()),
        ]

    def total_normal(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        init = tuple(zero_normal())

        def body(acc: Any, chunk: Any) -> Any:
            terms = chunk_normal(flat, f_scale, *chunk)
            return tuple(s + t for s, t in zip(acc, terms, strict=True)), None

        acc, _ = jax.lax.scan(body, init, (xs, y, w, codes))
        return acc

    def total_clustered(sizes: tuple[int, ...]) -> Callable[..., Any]:
        def total(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any, cl: Any) -> Any:
            init = zero_normal()
            for size in sizes:
                init += [jnp.zeros((size, ns)), jnp.zeros((size * n_groups, npg))]

            def body(acc: Any, chunk: Any) -> Any:
                *data, cluster_codes = chunk
                js, jp, r, cost = chunk_rows(flat, f_scale, *data)
                terms = [*normal_terms(js, jp, r, data[-1]), cost]
                # Per cluster term: the scores J_i r_i summed over the cluster's points;
                # a per-group score goes to its group's entry (cluster x group segments).
                for size, k in zip(sizes, cluster_codes, strict=True):
                    terms.append(jax.ops.segment_sum(js * r[:, None], k, num_segments=size))
                    terms.append(
                        jax.ops.segment_sum(
                            jp * r[:, None], k * n_groups + data[-1], num_segments=size * n_groups
                        )
                    )
                return [s + t for s, t in zip(acc, terms, strict=True)], None

            acc, _ = jax.lax.scan(body, init, (xs, y, w, codes, tuple(cl)))
            scores = [
                (acc[6 + 2 * i], acc[7 + 2 * i].reshape(size, n_groups, npg))
                for i, size in enumerate(sizes)
            ]
            return tuple(acc[:6]), scores

        if len(devices) > 1:
            return _over_devices(total, devices, n_data=5)
        return jax.jit(total)

    compiled: dict[tuple[int, ...], Callable[..., Any]] = {}

    def clustered(sizes: tuple[int, ...]) -> Callable[..., Any]:
        if sizes not in compiled:
            compiled[sizes] = total_clustered(sizes)
        return compiled[sizes]

    def probe(flat: Any, xs: Any, codes: Any, tangent: Any) -> Any:
        # Derivatives of the model along per-point tangents 1 and t, for each
        # per-group name (see _normal.check_model).
        shared, group_mat = layout.split(flat)
        values = group_mat[:, codes]

        def along(j: int, t: Any) -> Any:
            direction = jnp.zeros_like(values).at[j].set(t)
            return jax.jvp(lambda v: predict(shared, v, xs), (values,), (direction,))[1]

        ones = jnp.ones_like(tangent)
        return jnp.stack([jnp.stack([along(j, ones), along(j, tangent)]) for j in range(npg)])

    if len(devices) > 1:
        return Kernels(
            cost=_over_devices(total_cost, devices),
            normal=_over_devices(total_normal, devices),
            probe=jax.jit(probe),
            clustered=clustered,
        )
    return Kernels(
        cost=jax.jit(total_cost),
        normal=jax.jit(total_normal),
        probe=jax.jit(probe),
        clustered=clustered,
    )
