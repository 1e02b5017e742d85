"""``fastsplit demo``: the README's main job, end to end on synthetic XPCS data.

1. Synthetic two-time data in detector (angle-major) order with known truth.
2. nlsq's own chunked large-dataset path on angle-major data, as a user would
   run it (``curve_fit_large`` with a start and no bounds), judged by
   fastsplit's full-data checks (0.6.x fits the chunks in order and reports
   success with wrong per-angle values; 0.7.2+ shuffles), next to
   ``fastsplit.fit`` on the same data.
3. ``fastsplit.fit``: stratify + exact chunked normal equations, compared
   with the truth, with timings and the stratify / fit overhead ratio.
4. PNG figures (:mod:`fastsplit.xpcs._figures`).

The report goes to ``echo`` (the command passes ``print``); progress lines go to
the :class:`~fastsplit._progress.Progress` the command passes.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import Progress
from .._versions import installed
from ._figures import Save
from ._fitting import fit_two_time
from ._synthetic import SyntheticXPCS, synthesize

__all__ = ["run"]

Echo = Callable[[str], None]
RAW_FRAMES = 80  # frames per angle of the raw nlsq case (3 angles)
RAW_FRAMES_SMALL = 30
_RULE = "-" * 72
_Z = 5  # standard errors between fit and truth that still count as recovered


def run(args: argparse.Namespace, progress: Progress, echo: Echo, save: Save | None = None) -> int:
    """Run the demo with the options of ``fastsplit demo``; 0 when the fit recovered the truth.

    ``save(figure, path)`` writes each figure (default: matplotlib's savefig).
    """
    import fastsplit

    n_angles, n_frames = args.n_angles, args.n_frames
    chunk_size = args.chunk_size
    backend = args.backend or "auto"
    if args.small:
        n_angles, n_frames = min(n_angles, 5), min(n_frames, 80)
        chunk_size = min(chunk_size, 8_000)
        # A quick run: the numpy oracle stratifies 32,000 points in a millisecond and
        # compiles nothing (a cold numba cache costs seconds here).
        backend = args.backend or "numpy"
    echo("=" * 72)
    echo(
        f"fastsplit demo: fastsplit {fastsplit.__version__}, nlsq {installed('nlsq')}, "
        f"jax {installed('jax')}, {os.cpu_count()} CPUs"
    )
    echo("=" * 72)
    with progress.phase(f"generating {n_angles} angles x {n_frames}^2 frames, mode {args.mode}"):
        data = synthesize(n_angles, n_frames, mode=args.mode, noise=args.noise, seed=args.seed)
    progress(f"{data.n_points:,} points, angle-major (all of angle 0, then angle 1, ...)")

    raw = None if args.no_raw else _raw_case(args, progress, echo, backend)

    model = data.model
    echo(_RULE)
    echo(
        f"2. fastsplit.fit on {data.n_points:,} points, {n_angles} angles, "
        f"{len(model.shared_names)} shared + {2 * n_angles} per-angle parameters"
    )
    echo(_RULE)
    with progress.phase(f"fastsplit.fit on {data.n_points:,} points (compilation included)"):
        result = fit_two_time(
            model,
            data,
            p0=model.rough_p0(),
            chunk_size=chunk_size,
            backend=backend,
            on_failure="warn",
            progress=progress,
        )
    if result.diagnostics is not None:
        echo(result.diagnostics.report())
    echo(result.report())
    echo("truth comparison:")
    for line in _truth_table(result, data):
        echo(line)
    t = result.timings
    what = (
        f"gather, compile, {result.info['iterations']} LM iterations, checks"
        if "iterations" in result.info
        else "gather, compile, optimiser, checks"
    )
    compile_seconds = getattr(result.diagnostics, "compile_seconds", None) or 0.0
    compiled = (
        f" (+ {compile_seconds:.2f} s compiling the stratify kernels, first call only)"
        if compile_seconds
        else ""
    )
    echo(
        f"timings: stratify {1e3 * t.stratify:.2f} ms{compiled}, fit {t.fit:.2f} s ({what}); "
        f"overhead ratio stratify/fit = {100 * t.ratio:.3f} %"
    )
    within = all(
        np.all(
            np.abs(np.asarray(result.params[name]) - data.truth[name])
            <= _Z * np.asarray(result.errors[name])
        )
        for name in model.parameter_names
    )
    echo(f"truth recovered within {_Z} standard errors: {'yes' if within else 'NO'}")
    if not args.no_plots:
        if importlib.util.find_spec("matplotlib") is None:
            progress("matplotlib is not installed: no figures (pip install 'fastsplit[plot]')")
        else:
            from ._figures import write_figures

            plan = fastsplit.plan(data.phi, chunk_size=result.info["chunk_size"], backend=backend)
            with progress.phase("drawing the figures"):
                write_figures(Path(args.out), data, result, plan, raw, progress, save)
    return 0 if (result.success and within) else 1


def _truth_table(result: Any, data: SyntheticXPCS) -> list[str]:
    """Shared parameters one per line; per-angle ones as their worst ``|fit - truth| / error``."""
    truth = data.truth
    lines = [f"  {'parameter':<20s} {'fit':>14s} {'+- error':>11s} {'truth':>12s} {'z':>7s}"]
    for name in data.model.shared_names:
        value, err, true = result.params[name], result.errors[name], truth[name]
        z = (value - true) / err if err and np.isfinite(err) else float("nan")
        lines.append(f"  {name:<20s} {value:>14.6g} {err:>11.3g} {true:>12.6g} {z:>7.2f}")
    for name in data.model.per_group_names:
        z = (np.asarray(result.params[name]) - truth[name]) / np.asarray(result.errors[name])
        worst = float(np.nanmax(np.abs(z)))
        lines.append(
            f"  {name + '[*]':<20s} {len(z)} angles, max |fit - truth| / error = {worst:.2f}"
        )
    return lines


def _raw_case(
    args: argparse.Namespace, progress: Progress, echo: Echo, backend: str
) -> tuple[Any, Any, SyntheticXPCS]:
    """nlsq's own chunked path on 3 angles, one angle's points per chunk, next to fastsplit's.

    Both start from the same rough guess without bounds: what a user passes to
    ``curve_fit_large``. (With bounds nlsq 0.6.x fails too, only slower: it
    spends tens of seconds in its bounded trust region.)
    """
    from .._fit import nlsq_chunked_baseline

    frames = args.raw_n_frames or (RAW_FRAMES_SMALL if args.small else RAW_FRAMES)
    raw_data = synthesize(3, frames, mode="static", noise=args.noise, seed=args.seed)
    per_angle = raw_data.n_points // 3
    model = raw_data.model
    p0 = model.rough_p0()
    with progress.phase(
        f"raw case: nlsq's own chunked path on {raw_data.n_points:,} angle-major points "
        f"(3 angles), chunk_size {per_angle:,} = one angle's points"
    ):
        raw = fit_two_time(
            model,
            raw_data,
            p0=p0,
            bounds={},
            fitter=nlsq_chunked_baseline,
            chunk_size=per_angle,
            max_nfev=args.raw_max_nfev,
        )
    with progress.phase("raw case: fastsplit.fit on the same points"):
        fixed = fit_two_time(
            model,
            raw_data,
            p0=p0,
            bounds={},
            chunk_size=per_angle,
            backend=backend,
            on_failure="warn",
        )
    echo(_RULE)
    echo(f"1. nlsq {installed('nlsq')} own chunked path (LargeDatasetFitter) on angle-major data")
    echo(_RULE)
    echo(
        "   nlsq "
        + (
            "shuffles all points before chunking (>= 0.7.2)"
            if raw.info.get("shuffles")
            else "fits the chunks in input order, each starting from the previous one"
        )
    )
    echo(
        f"   nlsq says: success={raw.info.get('success')}  message={raw.message!r}  "
        f"({raw.info.get('seconds', 0.0):.1f} s)"
    )
    echo(
        f"   {'angle':>9s} {'truth c':>9s} {'nlsq c':>9s} {'fastsplit c':>12s}"
        f" {'truth o':>9s} {'nlsq o':>9s} {'fastsplit o':>12s}"
    )
    for g, a in enumerate(raw_data.angles):
        echo(
            f"   {a:9.3f} {raw_data.truth['contrast'][g]:9.4f} {raw.params['contrast'][g]:9.4g}"
            f" {fixed.params['contrast'][g]:12.4f} {raw_data.truth['offset'][g]:9.4f}"
            f" {raw.params['offset'][g]:9.4g} {fixed.params['offset'][g]:12.4f}"
        )
    echo(
        f"   fastsplit's full-data check of nlsq's answer {'passes' if raw.check.ok else 'FAILS'}:"
    )
    for problem in raw.check.problems or ["no problem found"]:
        echo(f"     - {problem}")
    echo(
        f"   fastsplit.fit on the same data: {'OK' if fixed.success else 'NOT TRUSTED'}, "
        f"strategy {fixed.strategy}, full-data cost {fixed.cost:.6g} vs nlsq's "
        f"{raw.cost:.6g} (start {raw.cost_start:.6g})"
    )
    return raw, fixed, raw_data
