"""fastsplit.dask.stratify against the in-memory stratify, side by side (docs/scaling-out.md).

Angle-major XPCS-like data (:mod:`benchmarks.data`: 23 angles, 4 float64 arrays),
chunks of 1e5 points, input blocks of ``--block`` points, output blocks of
``--per-block`` chunks. Three contenders, timed interleaved in one run:

* ``memory``: :func:`fastsplit.stratify`, copy mode (the reference);
* ``dask-threads``: the dask route on dask's threaded scheduler in this process,
  results persisted as blocks (the route's own overhead: no transfers);
* ``dask-cluster``: a ``LocalCluster`` of ``--workers`` single-threaded processes;
  the inputs are already on the workers (scattered before timing, as if read
  there) and the results stay there (persisted), as on a real cluster.

Every dask result is checked bit for bit against the in-memory one. Memory: the
in-memory extra peak by tracemalloc; per worker, the peak resident size of each
worker process (VmHWM, reset before the run) in the first run, next to its
resident size once it holds its share of the inputs.

Run:  python -m benchmarks.dask_scaling [--sizes 3000000 23000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

import fastsplit
import fastsplit.dask
from benchmarks.data import make_data
from benchmarks.harness import Method, machine_info, peak_memory, time_interleaved

CHUNK_SIZE = 100_000


def on_cluster_array(client: Any, array: np.ndarray, block: int) -> Any:
    """``array`` as a dask array whose blocks already live on the workers."""
    import dask.array as da

    starts = range(0, array.shape[0], block)
    futures = client.scatter([array[lo : lo + block] for lo in starts])
    return da.concatenate(
        [
            da.from_delayed(f, shape=(min(block, array.shape[0] - lo),), dtype=array.dtype)
            for f, lo in zip(futures, starts, strict=True)
        ]
    )


def rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def reset_peak_rss() -> None:
    """Start the process's peak resident size afresh (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_bytes() -> int:
    """Peak resident size since the last reset (VmHWM; ``ru_maxrss`` would include the
    parent's size at fork: it survives exec, so every spawned worker starts with it)."""
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmHWM:"))
    return 1024 * int(line.split()[1])


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A client of a fresh LocalCluster: the default scheduler while it lives."""
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit="8GiB",
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _stratify(labels: Any, arrays: tuple[Any, ...], per_block: int) -> Any:
    return fastsplit.dask.stratify(
        labels, *arrays, chunk_size=CHUNK_SIZE, chunks_per_block=per_block
    )


def measure(n: int, *, block: int, per_block: int, workers: int, repeat: int) -> dict[str, Any]:
    """One size: interleaved times, memory, and the bit-for-bit check."""
    import dask
    import dask.array as da
    import distributed

    labels, arrays = make_data(n, 23)
    reference = fastsplit.stratify(labels, *arrays, chunk_size=CHUNK_SIZE, mode="copy")
    local = (da.from_array(labels, chunks=block), *(da.from_array(a, chunks=block) for a in arrays))

    def threads() -> tuple[Any, ...]:
        with dask.config.set(scheduler="threads"):  # the count pass too
            s = _stratify(local[0], local[1:], per_block)
            return dask.persist(*s.arrays)  # blocks in memory, as a block consumer takes them

    for got, expected in zip(dask.compute(*threads()), reference.arrays, strict=True):
        assert got.tobytes() == expected.tobytes(), "dask-threads differs from memory"
    del reference

    # Before any cluster: the scheduler's threads would be traced too.
    memory_peak, _ = peak_memory(
        lambda: fastsplit.stratify(labels, *arrays, chunk_size=CHUNK_SIZE, mode="copy")
    )
    with local_cluster(workers) as client:
        small = da.from_array(np.repeat([1.0, 2.0], 5000), chunks=3000)
        dask.compute(*_stratify(small, (small,), 1).arrays)  # numba loaded on the workers
        remote = tuple(on_cluster_array(client, a, block) for a in (labels, *arrays))

        def on_cluster() -> tuple[Any, ...]:
            s = _stratify(remote[0], remote[1:], per_block)
            kept = dask.persist(*s.arrays)
            distributed.wait(kept)
            return kept

        # The first run on fresh workers: their memory (resident with the inputs, then
        # the peak of the run), and the bit-for-bit check.
        holding = client.run(rss_bytes)
        client.run(reset_peak_rss)
        kept = on_cluster()
        peaks = client.run(peak_rss_bytes)
        expected = fastsplit.stratify(labels, *arrays, chunk_size=CHUNK_SIZE).arrays
        for got, want in zip(dask.compute(*kept), expected, strict=True):
            assert got.tobytes() == want.tobytes(), "dask-cluster differs from memory"
        del kept, expected
        times = time_interleaved(
            [
                Method(
                    "memory",
                    "fastsplit.stratify, copy",
                    lambda: fastsplit.stratify(labels, *arrays, chunk_size=CHUNK_SIZE, mode="copy"),
                ),
                Method("dask-threads", "dask route, threads, persisted", threads),
                Method("dask-cluster", f"LocalCluster {workers}x1, persisted", on_cluster),
            ],
            repeat,
        )
    n_blocks = -(-n // block)
    n_chunks = -(-n // CHUNK_SIZE)
    n_out = -(-n_chunks // per_block)
    base = times["memory"].median_s
    return {
        "n": n,
        "input_blocks": n_blocks,
        "output_blocks": n_out,
        "tasks_split_x_combine": n_blocks * n_out,
        "median_s": {name: m.median_s for name, m in times.items()},
        "ratio_to_memory": {name: m.median_s / base for name, m in times.items()},
        "memory_extra_peak_bytes": memory_peak,
        "worker_rss_with_inputs_bytes": max(holding.values()),
        "worker_peak_rss_bytes": max(peaks.values()),
        "input_bytes": int(labels.nbytes + sum(a.nbytes for a in arrays)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3_000_000, 23_000_000])
    parser.add_argument("--block", type=int, default=1_000_000, help="input block (points)")
    parser.add_argument("--per-block", type=int, default=10, help="chunks per output block")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    fastsplit.warmup()
    rows = [
        measure(
            n, block=args.block, per_block=args.per_block, workers=args.workers, repeat=args.repeat
        )
        for n in args.sizes
    ]
    mib = 2**20
    print(
        f"chunks of {CHUNK_SIZE:,}; input blocks of {args.block:,} points; "
        f"output blocks of {args.per_block} chunks; {args.workers} workers x 1 thread"
    )
    print(
        f"{'n':>11} {'tasks BxO':>9} {'memory s':>9} {'threads':>14} {'cluster':>14} "
        f"{'mem peak MiB':>12} {'worker: inputs / peak MiB':>26}"
    )
    for row in rows:
        t, r = row["median_s"], row["ratio_to_memory"]
        print(
            f"{row['n']:>11,} {row['tasks_split_x_combine']:>9,} {t['memory']:>9.3f} "
            f"{t['dask-threads']:>7.3f} ({r['dask-threads']:>4.1f}x) "
            f"{t['dask-cluster']:>7.3f} ({r['dask-cluster']:>4.1f}x) "
            f"{row['memory_extra_peak_bytes'] / mib:>12,.0f} "
            f"{row['worker_rss_with_inputs_bytes'] / mib:>12,.0f} / "
            f"{row['worker_peak_rss_bytes'] / mib:>,.0f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_info(), "rows": rows, "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
