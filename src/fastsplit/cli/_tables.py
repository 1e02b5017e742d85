"""Any table for ``fastsplit stratify --labels NAME``: npz arrays, HDF5 datasets, parquet and CSV.

A table is a set of named arrays with one value (or one row) per point. The
labels are one of them; the arrays reordered with them are the ones named with
``--arrays``, or else every other array of the same length. npz and HDF5 are
told apart by their first bytes, parquet by its magic ``PAR1``, CSV by the name
(``.csv``, ``.tsv``); parquet and CSV are read with pandas.

What is written must be fixed-size (an npz holds no Python objects without
pickle): text columns become numpy strings; a text column with missing values is
refused, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, InvalidArgumentError
from ..xpcs._files import checked_path, need_h5py

__all__ = ["Table", "read_table"]

_PARQUET_MAGIC = b"PAR1"
_CSV_SEPARATORS = {".csv": ",", ".tsv": "\t"}


@dataclass
class Table:
    """The labels and the arrays to reorder, in file order, and what was left out."""

    labels_name: str
    labels: Any
    arrays: dict[str, np.ndarray]
    left_out: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return int(np.shape(self.labels)[0])


def read_table(path: str, labels: str, arrays: list[str] | None) -> Table:
    """Read ``labels`` and ``arrays`` (default: every other array of n points) from ``path``."""
    file = checked_path(path)
    with file.open("rb") as handle:
        head = handle.read(8)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        columns = _npz_columns(file)
    elif head == b"\x89HDF\r\n\x1a\n":
        return _hdf5_table(file, labels, arrays)
    elif head.startswith(_PARQUET_MAGIC):
        columns = _pandas_columns(file, "parquet")
    elif file.suffix.lower() in _CSV_SEPARATORS:
        columns = _pandas_columns(file, "csv")
    else:
        raise InvalidArgumentError(
            f"{str(file)!r} is not a table fastsplit reads: npz, HDF5 and (with pandas) "
            "parquet or CSV (.csv, .tsv). Save it as one of those, e.g. "
            "np.savez('table.npz', station=..., x=...)."
        )
    return _select(str(file), columns, labels, arrays)


def _npz_columns(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle, np.load(handle, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except ValueError as exc:  # pickled objects
        raise InvalidArgumentError(f"cannot read {str(file)!r}: {exc}") from None


def _pandas_columns(file: Path, kind: str) -> dict[str, Any]:
    try:
        import pandas as pd  # type: ignore[import-untyped]
    except ImportError:
        raise BackendUnavailableError(
            f"reading {kind} needs pandas; install it with `pip install 'fastsplit[tables]'` "
            "(pandas and pyarrow), or save the table as npz."
        ) from None
    try:
        if kind == "parquet":
            frame = pd.read_parquet(file)
        else:
            frame = pd.read_csv(file, sep=_CSV_SEPARATORS[file.suffix.lower()])
    except ImportError as exc:  # pandas without a parquet engine
        raise BackendUnavailableError(
            f"reading parquet needs pyarrow: {exc}; install it with "
            "`pip install 'fastsplit[tables]'`, or save the table as npz or CSV."
        ) from None
    except (ValueError, OSError) as exc:
        raise InvalidArgumentError(f"cannot read {str(file)!r} as {kind}: {exc}") from None
    return {str(name): frame[name] for name in frame.columns}


def _select(where: str, columns: dict[str, Any], labels: str, arrays: list[str] | None) -> Table:
    if labels not in columns:
        raise InvalidArgumentError(
            f"--labels {labels!r}: {where} has no array of that name; it has {sorted(columns)}."
        )
    label_values = columns[labels]
    n = int(np.shape(label_values)[0]) if np.ndim(label_values) else -1
    if np.ndim(label_values) != 1:
        raise InvalidArgumentError(
            f"--labels {labels!r} in {where} has shape {np.shape(label_values)}; the labels "
            "must be one value per point (1-D)."
        )
    if arrays is None:
        chosen = [k for k in columns if k != labels and _per_point(columns[k], n)]
        left_out = [k for k in columns if k != labels and k not in chosen]
    else:
        _check_named(where, columns, arrays, labels, n)
        chosen, left_out = [k for k in arrays if k != labels], []
    table = {labels: label_values, **{k: columns[k] for k in chosen}}
    return Table(labels, label_values, table, left_out)


def _per_point(value: Any, n: int) -> bool:
    return np.ndim(value) in (1, 2) and int(np.shape(value)[0]) == n


def _check_named(
    where: str, columns: dict[str, Any], arrays: list[str], labels: str, n: int
) -> None:
    for name in arrays:
        if name not in columns:
            raise InvalidArgumentError(
                f"--arrays {name!r}: {where} has no array of that name; it has {sorted(columns)}."
            )
        if not _per_point(columns[name], n):
            raise InvalidArgumentError(
                f"--arrays {name!r} in {where} has shape {np.shape(columns[name])}, not one "
                f"value or row per point of --labels {labels!r} ({n} points)."
            )


def _hdf5_table(file: Path, labels: str, arrays: list[str] | None) -> Table:
    h5py = need_h5py()
    with h5py.File(file, "r") as f:
        paths: list[str] = []

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                paths.append(name)

        f.visititems(visit)
        shapes = {name: f[name].shape for name in paths}
        key = labels.lstrip("/")
        if key not in shapes:
            raise InvalidArgumentError(
                f"--labels {labels!r}: {str(file)!r} has no dataset at that path; its "
                f"datasets are {sorted('/' + p for p in paths)[:20]}."
            )
        wanted = None if arrays is None else [a.lstrip("/") for a in arrays]
        columns = {name: _Shape(shapes[name]) for name in paths}
        chosen = _select(str(file), columns, key, wanted)
        read = {name: _read_dataset(h5py, f[name]) for name in chosen.arrays}
    return Table(key, read[key], read, chosen.left_out)


@dataclass(frozen=True)
class _Shape:
    """An HDF5 dataset's shape, standing in for its data until it is chosen (read once)."""

    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)


def _read_dataset(h5py: Any, dataset: Any) -> np.ndarray:
    if h5py.check_string_dtype(dataset.dtype) is not None and dataset.dtype.kind == "O":
        return np.asarray(dataset.asstr()[()], dtype=str)  # variable-length text
    return np.asarray(dataset[()])


def fixed_size(name: str, values: Any) -> np.ndarray:
    """``values`` as an array of a fixed-size dtype (text as numpy strings), for an npz."""
    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if array.dtype.metadata and array.dtype.names is None:  # h5py's string tags: not saved
        array = array.view(np.dtype(array.dtype.str))
    if not array.dtype.hasobject:
        return array
    items = array.tolist()
    if all(isinstance(x, str) for x in items):
        return np.asarray(items, dtype=str)
    if all(isinstance(x, bytes) for x in items):
        return np.asarray(items, dtype=bytes)
    odd = next(x for x in items if not isinstance(x, str | bytes))
    raise InvalidArgumentError(
        f"array {name!r} holds values that are not text or numbers ({odd!r}: missing "
        "values or mixed types); an npz holds fixed-size values only. Fill or drop the "
        "missing values first, or leave the array out (--arrays lists the ones to keep)."
    )
