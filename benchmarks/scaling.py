"""Throughput over n and over the number of groups, memory by mode: the docs' figures.

Usage::

    python -m benchmarks.scaling                      # full run, ~5 minutes
    python -m benchmarks.scaling --quick --out /tmp   # small sizes, a smoke test

Writes to ``--out`` (default ``docs/img``): ``throughput_vs_n.png``,
``throughput_vs_groups.png``, ``memory_by_mode.png`` and ``scaling.json`` with
every number behind them, including the fitted scaling exponents
(t = c n^e, least squares on log(min time) over log n).

Every point is measured with :mod:`benchmarks.harness`: one untimed
warm-up call each (JIT compilation), then rounds in which every method runs
once, interleaved (over n: all methods of one size; over groups: every group
count and method together), so that load from other processes hits the
compared points alike; the plots use the minimum over the rounds. Peak memory is
measured by tracemalloc in a separate pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fastsplit._plan import DEFAULT_CHUNK_SIZE
from fastsplit._progress import Progress

from .data import make_data
from .harness import Method, machine_info, peak_memory, time_interleaved
from .methods import METHODS, build_methods
from .targets import DEFAULT_GROUPS

SIZES = [100_000, 300_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000]
GROUPS = [1, 3, 10, 23, 100, 360, 1000]
N_FOR_GROUPS = 3_000_000
OVER_N = ["plain_copy", "fastsplit_copy", "fastsplit_index", "naive_mask", "shuffle_gather"]
OVER_GROUPS = ["plain_copy", "fastsplit_copy", "fastsplit_index", "naive_mask"]
MEMORY = list(METHODS)
STYLE = {
    "plain_copy": ("plain copy (floor)", "k", "--"),
    "fastsplit_copy": ("fastsplit copy mode", "tab:blue", "-"),
    "fastsplit_index": ("fastsplit index mode", "tab:green", "-"),
    "fastsplit_index_gather": ("fastsplit index + gather", "tab:olive", "-"),
    "numpy_copy": ("fastsplit numpy backend", "tab:cyan", "-"),
    "naive_mask": ("naive per-group masks", "tab:orange", ":"),
    "shuffle_gather": ("shuffle + gather (nlsq >= 0.7.2)", "tab:red", ":"),
}


_log = Progress(True)


def measure_set(
    cases: list[tuple[int, int]], names: list[str], repeat: int
) -> list[dict[str, Any]]:
    """Min and median seconds of each method on each (n, groups) case, all interleaved.

    Every round runs every (case, method) once, so a burst of load from other
    processes hits all cases alike instead of distorting one of them.
    """
    methods = []
    for n, groups in cases:
        labels, arrays = make_data(n, groups)
        for m in build_methods(labels, arrays, DEFAULT_CHUNK_SIZE, names=names):
            methods.append(Method(f"{n}/{groups}/{m.name}", m.label, m.call))
    res = time_interleaved(methods, repeat, progress=_log)
    out = []
    for n, groups in cases:
        row = {}
        for name in names:
            r = res[f"{n}/{groups}/{name}"]
            row[name] = {"min_s": r.min_s, "median_s": r.median_s}
        out.append(row)
    return out


def measure_memory(n: int, groups: int, names: list[str]) -> dict[str, Any]:
    """Extra peak and retained bytes of one call of each method (tracemalloc)."""
    labels, arrays = make_data(n, groups)
    out: dict[str, Any] = {}
    for m in build_methods(labels, arrays, DEFAULT_CHUNK_SIZE, names=names):
        m.call()  # warm-up: JIT compilation
        peak, retained = peak_memory(m.call)
        out[m.name] = {"peak_bytes": peak, "retained_bytes": retained}
    return out


def exponent(ns: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) on log(n)."""
    return float(np.polyfit(np.log(ns), np.log(seconds), 1)[0])


