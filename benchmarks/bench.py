"""Side-by-side comparison: fastsplit against the floor and the approaches it replaces.

Run from the repository root (``make bench`` runs it with ``--all-targets``)::

    python -m benchmarks.bench [--sizes 3e6 23046023] [--groups 23] [--repeat 9]
                               [--all-targets | --targets first-call fit ...]

At each size it times, in one process, on the same angle-major data (4 float64
arrays, like phi, t1, t2, g2), every method of :mod:`benchmarks.methods`,
interleaved (:mod:`benchmarks.harness`); the table gives medians and minimums,
each method's ratio to the floor (the plain copy), points/s, GB/s and the extra
peak memory of one call. The targets of ``docs/benchmarks.md`` follow, each
MET or MISSED with its figure: those of the side-by-side runs at every size,
then (``--all-targets``, or a subset with ``--targets``) the first call in a
fresh interpreter, the fixed cost per call and the scaling exponent, 360 vs 3
groups, ``import fastsplit``, and the fit figures (``fastsplit.fit`` through
``fastsplit.xpcs.fit_two_time``, against nlsq's ``curve_fit``).

The report goes to stdout, progress lines to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import fastsplit
from fastsplit._plan import DEFAULT_CHUNK_SIZE
from fastsplit._progress import Progress

from .data import make_data
from .harness import machine_info, peak_memory, time_interleaved
from .methods import METHODS, build_methods
from .report import format_table, json_default, save_png
from .targets import (
    DEFAULT_GROUPS,
    DEFAULT_N,
    DEFAULT_REPEAT,
    DEFAULT_SIZES,
    EXTRA,
    SCALING_N,
    Target,
    comparison_targets,
    extra_targets,
)

__all__ = ["compare", "main"]

SLOW_METHODS_ABOVE = 10_000_000
"""Above this size the numpy oracle (65 bytes/point, O(n log n)) is left out unless named."""


def compare(
    n: int = DEFAULT_N,
    n_groups: int = DEFAULT_GROUPS,
    *,
    repeat: int = DEFAULT_REPEAT,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    names: Sequence[str] = METHODS,
    seed: int = 0,
    progress: Progress | Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time and measure every method on one data set; return a JSON-ready report.

    Returns
    -------
    dict
        ``config``, ``machine``, ``methods`` (per method: times, median, min,
        points/s, GB/s, peak memory), ``ratios`` (median time / floor median
        time), ``ratios_min`` (min / min) and ``targets``.
    """
    progress = Progress.of(progress)
    if "plain_copy" not in names:
        names = ["plain_copy", *names]
    labels, arrays = make_data(n, n_groups, seed=seed)
    data_bytes = sum(a.nbytes for a in arrays)
    methods = build_methods(labels, arrays, chunk_size, names=names)
    progress(
        f"n={n:,}, groups={n_groups}, chunk_size={chunk_size:,}, repeat={repeat}: "
        f"warm-up (JIT compile) and {len(methods)} methods"
    )
    results = time_interleaved(methods, repeat, progress=progress)
    progress("peak memory (tracemalloc)")
    for m in methods:
        results[m.name].peak_bytes, results[m.name].retained_bytes = peak_memory(m.call)
    floor = results["plain_copy"]
    per_method = {}
    for name, res in results.items():
        per_method[name] = {
            "label": res.label,
            "times_s": res.times_s,
            "median_s": res.median_s,
            "min_s": res.min_s,
            "points_per_s": n / res.median_s,
            "gb_per_s": data_bytes / res.median_s / 1e9,
            "peak_bytes": res.peak_bytes,
            "peak_bytes_per_point": res.peak_bytes / max(n, 1),
            "retained_bytes": res.retained_bytes,
        }
    return {
        "fastsplit_version": fastsplit.__version__,
        "config": {
            "n": n,
            "groups": n_groups,
            "chunk_size": chunk_size,
            "repeat": repeat,
            "n_arrays": len(arrays),
            "dtype": str(arrays[0].dtype),
            "data_bytes": data_bytes,
            "seed": seed,
            "input": "angle-major",
        },
        "machine": machine_info(),
        "memory_method": "tracemalloc (numpy allocations; numba-internal scratch not seen)",
        "methods": per_method,
        "ratios": {k: results[k].median_s / floor.median_s for k in results},
        "ratios_min": {k: results[k].min_s / floor.min_s for k in results},
        "targets": [asdict(t) for t in comparison_targets(results, n, n_groups, chunk_size)],
    }


