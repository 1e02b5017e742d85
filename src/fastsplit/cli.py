"""The ``fastsplit`` command: ``demo``, ``fit``, ``stratify``, ``info``.

The command prints; the library only logs. Progress lines go to stderr so that
stdout holds the report. The benchmark harness is not part of the installed
package: ``make bench`` runs it from a source checkout (``benchmarks/``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._plan import DEFAULT_CHUNK_SIZE
from ._progress import Progress
from ._versions import installed, parse
from .config import STRATEGIES, load_config
from .errors import FastsplitError, FitFailedError
from .xpcs import MODES, XpcsSettings, fit_two_time, load

__all__ = ["main"]

_PACKAGES = (
    "fastsplit",
    "numpy",
    "numba",
    "psutil",
    "pyyaml",
    "jax",
    "jaxlib",
    "nlsq",
    "scipy",
    "h5py",
    "matplotlib",
)


def _quiet_nlsq_logging() -> None:
    # nlsq logs INFO lines through the root logger on every fit; keep the report readable.
    # Import it first: its logging set-up would turn propagation back on.
    if importlib.util.find_spec("nlsq") is not None:
        import nlsq  # noqa: F401
    logger = logging.getLogger("nlsq")
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


# -- info ------------------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    """Versions, backends and memory, without importing the heavy libraries."""
    from . import available_backends

    print(
        f"fastsplit {installed('fastsplit')}  (Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs)"
    )
    print("packages:")
    for name in _PACKAGES[1:]:
        print(f"  {name:<11s} {installed(name)}")
    print("stratify backends:")
    for name, status in available_backends().items():
        print(f"  {name:<11s} {status}")
    nlsq_version = installed("nlsq")
    if nlsq_version != "not installed":
        behaviour = (
            "shuffles all points, then fits chunk by chunk"
            if parse(nlsq_version) >= (0, 7, 2)
            else "fits chunks in input order (group-major data: silent failures)"
        )
        print(f"fit: nlsq {nlsq_version}; its own chunked path {behaviour}")
    else:
        print("fit: nlsq not installed (pip install 'fastsplit[fit]')")
    try:
        import psutil
    except ImportError:
        print("memory: psutil not installed")
    else:
        vm = psutil.virtual_memory()
        print(f"memory: {vm.total / 2**30:.1f} GiB total, {vm.available / 2**30:.1f} GiB available")
    print(f"FASTSPLIT_BACKEND={os.environ.get('FASTSPLIT_BACKEND', '(unset)')}")
    return 0


# -- stratify --------------------------------------------------------------------


def cmd_stratify(args: argparse.Namespace) -> int:
    """Stratify a data file and write the reordered arrays plus order and bounds."""
    import fastsplit

    progress = Progress(not args.quiet)
    data = load(args.data)
    progress(f"read {data.n_points:,} points, {data.angles.size} angles from {args.data}")
    arrays = [data.phi, data.t1, data.t2, data.g2]
    names = ["phi", "t1", "t2", "g2"]
    if data.sigma is not None:
        arrays.append(data.sigma)
        names.append("sigma")
    options: dict[str, Any] = {"chunk_size": DEFAULT_CHUNK_SIZE, "mode": "auto"}
    if args.config:
        options.update(load_config(args.config).stratification.stratify_kwargs())
    if args.chunk_size is not None:
        options["chunk_size"] = args.chunk_size
    s = fastsplit.stratify(data.phi, *arrays, backend=args.backend, layout=args.layout, **options)
    progress(
        f"stratified into {s.n_chunks} chunks ({s.mode} mode) in "
        f"{1e3 * s.diagnostics.seconds:.1f} ms"
    )
    reordered = s.arrays if s.arrays is not None else tuple(s.take(a) for a in arrays)
    out: dict[str, Any] = dict(zip(names, reordered, strict=True))
    out.update(
        order=s.order,
        bounds=s.bounds,
        groups=s.groups,
        counts=s.counts,
        dt=data.dt,
        n_frames=data.n_frames,
    )
    if data.q is not None:
        out["q"] = data.q
    np.savez(args.output, **out)
    print(s.report())
    print(f"wrote {args.output}: {', '.join(sorted(out))}")
    return 0


# -- fit -------------------------------------------------------------------------


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit the XPCS two-time model to a data file with a homodyne-style config."""
    progress = Progress(not args.quiet)
    _quiet_nlsq_logging()
    settings = load_config(args.config)
    xpcs = XpcsSettings.from_config(settings)
    data = load(args.data)
    progress(f"read {data.n_points:,} points, {data.angles.size} angles from {args.data}")
    model = xpcs.model_for(data, q=args.q, dt=args.dt, mode=args.mode)
    result = fit_two_time(
        model,
        data,
        p0=xpcs.p0_for(model),
        bounds=xpcs.bounds_for(model),
        chunk_size=args.chunk_size,
        strategy=args.strategy or "auto",
        config=settings,
        on_failure="warn" if args.warn else None,
        progress=progress,
    )
    print(result.report())
    if args.output:
        _write_json(result, args.output)
        progress(f"wrote {args.output}")
    return 0 if result.success else 1


