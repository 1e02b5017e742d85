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

import functools
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

import numpy as np

from ..errors import InvalidArgumentError
from ._common import ModelCache, call_weakly
from ._exported import KEY, portable
from ._loss import Loss
from ._model import ParameterLayout, evaluate
from ._placement import over_devices

__all__ = ["Kernels", "constants_of", "kernels_for"]


class Kernels(NamedTuple):
    """Jitted ``f(flat, f_scale, xs, y, w, codes)`` passes (``probe`` differs, see below).

    As compiled (``_build``) every pass takes the model's traced constants first;
    :func:`kernels_for` returns them with those bound."""

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
_SHARED: dict[Hashable, Kernels] = {}
"""Kernels of models with traced constants, by everything but the constants' values."""

CONSTANTS = "__fastsplit_constants__"
WITH_CONSTANTS = "__fastsplit_with_constants__"


def constants_of(model: Any) -> dict[str, float] | None:
    """The model's traced constants (``{name: value}``), when its class declares them.

    A model class that defines ``__fastsplit_constants__(self)`` (names to floats),
    ``__fastsplit_with_constants__(self, **values)`` (a copy using ``values``, which
    may be JAX tracers) and ``__fastsplit_compile_key__(self)`` (everything else its
    passes depend on) in its own body gets passes that take those values as
    arguments: every instance with the same key shares one compilation, as the
    XPCS model's q bins do (``q``, ``dt`` and ``L`` differ, the frames and mode
    do not).
    """
    own = type(model).__dict__
    if not all(name in own for name in (CONSTANTS, WITH_CONSTANTS, KEY)):
        return None
    values = getattr(model, CONSTANTS)()
    try:
        return {str(k): float(v) for k, v in dict(values).items()}
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{type(model).__name__}.{CONSTANTS}() must return a mapping of names to "
            f"numbers (the values its passes take as arguments), got {values!r}."
        ) from None


def kernels_for(
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    loss_name: str,
    devices: tuple[Any, ...] = (),
    *,
    exported: bool = False,
) -> Kernels:
    """The jitted kernels of a model, layout and loss, reused by later fits of the same model.

    With several ``devices`` the cost and normal passes take stacks whose chunks
    are sharded over them (:func:`shard_chunks`): each device scans its own whole
    chunks and the sums are reduced with ``psum``. ``exported``: passes kept as
    StableHLO across processes where the model allows (``_exported``).

    The passes compiled take the model's traced constants (:func:`constants_of`)
    as their first argument; the kernels returned have this model's values bound.
    """
    key = (layout, x_is_tuple, loss_name, devices, exported)
    constants = constants_of(model)
    if constants is None:

        def build(ref: Callable[[], Any]) -> Kernels:
            call = call_weakly(ref)
            inner = _build(lambda _: call, layout, x_is_tuple, loss_name, devices)
            return portable(inner, ref(), layout, x_is_tuple, loss_name) if exported else inner

        return _bind(_CACHE.get(model, key, build), np.zeros(0))
    names = tuple(sorted(constants))
    shared_key = (type(model), getattr(model, KEY)(), names, *key)
    if shared_key not in _SHARED:
        template = model  # kept: only what the key names is read from it

        def of(c: Any) -> Callable[..., Any]:
            with_values: Callable[..., Any] = getattr(template, WITH_CONSTANTS)
            return with_values(**{n: c[i] for i, n in enumerate(names)})

        inner = _build(of, layout, x_is_tuple, loss_name, devices)
        _SHARED[shared_key] = (
            portable(inner, model, layout, x_is_tuple, loss_name) if exported else inner
        )
    values = np.array([constants[n] for n in names], dtype=np.float64)
    return _bind(_SHARED[shared_key], values)


def _bind(inner: Kernels, values: np.ndarray) -> Kernels:
    """``inner``'s passes with the model's constants as their first argument."""
    return Kernels(
        cost=functools.partial(inner.cost, values),
        normal=functools.partial(inner.normal, values),
        probe=functools.partial(inner.probe, values),
        clustered=lambda sizes: functools.partial(inner.clustered(sizes), values),
    )


