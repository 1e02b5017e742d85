"""Read two-time XPCS data files: the reader of :mod:`fastsplit.xpcs`, by its older path.

>>> import fastsplit.io, fastsplit.xpcs
>>> fastsplit.io.load is fastsplit.xpcs.load
True
"""

from __future__ import annotations

from .xpcs import TwoTimeData, load, read_aps_8idi, read_npz
from .xpcs._reader import BINS, C2_GROUP, FRAME_TIME, PHI_LIST, Q_LIST  # noqa: F401

__all__ = ["TwoTimeData", "load", "read_aps_8idi", "read_npz"]