def _plain_log_axes(ax: Any) -> None:
    """Log axes labelled 10, 100, 1000 rather than 10^1, 10^2, 10^3."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def plot_over_n(data: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    ns = data["n"]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
    for name in OVER_N:
        label, colour, style = STYLE[name]
        mpts = [n / r[name]["min_s"] / 1e6 for n, r in zip(ns, data["results"], strict=True)]
        e = data["exponent"][name]
        ax.plot(ns, mpts, style, color=colour, marker="o", label=f"{label} (n^{e:.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("points n (23 groups, 4 float64 arrays, angle-major)")
    ax.set_ylabel("throughput (million points / s)")
    ax.set_title("Throughput vs n (higher is better; exponent of t ~ n^e in the legend)")
    _plain_log_axes(ax)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}"))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_over_groups(data: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    gs = data["groups"]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
    for name in OVER_GROUPS:
        label, colour, style = STYLE[name]
        mpts = [data["n"] / r[name]["min_s"] / 1e6 for r in data["results"]]
        ax.plot(gs, mpts, style, color=colour, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"number of groups ({data['n']:,} points, 4 float64 arrays)")
    ax.set_ylabel("throughput (million points / s)")
    ax.set_title("Throughput vs number of groups (fastsplit is O(n), masks are O(n x groups))")
    _plain_log_axes(ax)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_memory(data: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    res = data["results"]
    names = [k for k in MEMORY if k in res]
    per_point = [res[k]["peak_bytes"] / data["n"] for k in names]
    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    y = np.arange(len(names))
    ax.barh(y, per_point, color=[STYLE[k][1] for k in names])
    ax.set_yticks(y, [STYLE[k][0] for k in names])
    ax.invert_yaxis()
    output = 8 * 4  # 4 float64 output arrays
    ax.axvline(output, color="k", lw=0.8, ls="--")
    ax.text(output, len(names) - 0.4, " the 4 output arrays", fontsize=8, va="bottom")
    for yi, v in enumerate(per_point):
        ax.text(v, yi, f" {v:.1f}", va="center", fontsize=8)
    ax.set_xlim(right=max(per_point) * 1.15)
    ax.set_xlabel("extra peak memory of one call, bytes per point (tracemalloc)")
    ax.set_title(f"Memory by mode ({data['n']:,} points, {data['groups']} groups)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args(argv)
    sizes = [20_000, 60_000, 200_000] if args.quick else SIZES
    groups = [1, 3, 23, 100] if args.quick else GROUPS
    n_groups_run = 200_000 if args.quick else N_FOR_GROUPS
    args.out.mkdir(parents=True, exist_ok=True)

    # One size at a time: holding every size up to 3e7 alive together (1.5 GB)
    # made fresh allocations of the largest outputs erratically slow on the
    # 24 GiB development machine, which distorted the floor.
    over_n: dict[str, Any] = {"n": sizes, "groups": DEFAULT_GROUPS, "results": []}
    for n in sizes:
        _log(f"over n: n={n:,}")
        over_n["results"] += measure_set([(n, DEFAULT_GROUPS)], OVER_N, args.repeat)
    over_n["exponent"] = {
        k: exponent(sizes, [r[k]["min_s"] for r in over_n["results"]]) for k in OVER_N
    }

    _log(f"over groups: {groups}")
    over_g: dict[str, Any] = {
        "n": n_groups_run,
        "groups": groups,
        "results": measure_set([(n_groups_run, g) for g in groups], OVER_GROUPS, args.repeat),
    }

    _log("memory by mode")
    memory = {
        "n": n_groups_run,
        "groups": DEFAULT_GROUPS,
        "results": measure_memory(n_groups_run, DEFAULT_GROUPS, MEMORY),
    }

    import matplotlib

    matplotlib.use("Agg")
    plot_over_n(over_n, args.out / "throughput_vs_n.png")
    plot_over_groups(over_g, args.out / "throughput_vs_groups.png")
    plot_memory(memory, args.out / "memory_by_mode.png")
    report = {
        "machine": machine_info(),
        "over_n": over_n,
        "over_groups": over_g,
        "memory": memory,
    }
    (args.out / "scaling.json").write_text(json.dumps(report, indent=1) + "\n")
    for k, e in over_n["exponent"].items():
        print(f"scaling exponent {sizes[0]:.0e}..{sizes[-1]:.0e} {STYLE[k][0]}: {e:.3f}")
    print(f"wrote {args.out}/throughput_vs_n.png, throughput_vs_groups.png, memory_by_mode.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
