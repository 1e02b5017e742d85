"""The layouts of APS 8-ID-I two-time result files: which matrix is which (q, phi) cell.

Learnt from the public code of the facility's tools (see ``docs/fit.md``, "Data"):

**Current layout** (boost_corr writes it; pySimpleMask writes the ``/xpcs/qmap``
part; pyXpcsViewer reads it):

* ``/xpcs/twotime/correlation_map/c2_00001, c2_00002, ...``: one frames x frames
  matrix per processed bin, upper triangle (float32, compressed), in the order
  of ``/xpcs/twotime/processed_bins``;
* ``processed_bins``: compressed ROI numbers (1-based): the qmap numbers only
  the non-empty (dim0, dim1) cells, and ``/xpcs/qmap/dynamic_index_mapping[b - 1]``
  is the 0-based index ``i0 * n1 + i1`` of bin ``b`` in the full grid;
* ``/xpcs/qmap/dynamic_v_list_dim0`` / ``dim1``: the cell centres;
  ``/xpcs/qmap/map_names`` / ``map_units`` say what dim0 and dim1 are;
* the two-time step is ``/entry/instrument/detector_1/frame_time`` x
  ``/xpcs/twotime/config/stride_frame`` x ``/xpcs/twotime/config/avg_frame``.

**Older layout** (read by homodyne): ``/xpcs/dqlist`` and ``/xpcs/dphilist``
(shape ``(1, N)``: q in 1/A and phi in degrees of matrix ``i``) and the group
``/exchange/C2T_all`` with the ``N`` half matrices in name order. It holds no
frame time: ``dt`` must be given.

Nothing is guessed: a field that is needed and missing is an error naming it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["Cells", "Step", "read_cells", "read_step"]

C2_GROUP = "xpcs/twotime/correlation_map"
BINS = "xpcs/twotime/processed_bins"
Q_LIST = "xpcs/qmap/dynamic_v_list_dim0"
PHI_LIST = "xpcs/qmap/dynamic_v_list_dim1"
INDEX_MAPPING = "xpcs/qmap/dynamic_index_mapping"
NUM_PTS = "xpcs/qmap/dynamic_num_pts"
MAP_NAMES = "xpcs/qmap/map_names"
MAP_UNITS = "xpcs/qmap/map_units"
FRAME_TIME = "entry/instrument/detector_1/frame_time"
STRIDE = "xpcs/twotime/config/stride_frame"
AVERAGE = "xpcs/twotime/config/avg_frame"
OLD_Q = "xpcs/dqlist"
OLD_PHI = "xpcs/dphilist"
OLD_C2 = "exchange/C2T_all"

# Unit spellings seen in the qmap tools (and their obvious variants), with the factor
# to 1/Angstrom and to degrees.
_Q_UNITS = {
    "å⁻¹": 1.0, "1/å": 1.0, "1/a": 1.0, "a^-1": 1.0, "å^-1": 1.0, "a-1": 1.0,
    "1/angstrom": 1.0, "angstrom^-1": 1.0, "nm⁻¹": 0.1, "1/nm": 0.1, "nm^-1": 0.1,
}  # fmt: skip
_PHI_UNITS = {
    "deg": 1.0, "degree": 1.0, "degrees": 1.0, "°": 1.0,
    "rad": 180.0 / math.pi, "radian": 180.0 / math.pi, "radians": 180.0 / math.pi,
}  # fmt: skip
_C2_KEY = re.compile(r"c2_(\d+)$")


@dataclass(frozen=True)
class Cells:
    """The stored matrices and the (q, phi) cell of each, in storage order."""

    layout: str
    keys: list[str]  # dataset paths of the matrices
    q: np.ndarray  # 1/Angstrom, per matrix
    phi: np.ndarray  # degrees, per matrix
    bins: np.ndarray | None  # processed bin numbers (current layout)


@dataclass(frozen=True)
class Step:
    """The two-time step and what it was computed from."""

    dt: float
    frame_time: float | None = None
    stride_frame: int | None = None
    avg_frame: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dt": self.dt,
            "frame_time": self.frame_time,
            "stride_frame": self.stride_frame,
            "avg_frame": self.avg_frame,
        }


def _fail(where: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{where}: {message}")


def _texts(f: Any, key: str, where: str) -> list[str]:
    """A dataset of strings (bytes or str, scalar or array) as a list of str."""
    if not hasattr(f[key], "dtype"):
        raise _fail(where, f"/{key} is a group, expected a dataset of text.")
    raw = np.asarray(f[key][()]).ravel()
    out = []
    for item in raw:
        if isinstance(item, bytes | np.bytes_):
            out.append(bytes(item).decode("utf-8", errors="replace").strip())
        elif isinstance(item, str):
            out.append(item.strip())
        else:
            raise _fail(where, f"/{key} must hold text, got {raw.dtype} values.")
    return out


def _numbers(f: Any, key: str, where: str, *, integer: bool = False) -> np.ndarray:
    node = f[key]
    if not hasattr(node, "dtype"):
        raise _fail(where, f"/{key} is a group, expected a dataset of numbers.")
    values = np.asarray(node[()])
    kinds = "iu" if integer else "fiu"
    if values.dtype.kind not in kinds:
        what = "integers" if integer else "numbers"
        raise _fail(where, f"/{key} must hold {what}, got dtype {values.dtype}.")
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise _fail(where, f"/{key} holds non-finite values.")
    return values


def _unit_factor(unit: str, table: dict[str, float], name: str, where: str) -> float:
    factor = table.get(unit.replace(" ", "").lower())
    if factor is None:
        known = "1/A (Å⁻¹) or 1/nm" if name == "q" else "degrees or radians"
        raise _fail(where, f"/{MAP_UNITS} gives {name} in {unit!r}; fastsplit reads {known}.")
    return factor


def _missing(f: Any, keys: tuple[str, ...]) -> list[str]:
    return ["/" + key for key in keys if key not in f]


def read_cells(f: Any, where: str) -> Cells:
    """The (q, phi) cell of every stored matrix, from whichever layout the file has."""
    if "xpcs/twotime" in f or C2_GROUP in f:
        return _current_cells(f, where)
    if OLD_C2 in f or OLD_Q in f:
        return _old_cells(f, where)
    raise _fail(
        where,
        "not an APS 8-ID-I two-time result: it has neither /xpcs/twotime (current layout) "
        f"nor /{OLD_C2} (older layout). Multi-tau-only results hold no two-time data.",
    )


def _current_cells(f: Any, where: str) -> Cells:
    required = (C2_GROUP, BINS, Q_LIST, PHI_LIST, INDEX_MAPPING, MAP_NAMES, MAP_UNITS)
    missing = _missing(f, required)
    if missing:
        raise _fail(
            where,
            f"missing {', '.join(missing)}; a two-time result needs all of "
            f"{', '.join('/' + k for k in required)} (the correlation matrices, the processed "
            "bins and the qmap that says which (q, phi) cell each bin is).",
        )
    names = [n.lower() for n in _texts(f, MAP_NAMES, where)]
    units = _texts(f, MAP_UNITS, where)
    if sorted(names) != ["phi", "q"] or len(units) != 2:
        raise _fail(
            where,
            f"the qmap is binned in {names} ({units}), not q and phi; fastsplit fits "
            "q-phi partitions only (make one with pySimpleMask's q-phi mode).",
        )
    q_dim = names.index("q")
    q_factor = _unit_factor(units[q_dim], _Q_UNITS, "q", where)
    phi_factor = _unit_factor(units[1 - q_dim], _PHI_UNITS, "phi", where)
    dims = [_numbers(f, Q_LIST, where).ravel(), _numbers(f, PHI_LIST, where).ravel()]
    n0, n1 = dims[0].size, dims[1].size
    if NUM_PTS in f:
        num_pts = _numbers(f, NUM_PTS, where, integer=True).ravel().tolist()
        if num_pts != [n0, n1]:
            raise _fail(
                where,
                f"/{NUM_PTS} is {num_pts} but the value lists hold {n0} and {n1} entries.",
            )
    mapping = _numbers(f, INDEX_MAPPING, where, integer=True).ravel().astype(np.int64)
    if mapping.size and (mapping.min() < 0 or mapping.max() >= n0 * n1):
        raise _fail(where, f"/{INDEX_MAPPING} points outside the {n0} x {n1} grid.")
    if np.unique(mapping).size != mapping.size:
        raise _fail(where, f"/{INDEX_MAPPING} maps two bins to the same cell.")
    bins = _numbers(f, BINS, where, integer=True).ravel().astype(np.int64)
    if bins.size == 0:
        raise _fail(where, f"/{BINS} is empty: the file holds no two-time matrix.")
    if bins.min() < 1 or bins.max() > mapping.size:
        raise _fail(
            where,
            f"/{BINS} must be bin numbers 1 .. {mapping.size} (the length of "
            f"/{INDEX_MAPPING}), got {bins.min()} .. {bins.max()}.",
        )
    if np.unique(bins).size != bins.size:
        raise _fail(where, f"/{BINS} lists a bin twice.")
    group = f[C2_GROUP]
    numbered = {}
    for name in group:
        match = _C2_KEY.match(name)
        if match:
            numbered[int(match.group(1))] = name
    if sorted(numbered) != list(range(1, bins.size + 1)):
        raise _fail(
            where,
            f"{bins.size} processed bins need matrices c2_00001 .. c2_{bins.size:05d} in "
            f"/{C2_GROUP}, found {len(numbered)} c2_ matrices "
            f"({', '.join(sorted(numbered.values())[:4])}{' ...' if len(numbered) > 4 else ''}).",
        )
    full = mapping[bins - 1]
    index = [full // n1, full % n1]
    values = [dims[0][index[0]], dims[1][index[1]]]
    return Cells(
        layout="aps-8idi",
        keys=[f"{C2_GROUP}/{numbered[k + 1]}" for k in range(bins.size)],
        q=values[q_dim].astype(np.float64) * q_factor,
        phi=values[1 - q_dim].astype(np.float64) * phi_factor,
        bins=bins,
    )


def _old_cells(f: Any, where: str) -> Cells:
    missing = _missing(f, (OLD_Q, OLD_PHI, OLD_C2))
    if missing:
        raise _fail(
            where,
            f"older two-time layout, but missing {', '.join(missing)} (it needs /{OLD_Q}, "
            f"/{OLD_PHI} and the matrices in /{OLD_C2}).",
        )
    q = _numbers(f, OLD_Q, where).ravel().astype(np.float64)
    phi = _numbers(f, OLD_PHI, where).ravel().astype(np.float64)
    group = f[OLD_C2]
    if not hasattr(group, "keys"):
        raise _fail(where, f"/{OLD_C2} must be a group of matrices.")
    names = sorted(group.keys())
    if not (len(names) == q.size == phi.size) or not names:
        raise _fail(
            where,
            f"/{OLD_C2} holds {len(names)} matrices but /{OLD_Q} and /{OLD_PHI} list "
            f"{q.size} and {phi.size} cells; they must pair up one to one.",
        )
    return Cells(
        layout="aps-8idi-old",
        keys=[f"{OLD_C2}/{name}" for name in names],
        q=q,
        phi=phi,
        bins=None,
    )


def _scalar(f: Any, key: str, where: str, *, integer: bool) -> float:
    values = _numbers(f, key, where).ravel()
    if values.size != 1:
        raise _fail(where, f"/{key} must hold one value, got {values.size}.")
    value = float(values[0])
    if not value > 0 or (integer and not value.is_integer()):
        what = "a positive integer" if integer else "positive"
        raise _fail(where, f"/{key} must be {what}, got {values[0]}.")
    return value


def read_step(f: Any, layout: str, where: str) -> Step:
    """The two-time step ``frame_time x stride_frame x avg_frame`` of the file."""
    if layout == "aps-8idi-old":
        raise _fail(
            where,
            "the older layout (/exchange/C2T_all) stores no frame time; pass the two-time "
            "step as dt=... (--dt, or analyzer_parameters.dt in the config).",
        )
    missing = _missing(f, (FRAME_TIME, STRIDE, AVERAGE))
    if missing:
        raise _fail(
            where,
            f"missing {', '.join(missing)}, needed for the two-time step (frame_time x "
            "stride_frame x avg_frame); pass the step as dt=... (--dt) if you know it.",
        )
    frame_time = _scalar(f, FRAME_TIME, where, integer=False)
    stride = int(_scalar(f, STRIDE, where, integer=True))
    average = int(_scalar(f, AVERAGE, where, integer=True))
    return Step(frame_time * stride * average, frame_time, stride, average)