def _positive_int(text: str) -> int:
    value = int(float(text))  # accept 3e6
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the comparison."""
    parser.add_argument(
        "--sizes",
        type=_positive_int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        metavar="N",
        help="numbers of points, one side-by-side run each (default 3e6 and 23046023, "
        "the real size: 23 x 1001 x 1001)",
    )
    parser.add_argument("--n", type=_positive_int, help="one size only (same as --sizes N)")
    parser.add_argument(
        "--groups",
        type=_positive_int,
        default=DEFAULT_GROUPS,
        help="number of groups (angles), default 23",
    )
    parser.add_argument(
        "--repeat",
        type=_positive_int,
        default=DEFAULT_REPEAT,
        help=f"timed rounds, interleaved across methods (default {DEFAULT_REPEAT}; "
        "halved above 10M points)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=DEFAULT_CHUNK_SIZE,
        help="chunk_size passed to every stratifier (default 100000)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        metavar="METHOD",
        help=f"subset of: {', '.join(METHODS)} (default: all; above 10M points all but numpy_copy)",
    )
    parser.add_argument(
        "--all-targets", action="store_true", help=f"also measure every one of: {', '.join(EXTRA)}"
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=EXTRA,
        default=[],
        metavar="TARGET",
        help=f"also measure these (any of: {', '.join(EXTRA)})",
    )
    parser.add_argument(
        "--scaling-n",
        type=_positive_int,
        nargs="+",
        default=list(SCALING_N),
        metavar="N",
        help="sizes for the scaling exponent (default 1e5 .. 3e7)",
    )
    parser.add_argument(
        "--fit-frames",
        type=_positive_int,
        default=101,
        metavar="F",
        help="frames per angle of the fit comparisons (23 x F^2 points; default 101 = "
        "234,623 points: nlsq's curve_fit takes minutes at 361 = 3M)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    parser.add_argument(
        "--png",
        metavar="PATH",
        help="write a bar chart per size (needs matplotlib; PATH gets _<size> before "
        "its suffix when there are several sizes)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _methods_for(n: int, chosen: Sequence[str] | None) -> list[str]:
    if chosen:
        return list(chosen)
    if n > SLOW_METHODS_ABOVE:
        return [m for m in METHODS if m != "numpy_copy"]
    return list(METHODS)


def _png_path(path: str, n: int, several: bool) -> Path:
    p = Path(path)
    return p.with_name(f"{p.stem}_{n / 1e6:.3g}M{p.suffix}") if several else p


def run(args: argparse.Namespace) -> int:
    """Run the comparison described by parsed ``args``; print the report. Returns 0."""
    progress = Progress(not args.quiet)
    if fastsplit.available_backends().get("numba") != "available":
        print("the benchmark needs numba (pip install numba)", file=sys.stderr)
        return 1
    sizes = [args.n] if args.n else args.sizes
    runs = []
    targets: list[Target] = []
    for n in sizes:
        repeat = args.repeat if n <= SLOW_METHODS_ABOVE else max(3, args.repeat // 2)
        report = compare(
            n,
            args.groups,
            repeat=repeat,
            chunk_size=args.chunk_size,
            names=_methods_for(n, args.methods),
            progress=progress,
        )
        runs.append(report)
        targets += [Target(**t) for t in report["targets"]]
        print(format_table(report))
        print()
        if args.png:
            path = _png_path(args.png, n, len(sizes) > 1)
            save_png(report, path)
            progress(f"wrote {path}")
    extra: dict[str, Any] = {}
    which = list(EXTRA) if args.all_targets else args.targets
    if which:
        extra, more = extra_targets(
            which,
            n=sizes[0],
            repeat=max(3, args.repeat // 2),
            chunk_size=args.chunk_size,
            scaling_ns=args.scaling_n,
            fit_frames=args.fit_frames,
            progress=progress,
        )
        targets += more
    print("targets (docs/benchmarks.md):")
    for t in targets:
        print("  " + t.line())
    if args.json:
        document = {"runs": runs, "extra": extra, "targets": [asdict(t) for t in targets]}
        Path(args.json).write_text(json.dumps(document, indent=1, default=json_default) + "\n")
        progress(f"wrote {args.json}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.bench``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
