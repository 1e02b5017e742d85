"""What a data file is, before reading it: a readable file, and npz or HDF5 by its first bytes.

The format is told by content, not by the name: ``fastsplit stratify -o name``
writes exactly ``name``, and an npz renamed ``.h5`` is still read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailableError, InvalidArgumentError, InvalidTypeError

__all__ = ["checked_path", "format_of", "need_h5py"]

_NPZ_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def need_h5py() -> Any:
    """The h5py module, or an error that says how to install it."""
    try:
        import h5py
    except ImportError:
        raise BackendUnavailableError(
            "reading HDF5 needs h5py; install it with `pip install 'fastsplit[fit]'` "
            "(or `pip install h5py`)."
        ) from None
    return h5py


def checked_path(path: Any) -> Path:
    """``path`` as a :class:`~pathlib.Path` to an existing regular file."""
    if not isinstance(path, str | os.PathLike):
        raise InvalidTypeError(
            f"path must be a file path (str or os.PathLike), got {type(path).__name__}."
        )
    file = Path(path)
    if not file.exists():
        raise InvalidArgumentError(f"{str(file)!r} does not exist; check the path.")
    if not file.is_file():
        raise InvalidArgumentError(f"{str(file)!r} is not a file (a directory?); pass a data file.")
    return file


def format_of(file: Path) -> str:
    """``"npz"`` or ``"hdf5"`` from the first bytes of the file."""
    try:
        with file.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {str(file)!r}: {exc.strerror or exc}.") from None
    if head.startswith(_NPZ_MAGIC):
        return "npz"
    if head == _HDF5_MAGIC:
        return "hdf5"
    if not head:
        raise InvalidArgumentError(f"{str(file)!r} is empty; it holds no data.")
    h5py = need_h5py() if file.suffix.lower() in (".h5", ".hdf5", ".hdf", ".nxs") else None
    if h5py is not None and h5py.is_hdf5(str(file)):  # superblock after a user block
        return "hdf5"
    raise InvalidArgumentError(
        f"{str(file)!r} is neither an npz archive nor an HDF5 file (it starts with "
        f"{head[:8]!r}); fastsplit reads npz (phi, t1, t2, g2) and APS 8-ID-I HDF5 results."
    )
