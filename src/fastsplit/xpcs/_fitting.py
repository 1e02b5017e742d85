"""Fit the two-time model to flat two-time data: the angles are the groups."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._data import TwoTimeData
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
        convention, such as :func:`fastsplit.nlsq_chunked_baseline`.
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
    if fitter is None:
        from .._fit import fit

        fitter = fit
    return fitter(
        model,
        data.x,
        data.g2,
        groups=data.phi,
        p0=model.default_p0() if p0 is None else p0,
        per_group=model.per_group_names,
        sigma=data.sigma,
        bounds=model.default_bounds() if bounds is None else bounds,
        **options,
    )
