"""homodyne's analysis YAML, read into the values of :class:`fastsplit.xpcs.XpcsSettings`.

The sections that map to fastsplit concepts are honoured (keys as in homodyne's
templates, ``homodyne/config/templates/*.yaml``)::

    analysis_mode                            -> mode ("static_isotropic"/"_anisotropic": static)
    analyzer_parameters.dt                   -> dt (seconds)
    analyzer_parameters.start_frame/end_frame-> the frame window (1-based, inclusive; -1: last)
    analyzer_parameters.scattering.wavevector_q     -> q (selects the q bin)
    analyzer_parameters.geometry.stator_rotor_gap   -> L
    phi_filtering (enabled, target_ranges, fallback_to_all_angles, algorithm)
                                             -> the angles read
    initial_parameters.parameter_names/values, per_angle_scaling -> p0
    parameter_space.model                    -> mode (must agree with analysis_mode)
    parameter_space.bounds[].name/min/max    -> bounds
    optimization.method ("nlsq"), optimization.nlsq.loss -> loss

What fastsplit cannot do is an error (MCMC, parameters held fixed or inactive,
another angle-filtering algorithm); every other key is listed in :attr:`Found.ignored`
for one warning. ``optimization.stratification`` / ``sequential`` and ``fastsplit:``
are the core's and the application's own and are read elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._config_fields import as_bool, as_choice, as_float, as_int, fail, section
from ._model import MODES

__all__ = ["LOSSES", "Found", "read"]

LOSSES: tuple[str, ...] = ("linear", "soft_l1", "huber", "cauchy", "arctan")
_MODE_ALIASES = {"static_isotropic": "static", "static_anisotropic": "static"}
# Read elsewhere (the core's sections, fastsplit's own): never named as ignored.
_ELSEWHERE = ("optimization.stratification", "optimization.sequential", "fastsplit")


@dataclass
class Found:
    """What the homodyne sections ask for; every value with the config path it came from."""

    values: dict[str, tuple[Any, str]] = field(default_factory=dict)
    p0: dict[str, tuple[Any, str]] = field(default_factory=dict)
    bounds: dict[str, tuple[Any, str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def put(self, name: str, value: Any, where: str) -> None:
        previous = self.values.get(name)
        if previous is not None and previous[0] != value:
            raise fail(
                where,
                f"{value!r} disagrees with {previous[1]}: {previous[0]!r}; make them the same.",
            )
        self.values[name] = (value, where)


def _mode(where: str, value: Any) -> str:
    if isinstance(value, str):
        value = _MODE_ALIASES.get(value, value)
    return as_choice(where, value, MODES)


def _ignore_rest(found: Found, node: Mapping[str, Any], where: str, read: set[str]) -> None:
    for key, value in node.items():
        if key not in read and value is not None:
            found.ignored.append(f"{where}.{key}" if where else key)


def read(raw: Mapping[str, Any]) -> Found:
    """The fastsplit values in homodyne's sections of ``raw``, and the keys nothing reads."""
    found = Found()
    if raw.get("analysis_mode") is not None:
        found.put("mode", _mode("analysis_mode", raw["analysis_mode"]), "analysis_mode")
    readers = {
        "analyzer_parameters": _analyzer,
        "phi_filtering": _phi_filtering,
        "initial_parameters": _initial,
        "parameter_space": _parameter_space,
        "optimization": _optimization,
    }
    for key, reader in readers.items():
        reader(found, section(key, raw.get(key)))
    _ignore_rest(found, raw, "", {*readers, "analysis_mode", "fastsplit"})
    return found


def _analyzer(found: Found, node: Mapping[str, Any]) -> None:
    where = "analyzer_parameters"
    if node.get("dt") is not None:
        found.put("dt", as_float(f"{where}.dt", node["dt"], positive=True), f"{where}.dt")
    if node.get("start_frame") is not None:
        start = as_int(f"{where}.start_frame", node["start_frame"], minimum=1)
        found.put("start_frame", start, f"{where}.start_frame")
    if node.get("end_frame") is not None:
        end = as_int(f"{where}.end_frame", node["end_frame"], minimum=-1)
        if end == 0:
            raise fail(f"{where}.end_frame", "frames count from 1; use -1 for the last frame.")
        found.put("end_frame", end, f"{where}.end_frame")
    scattering = section(f"{where}.scattering", node.get("scattering"))
    if scattering.get("wavevector_q") is not None:
        q_where = f"{where}.scattering.wavevector_q"
        found.put("q", as_float(q_where, scattering["wavevector_q"], positive=True), q_where)
    _ignore_rest(found, scattering, f"{where}.scattering", {"wavevector_q"})
    geometry = section(f"{where}.geometry", node.get("geometry"))
    if geometry.get("stator_rotor_gap") is not None:
        l_where = f"{where}.geometry.stator_rotor_gap"
        found.put("L", as_float(l_where, geometry["stator_rotor_gap"], positive=True), l_where)
    _ignore_rest(found, geometry, f"{where}.geometry", {"stator_rotor_gap"})
    _ignore_rest(found, node, where, {"dt", "start_frame", "end_frame", "scattering", "geometry"})


