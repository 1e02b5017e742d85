"""Typed settings for :func:`fastsplit.stratify` and :func:`fastsplit.fit`, read from YAML.

The layout is the one of the homodyne v2.2 configuration files, so an existing
analysis YAML can be passed as is::

    optimization:
      stratification:
        enabled: "auto"                 # "auto" | true | false
        target_chunk_size: 100000
        max_imbalance_ratio: 5.0
        force_sequential_fallback: false
        check_memory_safety: true
        use_index_based: false
        collect_diagnostics: true
        log_diagnostics: false
      sequential:
        min_success_rate: 0.5
        weighting: "inverse_variance"   # | "uniform" | "n_points"

    fastsplit:                          # optional, fastsplit's own options
      strategy: auto                    # auto | full | chunked | streaming | sequential
      backend: auto
      on_failure: raise                 # raise | warn
      max_nfev: null
      xpcs:                             # used by the ``fastsplit fit`` command
        mode: static
        dt: 0.1
        q: 0.0054
        L: 2.0e6
        p0: {D0: 1.0e4}
        bounds: {D0: [100, 1.0e5]}

A missing section means its defaults. Inside the sections read here an unknown
key is a :class:`~fastsplit.errors.ConfigError` that lists the valid keys. Other
top-level sections (and other keys under ``optimization``) belong to the host
application and are ignored, except names that look like a misspelling of
``stratification`` or ``sequential``, which are errors too.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from .errors import ConfigError, InvalidTypeError

__all__ = [
    "FitSettings",
    "SequentialSettings",
    "Settings",
    "StratificationSettings",
    "XpcsSettings",
    "load_config",
]

Weighting = Literal["inverse_variance", "uniform", "n_points"]
Strategy = Literal["auto", "full", "chunked", "streaming", "sequential"]
OnFailure = Literal["raise", "warn"]

WEIGHTINGS: tuple[str, ...] = get_args(Weighting)
STRATEGIES: tuple[str, ...] = get_args(Strategy)
ON_FAILURE: tuple[str, ...] = get_args(OnFailure)


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _as_bool(where: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _fail(where, f"expected true or false, got {value!r}.")


def _number_from_text(value: Any) -> Any:
    # PyYAML reads `2e6` (no dot) as a string; accept numeric text.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _as_int(where: str, value: Any, *, minimum: int) -> int:
    value = _number_from_text(value)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _fail(where, f"expected an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise _fail(where, f"expected an integer >= {minimum}, got {value}.")
    return int(value)


def _as_float(
    where: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    value = _number_from_text(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"expected a number, got {value!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise _fail(where, f"expected a finite number, got {value!r}.")
    if minimum is not None and number < minimum:
        raise _fail(where, f"must be >= {minimum}, got {number}.")
    if maximum is not None and number > maximum:
        raise _fail(where, f"must be <= {maximum}, got {number}.")
    return number


def _set(obj: Any, name: str, value: Any) -> None:
    # Store the coerced value on a frozen dataclass (used in __post_init__ only).
    object.__setattr__(obj, name, value)


def _as_choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _fail(where, f"expected one of {list(choices)}, got {value!r}.")
    return str(value)


@dataclass(frozen=True)
class StratificationSettings:
    """``optimization.stratification``: how and when :func:`fastsplit.fit` stratifies.

    Attributes
    ----------
    enabled : "auto" | bool
        ``"auto"`` stratifies when the data spans more than one chunk and the
        model has per-group parameters; ``True`` always; ``False`` never (chunks
        then follow the input order; fit reports what that leaves out).
    target_chunk_size : int
        Points per chunk (``chunk_size`` of :func:`fastsplit.stratify`).
    max_imbalance_ratio : float
        Largest/smallest group size above which ``strategy="auto"`` prefers the
        sequential per-group fit when some group is still sparse (fewer points
        than chunks) after growing the chunks within the memory budget.
    force_sequential_fallback : bool
        Make ``strategy="auto"`` use the sequential per-group fit.
    check_memory_safety : bool
        Let ``strategy="auto"`` consult available memory (psutil).
    use_index_based : bool
        Stratify in index mode (order + bounds, data gathered chunk by chunk)
        instead of ``mode="auto"`` (see :meth:`stratify_kwargs`; ``fit`` always
        works in index mode).
    collect_diagnostics : bool
        Keep the stratification diagnostics in the fit result.
    log_diagnostics : bool
        Log the stratification report at INFO level.
    """

    enabled: bool | Literal["auto"] = "auto"
    target_chunk_size: int = 100_000
    max_imbalance_ratio: float = 5.0
    force_sequential_fallback: bool = False
    check_memory_safety: bool = True
    use_index_based: bool = False
    collect_diagnostics: bool = True
    log_diagnostics: bool = False

    def __post_init__(self) -> None:
        where = "optimization.stratification"
        if self.enabled != "auto" and not isinstance(self.enabled, bool):
            raise _fail(
                f"{where}.enabled", f'expected "auto", true or false, got {self.enabled!r}.'
            )
        _set(
            self,
            "target_chunk_size",
            _as_int(f"{where}.target_chunk_size", self.target_chunk_size, minimum=1),
        )
        _set(
            self,
            "max_imbalance_ratio",
            _as_float(f"{where}.max_imbalance_ratio", self.max_imbalance_ratio, minimum=1.0),
        )
        for name in (
            "force_sequential_fallback",
            "check_memory_safety",
            "use_index_based",
            "collect_diagnostics",
            "log_diagnostics",
        ):
            _as_bool(f"{where}.{name}", getattr(self, name))

    @property
    def stratify_mode(self) -> Literal["auto", "index"]:
        """The ``mode`` argument of :func:`fastsplit.stratify` these settings ask for."""
        return "index" if self.use_index_based else "auto"

    def stratify_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`fastsplit.stratify`: ``chunk_size`` and ``mode``.

        :func:`fastsplit.fit` itself always stratifies in index mode (it gathers
        the chunks into its own padded device layout, so copy mode would copy
        twice); it uses ``target_chunk_size`` from here.

        Examples
        --------
        >>> from fastsplit.config import StratificationSettings
        >>> StratificationSettings(target_chunk_size=50_000).stratify_kwargs()
        {'chunk_size': 50000, 'mode': 'auto'}
        """
        return {"chunk_size": self.target_chunk_size, "mode": self.stratify_mode}


