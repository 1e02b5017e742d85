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
      xpcs: {...}                       # an application's section (see below)

A missing section means its defaults. Inside the sections read here an unknown
key is a :class:`~fastsplit.errors.ConfigError` that lists the valid keys. Other
top-level sections (and other keys under ``optimization``) belong to the host
application and are ignored, except names that look like a misspelling of
``stratification`` or ``sequential``, which are errors too.

Applications built on fastsplit read their own sections from the same file: a
key under ``fastsplit:`` whose value is a mapping (``fastsplit: xpcs:`` for
:mod:`fastsplit.xpcs`) is left to them, and :meth:`Settings.section` hands any
part of the parsed file to them, which they read with the same checks.
"""

from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from ._config_fields import (
    as_bool,
    as_choice,
    as_float,
    as_int,
    fail,
    read_section,
    section,
    store,
)
from ._plan import DEFAULT_CHUNK_SIZE
from .backends import BACKENDS
from .errors import ConfigError, InvalidTypeError

__all__ = [
    "FitSettings",
    "SequentialSettings",
    "Settings",
    "StratificationSettings",
    "load_config",
]

Weighting = Literal["inverse_variance", "uniform", "n_points"]
Strategy = Literal["auto", "full", "chunked", "streaming", "sequential"]
OnFailure = Literal["raise", "warn"]

WEIGHTINGS: tuple[str, ...] = get_args(Weighting)
STRATEGIES: tuple[str, ...] = get_args(Strategy)
ON_FAILURE: tuple[str, ...] = get_args(OnFailure)


def _parse_enabled(where: str, value: Any) -> bool | Literal["auto"]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("auto", "true", "false"):
        word = value.strip().lower()
        return "auto" if word == "auto" else word == "true"
    raise fail(where, f'expected "auto", true or false, got {value!r}.')


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
    target_chunk_size: int = DEFAULT_CHUNK_SIZE
    max_imbalance_ratio: float = 5.0
    force_sequential_fallback: bool = False
    check_memory_safety: bool = True
    use_index_based: bool = False
    collect_diagnostics: bool = True
    log_diagnostics: bool = False

    def __post_init__(self) -> None:
        where = "optimization.stratification"
        store(self, "enabled", _parse_enabled(f"{where}.enabled", self.enabled))
        store(
            self,
            "target_chunk_size",
            as_int(f"{where}.target_chunk_size", self.target_chunk_size, minimum=1),
        )
        store(
            self,
            "max_imbalance_ratio",
            as_float(f"{where}.max_imbalance_ratio", self.max_imbalance_ratio, minimum=1.0),
        )
        for name in (
            "force_sequential_fallback",
            "check_memory_safety",
            "use_index_based",
            "collect_diagnostics",
            "log_diagnostics",
        ):
            as_bool(f"{where}.{name}", getattr(self, name))

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
        rate = as_float(
            f"{where}.min_success_rate", self.min_success_rate, minimum=0.0, maximum=1.0
        )
        store(self, "min_success_rate", rate)
        as_choice(f"{where}.weighting", self.weighting, WEIGHTINGS)


@dataclass(frozen=True)
class FitSettings:
    """``fastsplit``: options of :func:`fastsplit.fit` that are not stratification."""

    strategy: Strategy = "auto"
    backend: str = "auto"
    on_failure: OnFailure = "raise"
    max_nfev: int | None = None

    def __post_init__(self) -> None:
        as_choice("fastsplit.strategy", self.strategy, STRATEGIES)
        as_choice("fastsplit.on_failure", self.on_failure, ON_FAILURE)
        # The name only: whether that backend is installed is decided when it is used.
        as_choice("fastsplit.backend", self.backend, BACKENDS)
        if self.max_nfev is not None:
            store(self, "max_nfev", as_int("fastsplit.max_nfev", self.max_nfev, minimum=1))


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
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The whole parsed file, for the sections of applications (see :meth:`section`)."""

    def section(self, *path: str) -> Mapping[str, Any]:
        """The part of the parsed file at ``path``, for an application's own settings.

        A missing part is ``{}``; a part that is not a mapping is a
        :class:`~fastsplit.errors.ConfigError` naming it.

        Examples
        --------
        >>> from fastsplit.config import load_config
        >>> s = load_config({"fastsplit": {"xpcs": {"mode": "static"}}})
        >>> dict(s.section("fastsplit", "xpcs")), dict(s.section("scattering"))
        ({'mode': 'static'}, {})
        """
        node = section("config", self.raw)
        for depth, key in enumerate(path):
            node = section(".".join(path[: depth + 1]), node.get(key))
        return node


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
    root = section("config", raw)
    optimization = section("optimization", root.get("optimization"))
    for key in optimization:
        if key not in _OURS:
            close = difflib.get_close_matches(key, _OURS, n=1, cutoff=0.75)
            if close:
                raise fail(
                    "optimization",
                    f"unknown section {key!r} (did you mean {close[0]!r}?); fastsplit reads "
                    f"optimization.{_OURS[0]} and optimization.{_OURS[1]}.",
                )
    stratification = read_section(
        StratificationSettings,
        "optimization.stratification",
        optimization.get("stratification"),
    )
    sequential = read_section(
        SequentialSettings, "optimization.sequential", optimization.get("sequential")
    )
    fit = read_section(
        FitSettings, "fastsplit", _fit_keys(section("fastsplit", root.get("fastsplit")))
    )
    return Settings(
        stratification=stratification, sequential=sequential, fit=fit, source=origin, raw=root
    )


_FIT_KEYS = tuple(f.name for f in fields(FitSettings))


def _fit_keys(options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``fastsplit:`` keys of :class:`FitSettings`, without the applications' sections.

    Every key of FitSettings holds a scalar, so a key holding a mapping (or an
    empty section) is an application's: it is read through :meth:`Settings.section`.
    A misspelt scalar key still reaches :class:`FitSettings` and is an error there.
    """
    return {
        key: value
        for key, value in options.items()
        if key in _FIT_KEYS or not (value is None or isinstance(value, Mapping))
    }


def __getattr__(name: str) -> Any:
    # XpcsSettings moved to the application, fastsplit.xpcs; the old import path still works.
    if name == "XpcsSettings":
        return importlib.import_module(".xpcs", __package__).XpcsSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
