"""What each ``fastsplit`` subcommand does. The parser is in ``_parser``; files in ``_outputs``.

Every command checks its outputs before it works, writes them whole or not at
all, prints its report to stdout and its progress lines to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import Progress
from .._versions import installed, parse
from ..config import load_config
from ..errors import BackendUnavailableError, FitFailedError, InvalidArgumentError
from ..xpcs import XpcsSettings, fit_two_time, load
from ..xpcs._fitting import robust_options
from ._outputs import Outputs, write_atomic, write_together
from ._stratify import cmd_stratify

__all__ = [
    "cmd_bench",
    "cmd_demo",
    "cmd_fit",
    "cmd_info",
    "cmd_stratify",
    "cmd_warmup",
]

PACKAGES = (
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


def _load_nlsq(progress: Progress) -> None:
    """Import nlsq, JAX and numba once, announced; keep nlsq's per-fit INFO lines out of the
    report. numba's start-up is done here too, so that the fit's compile time is compiling."""
    if importlib.util.find_spec("nlsq") is None:
        raise BackendUnavailableError(
            "fitting needs nlsq and JAX; install them with `pip install 'fastsplit[fit]'`."
        )
    from ..backends import resolve

    numba = resolve("auto") == "numba"
    with progress.phase(f"loading nlsq, JAX{' and numba' if numba else ''}"):
        import nlsq  # noqa: F401  (its logging set-up would turn propagation back on)

        if numba:
            from ..backends import _jit

            _jit.start_up()
    logger = logging.getLogger("nlsq")
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def _need_matplotlib(option: str) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise BackendUnavailableError(
            f"{option} needs matplotlib; install it with `pip install 'fastsplit[plot]'`, "
            "or pass --no-figure."
        )


def _save_figure(path: Path, fig: Any) -> None:
    write_atomic(path, lambda handle: fig.savefig(handle, format="png", dpi=110))


# -- info ------------------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    """Versions, backends and memory, without importing the heavy libraries."""
    from .. import available_backends

    print(
        f"fastsplit {installed('fastsplit')}  (Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs)"
    )
    print("packages:")
    for name in PACKAGES:
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
    if available_backends().get("numba") == "available":
        from ..backends import _cold

        print(f"numba kernels: {_cold.status()}")
    print(f"JAX compilation cache for fits: {_planned_cache()}")
    return 0


def _planned_cache() -> str:
    """Where fits will keep compiled passes (without importing JAX)."""
    from .._fit import _compile_cache

    if _compile_cache.switched_off():
        return "not configured by fastsplit (FASTSPLIT_JAX_CACHE is off)"
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return f"{os.environ['JAX_COMPILATION_CACHE_DIR']} (JAX_COMPILATION_CACHE_DIR, kept)"
    return f"{_compile_cache.default_directory()} (FASTSPLIT_JAX_CACHE=0 turns it off)"


# -- warmup ----------------------------------------------------------------------


def cmd_warmup(args: argparse.Namespace) -> int:
    """Compile (or load from the on-disk cache) the stratify kernels, and say how long it took."""
    import fastsplit

    from ..backends import resolve

    progress = Progress(not args.quiet)
    name = resolve(args.backend)
    start = time.perf_counter()
    with progress.phase(f"compiling or loading the {name} kernels"):
        fastsplit.warmup(args.backend)
    seconds = time.perf_counter() - start
    cache = os.environ.get("FASTSPLIT_NUMBA_CACHE", "1").strip().lower()
    where = (
        "the on-disk cache is off (FASTSPLIT_NUMBA_CACHE), so every process compiles"
        if cache in ("0", "false", "no", "off")
        else "kept in numba's on-disk cache for later processes where it is writable"
    )
    print(f"fastsplit warmup: {name} kernels ready in {seconds:.2f} s ({where})")
    if args.fit is not None:
        _warm_fits(args.fit or ["static", "laminar_flow"], args.backend, progress)
    return 0


def _warm_fits(modes: list[str], backend: str, progress: Progress) -> None:
    """Compile the XPCS fit passes into JAX's on-disk cache, and say where it is."""
    from .._fit import _compile_cache
    from .._fit._warmup import model_entries, warm_models

    _load_nlsq(progress)
    for mode in dict.fromkeys(modes):
        with progress.phase(f"compiling the {mode} fit passes"):
            (warmed,) = warm_models(model_entries(mode), backend)
        print(
            f"fastsplit warmup: {warmed.name} in {warmed.seconds:.2f} s "
            f"({warmed.compile_seconds:.2f} s of it JAX compiling or reading its cache)"
        )
    setting = _compile_cache.setting()
    if setting is not None:
        print(f"JAX compilation cache: {_cache_line(setting)}")


def _cache_line(setting: Any) -> str:
    from .._fit import _compile_cache

    if setting.source == "fastsplit":
        return f"{setting.directory} (FASTSPLIT_JAX_CACHE=0 turns it off)"
    if setting.source == "user":
        return f"{setting.directory} (your JAX setting, kept)"
    if setting.source == "unwritable":
        return f"off: {_compile_cache.default_directory()} cannot be written"
    return f"{setting.directory or 'none'} (FASTSPLIT_JAX_CACHE is off)"


# -- fit -------------------------------------------------------------------------