@dataclass(frozen=True)
class SequentialSettings:
    """``optimization.sequential``: the per-group fallback fit.

    Attributes
    ----------
    min_success_rate : float
        Fraction of groups whose own fit must succeed, else the fit fails.
    weighting : {"inverse_variance", "uniform", "n_points"}
        How shared parameters are combined across the per-group fits (per
        parameter; fits that cannot constrain a parameter never contribute).
    """

    min_success_rate: float = 0.5
    weighting: Weighting = "inverse_variance"

    def __post_init__(self) -> None:
        where = "optimization.sequential"
        rate = _as_float(
            f"{where}.min_success_rate", self.min_success_rate, minimum=0.0, maximum=1.0
        )
        _set(self, "min_success_rate", rate)
        _as_choice(f"{where}.weighting", self.weighting, WEIGHTINGS)


@dataclass(frozen=True)
class XpcsSettings:
    """``fastsplit.xpcs``: the two-time model used by the ``fastsplit fit`` command.

    ``p0`` and ``bounds`` override the model's defaults by parameter name;
    per-group values may be a scalar or one value per angle.
    """

    mode: Literal["static", "laminar_flow"] = "static"
    dt: float | None = None
    q: float | None = None
    L: float | None = None
    p0: Mapping[str, Any] = field(default_factory=dict)
    bounds: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = "fastsplit.xpcs"
        _as_choice(f"{where}.mode", self.mode, ("static", "laminar_flow"))
        for name in ("dt", "q", "L"):
            value = getattr(self, name)
            if value is not None:
                _set(self, name, _as_float(f"{where}.{name}", value, minimum=0.0))
        for name in ("p0", "bounds"):
            if not isinstance(getattr(self, name), Mapping):
                raise _fail(f"{where}.{name}", "expected a mapping of parameter name to value.")


@dataclass(frozen=True)
class FitSettings:
    """``fastsplit``: options of :func:`fastsplit.fit` that are not stratification."""

    strategy: Strategy = "auto"
    backend: str = "auto"
    on_failure: OnFailure = "raise"
    max_nfev: int | None = None
    xpcs: XpcsSettings = field(default_factory=XpcsSettings)

    def __post_init__(self) -> None:
        _as_choice("fastsplit.strategy", self.strategy, STRATEGIES)
        _as_choice("fastsplit.on_failure", self.on_failure, ON_FAILURE)
        if not isinstance(self.backend, str):
            raise _fail("fastsplit.backend", f"expected a backend name, got {self.backend!r}.")
        if self.max_nfev is not None:
            _set(self, "max_nfev", _as_int("fastsplit.max_nfev", self.max_nfev, minimum=1))


