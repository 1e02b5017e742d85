"""The XPCS settings of a config: fastsplit's own ``fastsplit: xpcs:`` and homodyne's sections.

::

    fastsplit:
      xpcs:
        mode: static                    # static | laminar_flow
        dt: 0.1                         # s; default: the data file's step
        q: 0.0054                       # 1/Angstrom: selects the q bin (needed when several)
        L: 2.0e6                        # Angstrom (laminar flow)
        start_frame: 1                  # frame window, 1-based and inclusive
        end_frame: -1                   # -1: the last frame
        phi_ranges: [[-10, 10], [170, -170]]   # degrees, wrap-aware; default every angle
        p0: {D0: 1.0e4}                 # start values by parameter name
        bounds: {D0: [100, 1.0e5]}      # bounds by parameter name
        loss: linear                    # linear | soft_l1 | huber | cauchy | arctan
        f_scale: 1.0                    # residual scale of a robust loss
        errors: cluster                 # cluster (frame blocks; default) | model
        block_frames: 20                # frames per cluster block; default from the fitted decay

A homodyne analysis YAML gives the same values in its own sections
(:mod:`fastsplit.xpcs._homodyne`); both may be present, and a value set in both
places must agree. Everything is checked when the config is read, before any data.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .._config_fields import (
    as_bool,
    as_choice,
    as_float,
    as_int,
    fail,
    read_section,
    section,
    store,
)
from ..config import Settings, load_config
from ..errors import InvalidArgumentError
from . import _homodyne
from ._data import TwoTimeData
from ._model import MODES, PER_GROUP_PARAMETERS, Mode, TwoTimeModel, parameter_names
from ._selection import AngleRanges
from ._warnings import XpcsWarning

__all__ = ["XpcsSettings"]

SECTION = ("fastsplit", "xpcs")
_WHERE = ".".join(SECTION)


def _value(where: str, name: str, value: Any) -> Any:
    """A start value: a number, or (per-angle parameters) a list of numbers."""
    if name in PER_GROUP_PARAMETERS and isinstance(value, list | tuple):
        return [as_float(f"{where}[{k}]", v) for k, v in enumerate(value)]
    return as_float(where, value)


def _bound(where: str, name: str, value: Any) -> tuple[Any, Any]:
    """A ``[lower, upper]`` pair; per-angle parameters may give a list at either end."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple) or len(value) != 2:
        raise fail(where, f"expected a [lower, upper] pair, got {value!r}.")
    ends: list[Any] = []
    for k, end in enumerate(value):
        if name in PER_GROUP_PARAMETERS and isinstance(end, list | tuple):
            ends.append(
                [as_float(f"{where}[{k}][{i}]", v, finite=False) for i, v in enumerate(end)]
            )
        else:
            ends.append(as_float(f"{where}[{k}]", end, finite=False))
    lo, hi = ends
    if all(not isinstance(e, list) for e in ends) and not lo < hi:
        raise fail(where, f"lower {lo} must be below upper {hi}.")
    return lo, hi


def _check_names(names: Mapping[str, str], mode: str) -> None:
    """Every parameter name (with where it was given) belongs to the ``mode`` model."""
    valid = parameter_names(mode)
    for name, where in names.items():
        if name not in valid:
            raise fail(
                where,
                f"{name!r} is not a parameter of the {mode} model; its parameters are "
                f"{list(valid)}.",
            )


