"""XPCS two-time correlation analysis on top of fastsplit: the application of the library.

* the model, :class:`TwoTimeModel` (``docs/xpcs-model.md``), in the
  :func:`fastsplit.fit` convention, with NumPy and JAX;
* synthetic data with known truth, :func:`synthesize`;
* files: APS 8-ID-I two-time HDF5 and npz, :func:`load` (also ``fastsplit.io``),
  with the selections of :class:`AngleRanges` (angles), ``q=`` and ``frames=``;
* fitting a data set, :func:`fit_two_time`, and its record and figure
  (``_record``, ``_fit_figure``: what ``fastsplit fit`` writes);
* the XPCS settings of a YAML config, fastsplit's own ``fastsplit: xpcs:`` and
  homodyne's sections, :class:`XpcsSettings`; :class:`XpcsWarning` names what
  was not used;
* ``fastsplit demo`` (in ``_demo``).

Nothing here is imported by ``import fastsplit``; importing this package loads
neither JAX, nlsq nor h5py (they come with the first fit or HDF5 read).

>>> from fastsplit.xpcs import synthesize
>>> synthesize(n_angles=3, n_frames=10).n_points
300
"""

from __future__ import annotations

from ._data import TwoTimeData
from ._fitting import fit_two_time
from ._model import (
    LAMINAR_FLOW_PARAMETERS,
    MODES,
    PER_GROUP_PARAMETERS,
    STATIC_PARAMETERS,
    Mode,
    TwoTimeModel,
)
from ._reader import load, read_aps_8idi, read_npz
from ._selection import AngleRanges
from ._settings import XpcsSettings
from ._synthetic import SyntheticXPCS, synthesize
from ._warnings import XpcsWarning

__all__ = [
    "LAMINAR_FLOW_PARAMETERS",
    "MODES",
    "PER_GROUP_PARAMETERS",
    "STATIC_PARAMETERS",
    "AngleRanges",
    "Mode",
    "SyntheticXPCS",
    "TwoTimeData",
    "TwoTimeModel",
    "XpcsSettings",
    "XpcsWarning",
    "fit_two_time",
    "load",
    "read_aps_8idi",
    "read_npz",
    "synthesize",
]
