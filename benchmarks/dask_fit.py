"""fastsplit.fit on dask arrays and over several JAX devices, against the in-memory fit.

Two parts, each timed side by side in one run (docs/scaling-out.md, "Measured"):

* ``fit``: the XPCS two-time fit (``fastsplit.xpcs.synthesize``: 23 angles, rough
  start, the model's bounds) of ``--frames`` frames per angle, three contenders
  interleaved: ``memory`` (:func:`fastsplit.fit` on NumPy arrays), ``dask-threads``
  (the same data as dask arrays of ``--block`` points on dask's threaded
  scheduler) and ``dask-cluster`` (a ``LocalCluster`` of ``--workers``
  single-threaded processes; the inputs already on the workers, scattered before
  timing as if read there). Every dask fit is checked against the in-memory one
  (parameters within rtol 1e-8). Memory: this process's peak resident size during
  one in-memory fit, and each worker's peak during one cluster fit (VmHWM, reset
  before), next to its resident size holding its share of the inputs.
* ``devices``: in a subprocess with ``--devices`` fake CPU devices
  (``XLA_FLAGS=--xla_force_host_platform_device_count``), one normal-equations
  pass of the in-memory objective sharded over all of them against the same pass
  on one of them, interleaved, and their largest relative difference. Fake CPU
  devices share this machine's cores: the ratio is the sharding's overhead, not a
  speed-up (a GPU per device is what speeds it up).

* ``beyond`` (``--beyond N``): a noise-free fit of ``N`` points generated block by
  block on a ``LocalCluster`` of ``--workers`` processes with ``--memory-limit``
  each, so that the data are bigger than one worker's memory and never sit in this
  process. Noise-free data make the in-memory answer known: the truth (relative
  error reported). Each worker's peak resident size is reported against its limit.

Run:  python -m benchmarks.dask_fit [--frames 361 1000] [--repeat 3] [--json out.json]
      python -m benchmarks.dask_fit --frames --devices 0 --beyond 80000000 --workers 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from typing import Any

import numpy as np

import fastsplit
from benchmarks.dask_scaling import (
    local_cluster,
    on_cluster_array,
    peak_rss_bytes,
    reset_peak_rss,
    rss_bytes,
)
from benchmarks.harness import Method, machine_info, time_interleaved

PER_GROUP = ("contrast", "offset")


def _fit(data: Any, x: Any, y: Any, groups: Any, sigma: Any) -> Any:
    model = data.model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fastsplit.fit(
            model,
            x,
            y,
            groups=groups,
            p0=model.rough_p0(),
            per_group=PER_GROUP,
            sigma=sigma,
            bounds=model.default_bounds(),
        )


def measure_fit(frames: int, *, block: int, workers: int, repeat: int) -> dict[str, Any]:
    """One size: interleaved fit times, memory, and the check against the in-memory fit."""
    import dask
    import dask.array as da

    from fastsplit.xpcs import synthesize

    data = synthesize(n_angles=23, n_frames=frames, seed=0)
    arrays = (*data.x, data.g2, data.phi, data.sigma)

    def memory() -> Any:
        return _fit(data, data.x, data.g2, data.phi, data.sigma)

    def as_fit(dask_arrays: tuple[Any, ...]) -> Any:
        *x, y, groups, sigma = dask_arrays
        return _fit(data, tuple(x), y, groups, sigma)

    reset_peak_rss()
    reference = memory()
    memory_peak = peak_rss_bytes()
    local = tuple(da.from_array(a, chunks=block) for a in arrays)

    def threads() -> Any:
        with dask.config.set(scheduler="threads"):
            return as_fit(local)

    def worst(r: Any) -> float:
        return float(np.max(np.abs(r.x - reference.x) / np.abs(reference.x)))

    differences = {"dask-threads": worst(threads())}
    with local_cluster(workers) as client:
        remote = tuple(on_cluster_array(client, a, block) for a in arrays)

        def on_cluster() -> Any:
            return as_fit(remote)

        holding = client.run(rss_bytes)
        client.run(reset_peak_rss)
        t0 = time.perf_counter()
        first = on_cluster()  # fresh workers: imports JAX and compiles there
        first_s = time.perf_counter() - t0
        peaks = client.run(peak_rss_bytes)
        differences["dask-cluster"] = worst(first)
        times = time_interleaved(
            [
                Method("memory", "fastsplit.fit, NumPy arrays", memory),
                Method("dask-threads", "dask arrays, threaded scheduler", threads),
                Method("dask-cluster", f"dask arrays, LocalCluster {workers}x1", on_cluster),
            ],
            repeat,
        )
    base = times["memory"].median_s
    return {
        "n": data.n_points,
        "blocks": -(-data.n_points // block),
        "median_s": {name: m.median_s for name, m in times.items()},
        "ratio_to_memory": {name: m.median_s / base for name, m in times.items()},
        "cluster_first_fit_s": first_s,
        "max_relative_parameter_difference": differences,
        "memory_peak_rss_bytes": memory_peak,
        "worker_rss_with_inputs_bytes": max(holding.values()),
        "worker_peak_rss_bytes": max(peaks.values()),
        "input_bytes": int(sum(a.nbytes for a in arrays)),
        "iterations": reference.info["iterations"],
    }


DEVICES_CHILD = r"""
import json, sys
import numpy as np, jax
from benchmarks.harness import Method, time_interleaved
from fastsplit._fit import _data, _model
from fastsplit._fit._normal import Objective
from fastsplit.xpcs import synthesize

