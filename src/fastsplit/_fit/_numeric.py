"""Models JAX cannot trace (NumPy, SciPy): the full-data objective by finite differences.

:func:`objective_for` gives the compiled JAX :class:`~._normal.Objective` when
the model traces, and otherwise a :class:`NumericObjective`: the same protocol
(full-data cost and exact normal equations of the finite-difference Jacobian,
chunk by chunk over the same chunk stacks), computed with NumPy only. The
derivatives follow scipy's ``approx_derivative``: the ``2-point`` (forward)
and ``3-point`` (central) rules with scipy's relative steps
(``eps**(1/2)`` and ``eps**(1/3)`` times ``max(1, |x|)``), one-sided where a
bound is near. A per-group parameter, as in the JAX kernels, gets one column
per name: its per-point values are stepped at every point at once (each by
its own step), which for a pointwise model is the column of every group's
parameter, masked to its group.

A model that falls back warns once, with :class:`FiniteDifferenceWarning`:
a ``jax.numpy`` model is faster (compiled, ``1 + P`` fewer passes per
Jacobian) and its derivatives are exact.
"""

from __future__ import annotations

import os
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from ._choose import Choice
from ._common import ModelCache
from ._data import ChunkStacks
from ._fd import fd_column, fd_steps
from ._loss import Loss
from ._model import ParameterLayout, evaluate
from ._normal import FullDataObjective, NormalEquations, Objective, assemble, check_model

if TYPE_CHECKING:
    from ._setup import Setup

__all__ = [
    "FiniteDifferenceWarning",
    "NumericObjective",
    "numeric_strategy",
    "objective_for",
    "traces",
]

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""fastsplit's own directory: the warning points at the first line outside it."""

CHECK_POINTS = 64
"""Points the model checks run on."""


class FiniteDifferenceWarning(UserWarning):
    """The model cannot be traced by JAX: its Jacobian comes from finite differences.

    Issued once per model. Silence it with
    ``warnings.simplefilter("ignore", fastsplit.FiniteDifferenceWarning)``, or
    write the model with ``jax.numpy`` (faster, exact derivatives).
    """


_WARNED: weakref.WeakSet[Any] = weakref.WeakSet()


def objective_for(
    model: Callable[..., Any], setup: Setup, stacks: ChunkStacks
) -> FullDataObjective:
    """The model's full-data objective: compiled JAX when it traces, else finite differences."""
    layout, inputs, start = setup.layout, setup.inputs, setup.start
    loss = setup.options.loss
    if _traces(model, layout, inputs.x_is_tuple, stacks, start):
        objective = Objective(model, layout, inputs.x_is_tuple, stacks, loss)
        check_model(objective, start)
        return objective
    numeric = NumericObjective(
        model, layout, inputs.x_is_tuple, stacks, loss, setup.lower, setup.upper, setup.options.jac
    )
    numeric.check_model(start)
    _warn_once(model, numeric.rule)
    return numeric


def _sample(stacks: ChunkStacks) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    m = min(CHECK_POINTS, stacks.chunk_len)
    return tuple(np.asarray(a[0, :m]) for a in stacks.x), np.asarray(stacks.codes[0, :m])


def _traces(
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    stacks: ChunkStacks,
    flat: np.ndarray,
) -> bool:
    """Whether JAX can trace the model on the first points of the stacks."""
    if stacks.chunk_len == 0:
        return True
    xs, codes = _sample(stacks)
    return traces(model, layout, x_is_tuple, xs, codes, flat)


def traces(
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    xs: tuple[np.ndarray, ...],
    codes: np.ndarray,
    flat: np.ndarray,
) -> bool:
    """Whether JAX can trace the model on the points ``xs`` (any failure to trace is no).

    Known once per model, layout and x dtypes (tracing the XPCS model takes ~7 ms).
    """
    key = (layout, x_is_tuple, tuple(np.asarray(a).dtype.str for a in xs))
    return _TRACES.get(
        model, key, lambda _: _traces_now(model, layout, x_is_tuple, xs, codes, flat)
    )


