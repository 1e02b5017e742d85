"""The record of a two-time fit: everything needed to use, judge and redo it, as plain JSON.

Parameters with their errors and covariance (``error_kind`` says which: cluster-robust
or independent-point; both kinds are kept, ``errors_model`` and ``errors_cluster``,
with the clusters used), the model (mode, q, dt, frames),
the data read (file, layout, cells, angles), the strategy and its checks,
timings, the versions of fastsplit and nlsq, and the effective config. Values
that are not finite (the error of an unconstrained parameter) become ``null``,
so the file is strict JSON.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .. import __version__
from .._versions import installed
from ._data import TwoTimeData
from ._model import TwoTimeModel

__all__ = ["NO_SIGMA_NOTE", "fit_record", "to_json"]

FORMAT = "fastsplit.xpcs fit record 1"

NO_SIGMA_NOTE = (
    "the data have no sigma, so sigma was taken as 1 for every point: reduced chi2 is the "
    "mean squared residual, not a goodness of fit, and the errors are scaled by the fit's "
    "residuals (as scipy's curve_fit does with absolute_sigma=False)."
)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: arrays as lists, non-finite floats as ``None``.

    Examples
    --------
    >>> plain({"a": np.array([1.0, np.nan]), "b": (np.int64(2), float("inf"))})
    {'a': [1.0, None], 'b': [2, None]}
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, slice):
        return [value.start, value.stop]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def fit_record(
    result: Any,
    *,
    model: TwoTimeModel,
    data: TwoTimeData,
    config: Mapping[str, Any],
    fit_options: Mapping[str, Any],
) -> dict[str, Any]:
    """The record of ``result``, a :class:`fastsplit.FitResult` of ``model`` on ``data``.

    ``config`` is the effective configuration (as plain values), ``fit_options``
    what was passed to the fitter beyond the data (loss, chunk size, strategy).
    """
    check = result.check
    diagnostics = getattr(result, "diagnostics", None)
    record: dict[str, Any] = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {"fastsplit": __version__, "nlsq": installed("nlsq")},
        "input": {
            "path": os.path.abspath(data.source) if data.source else None,
            "n_points": data.n_points,
            "angles": data.angles,
            **dict(data.meta),
        },
        "model": {
            "name": "TwoTimeModel",
            "mode": model.mode,
            "q": model.q,
            "dt": model.dt,
            "L": model.L,
            "n_frames": model.n_frames,
            "parameters": list(model.parameter_names),
            "units": {"q": "1/Angstrom", "dt": "s", "L": "Angstrom", "phi": "degree"},
        },
        "fit_options": dict(fit_options),
        "strategy": result.strategy,
        "reason": result.reason,
        "success": result.success,
        "message": result.message,
        "params": result.params,
        "errors": result.errors,
        "error_kind": getattr(result, "error_kind", "model"),
        "errors_model": getattr(result, "errors_model", None),
        "errors_cluster": getattr(result, "errors_cluster", None),
        "clusters": result.info.get("clusters") if isinstance(result.info, dict) else None,
        "param_names": result.param_names,
        "covariance": result.covariance,
        "covariance_model": getattr(result, "covariance_model", None),
        "groups": result.groups,
        "counts": result.counts,
        "cost": result.cost,
        "cost_start": result.cost_start,
        "reduced_chi2": result.reduced_chi2,
        "sigma": (
            {"given": True} if data.sigma is not None else {"given": False, "note": NO_SIGMA_NOTE}
        ),
        "gradient_norm": result.gradient_norm,
        "nfev": result.nfev,
        "checks": {
            "ok": check.ok,
            "problems": check.problems,
            "notes": check.notes,
            "at_bounds": check.at_bounds,
        },
        "timings": result.timings.as_dict(),
        "diagnostics": diagnostics.as_dict() if diagnostics is not None else None,
        "config": dict(config),
    }
    return plain(record)


def to_json(record: Mapping[str, Any]) -> bytes:
    """Strict JSON (no NaN), indented, UTF-8, ending with a newline."""
    return (json.dumps(record, indent=1, allow_nan=False, ensure_ascii=False) + "\n").encode()
