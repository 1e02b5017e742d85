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
one compilation, and holds one chunk's Jacobian at a time. A robust loss
(``_loss``) rescales each chunk's rows before the reduction. The kernels are
compiled once per model, layout and loss and reused by later fits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ._common import ModelCache, call_weakly
from ._loss import Loss
from ._model import ParameterLayout, evaluate

__all__ = ["Kernels", "kernels_for"]


class Kernels(NamedTuple):
    """Jitted ``f(flat, f_scale, xs, y, w, codes)`` passes (``probe`` differs, see below)."""

    cost: Callable[..., Any]
    """Full-data robust cost."""
    normal: Callable[..., Any]
    """Blocks ``(A, B, C, bs, bg, cost)`` of the exact (robust-scaled) normal equations."""
    probe: Callable[..., Any]
    """``probe(flat, xs, codes, tangent)``: derivatives along per-point tangents."""


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
    model: Callable[..., Any], layout: ParameterLayout, x_is_tuple: bool, loss_name: str
) -> Kernels:
    """The jitted kernels of a model, layout and loss, reused by later fits of the same model."""
    return _CACHE.get(
        model,
        (layout, x_is_tuple, loss_name),
        lambda ref: _build(call_weakly(ref), layout, x_is_tuple, loss_name),
    )


def _build(
    model: Callable[..., Any], layout: ParameterLayout, x_is_tuple: bool, loss_name: str
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

    def chunk_normal(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
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
        a = js.T @ js
        bs = js.T @ r
        b = jax.ops.segment_sum(
            (js[:, :, None] * jp[:, None, :]).reshape(c, ns * npg), codes, num_segments=n_groups
        ).reshape(n_groups, ns, npg)
        cm = jax.ops.segment_sum(
            (jp[:, :, None] * jp[:, None, :]).reshape(c, npg * npg), codes, num_segments=n_groups
        ).reshape(n_groups, npg, npg)
        bg = jax.ops.segment_sum(jp * r[:, None], codes, num_segments=n_groups)
        return a, b, cm, bs, bg, cost

    def total_cost(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        def body(acc: Any, chunk: Any) -> Any:
            return acc + chunk_cost(flat, f_scale, *chunk), None

        acc, _ = jax.lax.scan(body, jnp.zeros((), jnp.float64), (xs, y, w, codes))
        return acc

    def total_normal(flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        init = (
            jnp.zeros((ns, ns)),
            jnp.zeros((n_groups, ns, npg)),
            jnp.zeros((n_groups, npg, npg)),
            jnp.zeros(ns),
            jnp.zeros((n_groups, npg)),
            jnp.zeros(()),
        )

        def body(acc: Any, chunk: Any) -> Any:
            terms = chunk_normal(flat, f_scale, *chunk)
            return tuple(s + t for s, t in zip(acc, terms, strict=True)), None

        acc, _ = jax.lax.scan(body, init, (xs, y, w, codes))
        return acc

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

    return Kernels(
        cost=jax.jit(total_cost),
        normal=jax.jit(total_normal),
        probe=jax.jit(probe),
    )