def _phi_filtering(found: Found, node: Mapping[str, Any]) -> None:
    where = "phi_filtering"
    read = {"enabled", "target_ranges", "fallback_to_all_angles", "algorithm"}
    _ignore_rest(found, node, where, read)
    if not node or not as_bool(f"{where}.enabled", node.get("enabled", True)):
        return
    algorithm = node.get("algorithm", "range_based")
    as_choice(f"{where}.algorithm", algorithm, ("range_based",))
    entries = node.get("target_ranges") or []
    if not isinstance(entries, list):
        raise fail(f"{where}.target_ranges", "expected a list of {min_angle, max_angle}.")
    ranges = []
    unread: set[str] = set()
    for k, entry in enumerate(entries):
        entry_where = f"{where}.target_ranges[{k}]"
        entry = section(entry_where, entry)
        lo = as_float(f"{entry_where}.min_angle", entry.get("min_angle", -180.0))
        hi = as_float(f"{entry_where}.max_angle", entry.get("max_angle", 180.0))
        ranges.append((lo, hi))
        unread |= {key for key in entry if key not in ("min_angle", "max_angle", "description")}
    found.ignored += [f"{where}.target_ranges[].{key}" for key in sorted(unread)]
    if ranges:
        found.put("phi_ranges", tuple(ranges), f"{where}.target_ranges")
        fallback = as_bool(
            f"{where}.fallback_to_all_angles", node.get("fallback_to_all_angles", True)
        )
        found.put("phi_fallback", fallback, f"{where}.fallback_to_all_angles")


def _numbers(where: str, value: Any) -> Any:
    """A number, or a list of numbers (one per angle)."""
    if isinstance(value, list):
        return [as_float(f"{where}[{k}]", v) for k, v in enumerate(value)]
    return as_float(where, value)


def _initial(found: Found, node: Mapping[str, Any]) -> None:
    where = "initial_parameters"
    for key in ("active_parameters", "fixed_parameters"):
        if node.get(key):
            raise fail(
                f"{where}.{key}",
                "fastsplit fits every parameter of the model; it cannot hold some fixed "
                "or leave them out. Remove this key (or set it to null).",
            )
    names = node.get("parameter_names")
    values = node.get("values")
    if values is not None:
        if not isinstance(values, list) or not isinstance(names, list):
            raise fail(
                f"{where}.values",
                "expected a list of numbers in the order of initial_parameters.parameter_names.",
            )
        if len(values) != len(names):
            raise fail(
                f"{where}.values",
                f"{len(values)} values for {len(names)} parameter_names; give one per name.",
            )
        for k, (name, value) in enumerate(zip(names, values, strict=True)):
            if not isinstance(name, str):
                raise fail(f"{where}.parameter_names[{k}]", f"expected a name, got {name!r}.")
            found.p0[name] = (as_float(f"{where}.values[{k}]", value), f"{where}.values[{k}]")
    scaling = section(f"{where}.per_angle_scaling", node.get("per_angle_scaling"))
    for name, value in scaling.items():
        scaling_where = f"{where}.per_angle_scaling.{name}"
        if value is not None:
            found.p0[name] = (_numbers(scaling_where, value), scaling_where)
    read = {"parameter_names", "values", "per_angle_scaling", "active_parameters"}
    _ignore_rest(found, node, where, {*read, "fixed_parameters"})


def _parameter_space(found: Found, node: Mapping[str, Any]) -> None:
    where = "parameter_space"
    if node.get("model") is not None:
        found.put("mode", _mode(f"{where}.model", node["model"]), f"{where}.model")
    entries = node.get("bounds") or []
    if not isinstance(entries, list):
        raise fail(f"{where}.bounds", "expected a list of {name, min, max}.")
    unread: set[str] = set()
    for k, entry in enumerate(entries):
        entry_where = f"{where}.bounds[{k}]"
        entry = section(entry_where, entry)
        name = entry.get("name")
        if not isinstance(name, str):
            raise fail(f"{entry_where}.name", f"expected a parameter name, got {name!r}.")
        lo = as_float(f"{entry_where}.min", entry.get("min"), finite=False)
        hi = as_float(f"{entry_where}.max", entry.get("max"), finite=False)
        if not lo < hi:
            raise fail(entry_where, f"min {lo} must be below max {hi}.")
        if name in found.bounds:
            raise fail(entry_where, f"{name!r} is bounded twice ({found.bounds[name][1]}).")
        found.bounds[name] = ((lo, hi), entry_where)
        unread |= {key for key in entry if key not in ("name", "min", "max")}
    found.ignored += [f"{where}.bounds[].{key}" for key in sorted(unread)]
    _ignore_rest(found, node, where, {"model", "bounds"})


def _optimization(found: Found, node: Mapping[str, Any]) -> None:
    where = "optimization"
    method = node.get("method")
    if method is not None and method != "nlsq":
        raise fail(
            f"{where}.method",
            f"{method!r} is not something fastsplit does; it fits by least squares "
            '(method: "nlsq").',
        )
    nlsq = section(f"{where}.nlsq", node.get("nlsq"))
    if nlsq.get("loss") is not None:
        found.put(
            "loss", as_choice(f"{where}.nlsq.loss", nlsq["loss"], LOSSES), f"{where}.nlsq.loss"
        )
    _ignore_rest(found, nlsq, f"{where}.nlsq", {"loss"})
    core = {path.split(".", 1)[1] for path in _ELSEWHERE if path.startswith(f"{where}.")}
    _ignore_rest(found, node, where, {"method", "nlsq", *core})
