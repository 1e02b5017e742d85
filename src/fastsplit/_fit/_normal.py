"""The full-data objective of a fit: cost and exact normal equations over every point.

:class:`Objective` runs the compiled passes of ``_kernels`` over the chunk
stacks (``_data``) and :func:`assemble` scatters their per-group blocks into
the dense ``P x P`` system. The blocks of several passes (several devices,
several out-of-core blocks) add up before they are assembled.
:func:`check_model` makes sure, on a few points and before any fitting, that
the model can be traced by JAX and is pointwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import InvalidArgumentError
from ._data import ChunkStacks
from ._kernels import kernels_for
from ._loss import Loss
from ._model import ParameterLayout, evaluate
from ._placement import place_chunks, shard_codes

__all__ = ["FullDataObjective", "NormalEquations", "Objective", "assemble", "check_model"]


@dataclass(frozen=True)
class NormalEquations:
    """``J^T J``, ``J^T r`` and the cost over the whole data.

    With a robust loss, ``J`` and ``r`` are the loss-scaled ones (see ``_loss``):
    ``gradient`` is the exact gradient of the robust cost, ``hessian`` its
    Gauss-Newton approximation, ``cost`` the robust cost.
    """

    hessian: np.ndarray
    gradient: np.ndarray
    cost: float


class FullDataObjective(Protocol):
    """What the chunked strategy and the judge need of an objective: the full-data
    cost, the exact normal equations, and how many passes each took.

    :class:`Objective` runs them on the chunk stacks in memory,
    ``fastsplit.dask._objective.DaskObjective`` on dask blocks on the workers.
    """

    n_cost: int
    n_jac: int
    devices: tuple[Any, ...]

    def cost(self, flat: np.ndarray) -> float: ...

    def normal(self, flat: np.ndarray) -> NormalEquations: ...

    def cluster_scores(
        self, flat: np.ndarray, sizes: tuple[int, ...], codes: tuple[Any, ...] | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]: ...


class Objective:
    """The full-data cost and exact normal equations of one model on the chunk stacks.

    ``n_cost`` and ``n_jac`` count the passes over the data. ``devices`` (default:
    every device of JAX's default backend) share the chunks: with more than one,
    whole chunks are sharded over them and the sums reduced across them, equal to
    one device's to rounding.
    """

    def __init__(
        self,
        model: Callable[..., Any],
        layout: ParameterLayout,
        x_is_tuple: bool,
        stacks: ChunkStacks,
        loss: Loss | None = None,
        devices: Sequence[Any] | None = None,
    ) -> None:
        self.model = model
        self.layout = layout
        self.x_is_tuple = x_is_tuple
        self.stacks = stacks
        self.loss = loss if loss is not None else Loss()
        self.n_cost = 0
        self.n_jac = 0
        if devices is None:
            import jax

            devices = jax.devices()
        self.devices = tuple(devices)
        # one device: kept as StableHLO across processes where the model allows
        shards = self._shards()
        self._kernels = kernels_for(
            model, layout, x_is_tuple, self.loss.name, shards, exported=not shards
        )
        self._data: tuple[Any, ...] | None = None

    def _shards(self) -> tuple[Any, ...]:
        """The devices the chunks are sharded over; none (the default device) for one."""
        return self.devices if len(self.devices) > 1 else ()

    def _args(self, flat: np.ndarray) -> tuple[Any, ...]:
        if self._data is None:  # placed on the devices on the first pass, once
            s = self.stacks  # already placed by ChunkStacks.build for the default devices
            self._data = place_chunks((s.x, s.y, s.weight, s.codes), self._shards())
        xs, y, w, codes = self._data
        return (np.asarray(flat, dtype=np.float64), self.loss.f_scale, xs, y, w, codes)

    def cost(self, flat: np.ndarray) -> float:
        """``sum(loss(((model - y) / sigma)))`` over every point (``0.5 * sum r**2`` if linear)."""
        self.n_cost += 1
        return float(self._kernels.cost(*self._args(flat)))

    def normal(self, flat: np.ndarray) -> NormalEquations:
        """Exact ``J^T J``, ``J^T r`` and cost over every point."""
        self.n_jac += 1
        a, b, cm, bs, bg, cost = self._kernels.normal(*self._args(flat))
        blocks = [np.asarray(t) for t in (a, b, cm, bs, bg)]
        return assemble(self.layout, *blocks, cost=float(cost))

    def cluster_scores(
        self, flat: np.ndarray, sizes: tuple[int, ...], codes: tuple[Any, ...] | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per cluster term, the scores summed per cluster (``_cluster``), in one normal
        pass over the cluster code stacks (default: the stacks' own; counted in ``n_jac``)."""
        self.n_jac += 1
        codes = self.stacks.clusters if codes is None else codes
        args = self._args(flat)
        rows = int(args[3].shape[0])  # chunks of the placed data, device padding included
        codes = tuple(_padded_rows(np.asarray(c), rows) for c in codes)
        if self._shards():
            codes = shard_codes(codes, self.devices)
        _, scores = self._kernels.clustered(sizes)(*args, codes)
        return [(np.asarray(s), np.asarray(g)) for s, g in scores]

    def pointwise_probe(self, flat: np.ndarray, m: int, tangent: np.ndarray) -> np.ndarray:
        """``(n_per_group, 2, m)``: derivatives along tangents 1 and ``tangent`` on
        the first ``m`` points of chunk 0. A pointwise model gives row 1 = row 0 * t."""
        s = self.stacks
        xs = tuple(a[0, :m] for a in s.x)
        return np.asarray(self._kernels.probe(flat, xs, s.codes[0, :m], tangent))


def _padded_rows(stack: np.ndarray, rows: int) -> np.ndarray:
    """``stack`` with copies of its chunk 0 appended up to ``rows`` chunks (the weight-0
    chunks that pad the data to a multiple of the devices it was placed on)."""
    extra = rows - int(stack.shape[0])
    if extra <= 0:
        return stack
    return np.concatenate([stack, np.broadcast_to(stack[:1], (extra, *stack.shape[1:]))])


def check_model(objective: Objective, flat: np.ndarray) -> None:
    """On a few points: the model traces with JAX, gives one real value per point, is pointwise."""
    if objective.stacks.chunk_len == 0:
        return
    m = min(64, objective.stacks.chunk_len)
    _check_traceable(objective, flat, m)
    _check_pointwise(objective, flat, m)


def _check_traceable(objective: Objective, flat: np.ndarray, m: int) -> None:
    import jax

    layout, s = objective.layout, objective.stacks
    xs = tuple(a[0, :m] for a in s.x)
    codes = s.codes[0, :m]

    def predict(v: Any) -> Any:
        shared, group_mat = layout.split(v)
        return evaluate(
            objective.model, layout, objective.x_is_tuple, xs, shared, group_mat[:, codes]
        )

    untraceable = (
        jax.errors.TracerArrayConversionError,
        jax.errors.ConcretizationTypeError,
        jax.errors.TracerIntegerConversionError,
    )
    try:
        out = jax.eval_shape(predict, np.asarray(flat, dtype=np.float64))
    except untraceable as exc:
        raise InvalidArgumentError(
            "the model cannot be evaluated by JAX: it must be written with jax.numpy "
            "(import jax.numpy as jnp; jnp.exp(...) instead of np.exp(...) or math.exp(...)) "
            "and without Python if/float()/int() on parameter values (use jnp.where). "
            f"JAX said: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from None
    shape = tuple(getattr(out, "shape", ()))
    kind = np.dtype(getattr(out, "dtype", np.float64)).kind
    if shape not in ((m,), ()) or kind not in "fiub":
        raise InvalidArgumentError(
            f"the model must return one real value per point of x: for {m} points it "
            f"returned shape {shape} of dtype {getattr(out, 'dtype', '?')}."
        )


def _check_pointwise(objective: Objective, flat: np.ndarray, m: int) -> None:
    """Verify, on a few points, that per-group parameters act pointwise.

    For a pointwise model the directional derivative along any per-point
    tangent ``t`` is ``diag(J) * t``: compare the derivative along a random ``t``
    with the one along ``1`` times ``t``.
    """
    layout = objective.layout
    if layout.n_per_group == 0:
        return
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
