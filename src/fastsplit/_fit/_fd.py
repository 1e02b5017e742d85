"""Finite-difference rules, as scipy's ``approx_derivative`` applies them.

The ``2-point`` (forward) and ``3-point`` (central) rules with scipy's
relative steps (``eps**(1/2)`` and ``eps**(1/3)`` times ``max(1, |x|)``),
turned or made one-sided where a bound is closer than the step
(``_adjust_scheme_to_bounds``). Written for arrays: one entry per shared
parameter, or one per point for a per-group parameter's per-point values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["RELATIVE_STEP", "fd_column", "fd_steps"]

EPS = float(np.finfo(np.float64).eps)

RELATIVE_STEP = {"2-point": EPS**0.5, "3-point": EPS ** (1 / 3)}
"""scipy's default relative steps (``_eps_for_method``)."""


def fd_steps(
    x: np.ndarray, lower: np.ndarray, upper: np.ndarray, rule: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(step, one_sided)`` of each entry of ``x``, as scipy's ``approx_derivative`` takes
    them: the relative step of ``rule`` times ``max(1, |x|)``, turned (2-point) or made
    one-sided (3-point) where a bound is closer than the step."""
    x = np.asarray(x, dtype=np.float64)
    sign = np.where(x >= 0, 1.0, -1.0)
    h = RELATIVE_STEP[rule] * sign * np.maximum(1.0, np.abs(x))
    lower = np.broadcast_to(lower, x.shape)
    upper = np.broadcast_to(upper, x.shape)
    if rule == "2-point":
        one_sided = np.ones(x.shape, dtype=bool)
    else:
        h = np.abs(h)
        one_sided = np.zeros(x.shape, dtype=bool)
    if np.all(lower == -np.inf) and np.all(upper == np.inf):
        return h, one_sided
    # scipy's _adjust_scheme_to_bounds, for 1 step (2-point) and 2 steps one-sided (3-point)
    lower_dist, upper_dist = x - lower, upper - x
    adjusted = h.copy()
    if rule == "2-point":
        trial = x + h
        violated = (trial < lower) | (trial > upper)
        fitting = np.abs(h) <= np.maximum(lower_dist, upper_dist)
        adjusted[violated & fitting] *= -1
        forward = (upper_dist >= lower_dist) & ~fitting
        adjusted[forward] = upper_dist[forward]
        backward = (upper_dist < lower_dist) & ~fitting
        adjusted[backward] = -lower_dist[backward]
        return adjusted, one_sided
    central = (lower_dist >= h) & (upper_dist >= h)
    forward = (upper_dist >= lower_dist) & ~central
    adjusted[forward] = np.minimum(h[forward], 0.5 * upper_dist[forward])
    one_sided[forward] = True
    backward = (upper_dist < lower_dist) & ~central
    adjusted[backward] = -np.minimum(h[backward], 0.5 * lower_dist[backward])
    one_sided[backward] = True
    min_dist = np.minimum(upper_dist, lower_dist)
    adjusted_central = ~central & (np.abs(adjusted) <= min_dist)
    adjusted[adjusted_central] = min_dist[adjusted_central]
    one_sided[adjusted_central] = False
    return adjusted, one_sided


def fd_column(
    at: Callable[[Any], np.ndarray],
    value: Any,
    f0: np.ndarray,
    step: Any,
    one_sided: Any,
    rule: str,
) -> np.ndarray:
    """The derivative of ``at(value)`` by one rule; ``value`` a scalar or per-point array.

    As scipy: the step actually taken is ``(value + step) - value`` (exact in
    floating point); 3-point is central, or one-sided ``(-3 f0 + 4 f1 - f2)``.
    """
    if rule == "2-point":
        x1 = value + step
        return (at(x1) - f0) / (x1 - value)
    a = np.where(one_sided, 1.0, -1.0)
    b = np.where(one_sided, 2.0, 1.0)
    x1, x2 = value + a * step, value + b * step
    f1, f2 = at(x1), at(x2)
    dx = np.where(one_sided, x2 - value, x2 - x1)
    return np.where(one_sided, -3.0 * f0 + 4.0 * f1 - f2, f2 - f1) / dx
