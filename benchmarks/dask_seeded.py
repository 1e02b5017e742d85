"""What a seed costs ``fastsplit.dask.stratify``, against the unseeded route and memory.

Angle-major data of ``--n`` points (23 angles, one float64 array), input blocks of
``--block`` points, chunks of 1e5, output blocks of 10 chunks, dask's threaded
scheduler (results computed). Four contenders timed interleaved (``--repeat``
rounds, medians): the dask route with and without ``seed=(1, 0)`` and
``fastsplit.stratify`` (copy mode) with and without it; each seeded dask result is
checked bit for bit against the in-memory seeded one first (docs/scaling-out.md).

Run:  python -m benchmarks.dask_seeded [--n 3000000] [--block 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import fastsplit
import fastsplit.dask

CHUNK_SIZE = 100_000


def main(argv: list[str] | None = None) -> int:
    import dask
    import dask.array as da

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--n", type=int, default=3_000_000)
    parser.add_argument("--block", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.n
    phi = np.repeat(np.linspace(-170.0, 170.0, 23), -(-n // 23))[:n]
    g2 = np.random.default_rng(0).normal(size=n)
    lazy = (da.from_array(phi, chunks=args.block), da.from_array(g2, chunks=args.block))

    def on_dask(seed: tuple[int, ...] | None) -> np.ndarray:
        with dask.config.set(scheduler="threads"):
            s = fastsplit.dask.stratify(
                *lazy, chunk_size=CHUNK_SIZE, chunks_per_block=10, seed=seed
            )
            (out,) = dask.compute(*s.arrays)
        return out

    def in_memory(seed: tuple[int, ...] | None) -> np.ndarray:
        return fastsplit.stratify(phi, g2, chunk_size=CHUNK_SIZE, mode="copy", seed=seed).arrays[0]

    for seed in (None, (1, 0)):  # warm-up (numba loads), and the bit-for-bit check
        assert on_dask(seed).tobytes() == in_memory(seed).tobytes(), seed
    contenders: dict[str, Callable[[], object]] = {
        "dask": lambda: on_dask(None),
        "dask, seed": lambda: on_dask((1, 0)),
        "memory": lambda: in_memory(None),
        "memory, seed": lambda: in_memory((1, 0)),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, call in contenders.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    median = {name: float(np.median(t)) for name, t in times.items()}
    print(f"n={n:,}, input blocks of {args.block:,}, medians of {args.repeat}:")
    for name, seconds in median.items():
        print(f"  {name:13s} {seconds:.3f} s")
    print(
        f"  seed costs dask {median['dask, seed'] / median['dask']:.2f}x, "
        f"memory {median['memory, seed'] / median['memory']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
