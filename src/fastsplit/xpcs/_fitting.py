"""Fit the two-time model to flat two-time data: the angles are the groups."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from .._fit._cluster import MIN_CLUSTERS
from .._validate import check_choice
from ..errors import InvalidArgumentError, InvalidTypeError
from ._clusters import frame_blocks
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
    errors: str = "cluster",
    block_frames: int | None = None,
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
    errors : {"cluster", "model"}
        Which errors ``result.errors`` holds. ``"cluster"`` (the default):
        cluster-robust errors with two-way clusters by blocks of frames of ``t1``
        and of ``t2`` (the points of a two-time matrix share frames, so they are
        not independent; ``docs/errors.md``). ``"model"``: as if every point were
        independent (5-12x too small on real two-time data). Both are computed and
        kept (``result.errors_model``, ``result.errors_cluster``) when the fitter
        is :func:`fastsplit.fit`.
    block_frames : int, optional
        Frames per cluster block; default: 3 correlation times of the fitted
        decay, at least 4 frames (``fastsplit.xpcs._clusters``).
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
    check_choice("errors", errors, ("cluster", "model"))
    blocks = None
    if _takes_clusters(fitter) and "clusters" not in options:
        blocks = frame_blocks(data, model, block_frames)
        if blocks.span >= MIN_CLUSTERS:  # type: ignore[attr-defined]
            options = {"errors": errors, "clusters": blocks, **options}
        else:
            blocks = None
    result = fitter(
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
    _note_clusters(result, blocks, errors)
    return result


def _note_clusters(result: Any, blocks: Any, errors: str) -> None:
    """Record the block length, and say so when the blocks or the errors fall short."""
    info, check = getattr(result, "info", None), getattr(result, "check", None)
    if not isinstance(info, dict) or check is None:
        return  # a foreign fitter's result
    if blocks is None:
        if errors == "cluster":
            check.notes.append(
                f"errors: independent-point (model) errors only: the run has fewer than "
                f"{MIN_CLUSTERS} frames, too few blocks for cluster-robust errors."
            )
        return
    if "clusters" in info:
        info["clusters"]["block_frames"] = blocks.block_frames
        info["clusters"]["wanted_frames"] = blocks.wanted_frames
    if blocks.wanted_frames is not None and blocks.block_frames < blocks.wanted_frames:
        check.notes.append(
            f"cluster blocks of {blocks.block_frames} frames, shorter than the "
            f"{blocks.wanted_frames} frames (2 correlation times) the fitted decay asks for, to "
            f"keep {MIN_CLUSTERS} blocks in {blocks.span} frames: the decay is long against the "
            "run, so even the cluster-robust errors may be too small."
        )


def _takes_clusters(fitter: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fitter).parameters
    except (TypeError, ValueError):
        return False
    return "clusters" in parameters and "errors" in parameters


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
