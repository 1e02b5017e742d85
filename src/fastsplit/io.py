"""Read two-time XPCS data files: the reader of :mod:`fastsplit.xpcs`, by its older path.

>>> import fastsplit.io, fastsplit.xpcs
>>> fastsplit.io.load is fastsplit.xpcs.load
True
"""

from __future__ import annotations

from .xpcs import TwoTimeData, load, read_aps_8idi, read_npz
from .xpcs._aps import (  # noqa: F401  (the layout's paths, for callers of the old module)
    BINS,
    C2_GROUP,
    FRAME_TIME,
    INDEX_MAPPING,
    MAP_NAMES,
    MAP_UNITS,
    PHI_LIST,
    Q_LIST,
)

__all__ = ["TwoTimeData", "load", "read_aps_8idi", "read_npz"]
