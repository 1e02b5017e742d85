"""Typed values out of a parsed YAML mapping, for every settings section.

A section is a frozen dataclass: :func:`read_section` checks the keys (an unknown
key is a :class:`~fastsplit.errors.ConfigError` that lists the valid ones, with a
"did you mean" hint) and the dataclass's ``__post_init__`` coerces and checks the
values with the readers below. Every message starts with where the value sits
(``optimization.stratification.target_chunk_size: ...``). The core's sections
(:mod:`fastsplit.config`) and an application's (``fastsplit.xpcs``) read the same way.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .errors import ConfigError

__all__ = [
    "as_bool",
    "as_choice",
    "as_float",
    "as_int",
    "fail",
    "read_section",
    "section",
    "store",
]


def fail(where: str, message: str) -> ConfigError:
    """The error for the value at ``where``: ``ConfigError("where: message")``."""
    return ConfigError(f"{where}: {message}")


def as_bool(where: str, value: Any) -> bool:
    """``true`` or ``false`` only (the text "false" is not a boolean here)."""
    if isinstance(value, bool):
        return value
    raise fail(where, f"expected true or false, got {value!r}.")


def _number_from_text(value: Any) -> Any:
    # PyYAML reads `2e6` (no dot) as a string; accept numeric text.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def as_int(where: str, value: Any, *, minimum: int) -> int:
    """An integer >= ``minimum``; integral floats and numeric text are accepted.

    Examples
    --------
    >>> as_int("a.b", "1e5", minimum=1)
    100000
    """
    value = _number_from_text(value)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise fail(where, f"expected an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise fail(where, f"expected an integer >= {minimum}, got {value}.")
    return int(value)


def as_float(
    where: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
    finite: bool = True,
) -> float:
    """A number within ``[minimum, maximum]`` (``> 0`` with ``positive``); numeric text accepted.

    ``finite=False`` lets ``.inf`` / ``-.inf`` through (open bounds); NaN never passes.

    Examples
    --------
    >>> as_float("a.dt", "1e-3", positive=True)
    0.001
    """
    value = _number_from_text(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(where, f"expected a number, got {value!r}.")
    number = float(value)
    if math.isnan(number) or (finite and not math.isfinite(number)):
        raise fail(where, f"expected a finite number, got {value!r}.")
    if positive and not number > 0:
        raise fail(where, f"must be > 0, got {number}.")
    if minimum is not None and number < minimum:
        raise fail(where, f"must be >= {minimum}, got {number}.")
    if maximum is not None and number > maximum:
        raise fail(where, f"must be <= {maximum}, got {number}.")
    return number


def as_choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise fail(where, f"expected one of {list(choices)}, got {value!r}.")
    return str(value)


def store(obj: Any, name: str, value: Any) -> None:
    """Store a coerced value on a frozen dataclass (from its ``__post_init__`` only)."""
    object.__setattr__(obj, name, value)


def section(where: str, raw: Any) -> Mapping[str, Any]:
    """``raw`` as a mapping with string keys; ``None`` (an empty YAML section) is ``{}``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise fail(where, f"expected a mapping of settings, got {type(raw).__name__}.")
    for key in raw:
        if not isinstance(key, str):
            raise fail(where, f"keys must be strings, got {key!r}.")
    return raw


def read_section[T](cls: type[T], where: str, raw: Any) -> T:
    """Build the settings dataclass ``cls`` from the YAML section ``raw`` found at ``where``.

    Examples
    --------
    >>> from fastsplit.config import SequentialSettings
    >>> read_section(SequentialSettings, "optimization.sequential", {"weighting": "uniform"})
    SequentialSettings(min_success_rate=0.5, weighting='uniform')
    """
    values = section(where, raw)
    valid = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = [key for key in values if key not in valid]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, valid, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise fail(
            where,
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
            f"valid keys are: {', '.join(valid)}.",
        )
    try:
        return cls(**values)
    except TypeError as exc:  # wrong type inside a dataclass we did not catch above
        raise fail(where, str(exc)) from None