frames, repeat = int(sys.argv[1]), int(sys.argv[2])
d = synthesize(n_angles=23, n_frames=frames, seed=0)
m = d.model
counted, _ = _data.count_groups(d.phi, 100_000, "auto")
chunking = _data.stratified(counted, 100_000, "auto", 0.0)
stacks = _data.ChunkStacks.build(d.x, d.g2, 1.0 / d.sigma, chunking)
layout, start, _, _ = _model.flat_parameters(m.rough_p0(), ("contrast", "offset"), None,
                                             counted.n_groups)
with jax.enable_x64(True):
    many = Objective(m, layout, True, stacks)
    one = Objective(m, layout, True, stacks, devices=jax.devices()[:1])
    a, b = many.normal(start), one.normal(start)
    error = float(np.abs(a.hessian - b.hessian).max() / np.abs(b.hessian).max())
    times = time_interleaved([Method("sharded", "all devices", lambda: many.normal(start)),
                              Method("one", "one device", lambda: one.normal(start))], repeat)
print("RESULT " + json.dumps({"n": d.n_points, "devices": len(jax.devices()),
      "chunks": chunking.n_chunks, "sharded_s": times["sharded"].median_s,
      "one_s": times["one"].median_s, "max_relative_difference": error}))
"""


def measure_devices(frames: int, devices: int, repeat: int) -> dict[str, Any]:
    """One normal pass over ``devices`` fake CPU devices against one, in a subprocess."""
    flag = f"--xla_force_host_platform_device_count={devices}"
    env = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()}
    cmd = [sys.executable, "-c", DEVICES_CHILD, str(frames), str(repeat)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            row: dict[str, Any] = json.loads(line[len("RESULT ") :])
            row["ratio_sharded_to_one"] = row["sharded_s"] / row["one_s"]
            return row
    raise RuntimeError(f"the devices child failed: {done.stderr[-2000:]}")


BEYOND_TRUTH = {"rate": 0.7, "amplitude": 1.5 + 0.1 * np.arange(8)}


def decay(x: Any, *, rate: Any, amplitude: Any) -> Any:
    """The ``beyond`` model: one shared rate, one amplitude per group."""
    import jax.numpy as jnp

    return amplitude * jnp.exp(-rate * x)


def decay_block(number: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block ``number`` of the ``beyond`` data: x, noise-free y, 8 groups."""
    rng = np.random.default_rng(number)
    x = rng.uniform(0.0, 3.0, size)
    groups = rng.integers(0, 8, size)
    y = BEYOND_TRUTH["amplitude"][groups] * np.exp(-BEYOND_TRUTH["rate"] * x)
    return x, y, groups.astype(np.float64)