def _build(
    model_of: Callable[[Any], Callable[..., Any]],
    layout: ParameterLayout,
    x_is_tuple: bool,
    loss_name: str,
    devices: tuple[Any, ...],
) -> Kernels:
    import jax
    import jax.numpy as jnp

    ns, npg, n_groups = layout.n_shared, layout.n_per_group, layout.n_groups

    def predict(k: Any, shared: Any, per_point: Any, xs: tuple[Any, ...]) -> Any:
        out = evaluate(model_of(k), layout, x_is_tuple, xs, shared, per_point)
        return jnp.asarray(out, dtype=jnp.float64)

    def residual(k: Any, shared: Any, per_point: Any, xs: Any, y: Any, w: Any) -> Any:
        return (predict(k, shared, per_point, xs) - y) * w

    def chunk_residual(k: Any, flat: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        shared, group_mat = layout.split(flat)
        return _materialise(residual(k, shared, group_mat[:, codes], xs, y, w))

    def chunk_cost(k: Any, flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        r = chunk_residual(k, flat, xs, y, w, codes)
        return jnp.sum(Loss(loss_name, f_scale).terms(jnp, r))

    def chunk_rows(k: Any, flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        """``(js, jp, r, cost)`` of a chunk: Jacobian rows and residuals, loss-scaled."""
        shared, group_mat = layout.split(flat)
        per_point = group_mat[:, codes]
        c = y.shape[0]
        # Shared and per-point tangents are pushed separately: the per-group
        # directions then skip the (expensive) shared part of the model, which
        # cut the normal pass by 20-45 % on the XPCS model.
        r, along_shared = jax.linearize(lambda s: residual(k, s, per_point, xs, y, w), shared)
        js = jnp.zeros((c, 0))
        if ns:
            js = _materialise(jax.vmap(along_shared)(jnp.eye(ns, dtype=jnp.float64))).T
        jp = jnp.zeros((c, 0))
        if npg:
            _, along_point = jax.linearize(lambda p: residual(k, shared, p, xs, y, w), per_point)
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

    def chunk_normal(k: Any, flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        js, jp, r, cost = chunk_rows(k, flat, f_scale, xs, y, w, codes)
        return (*normal_terms(js, jp, r, codes), cost)

    def total_cost(k: Any, flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        def body(acc: Any, chunk: Any) -> Any:
            return acc + chunk_cost(k, flat, f_scale, *chunk), None

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

    def total_normal(k: Any, flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        init = tuple(zero_normal())

        def body(acc: Any, chunk: Any) -> Any:
            terms = chunk_normal(k, flat, f_scale, *chunk)
            return tuple(s + t for s, t in zip(acc, terms, strict=True)), None

        acc, _ = jax.lax.scan(body, init, (xs, y, w, codes))
        return acc

    def total_clustered(sizes: tuple[int, ...]) -> Callable[..., Any]:
        def total(
            k: Any, flat: Any, f_scale: Any, xs: Any, y: Any, w: Any, codes: Any, cl: Any
        ) -> Any:
            init = zero_normal()
            for size in sizes:
                init += [jnp.zeros((size, ns)), jnp.zeros((size * n_groups, npg))]

            def body(acc: Any, chunk: Any) -> Any:
                *data, cluster_codes = chunk
                js, jp, r, cost = chunk_rows(k, flat, f_scale, *data)
                terms = [*normal_terms(js, jp, r, data[-1]), cost]
                # Per cluster term: the scores J_i r_i summed over the cluster's points;
                # a per-group score goes to its group's entry (cluster x group segments).
                for size, ids in zip(sizes, cluster_codes, strict=True):
                    terms.append(jax.ops.segment_sum(js * r[:, None], ids, num_segments=size))
                    terms.append(
                        jax.ops.segment_sum(
                            jp * r[:, None], ids * n_groups + data[-1], num_segments=size * n_groups
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
            return over_devices(total, devices, n_data=5)
        return jax.jit(total)

    compiled: dict[tuple[int, ...], Callable[..., Any]] = {}

    def clustered(sizes: tuple[int, ...]) -> Callable[..., Any]:
        if sizes not in compiled:
            compiled[sizes] = total_clustered(sizes)
        return compiled[sizes]

    def probe(k: Any, flat: Any, xs: Any, codes: Any, tangent: Any) -> Any:
        # Derivatives of the model along per-point tangents 1 and t, for each
        # per-group name (see _normal.check_model).
        shared, group_mat = layout.split(flat)
        values = group_mat[:, codes]

        def along(j: int, t: Any) -> Any:
            direction = jnp.zeros_like(values).at[j].set(t)
            return jax.jvp(lambda v: predict(k, shared, v, xs), (values,), (direction,))[1]

        ones = jnp.ones_like(tangent)
        return jnp.stack([jnp.stack([along(j, ones), along(j, tangent)]) for j in range(npg)])

    if len(devices) > 1:
        return Kernels(
            cost=over_devices(total_cost, devices),
            normal=over_devices(total_normal, devices),
            probe=jax.jit(probe),
            clustered=clustered,
        )
    return Kernels(
        cost=jax.jit(total_cost),
        normal=jax.jit(total_normal),
        probe=jax.jit(probe),
        clustered=clustered,
    )