@dataclass(frozen=True)
class Settings:
    """Everything :func:`load_config` reads.

    Examples
    --------
    >>> import fastsplit.config as cfg
    >>> s = cfg.load_config({"optimization": {"sequential": {"weighting": "uniform"}}})
    >>> s.sequential.weighting, s.stratification.target_chunk_size
    ('uniform', 100000)
    """

    stratification: StratificationSettings = field(default_factory=StratificationSettings)
    sequential: SequentialSettings = field(default_factory=SequentialSettings)
    fit: FitSettings = field(default_factory=FitSettings)
    source: str | None = None


def _section(where: str, raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail(where, f"expected a mapping of settings, got {type(raw).__name__}.")
    for key in raw:
        if not isinstance(key, str):
            raise _fail(where, f"keys must be strings, got {key!r}.")
    return raw


def _build(cls: type, where: str, raw: Any, nested: Mapping[str, Any] | None = None) -> Any:
    section = _section(where, raw)
    valid = [f.name for f in fields(cls)]
    unknown = [key for key in section if key not in valid]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, valid, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise _fail(
            where,
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
            f"valid keys are: {', '.join(valid)}.",
        )
    values = dict(section)
    for key, builder in (nested or {}).items():
        if key in values:
            values[key] = builder(values[key])
    if cls is StratificationSettings and "enabled" in values:
        values["enabled"] = _parse_enabled(f"{where}.enabled", values["enabled"])
    if cls is XpcsSettings:
        for key in ("p0", "bounds"):
            if key in values and values[key] is None:
                values[key] = {}
    try:
        return cls(**values)
    except TypeError as exc:  # wrong type inside a dataclass we did not catch above
        raise _fail(where, str(exc)) from None


def _parse_enabled(where: str, value: Any) -> bool | Literal["auto"]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("auto", "true", "false"):
        word = value.strip().lower()
        return "auto" if word == "auto" else word == "true"
    raise _fail(where, f'expected "auto", true or false, got {value!r}.')


def _read_yaml(path: Path) -> Any:
    import yaml  # lazy: keeps `import fastsplit` light

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist; check the path.") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc}.") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from None


_OURS = ("stratification", "sequential")


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | Settings | None) -> Settings:
    """Read stratification, sequential-fallback and fit settings.

    Parameters
    ----------
    source : path, mapping, Settings or None
        A YAML file (homodyne layout, see the module docstring), the already
        parsed mapping, a :class:`Settings` (returned unchanged) or ``None``
        (all defaults).

    Returns
    -------
    Settings

    Raises
    ------
    ConfigError
        Unknown keys in a section read here (the message lists the valid ones),
        values of the wrong type or out of range, unreadable or invalid YAML.

    Examples
    --------
    >>> from fastsplit import config
    >>> s = config.load_config(
    ...     {"optimization": {"stratification": {"target_chunk_size": 50_000}}}
    ... )
    >>> s.stratification.target_chunk_size, s.sequential.min_success_rate
    (50000, 0.5)
    """
    if source is None:
        return Settings()
    if isinstance(source, Settings):
        return source
    origin: str | None = None
    raw: Any
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        origin = str(path)
        raw = _read_yaml(path)
    elif isinstance(source, Mapping):
        raw = source
    else:
        raise InvalidTypeError(
            f"config must be a path, a mapping, a fastsplit.config.Settings or None; "
            f"got {type(source).__name__}."
        )
    root = _section("config", raw)
    optimization = _section("optimization", root.get("optimization"))
    for key in optimization:
        if key not in _OURS:
            close = difflib.get_close_matches(key, _OURS, n=1, cutoff=0.75)
            if close:
                raise _fail(
                    "optimization",
                    f"unknown section {key!r} (did you mean {close[0]!r}?); fastsplit reads "
                    f"optimization.{_OURS[0]} and optimization.{_OURS[1]}.",
                )
    stratification = _build(
        StratificationSettings,
        "optimization.stratification",
        optimization.get("stratification"),
    )
    sequential = _build(
        SequentialSettings, "optimization.sequential", optimization.get("sequential")
    )
    fit = _build(
        FitSettings,
        "fastsplit",
        root.get("fastsplit"),
        nested={"xpcs": lambda raw: _build(XpcsSettings, "fastsplit.xpcs", raw)},
    )
    return Settings(stratification=stratification, sequential=sequential, fit=fit, source=origin)