def measure_beyond(n: int, *, block: int, workers: int, memory_limit: str) -> dict[str, Any]:
    """A fit of ``n`` generated points on workers that cannot each hold them all."""
    import dask
    import dask.array as da
    import distributed
    from dask.utils import parse_bytes

    sizes = [min(block, n - lo) for lo in range(0, n, block)]
    parts = [dask.delayed(decay_block)(b, size) for b, size in enumerate(sizes)]
    x, y, groups = (
        da.concatenate(
            [
                da.from_delayed(p[i], shape=(size,), dtype=np.float64)
                for p, size in zip(parts, sizes, strict=True)
            ]
        )
        for i in range(3)
    )
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(reset_peak_rss)
        t0 = time.perf_counter()
        r = fastsplit.fit(
            decay,
            x,
            y,
            groups=groups,
            p0={"rate": 1.0, "amplitude": 1.0},
            per_group=["amplitude"],
        )
        seconds = time.perf_counter() - t0
        peaks = client.run(peak_rss_bytes)
    truth = np.concatenate([[BEYOND_TRUTH["rate"]], BEYOND_TRUTH["amplitude"]])
    return {
        "n": n,
        "blocks": len(sizes),
        "workers": workers,
        "memory_limit_bytes": parse_bytes(memory_limit),
        "persisted_bytes": n * (3 * 8 + 4),  # x, y, weight as float64 + int32 codes
        "worker_peak_rss_bytes": sorted(peaks.values()),
        "seconds": seconds,
        "iterations": r.info["iterations"],
        "success": r.success,
        "max_relative_error_to_truth": float(np.max(np.abs(r.x - truth) / truth)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="*", default=[361], help="361: 3.0M points")
    parser.add_argument("--block", type=int, default=1_000_000, help="dask block (points)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--devices", type=int, default=4, help="fake CPU devices (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--beyond", type=int, default=0, help="points of the beyond fit (0: skip)")
    parser.add_argument("--memory-limit", default="2GiB", help="per worker, for --beyond")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    fits = [
        measure_fit(f, block=args.block, workers=args.workers, repeat=args.repeat)
        for f in args.frames
    ]
    mib = 2**20
    if fits:
        print(f"dask blocks of {args.block:,} points; {args.workers} workers x 1 thread")
        print(
            f"{'n':>11} {'blocks':>6} {'memory s':>9} {'threads':>14} {'cluster':>14} "
            f"{'max dx/x':>9} {'mem peak MiB':>12} {'worker: inputs / peak MiB':>26}"
        )
    for row in fits:
        t, r = row["median_s"], row["ratio_to_memory"]
        dx = max(row["max_relative_parameter_difference"].values())
        print(
            f"{row['n']:>11,} {row['blocks']:>6} {t['memory']:>9.2f} "
            f"{t['dask-threads']:>7.2f} ({r['dask-threads']:>4.1f}x) "
            f"{t['dask-cluster']:>7.2f} ({r['dask-cluster']:>4.1f}x) {dx:>9.1e} "
            f"{row['memory_peak_rss_bytes'] / mib:>12,.0f} "
            f"{row['worker_rss_with_inputs_bytes'] / mib:>12,.0f} / "
            f"{row['worker_peak_rss_bytes'] / mib:>,.0f}"
        )
    sharded = []
    if args.devices > 1:
        sharded = [measure_devices(f, args.devices, args.repeat) for f in args.frames]
        for row in sharded:
            print(
                f"normal pass, {row['n']:,} points in {row['chunks']} chunks: "
                f"{row['devices']} fake CPU devices {row['sharded_s']:.3f} s, one device "
                f"{row['one_s']:.3f} s ({row['ratio_sharded_to_one']:.2f}x); "
                f"max relative difference {row['max_relative_difference']:.1e}"
            )
    beyond = []
    if args.beyond:
        beyond = [
            measure_beyond(
                args.beyond, block=args.block, workers=args.workers, memory_limit=args.memory_limit
            )
        ]
        for row in beyond:
            peaks = ", ".join(f"{p / mib:,.0f}" for p in row["worker_peak_rss_bytes"])
            print(
                f"beyond: {row['n']:,} points ({row['persisted_bytes'] / mib:,.0f} MiB persisted) "
                f"on {row['workers']} workers of {row['memory_limit_bytes'] / mib:,.0f} MiB: "
                f"{row['seconds']:.1f} s, {row['iterations']} iterations, success "
                f"{row['success']}, max |x - truth| / truth "
                f"{row['max_relative_error_to_truth']:.1e}"
                f"; worker peaks {peaks} MiB"
            )
    if args.json:
        with open(args.json, "w") as f:
            out = {
                "machine": machine_info(),
                "fits": fits,
                "devices": sharded,
                "beyond": beyond,
                "args": vars(args),
            }
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
