"""What cluster-robust errors cost: time and memory of the XPCS fit with and without them.

The static XPCS fit (``fastsplit.xpcs.synthesize``: 23 angles, ``--frames`` frames
per angle, rough start, the model's bounds) two ways, on the same data in one
process, interleaved after one warm-up each (compilation not timed):

* ``model``: :func:`fastsplit.fit` without clusters (independent-point errors only);
* ``cluster``: :func:`fastsplit.xpcs.fit_two_time`'s default: two-way clusters by
  blocks of frames of ``t1`` and ``t2`` sized from the fitted decay, computed at the
  solution (labels from the fitted parameters, their codes gathered into chunk
  order, one normal pass with the per-cluster score sums).

Time: the median wall time of ``--repeat`` fits each. Memory: the process's peak
resident size during one fit (VmHWM, reset before) above its resident size before
that fit (the data, the compiled kernels): what the fit adds.

Run:  python -m benchmarks.cluster_overhead [--frames 361 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import fastsplit
from benchmarks.dask_scaling import peak_rss_bytes, reset_peak_rss
from fastsplit.xpcs import fit_two_time, synthesize


def _rss() -> int:
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmRSS:"))
    return 1024 * int(line.split()[1])


def measure(frames: int, repeat: int) -> dict[str, Any]:
    data = synthesize(n_angles=23, n_frames=frames, seed=0)
    model = data.model
    options = {"p0": model.rough_p0(), "bounds": model.default_bounds()}

    def plain() -> Any:
        return fastsplit.fit(
            model,
            data.x,
            data.g2,
            groups=data.phi,
            per_group=model.per_group_names,
            sigma=data.sigma,
            **options,
        )

    def clustered() -> Any:
        return fit_two_time(model, data, **options)

    runs: dict[str, Callable[[], Any]] = {"model": plain, "cluster": clustered}
    out: dict[str, Any] = {"frames": frames, "points": data.n_points}
    for fit in runs.values():
        fit()  # compile
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeat):
        for kind, fit in runs.items():
            gc.collect()
            start = time.perf_counter()
            r = fit()
            seconds[kind].append(time.perf_counter() - start)
            out[f"{kind}_nfev"] = r.nfev
            if kind == "cluster":
                out["clusters"] = r.info["clusters"]["n_clusters"]
                out["block_frames"] = r.info["clusters"]["block_frames"]
    for kind, fit in runs.items():
        gc.collect()
        before = _rss()
        reset_peak_rss()
        fit()
        out[f"{kind}_added_mib"] = (peak_rss_bytes() - before) / 2**20
        out[f"{kind}_s"] = statistics.median(seconds[kind])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[361, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        "| points | model: fit s, added MiB | cluster: fit s, added MiB "
        "| extra time | extra memory |"
    )
    print("|---|---|---|---|---|")
    for frames in args.frames:
        m = measure(frames, args.repeat)
        print(
            f"| {m['points'] / 1e6:.1f}M | {m['model_s']:.2f} s, {m['model_added_mib']:.0f} MiB | "
            f"{m['cluster_s']:.2f} s, {m['cluster_added_mib']:.0f} MiB | "
            f"{m['cluster_s'] - m['model_s']:+.2f} s "
            f"({100 * (m['cluster_s'] / m['model_s'] - 1):+.0f} %) | "
            f"{m['cluster_added_mib'] - m['model_added_mib']:+.0f} MiB |  "
            f"(clusters {m['clusters']}, blocks of {m['block_frames']} frames, nfev "
            f"{m['model_nfev']}/{m['cluster_nfev']})",
            flush=True,
        )


if __name__ == "__main__":
    main()