@dataclass(frozen=True)
class XpcsSettings:
    """The two-time model and the data selection used by the ``fastsplit fit`` command.

    ``p0`` and ``bounds`` override the model's defaults by parameter name;
    per-angle values may be a scalar or one value per angle. ``dt``, ``q`` and
    ``L`` left out (``None``) come from the data file or the model's defaults.
    ``start_frame`` / ``end_frame`` are 1-based and inclusive (homodyne's
    convention; ``end_frame: -1`` is the last frame). ``phi_ranges`` keeps the
    angles inside any range (degrees); ``phi_fallback`` reads every angle when
    none is inside (homodyne's ``fallback_to_all_angles``).

    Examples
    --------
    >>> from fastsplit.xpcs import XpcsSettings
    >>> xs = XpcsSettings.from_config({"fastsplit": {"xpcs": {"mode": "laminar_flow", "L": "2e6"}}})
    >>> xs.mode, xs.L, xs.frames
    ('laminar_flow', 2000000.0, slice(0, None, None))
    """

    mode: Mode = "static"
    dt: float | None = None
    q: float | None = None
    L: float | None = None
    start_frame: int = 1
    end_frame: int = -1
    phi_ranges: tuple[tuple[float, float], ...] | None = None
    phi_fallback: bool = False
    p0: Mapping[str, Any] = field(default_factory=dict)
    bounds: Mapping[str, Any] = field(default_factory=dict)
    loss: str | None = None
    f_scale: float | None = None
    errors: str = "cluster"
    block_frames: int | None = None

    def __post_init__(self) -> None:
        w = _WHERE
        as_choice(f"{w}.mode", self.mode, MODES)
        for name in ("dt", "q", "L", "f_scale"):
            value = getattr(self, name)
            if value is not None:
                store(self, name, as_float(f"{w}.{name}", value, positive=True))
        store(self, "start_frame", as_int(f"{w}.start_frame", self.start_frame, minimum=1))
        end = as_int(f"{w}.end_frame", self.end_frame, minimum=-1)
        if end != -1 and end < self.start_frame:
            raise fail(f"{w}.end_frame", f"{end} is before start_frame {self.start_frame}.")
        store(self, "end_frame", end)
        if self.phi_ranges is not None:
            if not isinstance(self.phi_ranges, list | tuple):
                raise fail(f"{w}.phi_ranges", "expected a list of [min, max] pairs (degrees).")
            pairs = tuple(self._pair(k, pair) for k, pair in enumerate(self.phi_ranges))
            store(self, "phi_ranges", pairs)
        as_bool(f"{w}.phi_fallback", self.phi_fallback)
        if self.loss is not None:
            as_choice(f"{w}.loss", self.loss, _homodyne.LOSSES)
        as_choice(f"{w}.errors", self.errors, ("cluster", "model"))
        if self.block_frames is not None:
            store(self, "block_frames", as_int(f"{w}.block_frames", self.block_frames, minimum=1))
        for name in ("p0", "bounds"):
            value = getattr(self, name)
            store(self, name, dict(section(f"{w}.{name}", value)))
        _check_names({name: f"{w}.p0.{name}" for name in self.p0}, self.mode)
        _check_names({name: f"{w}.bounds.{name}" for name in self.bounds}, self.mode)
        store(self, "p0", {n: _value(f"{w}.p0.{n}", n, v) for n, v in self.p0.items()})
        store(self, "bounds", {n: _bound(f"{w}.bounds.{n}", n, v) for n, v in self.bounds.items()})

    @staticmethod
    def _pair(k: int, pair: Any) -> tuple[float, float]:
        where = f"{_WHERE}.phi_ranges[{k}]"
        if isinstance(pair, str | bytes) or not isinstance(pair, list | tuple) or len(pair) != 2:
            raise fail(where, f"expected a [min, max] pair in degrees, got {pair!r}.")
        return as_float(f"{where}[0]", pair[0]), as_float(f"{where}[1]", pair[1])

    @property
    def frames(self) -> slice:
        """The frame window as a 0-based slice (``start_frame`` .. ``end_frame`` inclusive)."""
        return slice(self.start_frame - 1, None if self.end_frame == -1 else self.end_frame)

    @property
    def angle_ranges(self) -> AngleRanges | None:
        """The angle selection for the reader (``None``: every angle)."""
        if self.phi_ranges is None:
            return None
        return AngleRanges(self.phi_ranges, fallback_to_all=self.phi_fallback)

    @classmethod
    def from_config(
        cls, config: str | os.PathLike[str] | Mapping[str, Any] | Settings | None
    ) -> XpcsSettings:
        """Read ``fastsplit: xpcs:`` and homodyne's sections of a config, checked.

        Parameters
        ----------
        config : path, mapping, Settings or None
            Anything :func:`fastsplit.load_config` takes.

        Raises
        ------
        ConfigError
            Unknown keys under ``fastsplit: xpcs:`` (the message lists the valid
            ones), values of the wrong type or out of range, parameter names the
            model does not have, a value set differently in two places, or
            something fastsplit cannot do (MCMC, fixed parameters).

        Warns
        -----
        XpcsWarning
            Once, naming every key of the file that fastsplit does not read.
        """
        settings = load_config(config)
        found = _homodyne.read(settings.raw)
        own = settings.section(*SECTION)
        theirs_mode = found.values.get("mode")
        if "mode" in own and theirs_mode is not None and own["mode"] != theirs_mode[0]:
            raise fail(
                f"{_WHERE}.mode",
                f"{own['mode']!r} disagrees with {theirs_mode[1]}: {theirs_mode[0]!r}; "
                "make them the same.",
            )
        mode = own.get("mode", "static" if theirs_mode is None else theirs_mode[0])
        native = read_section(cls, _WHERE, {**own, "mode": mode})
        _check_names({name: where for name, (_, where) in found.p0.items()}, native.mode)
        _check_names({name: where for name, (_, where) in found.bounds.items()}, native.mode)
        values: dict[str, Any] = {name: value for name, (value, _) in found.values.items()}
        for name in own:
            if name in ("p0", "bounds"):
                continue
            mine = getattr(native, name)
            if name in found.values and found.values[name][0] != mine:
                raise fail(
                    f"{_WHERE}.{name}",
                    f"{mine!r} disagrees with {found.values[name][1]}: "
                    f"{found.values[name][0]!r}; make them the same.",
                )
            values[name] = mine
        for name in ("p0", "bounds"):
            theirs = getattr(found, name)
            mine = getattr(native, name)
            for key, value in mine.items():
                if key in theirs and list(_flat(theirs[key][0])) != list(_flat(value)):
                    raise fail(
                        f"{_WHERE}.{name}.{key}",
                        f"{value!r} disagrees with {theirs[key][1]}: {theirs[key][0]!r}.",
                    )
            values[name] = {**{k: v for k, (v, _) in theirs.items()}, **mine}
        result = cls(**values)
        if found.ignored:
            warnings.warn(
                "config keys fastsplit does not read (they have no effect here): "
                + ", ".join(found.ignored),
                XpcsWarning,
                stacklevel=2,
            )
        return result

    def as_dict(self) -> dict[str, Any]:
        """Plain values for a JSON record (tuples as lists)."""
        out = asdict(self)
        out["p0"] = dict(self.p0)
        out["bounds"] = {name: list(pair) for name, pair in self.bounds.items()}
        if self.phi_ranges is not None:
            out["phi_ranges"] = [list(pair) for pair in self.phi_ranges]
        return out

    def read_options(self, *, q: float | None = None, dt: float | None = None) -> dict[str, Any]:
        """Keyword arguments for :func:`fastsplit.xpcs.load`; ``q`` and ``dt`` given here win.

        Examples
        --------
        >>> XpcsSettings(q=0.0054, start_frame=11).read_options(dt=0.1)
        {'q': 0.0054, 'dt': 0.1, 'phi': None, 'frames': slice(10, None, None)}
        """
        return {
            "q": self.q if q is None else q,
            "dt": self.dt if dt is None else dt,
            "phi": self.angle_ranges,
            "frames": self.frames,
        }

    def model_for(
        self, data: TwoTimeData, *, q: float | None = None, mode: Mode | None = None
    ) -> TwoTimeModel:
        """The model for ``data``: its time grid, ``dt`` and q; ``mode`` given here wins.

        The q of the model is the data's (the centre of the q bin the reader
        selected); a file without q takes ``q`` given here, else the settings'.

        Raises
        ------
        InvalidArgumentError
            When neither the file, the argument nor the settings give ``q``.
        """
        model_q = data.q
        if model_q is None:
            model_q = self.q if q is None else q
        if model_q is None:
            raise InvalidArgumentError(
                f"the data file {data.source!r} has no q; give it with --q, "
                f"{_WHERE}.q or analyzer_parameters.scattering.wavevector_q in the config."
            )
        kwargs: dict[str, Any] = {"dt": data.dt, "q": model_q, "mode": mode or self.mode}
        if self.L is not None:
            kwargs["L"] = self.L
        return TwoTimeModel(int(data.n_frames), **kwargs)

    def p0_for(self, model: TwoTimeModel) -> dict[str, Any]:
        """The model's default start, overridden by ``p0``; unknown names are an error."""
        p0: dict[str, Any] = dict(model.default_p0())
        unknown = [name for name in self.p0 if name not in p0]
        if unknown:
            raise InvalidArgumentError(
                f"{_WHERE}.p0 names {unknown} are not parameters of the {model.mode} model "
                f"{list(model.parameter_names)}"
            )
        p0.update(self.p0)
        return p0

    def bounds_for(self, model: TwoTimeModel) -> dict[str, Any]:
        """The model's default bounds, overridden by ``bounds``; unknown names are an error."""
        bounds: dict[str, Any] = dict(model.default_bounds())
        unknown = [name for name in self.bounds if name not in bounds]
        if unknown:
            raise InvalidArgumentError(
                f"{_WHERE}.bounds names {unknown} are not parameters of the {model.mode} model "
                f"{list(model.parameter_names)}"
            )
        bounds.update({name: tuple(value) for name, value in self.bounds.items()})
        return bounds

    def fit_options(self) -> dict[str, Any]:
        """``loss``, ``f_scale``, ``errors`` and ``block_frames`` for
        :func:`fastsplit.xpcs.fit_two_time` (set ones only)."""
        return {
            name: getattr(self, name)
            for name in ("loss", "f_scale", "errors", "block_frames")
            if getattr(self, name) is not None
        }


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [item for part in value for item in _flat(part)]
    return [value]
