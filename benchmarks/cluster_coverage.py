"""Do the reported errors hold? Coverage of both error kinds on simulated speckle.

Each data set is a simulated measurement (``fastsplit.xpcs._speckle``: complex
speckle fields per pixel with a known decay, an incoherent background, ``c2`` as
a two-time correlator computes it). Each is fitted once; ``z = (estimate -
truth) / error`` is collected for both error kinds the fit keeps: ``cluster``
(two-way clusters by blocks of frames of ``t1`` and ``t2``, blocks of 2
correlation times of the fitted decay, the default of two-time fits) and
``model`` (every point independent). Errors that hold give a spread (std) of
``z`` near 1 and about 95 % of ``|z| < 2``.

Two cases:

* ``one-rate``: one decay rate shared by the bins (the static model with
  ``alpha = 0``, ``D_offset = 0``), a contrast and an offset per bin;
* ``static``: the full static model of ``fastsplit.xpcs.TwoTimeModel`` (``D0``,
  ``alpha``, ``D_offset`` shared) through :func:`fastsplit.xpcs.fit_two_time`,
  at the size of issue 19's simulation (4 bins, 200 frames, lags <= 80).

Prints the table (``docs/errors.md``) and saves the z histograms
(``docs/img/cluster_coverage.png``).

Run:  python -m benchmarks.cluster_coverage [--sets 100] [--figure docs/img/cluster_coverage.png]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np

import fastsplit
from fastsplit.xpcs import fit_two_time
from fastsplit.xpcs._clusters import frame_blocks
from fastsplit.xpcs._speckle import simulate_speckle

ONE_RATE = {"n_bins": 2, "n_frames": 150, "n_pixels": 600, "max_lag": 40}
STATIC = {"n_bins": 4, "n_frames": 200, "n_pixels": 400, "max_lag": 80}
RATE = 85_700.0
KINDS = ("cluster", "model")


def _one_rate(x: Any, *, D: Any, contrast: Any, offset: Any) -> Any:
    import jax.numpy as jnp

    _, t1, t2 = x
    return offset + contrast * jnp.exp(-(0.0054**2) * D * jnp.abs(t2 - t1))


def one_rate(sets: int) -> dict[str, dict[str, np.ndarray]]:
    """z by kind and parameter (``D``, ``contrast``, ``offset``) over ``sets`` data sets."""
    z: dict[str, dict[str, list[Any]]] = {k: {"D": [], "contrast": [], "offset": []} for k in KINDS}
    for seed in range(sets):
        data = simulate_speckle(
            seed=1000 + seed, truth={"D0": RATE, "alpha": 0.0, "D_offset": 0.0}, **ONE_RATE
        )
        blocks = frame_blocks(data, data.model)
        r = fastsplit.fit(
            _one_rate,
            data.x,
            data.g2,
            groups=data.phi,
            p0={"D": RATE / 2, "contrast": 0.2, "offset": 1.0},
            per_group=["contrast", "offset"],
            errors="cluster",
            clusters=lambda p, b=blocks: b({"D0": p["D"], "alpha": 0.0, "D_offset": 0.0}),
        )
        truth = {"D": RATE, "contrast": data.truth["contrast"], "offset": data.truth["offset"]}
        _collect(z, r, truth)
    return _arrays(z)


def static(sets: int) -> dict[str, dict[str, np.ndarray]]:
    """z of the full static model's parameters over ``sets`` data sets."""
    names = ("D0", "alpha", "D_offset", "contrast", "offset")
    z: dict[str, dict[str, list[Any]]] = {k: {n: [] for n in names} for k in KINDS}
    model = None
    for seed in range(sets):
        data = simulate_speckle(seed=2000 + seed, **STATIC)
        model = model or data.model  # one model object: compiled once
        bounds = dict(model.default_bounds())
        bounds["D0"] = (100.0, 1e6)  # the truth, 5e4, is well inside
        r = fit_two_time(model, data, p0=dict(model.rough_p0()), bounds=bounds, on_failure="warn")
        _collect(z, r, {n: data.truth[n] for n in names})
    return _arrays(z)


def _collect(z: dict[str, dict[str, list[Any]]], r: Any, truth: dict[str, Any]) -> None:
    for kind, errors in (("cluster", r.errors_cluster), ("model", r.errors_model)):
        for name, values in z[kind].items():
            values.append(np.atleast_1d((r.params[name] - truth[name]) / errors[name]))


def _arrays(z: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, np.ndarray]]:
    return {k: {n: np.concatenate(v) for n, v in by.items()} for k, by in z.items()}


def table(case: str, z: dict[str, dict[str, np.ndarray]]) -> list[str]:
    lines = []
    for name in z["cluster"]:
        cells = []
        for kind in KINDS:
            values = z[kind][name]
            cells.append(f"{values.std():6.2f} {100 * np.mean(np.abs(values) < 2):5.0f} %")
        lines.append(f"| {case:<8s} | {name:<9s} | " + " | ".join(cells) + " |")
    return lines


def figure(path: str, results: dict[str, dict[str, dict[str, np.ndarray]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        (case, name)
        for case, z in results.items()
        for name in ("D", "D0", "contrast")
        if name in z["cluster"]
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), layout="constrained")
    grid = np.linspace(-6, 6, 400)
    for ax, (case, name) in zip(np.atleast_1d(axes), panels, strict=True):
        for kind, color in zip(KINDS, ("C0", "C3"), strict=True):
            values = np.clip(results[case][kind][name], -15, 15)
            ax.hist(
                values,
                bins=np.linspace(-15, 15, 61),
                density=True,
                alpha=0.55,
                color=color,
                label=f"{kind}: std {results[case][kind][name].std():.2f}",
            )
        ax.plot(grid, np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi), "k-", lw=1, label="N(0, 1)")
        ax.set_title(f"{case}: z of {name}", fontsize=10)
        ax.set_xlabel("(estimate - truth) / reported error")
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=100, help="data sets per case")
    parser.add_argument("--figure", default="docs/img/cluster_coverage.png")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastsplit.FitQualityWarning)
        results = {"one-rate": one_rate(args.sets), "static": static(args.sets)}
    print(f"{args.sets} simulated measurements per case, {time.perf_counter() - start:.0f} s")
    print("| case     | parameter | cluster: std(z), within 2 | model: std(z), within 2 |")
    print("|----------|-----------|---------------------------|-------------------------|")
    for case, z in results.items():
        print("\n".join(table(case, z)))
    if args.figure:
        figure(args.figure, results)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