def _write_json(result: Any, path: str) -> None:
    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        return value

    payload = {
        "strategy": result.strategy,
        "reason": result.reason,
        "success": result.success,
        "params": {k: plain(v) for k, v in result.params.items()},
        "errors": {k: plain(v) for k, v in result.errors.items()},
        "groups": plain(result.groups),
        "cost": result.cost,
        "cost_start": result.cost_start,
        "reduced_chi2": result.reduced_chi2,
        "nfev": result.nfev,
        "problems": result.check.problems,
        "notes": result.check.notes,
        "timings": result.timings.as_dict(),
    }
    Path(path).write_text(json.dumps(payload, indent=1) + "\n")


# -- demo ------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Synthetic XPCS data; nlsq's own chunked path failing; stratify + fit recovering truth."""
    _quiet_nlsq_logging()
    from .xpcs import _demo

    return _demo.run(args, Progress(not args.quiet), print)


_DATA_HELP = "input: .npz (phi, t1, t2, g2) or APS 8-ID-I .h5/.hdf"


def _command(
    sub: Any, name: str, func: Any, summary: str, *, data: bool = False, quiet: bool = True
) -> argparse.ArgumentParser:
    """A subcommand running ``func``: its docstring describes it; ``data`` adds the input file."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=func.__doc__)
    if data:
        p.add_argument("data", help=_DATA_HELP)
    if quiet:
        p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=func)
    return p


def _add_demo(sub: Any) -> None:
    p = _command(
        sub,
        "demo",
        cmd_demo,
        "synthetic XPCS fit: nlsq's chunked path failing, fastsplit recovering the truth",
    )
    p.add_argument("--n-angles", type=_positive_int, default=23, help="angles (default 23)")
    p.add_argument(
        "--n-frames",
        type=_positive_int,
        default=361,
        help="frames per angle; points = angles x frames^2 (default 361: 3.0M points)",
    )
    p.add_argument(
        "--small",
        action="store_true",
        help="a quick run: 5 angles x 80 frames, smaller raw-nlsq case",
    )
    p.add_argument("--mode", choices=MODES, default="static")
    p.add_argument("--chunk-size", type=_positive_int, default=DEFAULT_CHUNK_SIZE)
    p.add_argument("--noise", type=float, default=0.01, help="g2 noise (default 0.01)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--raw-n-frames",
        type=_positive_int,
        default=None,
        help="frames per angle of the raw nlsq case (3 angles; default 80, 60 with --small)",
    )
    p.add_argument(
        "--raw-max-nfev",
        type=_positive_int,
        default=None,
        help="iteration limit per chunk for nlsq's own path (default: nlsq's)",
    )
    p.add_argument("--no-raw", action="store_true", help="skip nlsq's own chunked path")
    p.add_argument("--out", default="fastsplit-demo", help="folder for the PNG figures")
    p.add_argument("--no-plots", action="store_true", help="write no figures")


def _add_fit(sub: Any) -> None:
    p = _command(
        sub,
        "fit",
        cmd_fit,
        "fit the XPCS two-time model to an npz or APS 8-ID-I HDF5 file",
        data=True,
    )
    p.add_argument(
        "--config",
        help="YAML with optimization.stratification/sequential and "
        "fastsplit sections (see docs/fit.md)",
    )
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument("--chunk-size", type=_positive_int, default=None)
    p.add_argument("--mode", choices=MODES, default=None)
    p.add_argument("--q", type=float, default=None, help="wavevector (1/A) if not in the file")
    p.add_argument("--dt", type=float, default=None, help="frame time (s) if not in the file")
    p.add_argument(
        "--warn", action="store_true", help="report failed checks as a warning instead of an error"
    )
    p.add_argument("-o", "--output", help="write parameters, errors and timings as JSON")


def _add_stratify(sub: Any) -> None:
    p = _command(
        sub,
        "stratify",
        cmd_stratify,
        "reorder a data file so every chunk holds every angle; write npz",
        data=True,
    )
    p.add_argument("-o", "--output", required=True, help="output .npz")
    p.add_argument(
        "--config", help="YAML whose optimization.stratification gives chunk size and mode"
    )
    p.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=None,
        help="points per chunk (default: the config's target_chunk_size, "
        f"else {DEFAULT_CHUNK_SIZE})",
    )
    p.add_argument("--backend", default="auto")
    p.add_argument("--layout", choices=("strided", "contiguous"), default="strided")


def cmd_bench(args: argparse.Namespace) -> int:
    """The benchmark harness is not installed with fastsplit; it lives in a source checkout."""
    print(
        "fastsplit: error: the benchmark harness is not installed with fastsplit; "
        "run `make bench` from a source checkout (see docs/benchmarks.md)",
        file=sys.stderr,
    )
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastsplit",
        description="Stratified chunking of grouped data, and chunked fits that never fail "
        "silently.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(sub)
    _add_fit(sub)
    _add_stratify(sub)
    _command(sub, "info", cmd_info, "versions, backends, memory", quiet=False)
    # Kept so that `fastsplit bench [options]` says where the harness went.
    _command(sub, "bench", cmd_bench, "moved: run `make bench` from a source checkout", quiet=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastsplit`` command. Returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "bench":  # bench ignores the options of the old harness
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help()
        return 2
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except FitFailedError as exc:
        print(f"fastsplit: fit failed: {exc}", file=sys.stderr)
        return 1
    except FastsplitError as exc:
        print(f"fastsplit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
