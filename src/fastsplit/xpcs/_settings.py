"""``fastsplit: xpcs:`` in the YAML: the two-time model that ``fastsplit fit`` fits.

::

    fastsplit:
      xpcs:
        mode: static                    # static | laminar_flow
        dt: 0.1                         # s; default: the data file's
        q: 0.0054                       # 1/Angstrom; default: the data file's
        L: 2.0e6                        # Angstrom (laminar flow)
        p0: {D0: 1.0e4}                 # start values by parameter name
        bounds: {D0: [100, 1.0e5]}      # bounds by parameter name

:func:`fastsplit.load_config` reads only the core's sections and keeps the whole
file on its :class:`~fastsplit.config.Settings`; :meth:`XpcsSettings.from_config`
takes this section from there and checks it the way the core checks its own.
Another layout of the same values (homodyne's ``analyzer_parameters``,
``scattering``, ``initial_parameters``, ...) is one more reader in
:meth:`XpcsSettings.from_config`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._config_fields import as_choice, as_float, fail, read_section, store
from ..config import Settings, load_config
from ..errors import InvalidArgumentError
from ._data import TwoTimeData
from ._model import MODES, Mode, TwoTimeModel

__all__ = ["XpcsSettings"]

SECTION = ("fastsplit", "xpcs")
_WHERE = ".".join(SECTION)


@dataclass(frozen=True)
class XpcsSettings:
    """``fastsplit.xpcs``: the two-time model used by the ``fastsplit fit`` command.

    ``p0`` and ``bounds`` override the model's defaults by parameter name;
    per-group values may be a scalar or one value per angle. ``dt``, ``q`` and
    ``L`` left out (``None``) come from the data file or the model's defaults.

    Examples
    --------
    >>> from fastsplit.xpcs import XpcsSettings
    >>> xs = XpcsSettings.from_config({"fastsplit": {"xpcs": {"mode": "laminar_flow", "L": "2e6"}}})
    >>> xs.mode, xs.L
    ('laminar_flow', 2000000.0)
    """

    mode: Mode = "static"
    dt: float | None = None
    q: float | None = None
    L: float | None = None
    p0: Mapping[str, Any] = field(default_factory=dict)
    bounds: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        as_choice(f"{_WHERE}.mode", self.mode, MODES)
        for name in ("dt", "q", "L"):
            value = getattr(self, name)
            if value is not None:
                store(self, name, as_float(f"{_WHERE}.{name}", value, minimum=0.0))
        for name in ("p0", "bounds"):
            value = getattr(self, name)
            if value is None:  # an empty YAML section
                store(self, name, {})
            elif not isinstance(value, Mapping):
                raise fail(f"{_WHERE}.{name}", "expected a mapping of parameter name to value.")

    @classmethod
    def from_config(
        cls, config: str | os.PathLike[str] | Mapping[str, Any] | Settings | None
    ) -> XpcsSettings:
        """Read the ``fastsplit: xpcs:`` section of a config.

        Parameters
        ----------
        config : path, mapping, Settings or None
            Anything :func:`fastsplit.load_config` takes.

        Raises
        ------
        ConfigError
            Unknown keys (the message lists the valid ones), values of the wrong
            type or out of range.
        """
        settings = load_config(config)
        return read_section(cls, _WHERE, settings.section(*SECTION))

    def model_for(
        self,
        data: TwoTimeData,
        *,
        q: float | None = None,
        dt: float | None = None,
        mode: Mode | None = None,
    ) -> TwoTimeModel:
        """The model for ``data``: the arguments win over these settings, which win over the file.

        Raises
        ------
        InvalidArgumentError
            When neither the arguments, the settings nor the file give ``q``.
        """
        q = _first(q, self.q, data.q)
        if q is None:
            raise InvalidArgumentError(
                f"the data file has no q; give it with --q or {_WHERE}.q in the config"
            )
        kwargs: dict[str, Any] = {
            "dt": _first(dt, self.dt, data.dt),
            "q": q,
            "mode": mode or self.mode,
        }
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
        """The model's default bounds, overridden by ``bounds``."""
        bounds: dict[str, Any] = dict(model.default_bounds())
        bounds.update({name: tuple(value) for name, value in self.bounds.items()})
        return bounds


def _first(*values: Any) -> Any:
    """The first value that is not ``None`` (``None`` when all are)."""
    return next((v for v in values if v is not None), None)
