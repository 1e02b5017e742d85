"""Compiling a fit's passes ahead of time: ``fastsplit.warmup(models=...)``.

A fit compiles its passes (cost, normal equations, the model checks, the
judge's) for its model, parameter layout and chunk shape. Compiling them once,
in a warm-up, fills JAX's persistent cache (``_compile_cache``): later
processes read them from disk instead of compiling. The warm-up runs the fit
itself on a sample the user gives, so that exactly what the real fits compile
is compiled; chunks are padded to a few shape classes (``_data.shape_class``),
so a sample with the chunk length and chunk count of the real data sets warms
all of them.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgumentError, InvalidTypeError

__all__ = ["XPCS_MODES", "Warmed", "model_entries", "warm_models"]

log = logging.getLogger("fastsplit")

XPCS_MODES = ("static", "laminar_flow")


@dataclass(frozen=True)
class Warmed:
    """One model warmed: its name, wall seconds and the compilation the fit reported."""

    name: str
    seconds: float
    compile_seconds: float


def model_entries(models: Any) -> list[Any]:
    """The entries of ``models`` (one name or pair, or several) as a list, each checked."""
    if models is None:
        return []
    if isinstance(models, str) or (
        isinstance(models, tuple) and len(models) == 2 and callable(models[0])
    ):
        models = [models]
    if not isinstance(models, Iterable):
        raise InvalidTypeError(
            f"models must be a model name, a (model, sample) pair or a list of them; got "
            f"{type(models).__name__}."
        )
    entries = list(models)
    for entry in entries:
        _check_entry(entry)
    return entries


def warm_models(entries: list[Any], backend: str = "auto") -> list[Warmed]:
    """Fit every entry (from :func:`model_entries`) once, quietly; see :func:`fastsplit.warmup`."""
    warmed: list[Warmed] = []
    for entry in entries:
        if isinstance(entry, str):
            from ..xpcs._warmup import warm_mode

            warmed.extend(warm_mode(entry, backend))
        else:
            model, sample = entry
            warmed.append(_warm_sample(model, sample, backend))
    return warmed


def _check_entry(entry: Any) -> None:
    if isinstance(entry, str):
        if entry not in XPCS_MODES:
            raise InvalidArgumentError(
                f"models: unknown model name {entry!r}; the XPCS models are {list(XPCS_MODES)}, "
                "and a model of your own is passed as (model, sample) with sample a mapping "
                "of fastsplit.fit keyword arguments (x, y, groups, p0, per_group, ...)."
            )
        return
    if not (isinstance(entry, tuple) and len(entry) == 2 and callable(entry[0])):
        raise InvalidTypeError(
            "models: each entry is an XPCS model name ('static', 'laminar_flow') or a pair "
            f"(model, sample); got {type(entry).__name__}. Pass e.g. "
            "models=[(my_model, dict(x=x, y=y, groups=g, p0=p0, per_group=['offset']))]."
        )
    if not isinstance(entry[1], Mapping) or not {"x", "y", "groups", "p0"} <= set(entry[1]):
        raise InvalidArgumentError(
            "models: the sample of a (model, sample) pair is a mapping of fastsplit.fit "
            "keyword arguments with at least x, y, groups and p0 (per_group too when the "
            "model has per-group parameters), shaped like the data the real fits get."
        )


def _warm_sample(model: Callable[..., Any], sample: Mapping[str, Any], backend: str) -> Warmed:
    from ._fit import fit

    options = {"backend": backend, "on_failure": "warn", **sample}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a warm-up's verdict on a sample is not the point
        result = fit(model, **options)
    seconds = time.perf_counter() - start
    name = getattr(model, "__qualname__", type(model).__name__)
    log.info(
        "warmup: %s fitted in %.2f s (%.2f s compiling)", name, seconds, result.timings.compile
    )
    return Warmed(name, seconds, result.timings.compile)
