"""Two versions of fastsplit side by side: the stratify figures of each, alternating.

Each round runs one fresh interpreter per version (``PYTHONPATH=<src>``), which
times the floor (``np.array(a, copy=True)`` per array), copy mode, index mode and
index mode + ``take`` of every array on the same data, and reports each as a ratio
to its own floor. Rounds alternate between the versions, so both see the same
machine load; the medians over rounds are printed side by side. Only the public
API common to every release is used (``stratify``, ``Stratified.take`` of one array).

    python -m benchmarks.versions --old ../old/src --new src --n 3000000 --rounds 5

Compare a released commit with a worktree: ``git worktree add ../old <commit>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

__all__ = ["main"]

_CHILD = r"""
import json, sys, time
import numpy as np
import fastsplit

n, groups, chunk, repeat = (int(v) for v in sys.argv[1:5])
rng = np.random.default_rng(0)
phi = np.repeat(np.linspace(-170.0, 170.0, groups), -(-n // groups))[:n]
arrays = [rng.random(n) for _ in range(4)]
fastsplit.stratify(phi[:1000], *(a[:1000] for a in arrays), chunk_size=100, mode="copy")
fastsplit.stratify(phi[:1000], chunk_size=100, mode="index")


def floor():
    return [np.array(a, copy=True) for a in arrays]


def copy():
    return fastsplit.stratify(phi, *arrays, chunk_size=chunk, mode="copy")


def index():
    return fastsplit.stratify(phi, chunk_size=chunk, mode="index")


def index_take():
    s = fastsplit.stratify(phi, chunk_size=chunk, mode="index")
    return [s.take(a) for a in arrays]


methods = {"floor": floor, "copy": copy, "index": index, "index_take": index_take}
times = {name: [] for name in methods}
for _ in range(repeat):
    for name, method in methods.items():
        t0 = time.perf_counter()
        method()
        times[name].append(time.perf_counter() - t0)
median = {name: float(np.median(t)) for name, t in times.items()}
print(json.dumps({"version": fastsplit.__version__, "seconds": median}))
"""


def _run(src: Path, n: int, groups: int, chunk: int, repeat: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    argv = [sys.executable, "-c", _CHILD, str(n), str(groups), str(chunk), str(repeat)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    seconds: dict[str, float] = json.loads(out.stdout.splitlines()[-1])["seconds"]
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="src folder of the old version")
    parser.add_argument("--new", type=Path, default=Path("src"), help="src folder of the new one")
    parser.add_argument("--n", type=int, default=3_000_000)
    parser.add_argument("--groups", type=int, default=23)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per version")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per process")
    args = parser.parse_args(argv)
    runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name in ("old", "new"):
            src = args.old if name == "old" else args.new
            runs[name].append(_run(src, args.n, args.groups, args.chunk_size, args.repeat))
    print(
        f"{args.n:,} points, {args.groups} groups, 4 float64 arrays, chunk_size "
        f"{args.chunk_size:,}; median over {args.rounds} processes x {args.repeat} calls"
    )
    print(f"{'':12s} {'old':>18s} {'new':>18s} {'new/old':>8s}")
    for method in ("floor", "copy", "index", "index_take"):
        cells = []
        for name in ("old", "new"):
            seconds = float(np.median([r[method] for r in runs[name]]))
            ratio = float(np.median([r[method] / r["floor"] for r in runs[name]]))
            cells.append((seconds, ratio))
        (so, ro), (sn, rn) = cells
        print(
            f"{method:12s} {1e3 * so:8.1f} ms {ro:5.2f}x  {1e3 * sn:8.1f} ms {rn:5.2f}x  "
            f"{sn / so:7.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