_TRACES = ModelCache()


def _traces_now(
    model: Callable[..., Any],
    layout: ParameterLayout,
    x_is_tuple: bool,
    xs: tuple[np.ndarray, ...],
    codes: np.ndarray,
    flat: np.ndarray,
) -> bool:
    import jax

    def predict(v: Any, xs: Any, codes: Any) -> Any:
        shared, group_mat = layout.split(v)
        return evaluate(model, layout, x_is_tuple, xs, shared, group_mat[:, codes])

    try:  # the data are traced too, as in the compiled passes
        jax.eval_shape(predict, np.asarray(flat, dtype=np.float64), xs, codes)
    except Exception:  # TracerArrayConversionError, ConcretizationTypeError, TypeError ...
        return False
    return True


def _warn_once(model: Callable[..., Any], rule: str) -> None:
    try:
        if model in _WARNED:
            return
        _WARNED.add(model)
    except TypeError:  # not weak-referenceable: warn every time
        pass
    warnings.warn(
        "the model cannot be traced by JAX (it uses NumPy, SciPy or Python control flow on "
        f"parameter values), so its Jacobian comes from finite differences ({rule}), chunk "
        "by chunk. Written with jax.numpy (jnp.exp instead of np.exp, jnp.where instead of "
        "if) it would be faster and its derivatives exact. Silence this with "
        "warnings.simplefilter('ignore', fastsplit.FiniteDifferenceWarning).",
        FiniteDifferenceWarning,
        skip_file_prefixes=(PACKAGE,),  # shown at the caller's line, through curve_fit too
    )


