"""Fit the two-time model to flat two-time data: the angles are the groups."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidArgumentError, InvalidTypeError
from ._data import TwoTimeData, TwoTimePoints
from ._model import TwoTimeModel
from ._synthetic import SyntheticXPCS

__all__ = ["fit_two_time"]


def fit_two_time(
    model: TwoTimeModel,
    data: TwoTimeData | SyntheticXPCS,
    *,
    p0: Mapping[str, Any] | None = None,
    bounds: Mapping[str, Any] | None = None,
    fitter: Callable[..., Any] | None = None,
    loss: str | None = None,
    f_scale: float | None = None,
    **options: Any,
) -> Any:
    """Fit ``model`` to ``data`` with one ``contrast`` and one ``offset`` per angle.

    Parameters
    ----------
    model : TwoTimeModel
        The model; its ``per_group_names`` are fitted per angle.
    data : TwoTimeData or SyntheticXPCS
        Flat angle-major points; ``data.sigma`` weights the fit when known.
    p0, bounds : mapping, optional
        Start and bounds by parameter name (default: ``model.default_p0()``,
        ``model.default_bounds()``).
    fitter : callable, optional
        :func:`fastsplit.fit` (the default) or anything with its call
        convention (the benchmarks pass nlsq's own chunked path this way).
    loss, f_scale : optional
        A robust loss (``"linear"``, ``"soft_l1"``, ``"huber"``, ``"cauchy"``,
        ``"arctan"``, as in :func:`scipy.optimize.least_squares`) and its residual
        scale, passed to the fitter for a robust loss only (``"linear"`` is plain
        least squares). A fitter that does not take them is an error, never a
        silent least-squares fit.
    **options
        Passed to the fitter: ``chunk_size``, ``strategy``, ``config``,
        ``on_failure``, ``progress``, ...

    Returns
    -------
    FitResult
        Per-group parameters come in ``data``'s ascending angle order.

    Examples
    --------
    >>> from fastsplit.xpcs import fit_two_time, synthesize
    >>> d = synthesize(n_angles=2, n_frames=12, seed=0)
    >>> result = fit_two_time(d.model, d, p0=d.model.rough_p0(), chunk_size=100)
    >>> result.success, len(result.params["contrast"])
    (True, 2)
    """
    if not isinstance(model, TwoTimeModel):
        raise InvalidTypeError(
            f"model must be a fastsplit.xpcs.TwoTimeModel, got {type(model).__name__}; for "
            "another model call fastsplit.fit directly."
        )
    if not isinstance(data, TwoTimePoints) or not hasattr(data, "sigma"):
        raise InvalidTypeError(
            f"data must be TwoTimeData (fastsplit.xpcs.load) or SyntheticXPCS "
            f"(fastsplit.xpcs.synthesize), got {type(data).__name__}."
        )
    fitter = fitter or _default_fitter()
    robust = robust_options(fitter, loss=loss, f_scale=f_scale)
    return fitter(
        model,
        data.x,
        data.g2,
        groups=data.phi,
        p0=model.default_p0() if p0 is None else p0,
        per_group=model.per_group_names,
        sigma=data.sigma,
        bounds=model.default_bounds() if bounds is None else bounds,
        **robust,
        **options,
    )


def _default_fitter() -> Callable[..., Any]:
    from .._fit import fit  # light: nlsq is imported by the first fit

    return fit


def robust_options(
    fitter: Callable[..., Any] | None = None,
    *,
    loss: str | None = None,
    f_scale: float | None = None,
) -> dict[str, Any]:
    """The keyword arguments a robust loss adds to the fitter's call; refused if it cannot.

    The linear loss is plain least squares, which every fitter does, so it adds
    nothing; ``f_scale`` only scales a robust loss (scipy ignores it for the
    linear one). Callable before any work, to refuse a config early.

    Examples
    --------
    >>> robust_options(lambda *a, loss="linear", f_scale=1.0, **k: None, loss="huber")
    {'loss': 'huber'}
    >>> robust_options(loss="linear", f_scale=2.0)
    {}
    """
    if loss is None or loss == "linear":
        return {}
    robust = {"loss": loss} if f_scale is None else {"loss": loss, "f_scale": f_scale}
    _check_takes(fitter or _default_fitter(), robust)
    return robust


def _check_takes(fitter: Callable[..., Any], robust: Mapping[str, Any]) -> None:
    """Refuse a robust loss the fitter cannot apply (rather than fit least squares silently)."""
    try:
        parameters = inspect.signature(fitter).parameters
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    missing = [name for name in robust if name not in parameters]
    if missing:
        name = getattr(fitter, "__name__", repr(fitter))
        asked = ", ".join(f"{key}={value!r}" for key, value in robust.items())
        raise InvalidArgumentError(
            f"{asked} was asked for, but the fitter {name} takes no {' or '.join(missing)}: "
            "this fastsplit cannot fit that loss, and will not fit plain least squares "
            "instead. Leave the loss out (linear), or a fastsplit whose fit takes loss=."
        )
