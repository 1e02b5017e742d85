"""Where the time of copy mode, index mode and ``take`` goes, step by step.

Run from the repository root::

    python -m benchmarks.profile [--sizes 3e6 23046023] [--repeat 5]

At each size (angle-major, 23 groups, 4 float64 arrays, chunk_size 100,000) it
times, as the minimum of ``--repeat`` calls, interleaved:

* the floor split in two: ``np.array(a, copy=True)`` into fresh memory, and
  ``np.copyto`` into outputs already written once (no page faults), with the
  page faults per call (``ru_minflt``);
* the numba steps of copy mode: labels -> codes, the block layout, the scatter
  into warm outputs and into fresh ones, on all threads and on one;
* the index-mode scatter, and ``take`` through the permutation (the lockstep
  gather) into fresh outputs;
* the write pattern alone, on one thread: the scatter's 16-value blocks written
  in the scatter's order with ordinary and with streaming stores, against the same
  blocks written in output order.

It is a diagnostic, not a benchmark of record: the targets are judged by
``benchmarks.bench``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["main", "profile"]


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(min seconds, page faults per call) of ``repeat`` calls."""
    fn()
    best, faults = float("inf"), 0
    for _ in range(repeat):
        before = _faults()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
        faults += _faults() - before
        del result
    return best, faults / repeat


def _threads(count: int) -> Any:
    import numba

    class Threads:
        def __enter__(self) -> None:
            self.before = numba.get_num_threads()
            numba.set_num_threads(count)

        def __exit__(self, *exc: object) -> None:
            numba.set_num_threads(self.before)

    return Threads()


def _write_pattern(order: np.ndarray, arrays: Sequence[np.ndarray]) -> dict[str, Any]:
    """The scatter's block writes alone: scatter order vs output order, plain vs streaming."""
    from fastsplit.backends._jit import jit
    from fastsplit.backends._numba_moves import store_stream

    @jit()
    def blocks(src, dst, starts, targets, strides, stream):  # type: ignore[no-untyped-def]
        for q in range(starts.size):
            s, d, k = starts[q], targets[q], strides[q]
            if stream:
                for u in range(16):
                    store_stream(dst, d + u, src[s + u * k])
            else:
                for u in range(16):
                    dst[d + u] = src[s + u * k]

    n = order.size
    first = np.arange(0, n - 16, 16)
    stride = order[first + 1].astype(np.int64) - order[first]
    whole = order[first + 15] - order[first] == 15 * stride  # blocks of one group
    first, stride = first[whole], stride[whole]
    starts = order[first].astype(np.int64)
    walk = np.argsort(starts, kind="stable")  # the scatter visits blocks in input order
    words = [a.view(np.uint64) for a in arrays]
    outs = [np.empty_like(w) for w in words]
    cases = {
        "scatter order, plain stores": (starts[walk], first[walk], stride[walk], False),
        "scatter order, streaming stores": (starts[walk], first[walk], stride[walk], True),
        "output order (a gather), plain stores": (starts, first, stride, False),
    }
    out: dict[str, Any] = {"blocks": int(first.size)}
    with _threads(1):
        for name, (s, d, k, stream) in cases.items():
            out[name] = _best(
                lambda s=s, d=d, k=k, stream=stream: [
                    blocks(w, o, s, d, k, stream) for w, o in zip(words, outs, strict=True)
                ],
                3,
            )[0]
    return out


def profile(n: int, repeat: int) -> dict[str, Any]:
    import fastsplit
    from fastsplit.backends import get_backend
    from fastsplit.backends._numba_moves import copy_moves, index_moves
    from fastsplit.backends._numba_scatter import Tables

    from .data import make_data

    labels, arrays = make_data(n, 23)
    kernels = get_backend("numba")
    s = fastsplit.stratify(labels, mode="index", backend="numba")
    grouping, plan, order = s._grouping, s.plan, s.order
    tables = Tables(grouping, plan)
    warm = tuple(np.empty_like(a) for a in arrays)
    for o in warm:
        o.fill(0)
    permutation = np.empty(n, dtype=order.dtype)

    def fresh_scatter() -> Any:
        outs = tuple(np.empty_like(a) for a in arrays)
        tables.run(grouping.codes, copy_moves(arrays, outs))
        return outs

    steps: dict[str, Callable[[], Any]] = {
        "floor: np.array(copy=True), fresh memory": lambda: [np.array(a) for a in arrays],
        "floor: np.copyto into written memory": lambda: [
            np.copyto(o, a) for o, a in zip(warm, arrays, strict=True)
        ],
        "copy mode, all of it": lambda: fastsplit.stratify(labels, *arrays, backend="numba"),
        "labels -> codes": lambda: kernels.factorize(labels),
        "block layout (Tables)": lambda: Tables(grouping, plan),
        "copy scatter into written outputs": lambda: tables.run(
            grouping.codes, copy_moves(arrays, warm)
        ),
        "copy scatter into fresh outputs": fresh_scatter,
        "index scatter (the permutation)": lambda: tables.run(
            grouping.codes, index_moves(permutation)
        ),
        "index mode, all of it": lambda: fastsplit.stratify(labels, mode="index"),
        "take(*arrays): lockstep gather, fresh outputs": lambda: s.take(*arrays),
    }
    out: dict[str, Any] = {"n": n, "all threads": {}, "one thread": {}}
    for name, fn in steps.items():
        out["all threads"][name] = _best(fn, repeat)
    with _threads(1):
        for name in ("copy scatter into written outputs", "copy scatter into fresh outputs"):
            out["one thread"][name] = _best(steps[name], repeat)
    out["write pattern (one thread)"] = _write_pattern(order, arrays)
    return out


def _print(report: dict[str, Any]) -> None:
    print(f"\n{report['n']:,} points, 23 groups, 4 x float64 (min of the repeats)")
    for threads in ("all threads", "one thread"):
        for name, (seconds, faults) in report[threads].items():
            print(f"  {name:48s} {1e3 * seconds:9.2f} ms  {faults:9.0f} faults  ({threads})")
    pattern = report["write pattern (one thread)"]
    print(f"  write pattern alone, {pattern['blocks']:,} blocks x 4 arrays, one thread:")
    for name, seconds in pattern.items():
        if name != "blocks":
            print(f"    {name:46s} {1e3 * seconds:9.2f} ms")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--sizes", type=lambda s: int(float(s)), nargs="+",
                        default=[3_000_000, 23 * 1001 * 1001])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    for n in args.sizes:
        _print(profile(n, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
