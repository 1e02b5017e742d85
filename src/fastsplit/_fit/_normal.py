"""Exact least-squares normal equations, accumulated chunk by chunk with JAX.

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
one compilation, and holds one chunk's Jacobian at a time. The blocks of
several passes (several devices, several out-of-core blocks) add up before
:func:`assemble` scatters them into the dense system.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ._data import ChunkStacks
from ._model import ParameterLayout, evaluate

__all__ = ["NormalEquations", "Objective", "assemble", "check_pointwise"]


@dataclass(frozen=True)
class NormalEquations:
    """``J^T J``, ``J^T r`` and the cost ``0.5 * sum(r**2)`` over the whole data."""

    hessian: np.ndarray
    gradient: np.ndarray
    cost: float


def _materialise(a: Any) -> Any:
    """Compute ``a`` into memory before it is reduced.

    XLA on CPU otherwise fuses the whole model into the reduction loop, which
    runs single-threaded and unvectorised: the cost pass of the 3M-point XPCS
    fit took 214 ms fused and 40 ms with this barrier.
    """
    import jax

    return jax.lax.optimization_barrier(a)


_KERNELS: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _compiled(model: Callable[..., Any], layout: ParameterLayout, x_is_tuple: bool) -> Any:
    """The jitted kernels of a model and layout, reused by later fits of the same model.

    JAX caches compilations per function object; building fresh closures on every
    fit would recompile each time (about a second for the XPCS model).
    """
    key = (layout, x_is_tuple)
    try:
        per_model = _KERNELS.setdefault(model, {})
        ref = weakref.ref(model)
    except TypeError:  # not weak-referenceable (a builtin): no cache
        return _build_kernels(lambda: model, layout, x_is_tuple)
    if key not in per_model:
        # The kernels hold the model weakly, so the cache entry dies with the model.
        per_model[key] = _build_kernels(ref, layout, x_is_tuple)
    return per_model[key]


def _build_kernels(
    model_ref: Callable[[], Callable[..., Any] | None], layout: ParameterLayout, x_is_tuple: bool
) -> Any:
    import jax
    import jax.numpy as jnp

    def model(*args: Any, **kwargs: Any) -> Any:
        target = model_ref()
        assert target is not None, "the model was garbage-collected"
        return target(*args, **kwargs)

    ns, npg, n_groups = layout.n_shared, layout.n_per_group, layout.n_groups

    def predict(shared: Any, per_point: Any, xs: tuple[Any, ...]) -> Any:
        out = evaluate(model, layout, x_is_tuple, xs, shared, per_point)
        return jnp.asarray(out, dtype=jnp.float64)

    def residual(shared: Any, per_point: Any, xs: tuple[Any, ...], y: Any, w: Any) -> Any:
        return (predict(shared, per_point, xs) - y) * w

    def chunk_cost(flat: Any, xs: tuple[Any, ...], y: Any, w: Any, codes: Any) -> Any:
        shared, group_mat = layout.split(flat)
        r = _materialise(residual(shared, group_mat[:, codes], xs, y, w))
        return 0.5 * jnp.sum(r * r)

    # Tangent directions: one per shared parameter, one per per-group *name*.
    def chunk_normal(flat: Any, xs: tuple[Any, ...], y: Any, w: Any, codes: Any) -> Any:
        shared, group_mat = layout.split(flat)
        per_point = group_mat[:, codes]
        c = y.shape[0]

        def fun(s: Any, p: Any) -> Any:
            return residual(s, p, xs, y, w)

        r, lin = jax.linearize(fun, shared, per_point)
        t_shared = jnp.concatenate(
            [jnp.eye(ns, dtype=jnp.float64), jnp.zeros((npg, ns), dtype=jnp.float64)]
        )
        t_point = jnp.concatenate(
            [
                jnp.zeros((ns, npg, c), dtype=jnp.float64),
                jnp.broadcast_to(jnp.eye(npg, dtype=jnp.float64)[:, :, None], (npg, npg, c)),
            ]
        )
        jac = _materialise(jax.vmap(lin)(t_shared, t_point))  # (ns + npg, c)
        r = _materialise(r)
        js = jac[:ns].T  # (c, ns)
        jp = jac[ns:].T  # (c, npg)
        a = js.T @ js
        bs = js.T @ r
        b = jax.ops.segment_sum(
            (js[:, :, None] * jp[:, None, :]).reshape(c, ns * npg),
            codes,
            num_segments=n_groups,
        ).reshape(n_groups, ns, npg)
        cm = jax.ops.segment_sum(
            (jp[:, :, None] * jp[:, None, :]).reshape(c, npg * npg),
            codes,
            num_segments=n_groups,
        ).reshape(n_groups, npg, npg)
        bg = jax.ops.segment_sum(jp * r[:, None], codes, num_segments=n_groups)
        return a, b, cm, bs, bg, 0.5 * jnp.sum(r * r)

    def total_cost(flat: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        def body(acc: Any, chunk: Any) -> Any:
            cx, cy, cw, cc = chunk
            return acc + chunk_cost(flat, cx, cy, cw, cc), None

        acc, _ = jax.lax.scan(body, jnp.zeros((), jnp.float64), (xs, y, w, codes))
        return acc

    def total_normal(flat: Any, xs: Any, y: Any, w: Any, codes: Any) -> Any:
        init = (
            jnp.zeros((ns, ns)),
            jnp.zeros((n_groups, ns, npg)),
            jnp.zeros((n_groups, npg, npg)),
            jnp.zeros(ns),
            jnp.zeros((n_groups, npg)),
            jnp.zeros(()),
        )

        def body(acc: Any, chunk: Any) -> Any:
            cx, cy, cw, cc = chunk
            terms = chunk_normal(flat, cx, cy, cw, cc)
            return tuple(s + t for s, t in zip(acc, terms, strict=True)), None

        acc, _ = jax.lax.scan(body, init, (xs, y, w, codes))
        return acc

    def probe(flat: Any, xs: Any, codes: Any, tangent: Any) -> Any:
        # Derivatives of the model along per-point tangents 1 and t, for each
        # per-group name (see check_pointwise).
        shared, group_mat = layout.split(flat)
        values = group_mat[:, codes]

        def along(j: int, t: Any) -> Any:
            direction = jnp.zeros_like(values).at[j].set(t)
            return jax.jvp(lambda v: predict(shared, v, xs), (values,), (direction,))[1]

        ones = jnp.ones_like(tangent)
        return jnp.stack([jnp.stack([along(j, ones), along(j, tangent)]) for j in range(npg)])

    return jax.jit(total_cost), jax.jit(total_normal), jax.jit(probe)


class Objective:
    """The full-data cost and exact normal equations of one model on the chunk stacks.

    ``n_cost`` and ``n_jac`` count the passes over the data.
    """

    def __init__(
        self,
        model: Callable[..., Any],
        layout: ParameterLayout,
        x_is_tuple: bool,
        stacks: ChunkStacks,
    ) -> None:
        self.layout = layout
        self.stacks = stacks
        self.n_cost = 0
        self.n_jac = 0
        kernels = _compiled(model, layout, x_is_tuple)
        self._cost, self._normal, self._probe = kernels

    def _args(self) -> tuple[Any, ...]:
        s = self.stacks
        return (s.x, s.y, s.weight, s.codes)

    def cost(self, flat: np.ndarray) -> float:
        """``0.5 * sum(((model - y) / sigma)**2)`` over every point."""
        self.n_cost += 1
        return float(self._cost(np.asarray(flat, dtype=np.float64), *self._args()))

    def normal(self, flat: np.ndarray) -> NormalEquations:
        """Exact ``J^T J``, ``J^T r`` and cost over every point."""
        self.n_jac += 1
        a, b, cm, bs, bg, cost = self._normal(np.asarray(flat, dtype=np.float64), *self._args())
        blocks = [np.asarray(t) for t in (a, b, cm, bs, bg)]
        return assemble(self.layout, *blocks, cost=float(cost))

    def pointwise_probe(self, flat: np.ndarray, m: int, tangent: np.ndarray) -> np.ndarray:
        """``(n_per_group, 2, m)``: derivatives along tangents 1 and ``tangent`` on
        the first ``m`` points of chunk 0. A pointwise model gives row 1 = row 0 * t."""
        s = self.stacks
        xs = tuple(a[0, :m] for a in s.x)
        return np.asarray(self._probe(flat, xs, s.codes[0, :m], tangent))


def check_pointwise(objective: Objective, flat: np.ndarray) -> None:
    """Verify, on a few points, that per-group parameters act pointwise.

    For a pointwise model the directional derivative along any per-point
    tangent ``t`` is ``diag(J) * t``: compare the derivative along a random ``t``
    with the one along ``1`` times ``t``.
    """
    layout = objective.layout
    if layout.n_per_group == 0 or objective.stacks.chunk_len == 0:
        return
    m = min(64, objective.stacks.chunk_len)
    tangent = np.random.default_rng(12345).uniform(0.5, 1.5, m)
    d = objective.pointwise_probe(flat, m, tangent)  # (npg, 2, m)
    for j, name in enumerate(layout.per_group):
        expected = d[j, 0] * tangent
        scale = np.abs(d[j]).max() + 1e-300
        if not np.allclose(d[j, 1], expected, rtol=1e-7, atol=1e-10 * scale):
            raise InvalidArgumentError(
                f"the model is not pointwise in {name!r}: output i depends on the value of "
                f"{name!r} at other points. fastsplit.fit needs model(x, **params)[i] to depend "
                "only on x[i] and on the parameter values at point i."
            )


def assemble(
    layout: ParameterLayout,
    a: np.ndarray,
    b: np.ndarray,
    cm: np.ndarray,
    bs: np.ndarray,
    bg: np.ndarray,
    *,
    cost: float,
) -> NormalEquations:
    """Scatter the per-group blocks into the dense ``P x P`` system (flat layout)."""
    ns, npg, n_groups = layout.n_shared, layout.n_per_group, layout.n_groups
    size = layout.size
    h = np.zeros((size, size))
    g = np.zeros(size)
    h[:ns, :ns] = a
    g[:ns] = bs
    groups = np.arange(n_groups)
    for j in range(npg):
        col_j = ns + j * n_groups + groups
        h[:ns, col_j] = b[:, :, j].T
        h[col_j, :ns] = b[:, :, j]
        g[col_j] = bg[:, j]
        for jj in range(npg):
            col_jj = ns + jj * n_groups + groups
            h[col_j, col_jj] = cm[:, j, jj]
    return NormalEquations(hessian=h, gradient=g, cost=cost)
