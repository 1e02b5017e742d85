"""``fastsplit stratify``: any table by a label column, or an XPCS two-time file by angle.

With ``--labels NAME`` the file is a table (``_tables``: npz, HDF5, parquet, CSV);
without, it is an XPCS file (npz ``phi, t1, t2, g2`` or APS 8-ID-I HDF5) grouped by
angle. Either way the output is one npz, written atomically: ``order``,
``bounds``, ``groups``, ``counts`` and every array in stratified order.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._plan import DEFAULT_CHUNK_SIZE
from .._progress import Progress
from ..config import load_config
from ..errors import InvalidArgumentError
from ._outputs import Outputs, write_atomic
from ._tables import fixed_size, read_table

__all__ = ["cmd_stratify"]

RESERVED = ("order", "bounds", "groups", "counts")
"""Names the output gives to the stratification itself."""


def cmd_stratify(args: argparse.Namespace) -> int:
    """Reorder a table (--labels NAME) or an XPCS file so that every chunk holds every group.

    The output is an npz (whatever its name): order, bounds, groups, counts and every
    array reordered; a[order] is the reordered a, and chunk k is
    [bounds[k], bounds[k + 1]).
    """
    progress = Progress(not args.quiet)
    outputs = Outputs(force=args.force, inputs=[args.data, args.config])
    target = outputs.reserve(args.output, "-o/--output")
    settings = load_config(args.config)
    options: dict[str, Any] = {"chunk_size": DEFAULT_CHUNK_SIZE, "mode": "auto"}
    if args.config:
        options.update(settings.stratification.stratify_kwargs())
    if args.chunk_size is not None:
        options["chunk_size"] = args.chunk_size
    if args.labels is None:
        if args.arrays is not None:
            raise InvalidArgumentError(
                "--arrays names the arrays of a table; pass --labels NAME with it (an XPCS "
                "file is grouped by angle and all its arrays are written)."
            )
        labels, arrays, extra = _xpcs(args, settings, progress)
    else:
        if args.q is not None:
            raise InvalidArgumentError(
                "--q picks the q bin of an XPCS file; a table given with --labels has none. "
                "Drop --q, or drop --labels to read the file as XPCS data."
            )
        labels, arrays, extra = _table(args, progress)
    clash = sorted(set(arrays) & set(RESERVED))
    if clash:
        raise InvalidArgumentError(
            f"the input has arrays named {clash}, which the output uses for the "
            "stratification itself; rename them in the input, or leave them out with --arrays."
        )
    s = _run(labels, arrays, args, options, progress)
    reordered = s.arrays if s.arrays is not None else s.take(*arrays.values())
    reordered = reordered if isinstance(reordered, tuple) else (reordered,)
    out: dict[str, Any] = dict(zip(arrays, reordered, strict=True))
    out.update(order=s.order, bounds=s.bounds, groups=s.groups, counts=s.counts, **extra)

    def write(handle: IO[bytes]) -> None:
        np.savez(handle, **out)

    with progress.phase(f"writing {target}"):
        write_atomic(target, write)
    print(s.report())
    print(f"wrote {target}: {', '.join(sorted(out))}")
    return 0


def _run(
    labels: Any,
    arrays: dict[str, Any],
    args: argparse.Namespace,
    options: dict[str, Any],
    progress: Progress,
) -> Any:
    import fastsplit

    with progress.phase("stratifying (the first call in a process also compiles the kernels)"):
        s = fastsplit.stratify(
            labels, *arrays.values(), backend=args.backend, layout=args.layout, **options
        )
    compile_seconds = getattr(s.diagnostics, "compile_seconds", None) or 0.0
    progress(
        f"stratified into {s.n_chunks} chunks ({s.mode} mode) in "
        f"{1e3 * s.diagnostics.seconds:.1f} ms"
        + (f" (+ {compile_seconds:.2f} s compiling kernels, first call)" if compile_seconds else "")
    )
    return s


def _table(
    args: argparse.Namespace, progress: Progress
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    with progress.phase(f"reading {args.data}"):
        table = read_table(args.data, args.labels, args.arrays)
    progress(
        f"read {table.n_points:,} points from {args.data}: labels {table.labels_name!r}, "
        f"arrays {', '.join(repr(k) for k in table.arrays if k != table.labels_name) or 'none'}"
    )
    if table.left_out:
        progress(f"not one value per point, so not written: {', '.join(table.left_out)}")
    try:
        arrays = {name: fixed_size(name, values) for name, values in table.arrays.items()}
    except InvalidArgumentError:
        import fastsplit

        # labels as read (a pandas column keeps its missing values): say what is wrong
        # with them in the labels' own words before blaming the file's text
        fastsplit.plan(table.labels, backend="numpy")
        raise
    return arrays[table.labels_name], arrays, {}


def _xpcs(
    args: argparse.Namespace, settings: Any, progress: Progress
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from ..xpcs import XpcsSettings, load

    read_options = XpcsSettings.from_config(settings).read_options(q=args.q)
    with progress.phase(f"reading {args.data}"):
        try:
            data = load(args.data, **read_options)
        except InvalidArgumentError as exc:
            if Path(args.data).suffix.lower() in (".npz", ".h5", ".hdf5") and "lacks" in str(exc):
                raise InvalidArgumentError(
                    f"{exc} To stratify any other table, name its label array: "
                    f"fastsplit stratify {args.data} --labels NAME."
                ) from None
            raise
    progress(f"read {data.n_points:,} points, {data.angles.size} angles from {args.data}")
    arrays = {"phi": data.phi, "t1": data.t1, "t2": data.t2, "g2": data.g2}
    if data.sigma is not None:
        arrays["sigma"] = data.sigma
    extra: dict[str, Any] = {"dt": data.dt, "n_frames": data.n_frames}
    if data.q is not None:
        extra["q"] = data.q
    return data.phi, arrays, extra
