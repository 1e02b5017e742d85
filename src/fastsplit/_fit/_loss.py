"""Robust losses, defined as :func:`scipy.optimize.least_squares` defines them.

With residuals ``f`` (already divided by ``sigma``) and ``z = (f / f_scale)**2``,
the cost is ``0.5 * f_scale**2 * sum(rho(z))``:

==========  ==========================================
``linear``  ``rho(z) = z`` (ordinary least squares)
``soft_l1`` ``rho(z) = 2 * (sqrt(1 + z) - 1)``
``huber``   ``rho(z) = z`` if ``z <= 1`` else ``2 * sqrt(z) - 1``
``cauchy``  ``rho(z) = log(1 + z)``
``arctan``  ``rho(z) = arctan(z)``
==========  ==========================================

Every strategy minimises this cost. Its normal equations are those of
iteratively reweighted least squares: each point's Jacobian row and residual
are scaled by ``sqrt(rho'(z))``, so ``J_s^T f_s = J^T (rho' f)`` is the exact
gradient of the robust cost and ``J_s^T J_s = J^T diag(rho') J`` its
Gauss-Newton Hessian. A zero gradient is a minimum of the robust cost: the one
scipy finds. (scipy's own Hessian, ``J^T diag(rho' + 2 z rho'') J``, gives
points beyond ``f_scale`` no weight at all with ``huber`` and negative weight
with ``cauchy``; from a start where a whole group is an outlier that froze its
parameters, so fastsplit uses the reweighting Hessian, positive for every
point.) The ``chunked`` strategy reweights its exact normal equations at every
iteration, and the full-data checks judge the robust cost the same way.

For least-squares optimisers without a loss of their own (nlsq's streaming
one), :meth:`Loss.signed_root` turns residuals into ones whose plain sum of
squares is the robust cost: same minimum, no reweighting rounds.

The functions take the array module (``numpy`` or ``jax.numpy``) so the same
formulas serve the compiled kernels and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["LOSSES", "Loss"]

LOSSES: tuple[str, ...] = ("linear", "soft_l1", "huber", "cauchy", "arctan")
"""The loss names ``fit(loss=...)`` accepts, as in ``scipy.optimize.least_squares``."""


def _rho(xp: ModuleType, name: str, z: Any) -> tuple[Any, Any]:
    """``(rho, rho')`` of ``z >= 0`` (scipy's formulas, without their cancellations)."""
    if name == "soft_l1":
        t = 1.0 + z
        root = xp.sqrt(t)
        return 2.0 * z / (root + 1.0), 1.0 / root  # 2 (sqrt(1 + z) - 1)
    if name == "huber":
        inner = z <= 1.0
        root = xp.sqrt(xp.maximum(z, 1.0))  # the outer branch, safe where it is not used
        return xp.where(inner, z, 2.0 * root - 1.0), xp.where(inner, xp.ones_like(z), 1.0 / root)
    if name == "cauchy":
        return xp.log1p(z), 1.0 / (1.0 + z)
    if name == "arctan":
        return xp.arctan(z), 1.0 / (1.0 + z * z)
    return z, xp.ones_like(z)


@dataclass(frozen=True)
class Loss:
    """A robust loss and its scale ``f_scale`` (the residual size where it turns robust).

    Examples
    --------
    >>> import numpy as np
    >>> round(Loss("soft_l1", 2.0).cost(np, np.array([0.0, 2.0])), 12)  # 0.5 * 4 * 2 (sqrt(2) - 1)
    1.656854249492
    """

    name: str = "linear"
    f_scale: float = 1.0

    @property
    def linear(self) -> bool:
        return self.name == "linear"

    def terms(self, xp: ModuleType, f: Any) -> Any:
        """Per-point cost ``0.5 * f_scale**2 * rho((f / f_scale)**2)``."""
        if self.linear:
            return 0.5 * f * f
        c2 = self.f_scale * self.f_scale
        return 0.5 * c2 * _rho(xp, self.name, f * f / c2)[0]

    def cost(self, xp: ModuleType, f: Any) -> float:
        """The robust cost of residuals ``f``."""
        return float(xp.sum(self.terms(xp, f)))

    def scaling(self, xp: ModuleType, f: Any) -> tuple[Any, Any]:
        """``(row_scale, scaled_f)``: multiply each Jacobian row by ``row_scale``.

        ``row_scale = sqrt(rho')``: ``J_s = row_scale * J`` and ``f_s = row_scale * f``
        give the robust cost's exact gradient ``J_s^T f_s = J^T (rho' f)`` and the
        Hessian of iteratively reweighted least squares, ``J^T diag(rho') J``.
        """
        c2 = self.f_scale * self.f_scale
        row_scale = xp.sqrt(_rho(xp, self.name, f * f / c2)[1])
        return row_scale, row_scale * f

    def signed_root(self, xp: ModuleType, f: Any) -> Any:
        """``g(f) = f * sqrt(rho(z) / z)``: residuals whose plain least squares is this loss.

        ``0.5 * sum(g**2)`` is the robust cost, so any least-squares optimiser fed
        ``g`` instead of ``f`` minimises the robust cost and reaches its minimum
        (nlsq's streaming optimiser has no loss of its own). ``g`` is smooth through
        ``f = 0``, where ``rho(z) / z -> 1``.
        """
        if self.linear:
            return f
        c2 = self.f_scale * self.f_scale
        z = f * f / c2
        tiny = z <= 1e-12
        safe = xp.where(tiny, 1.0, z)
        ratio = xp.where(tiny, 1.0, _rho(xp, self.name, safe)[0] / safe)
        return f * xp.sqrt(ratio)
