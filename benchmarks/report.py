"""The side-by-side report as a text table, a bar chart and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["format_table", "json_default", "save_png"]


def format_table(report: dict[str, Any]) -> str:
    """The comparison as a text table, with ratios to the floor."""
    cfg = report["config"]
    rows = [
        f"fastsplit {report['fastsplit_version']} bench: n={cfg['n']:,}, groups={cfg['groups']}, "
        f"chunk_size={cfg['chunk_size']:,}, {cfg['n_arrays']} x {cfg['dtype']} arrays "
        f"({cfg['data_bytes'] / 1e6:,.0f} MB), {cfg['input']}, repeat={cfg['repeat']}",
        f"{'method':<46} {'median ms':>10} {'min ms':>9} {'x floor':>8} {'x fl.min':>8} "
        f"{'Mpts/s':>8} {'GB/s':>6} {'peak MiB':>9}",
    ]
    for name, m in report["methods"].items():
        rows.append(
            f"{m['label']:<46} {1e3 * m['median_s']:>10.2f} {1e3 * m['min_s']:>9.2f} "
            f"{report['ratios'][name]:>8.2f} {report['ratios_min'][name]:>8.2f} "
            f"{m['points_per_s'] / 1e6:>8.1f} {m['gb_per_s']:>6.2f} "
            f"{m['peak_bytes'] / 2**20:>9.1f}"
        )
    rows.append(
        "x floor = median time / median time of the plain copy (x fl.min: min / min); "
        "GB/s = bytes of the input arrays / median time; peak = extra peak memory of one "
        f"call, {report['memory_method']}."
    )
    return "\n".join(rows)


def save_png(report: dict[str, Any], path: str | Path) -> None:
    """Bar charts of time (with ratio to the floor) and extra peak memory per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = report["methods"]
    names = list(methods)
    labels = [methods[k]["label"] for k in names]
    ms = [1e3 * methods[k]["median_s"] for k in names]
    mib = [methods[k]["peak_bytes"] / 2**20 for k in names]
    colours = [
        "tab:gray"
        if k == "plain_copy"
        else "tab:blue"
        if k.startswith("fastsplit")
        else "tab:cyan"
        if k == "numpy_copy"
        else "tab:orange"
        for k in names
    ]
    cfg = report["config"]
    fig, (ax_t, ax_m) = plt.subplots(
        1, 2, figsize=(12, 0.55 * len(names) + 1.8), sharey=True, layout="constrained"
    )
    y = np.arange(len(names))
    ax_t.barh(y, ms, color=colours)
    ax_t.set_xscale("log")
    ax_t.set_yticks(y, labels)
    ax_t.invert_yaxis()
    ax_t.set_xlabel("median time (ms, log scale)")
    for yi, (t, name) in enumerate(zip(ms, names, strict=True)):
        ax_t.text(t, yi, f" {t:.1f} ms ({report['ratios'][name]:.2f}x)", va="center", fontsize=8)
    ax_t.set_xlim(right=max(ms) * 8)
    ax_m.barh(y, mib, color=colours)
    ax_m.set_xlabel("extra peak memory of one call (MiB, tracemalloc)")
    for yi, v in enumerate(mib):
        ax_m.text(v, yi, f" {v:.0f}", va="center", fontsize=8)
    ax_m.set_xlim(right=max(mib) * 1.25 if max(mib) > 0 else 1)
    fig.suptitle(
        f"fastsplit side by side: {cfg['n']:,} points, {cfg['groups']} groups, "
        f"{cfg['n_arrays']} x {cfg['dtype']}, chunk_size {cfg['chunk_size']:,}"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