def _fit_outputs(args: argparse.Namespace, outputs: Outputs) -> tuple[Path, Path | None]:
    """The record (default ``<data name>_fit.json`` here) and the figure (beside it, ``.png``)."""
    name = args.output or f"{Path(args.data).stem}_fit.json"
    record = outputs.reserve(name, "-o/--output")
    if args.no_figure:
        return record, None
    figure = args.figure or (record.with_suffix(".png") if record.suffix != ".png" else None)
    if figure is None:
        raise InvalidArgumentError(
            f"-o/--output {str(record)!r} ends in .png, the figure's name; give the record "
            "another name (fit.json) or the figure one with --figure."
        )
    _need_matplotlib("the fit figure")
    return record, outputs.reserve(figure, "--figure")


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit the XPCS two-time model to a data file with a fastsplit or homodyne config."""
    from ..xpcs._record import fit_record, to_json

    progress = Progress(not args.quiet)
    settings = load_config(args.config)
    xpcs = XpcsSettings.from_config(settings)
    robust_options(loss=xpcs.loss, f_scale=xpcs.f_scale)  # a loss it cannot apply: refused now
    outputs = Outputs(force=args.force, inputs=[args.data, args.config])
    record_path, figure_path = _fit_outputs(args, outputs)
    with progress.phase(f"reading {args.data}"):
        data = load(args.data, **xpcs.read_options(q=args.q, dt=args.dt))
    model = xpcs.model_for(data, q=args.q, mode=args.mode)
    print(_data_summary(data, model))
    _load_nlsq(progress)
    fit_options = {
        **xpcs.fit_options(),
        "chunk_size": args.chunk_size,
        "strategy": args.strategy or "auto",
    }
    if args.errors is not None:
        fit_options["errors"] = args.errors
    if args.block_frames is not None:
        fit_options["block_frames"] = args.block_frames
    failure: FitFailedError | None = None
    phase = f"fitting {data.n_points:,} points (a first fit also compiles the model with JAX)"
    try:
        with progress.phase(phase):
            result = fit_two_time(
                model,
                data,
                p0=xpcs.p0_for(model),
                bounds=xpcs.bounds_for(model),
                config=settings,
                on_failure="warn" if args.warn else None,
                progress=progress,
                **fit_options,
            )
    except FitFailedError as exc:
        result = getattr(exc, "result", None)
        if result is None:
            raise
        failure = exc
    print(result.report())  # says so when sigma was taken as 1
    config = {
        "source": settings.source,
        "stratification": settings.stratification,
        "sequential": settings.sequential,
        "fit": settings.fit,
        "xpcs": xpcs.as_dict(),
    }
    record = fit_record(result, model=model, data=data, config=config, fit_options=fit_options)
    # The figure is drawn before anything is written, and the record and the figure are
    # written together or not at all: Ctrl-C (or a failure) while drawing or writing
    # leaves neither, so "no partial output was left" is true and a rerun needs no --force.
    files: dict[Path, bytes] = {record_path: to_json(record)}
    if figure_path is not None:
        with progress.phase(f"drawing {figure_path}"):
            files[figure_path] = _draw_fit(data, model, result)
    write_together(files)
    for path in files:
        print(f"wrote {path}")
    if failure is not None:
        raise failure
    return 0 if result.success else 1


def _draw_fit(data: Any, model: Any, result: Any) -> bytes:
    """The fit figure as PNG bytes (nothing is written here)."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..xpcs._fit_figure import fit_figure

    fig = fit_figure(plt, data, model, result)
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        return buffer.getvalue()
    finally:
        plt.close(fig)


def _data_summary(data: Any, model: Any) -> str:
    """One line: what was read (file, layout, points, angles, q, step, frames)."""
    meta = data.meta
    step = f"dt {model.dt:g} s"
    if meta.get("frame_time") is not None:
        step += (
            f" (frame_time {meta['frame_time']:g} s x stride {meta['stride_frame']} x "
            f"avg {meta['avg_frame']})"
        )
    requested = meta.get("q_requested")
    q = f"q {model.q:.6g} 1/A" + (
        f" (bin nearest the requested {requested:g})" if requested else ""
    )
    frames = meta.get("frames")
    window = f", frames {frames[0]}..{frames[1] - 1}" if frames else ""
    return (
        f"data: {data.source} ({meta.get('layout', meta.get('format', 'npz'))}): "
        f"{data.n_points:,} points, {data.angles.size} angles "
        f"{np.round(data.angles, 2).tolist()} deg, {q}, {step}, {model.n_frames} frames{window}"
    )


# -- demo ------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Synthetic XPCS data; nlsq's own chunked path failing; stratify + fit recovering truth."""
    from ..xpcs import _demo
    from ..xpcs._figures import FIGURES

    progress = Progress(not args.quiet)
    paths: dict[str, Path] = {}
    if not args.no_plots:
        if importlib.util.find_spec("matplotlib") is None:
            raise BackendUnavailableError(
                "the demo's figures need matplotlib; install it with "
                "`pip install 'fastsplit[plot]'`, or pass --no-plots."
            )
        names = FIGURES if not args.no_raw else FIGURES[:2]
        outputs = Outputs(force=args.force, inputs=[])
        paths = {p.name: p for p in outputs.reserve_folder(args.out, names, "--out")}
    _load_nlsq(progress)

    def save(fig: Any, path: Path) -> None:
        if path.name not in paths:
            raise InvalidArgumentError(f"the demo drew {path}, which was not checked first.")
        _save_figure(paths[path.name], fig)

    return _demo.run(args, progress, print, save)


def cmd_bench(args: argparse.Namespace) -> int:
    """The benchmark harness is not installed with fastsplit; it lives in a source checkout."""
    raise InvalidArgumentError(
        "the benchmark harness is not installed with fastsplit; run `make bench` from a "
        "source checkout (see docs/benchmarks.md)"
    )
