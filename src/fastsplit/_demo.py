"""``fastsplit demo``: the README's main job, end to end on synthetic XPCS data.

1. Synthetic two-time data in detector (angle-major) order with known truth.
2. nlsq's own chunked large-dataset path on angle-major data, as a user would
   run it, judged by fastsplit's full-data checks (0.6.x fits the chunks in
   order and reports success with wrong per-angle values; 0.7.2+ shuffles).
3. ``fastsplit.fit``: stratify + exact chunked normal equations, compared
   with the truth, with timings and the stratify / fit overhead ratio.
4. PNG figures: chunk x angle composition (input order vs stratified), data vs
   fit for a few angles, per-angle contrast for the raw and fastsplit fits.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

PER_GROUP = ("contrast", "offset")


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _start_point(model: Any) -> dict[str, Any]:
    """A start away from the truth, as a user's rough guess would be."""
    p0 = model.default_p0()
    p0.update(D0=1.0e4, alpha=-0.8, D_offset=500.0)
    if model.mode == "laminar_flow":
        p0.update(gamma_dot_t0=1e-3, beta=0.0, gamma_dot_t_offset=0.0, phi0=0.0)
    return p0


def _truth_table(result: Any, truth: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    lines = [f"  {'parameter':<20s} {'fit':>14s} {'+- error':>11s} {'truth':>12s} {'z':>7s}"]
    for name in names:
        value, err, true = result.params[name], result.errors[name], truth[name]
        z = (value - true) / err if err and np.isfinite(err) else float("nan")
        lines.append(f"  {name:<20s} {value:>14.6g} {err:>11.3g} {true:>12.6g} {z:>7.2f}")
    for name in PER_GROUP:
        z = (np.asarray(result.params[name]) - truth[name]) / np.asarray(result.errors[name])
        worst = float(np.nanmax(np.abs(z)))
        lines.append(
            f"  {name + '[*]':<20s} {len(z)} angles, max |fit - truth| / error = {worst:.2f}"
        )
    return lines


def _composition(codes: np.ndarray, bounds: np.ndarray, n_groups: int) -> np.ndarray:
    k = bounds.shape[0] - 1
    out = np.zeros((k, n_groups), dtype=np.int64)
    for i in range(k):
        out[i] = np.bincount(codes[bounds[i] : bounds[i + 1]], minlength=n_groups)
    return out


def _figures(
    out: Path,
    data: Any,
    result: Any,
    plan: Any,
    raw: tuple[Any, Any] | None,
    chunk_size: int,
    progress: Callable[[str], None],
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []
    angles = data.angles
    codes_in = np.searchsorted(angles, data.phi)
    n = data.n_points
    k = plan.n_chunks
    even = np.linspace(0, n, k + 1).round().astype(np.int64)
    before = _composition(codes_in, even, angles.size)
    after = plan.counts_matrix
    share = data.counts() / k
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True, sharey=True)
    for ax, matrix, title in (
        (axes[0], before, "input order (angle-major): what a plain chunker sees"),
        (axes[1], after, "fastsplit.stratify: every chunk holds every angle"),
    ):
        ratio = np.where(matrix > 0, matrix / share[None, :], np.nan)
        image = ax.imshow(
            ratio.T,
            aspect="auto",
            cmap="viridis",
            vmin=0,
            vmax=2,
            interpolation="nearest",
            origin="lower",
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"chunk ({k} chunks of <= {chunk_size:,} points)")
    axes[0].set_ylabel("angle index")
    fig.colorbar(image, ax=axes, label="points / even share (white: absent)")
    path = out / "composition.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    # Data vs fit along the first row (t1 = 0) of a few angles.
    model = data.model
    picks = np.unique(np.linspace(0, angles.size - 1, min(4, angles.size)).round().astype(int))
    fig, axes = plt.subplots(
        1, len(picks), figsize=(3.6 * len(picks), 3.4), constrained_layout=True, squeeze=False
    )
    for ax, g in zip(axes[0], picks, strict=True):
        sel = (data.phi == angles[g]) & (data.t1 == 0.0) & (data.t2 > 0)
        t2 = data.t2[sel]
        params = {name: result.params[name] for name in model.shared_names}
        params.update({name: result.params[name][g] for name in PER_GROUP})
        fitted = model((data.phi[sel], data.t1[sel], t2), **params)
        ax.plot(t2, data.g2[sel], ".", ms=3, color="0.55", label="data")
        ax.plot(t2, fitted, "-", color="C3", lw=1.5, label="fastsplit.fit")
        ax.set_xscale("log")
        ax.set_title(f"phi = {angles[g]:.2f} deg", fontsize=10)
        ax.set_xlabel("t2 - t1 (s), t1 = 0")
    axes[0][0].set_ylabel("g2")
    axes[0][0].legend(fontsize=8)
    path = out / "data_vs_fit.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    if raw is not None:
        raw_result, raw_data = raw
        fig, ax = plt.subplots(figsize=(6.5, 3.8), constrained_layout=True)
        idx = np.arange(raw_data.angles.size)
        ax.plot(idx, raw_data.truth["contrast"], "o", color="k", label="truth")
        ax.plot(
            idx + 0.1,
            raw_result.params["contrast"],
            "s",
            color="C3",
            label=f"nlsq {_version('nlsq')} chunked path ({raw_result.message[:40]})",
        )
        ax.set_xticks(idx, [f"{a:.1f}" for a in raw_data.angles])
        ax.set_xlabel("angle (deg)")
        ax.set_ylabel("contrast")
        ax.set_title("per-angle contrast on angle-major data", fontsize=10)
        ax.legend(fontsize=8)
        path = out / "raw_nlsq_chunked.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    for p in written:
        progress(f"wrote {p}")
    return written


def _raw_case(args: argparse.Namespace, progress: Callable[[str], None]) -> tuple[Any, Any]:
    from ._fit import fit, nlsq_chunked_baseline
    from .xpcs import synthesize

    frames = args.raw_n_frames or (60 if args.small else 80)
    raw_data = synthesize(3, frames, mode="static", noise=args.noise, seed=args.seed)
    per_angle = raw_data.n_points // 3
    model = raw_data.model
    p0 = _start_point(model)
    progress(
        f"raw case: nlsq's own chunked path on {raw_data.n_points:,} angle-major points "
        f"(3 angles), chunk_size {per_angle:,} = one angle's points"
    )
    raw = nlsq_chunked_baseline(
        model,
        raw_data.x,
        raw_data.g2,
        groups=raw_data.phi,
        p0=p0,
        per_group=PER_GROUP,
        sigma=raw_data.sigma,
        bounds=model.default_bounds(),
        chunk_size=per_angle,
        max_nfev=args.raw_max_nfev,
    )
    fixed = fit(
        model,
        raw_data.x,
        raw_data.g2,
        groups=raw_data.phi,
        p0=p0,
        per_group=PER_GROUP,
        sigma=raw_data.sigma,
        bounds=model.default_bounds(),
        chunk_size=per_angle,
        on_failure="warn",
    )
    shuffles = raw.info.get("shuffles")
    print("-" * 72)
    print(f"1. nlsq {_version('nlsq')} own chunked path (LargeDatasetFitter) on angle-major data")
    print("-" * 72)
    print(
        "   nlsq "
        + (
            "shuffles all points before chunking (>= 0.7.2)"
            if shuffles
            else "fits the chunks in input order, each starting from the previous one"
        )
    )
    print(
        f"   nlsq says: success={raw.info.get('success')}  message={raw.message!r}  "
        f"({raw.info.get('seconds', 0.0):.1f} s)"
    )
    print(
        f"   {'angle':>9s} {'truth c':>9s} {'nlsq c':>9s} {'fastsplit c':>12s}"
        f" {'truth o':>9s} {'nlsq o':>9s} {'fastsplit o':>12s}"
    )
    for g, a in enumerate(raw_data.angles):
        print(
            f"   {a:9.3f} {raw_data.truth['contrast'][g]:9.4f} {raw.params['contrast'][g]:9.4f}"
            f" {fixed.params['contrast'][g]:12.4f} {raw_data.truth['offset'][g]:9.4f}"
            f" {raw.params['offset'][g]:9.4f} {fixed.params['offset'][g]:12.4f}"
        )
    verdict = "passes" if raw.check.ok else "FAILS"
    print(f"   fastsplit's full-data check of nlsq's answer {verdict}:")
    for problem in raw.check.problems or ["no problem found"]:
        print(f"     - {problem}")
    print(
        f"   fastsplit.fit on the same data: {'OK' if fixed.success else 'NOT TRUSTED'}, "
        f"strategy {fixed.strategy}, full-data cost {fixed.cost:.6g} vs nlsq's "
        f"{raw.cost:.6g} (start {raw.cost_start:.6g})"
    )
    return raw, raw_data


def run(args: argparse.Namespace, progress: Callable[[str], None]) -> int:
    """Run the demo; returns 0 when fastsplit.fit recovered the truth."""
    import fastsplit

    from ._fit import fit
    from .xpcs import synthesize

    n_angles, n_frames = args.n_angles, args.n_frames
    chunk_size = args.chunk_size
    if args.small:
        n_angles, n_frames = min(n_angles, 5), min(n_frames, 80)
        chunk_size = min(chunk_size, 8_000)
    print("=" * 72)
    print(
        f"fastsplit demo: fastsplit {fastsplit.__version__}, nlsq {_version('nlsq')}, "
        f"jax {_version('jax')}, {os.cpu_count()} CPUs"
    )
    print("=" * 72)
    progress(f"generating {n_angles} angles x {n_frames}^2 frames, mode {args.mode}")
    data = synthesize(n_angles, n_frames, mode=args.mode, noise=args.noise, seed=args.seed)
    progress(f"{data.n_points:,} points, angle-major (all of angle 0, then angle 1, ...)")

    raw = None if args.no_raw else _raw_case(args, progress)

    model = data.model
    p0 = _start_point(model)
    print("-" * 72)
    print(
        f"2. fastsplit.fit on {data.n_points:,} points, {n_angles} angles, "
        f"{len(model.shared_names)} shared + {2 * n_angles} per-angle parameters"
    )
    print("-" * 72)
    result = fit(
        model,
        data.x,
        data.g2,
        groups=data.phi,
        p0=p0,
        per_group=PER_GROUP,
        sigma=data.sigma,
        bounds=model.default_bounds(),
        chunk_size=chunk_size,
        on_failure="warn",
        progress=progress,
    )
    plan = fastsplit.plan(data.phi, chunk_size=result.info["chunk_size"])
    if result.diagnostics is not None:
        print(result.diagnostics.report())
    print(result.report())
    print("truth comparison:")
    for line in _truth_table(result, data.truth, model.shared_names):
        print(line)
    t = result.timings
    what = (
        f"gather, compile, {result.info['iterations']} LM iterations, checks"
        if "iterations" in result.info
        else "gather, compile, optimiser, checks"
    )
    print(
        f"timings: stratify {1e3 * t.stratify:.2f} ms, fit {t.fit:.2f} s ({what}); "
        f"overhead ratio stratify/fit = {100 * t.ratio:.3f} %"
    )
    within = all(
        abs(result.params[name] - data.truth[name]) <= 5 * result.errors[name]
        for name in model.shared_names
    ) and all(
        np.all(
            np.abs(np.asarray(result.params[name]) - data.truth[name])
            <= 5 * np.asarray(result.errors[name])
        )
        for name in PER_GROUP
    )
    print(f"truth recovered within 5 standard errors: {'yes' if within else 'NO'}")
    if not args.no_plots:
        if importlib.util.find_spec("matplotlib") is None:
            progress("matplotlib is not installed: no figures (pip install 'fastsplit[plot]')")
        else:
            _figures(Path(args.out), data, result, plan, raw, chunk_size, progress)
    return 0 if (result.success and within) else 1
