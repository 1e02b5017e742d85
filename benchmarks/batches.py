"""What a seeded epoch costs: fastsplit.batches against index mode, side by side.

23 angle-major groups (one of them rare). Timed interleaved in one run
(:func:`harness.time_interleaved`), so the ratios are what to read:

* ``index``: ``stratify(mode="index")`` with the default chunk size, no seed
  (the index-mode speed the issue asks batches to be near);
* ``index-batch``: the same with ``chunk_size=batch_size`` (many small chunks);
* ``index-seeded``: that with ``seed=(1, epoch)``: the cost of the shuffle;
* ``batches-epoch``: one whole epoch of ``fastsplit.batches`` (every batch
  yielded as an int64 array);
* ``batches-epoch-mixed``: the same with the labels in random order (each
  group's points are not one run of the input, so the shuffle reads its list);
* ``index-mixed``: ``stratify(mode="index")`` of those random-order labels, the
  index mode to hold ``batches-epoch-mixed`` against;
* ``copy`` / ``copy-seeded``: copy mode of one float64 array, without and with a
  seed (seeded: the order, then a gather through it);
* ``rng.permutation``: numpy's shuffle of n indices, for scale.

Run:  PYTHONPATH=src .venv/bin/python -m benchmarks.batches [--n 3000000] [--batch-size 4096]
"""

from __future__ import annotations

import argparse
import itertools
import warnings
from typing import Any

import numpy as np

import fastsplit
from fastsplit.errors import SparseGroupWarning

from .harness import Method, machine_info, quiet_stratify, time_interleaved


def labels_of(n: int, groups: int = 23) -> np.ndarray:
    """Angle-major labels; the last group holds 0.2 % of the points (a rare group)."""
    weights = np.ones(groups)
    weights[-1] = 0.002 * (groups - 1) / 0.998
    sizes = np.floor(n * weights / weights.sum()).astype(np.int64)
    sizes[0] += n - sizes.sum()
    return np.repeat(np.linspace(-170.0, 170.0, groups), sizes)


def methods(n: int, batch_size: int) -> list[Method]:
    labels = labels_of(n)
    y = np.random.default_rng(0).normal(size=n)
    with warnings.catch_warnings():  # small n: the rare group misses some batches
        warnings.simplefilter("ignore", SparseGroupWarning)
        sampler = fastsplit.batches(labels, batch_size, seed=1)
        shuffled = np.random.default_rng(2).permutation(labels)
        mixed = fastsplit.batches(shuffled, batch_size, seed=1)
    epochs = itertools.count()
    rng = np.random.default_rng(1)

    def epoch(of: Any = sampler) -> Any:
        of.set_epoch(next(epochs))
        for batch in of:
            last = batch
        return last

    def index(of: Any = labels, **kwargs: Any) -> Any:
        return lambda: quiet_stratify(of, mode="index", **kwargs).order

    def copy(**kwargs: Any) -> Any:
        return lambda: quiet_stratify(labels, y, chunk_size=batch_size, **kwargs).arrays

    return [
        Method("index", "stratify index mode, default chunk_size", index()),
        Method("index-batch", "index mode, chunk_size=batch_size", index(chunk_size=batch_size)),
        Method(
            "index-seeded",
            "index mode, chunk_size=batch_size, seed",
            index(chunk_size=batch_size, seed=(1, 2)),
        ),
        Method("batches-epoch", "one epoch of fastsplit.batches", epoch),
        Method(
            "batches-epoch-mixed",
            "the same, labels in random order",
            lambda: epoch(mixed),
        ),
        Method("index-mixed", "index mode of the random-order labels", index(shuffled)),
        Method("copy", "copy mode, 1 float64 array", copy()),
        Method("copy-seeded", "copy mode, 1 float64 array, seed", copy(seed=(1, 2))),
        Method("rng.permutation", "numpy shuffle of n indices", lambda: rng.permutation(n)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3_000_000)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    fastsplit.warmup()
    info = machine_info()
    print(f"n={args.n:,}, batch_size={args.batch_size}, numba threads {info.get('numba_threads')}")
    results = time_interleaved(methods(args.n, args.batch_size), args.repeat)
    base = results["index"].median_s
    print(f"{'method':<17}{'median ms':>11}{'x index':>9}  what")
    for m in results.values():
        print(f"{m.name:<17}{1e3 * m.median_s:>11.1f}{m.median_s / base:>9.2f}  {m.label}")


if __name__ == "__main__":
    main()