class NumericObjective:
    """:class:`~._normal.Objective`'s protocol for a model JAX cannot trace, in NumPy.

    ``normal`` costs ``1 + P'`` (2-point) or ``1 + 2 P'`` (3-point) model
    evaluations per chunk, ``P' = n_shared + n_per_group`` whatever the number of
    groups; ``cost`` one.
    """

    def __init__(
        self,
        model: Callable[..., Any],
        layout: ParameterLayout,
        x_is_tuple: bool,
        stacks: ChunkStacks,
        loss: Loss,
        lower: np.ndarray,
        upper: np.ndarray,
        rule: str,
    ) -> None:
        self.model, self.layout, self.x_is_tuple = model, layout, x_is_tuple
        self.loss, self.rule = loss, rule
        self.lower, self.upper = np.asarray(lower), np.asarray(upper)
        self.n_cost = 0
        self.n_jac = 0
        self.devices: tuple[Any, ...] = ()
        self.stacks = stacks
        self._x = [np.asarray(a) for a in stacks.x]
        self._y = np.asarray(stacks.y)
        self._w = np.asarray(stacks.weight)
        self._codes = np.asarray(stacks.codes).astype(np.intp)
        self._segments = [self._segment(codes) for codes in self._codes]

    @staticmethod
    def _segment(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(order, starts, groups)``: the chunk's points sorted by group, for segment sums."""
        order = np.argsort(codes, kind="stable")
        groups, starts = np.unique(codes[order], return_index=True)
        return order, starts, groups

    def _predict(self, xs: tuple[np.ndarray, ...], shared: Any, per_point: Any) -> np.ndarray:
        out = evaluate(self.model, self.layout, self.x_is_tuple, xs, shared, per_point)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), xs[0].shape)

    def _chunk(self, k: int) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray, np.ndarray]:
        return tuple(a[k] for a in self._x), self._y[k], self._w[k], self._codes[k]

    def cost(self, flat: np.ndarray) -> float:
        """``sum(loss(((model - y) / sigma)))`` over every point."""
        self.n_cost += 1
        shared, group_mat = self.layout.split(np.asarray(flat, dtype=np.float64))
        total = 0.0
        for k in range(self._y.shape[0]):
            xs, y, w, codes = self._chunk(k)
            r = (self._predict(xs, shared, group_mat[:, codes]) - y) * w
            total += float(np.sum(self.loss.terms(np, r)))
        return total

    def _rows(self, flat: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray, float]]:
        """Per chunk ``k``: the (loss-scaled, weighted) Jacobian ``(C, ns + npg)``, the
        residuals and the chunk's cost, ``J`` by finite differences."""
        layout, rule = self.layout, self.rule
        shared, group_mat = layout.split(flat)
        lo_s, lo_g = layout.split(self.lower)
        hi_s, hi_g = layout.split(self.upper)
        h_s, one_s = fd_steps(shared, lo_s, hi_s, rule)
        for k in range(self._y.shape[0]):
            xs, y, w, codes = self._chunk(k)
            per_point = group_mat[:, codes]
            f0 = self._predict(xs, shared, per_point)
            r = (f0 - y) * w
            jac = self._jacobian(xs, codes, shared, per_point, f0, (h_s, one_s), (lo_g, hi_g))
            jac *= w[:, None]
            cost = float(np.sum(self.loss.terms(np, r)))
            if not self.loss.linear:
                row, r = self.loss.scaling(np, r)
                jac *= row[:, None]
            yield k, jac, r, cost

    def normal(self, flat: np.ndarray) -> NormalEquations:
        """``J^T J``, ``J^T r`` and cost over every point, ``J`` by finite differences."""
        self.n_jac += 1
        layout = self.layout
        ns, npg, n_groups = layout.n_shared, layout.n_per_group, layout.n_groups
        a, bs = np.zeros((ns, ns)), np.zeros(ns)
        b, cm = np.zeros((n_groups, ns, npg)), np.zeros((n_groups, npg, npg))
        bg, cost = np.zeros((n_groups, npg)), 0.0
        for k, jac, r, chunk_cost in self._rows(np.asarray(flat, dtype=np.float64)):
            cost += chunk_cost
            js, jp = jac[:, :ns], jac[:, ns:]
            a += js.T @ js
            bs += js.T @ r
            if npg:
                order, starts, present = self._segments[k]
                c = r.shape[0]
                sb = _by_group((js[:, :, None] * jp[:, None, :]).reshape(c, -1), order, starts)
                sc = _by_group((jp[:, :, None] * jp[:, None, :]).reshape(c, -1), order, starts)
                b[present] += sb.reshape(-1, ns, npg)
                cm[present] += sc.reshape(-1, npg, npg)
                bg[present] += _by_group(jp * r[:, None], order, starts)
        return assemble(layout, a, b, cm, bs, bg, cost=cost)

    def cluster_scores(
        self, flat: np.ndarray, sizes: tuple[int, ...], codes: tuple[Any, ...] | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per cluster term, the scores ``J^T r`` summed per cluster (``_cluster``), in
        one finite-difference pass: ``(shared (G_k, ns), per_group (G_k, n_groups, npg))``."""
        self.n_jac += 1
        layout = self.layout
        ns, npg, n_groups = layout.n_shared, layout.n_per_group, layout.n_groups
        stacks = [np.asarray(c) for c in (self.stacks.clusters if codes is None else codes)]
        out = [(np.zeros((g, ns)), np.zeros((g, n_groups, npg))) for g in sizes]
        for k, jac, r, _ in self._rows(np.asarray(flat, dtype=np.float64)):
            score = jac * r[:, None]
            groups = self._codes[k]
            for (shared_sum, group_sum), stack in zip(out, stacks, strict=True):
                cluster = stack[k]
                np.add.at(shared_sum, cluster, score[:, :ns])
                if npg:
                    np.add.at(group_sum, (cluster, groups), score[:, ns:])
        return out

    def _jacobian(
        self,
        xs: tuple[np.ndarray, ...],
        codes: np.ndarray,
        shared: np.ndarray,
        per_point: np.ndarray,
        f0: np.ndarray,
        shared_steps: tuple[np.ndarray, np.ndarray],
        group_bounds: tuple[np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """One chunk's ``(C, n_shared + n_per_group)`` model Jacobian, unweighted."""
        ns, npg, rule = self.layout.n_shared, self.layout.n_per_group, self.rule
        jac = np.empty((f0.shape[0], ns + npg))
        h_s, one_s = shared_steps
        for i in range(ns):

            def at_shared(v: Any, i: int = i) -> np.ndarray:
                return self._predict(xs, _with(shared, i, v), per_point)

            jac[:, i] = fd_column(at_shared, shared[i], f0, h_s[i], one_s[i], rule)
        lo_g, hi_g = group_bounds
        for j in range(npg):

            def at_point(v: Any, j: int = j) -> np.ndarray:
                return self._predict(xs, shared, _with(per_point, j, v))

            h, one = fd_steps(per_point[j], lo_g[j][codes], hi_g[j][codes], rule)
            jac[:, ns + j] = fd_column(at_point, per_point[j], f0, h, one, rule)
        return jac

    def check_model(self, flat: np.ndarray) -> None:
        """On a few points: the model evaluates, gives one real value per point, is pointwise."""
        if self.stacks.chunk_len == 0:
            return
        layout = self.layout
        xs, codes = _sample(self.stacks)
        m = codes.shape[0]
        shared, group_mat = layout.split(np.asarray(flat, dtype=np.float64))
        per_point = group_mat[:, codes]
        try:
            out = evaluate(self.model, layout, self.x_is_tuple, xs, shared, per_point)
            raw = np.asarray(out)
        except Exception as exc:
            raise InvalidArgumentError(
                "the model cannot be evaluated, neither by JAX nor with NumPy arrays: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        if raw.shape not in ((m,), ()) or raw.dtype.kind not in "fiub":
            raise InvalidArgumentError(
                f"the model must return one real value per point of x: for {m} points it "
                f"returned shape {raw.shape} of dtype {raw.dtype}."
            )
        odd = np.arange(m) % 2 == 1
        base = self._predict(xs, shared, per_point)
        for j, name in enumerate(layout.per_group):
            value = per_point[j]
            moved = np.where(odd, value + 1e-3 * np.maximum(1.0, np.abs(value)), value)
            out = self._predict(xs, shared, _with(per_point, j, moved))
            if not np.array_equal(out[~odd], base[~odd], equal_nan=True):
                raise InvalidArgumentError(
                    f"the model is not pointwise in {name!r}: output i depends on the value of "
                    f"{name!r} at other points. fastsplit.fit needs model(x, **params)[i] to "
                    "depend only on x[i] and on the parameter values at point i."
                )


def numeric_strategy(choice: Choice) -> Choice:
    """``chunked``, the strategy that runs a model JAX cannot trace; a clear error when
    another strategy was asked for by name."""
    if choice.strategy == "chunked":
        return choice
    if choice.requested:
        raise InvalidArgumentError(
            f"strategy={choice.strategy!r} needs a model JAX can trace (written with "
            "jax.numpy); this model is evaluated with NumPy and finite differences, which "
            "the 'chunked' strategy runs. Pass strategy='chunked' (or 'auto'), or write "
            "the model with jax.numpy."
        )
    reason = (
        f"{choice.reason}; the model is not traceable by JAX, so chunked instead, with "
        "finite-difference Jacobians"
    )
    return Choice("chunked", reason, choice.chunk_size)


def _with(values: np.ndarray, i: int, value: Any) -> np.ndarray:
    """A copy of ``values`` with entry (or row) ``i`` replaced."""
    out = values.copy()
    out[i] = value
    return out


def _by_group(m: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Row sums of ``m`` per group present in the chunk (``order`` sorts the rows by group)."""
    return np.add.reduceat(m[order], starts, axis=0)
