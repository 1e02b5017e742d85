"""Which fit strategy is fastest where: every strategy on the same XPCS data, side by side.

Run from the repository root::

    python -m benchmarks.fit_strategies [--frames 10 30 66 150] [--angles 23]
        [--modes static laminar_flow] [--strategies chunked full streaming] [--json out.json]

For every mode and size, each strategy fits the same synthetic two-time data
(``fastsplit.xpcs.synthesize``, rough start, the model's bounds) in a fresh
process, twice: the first call pays JAX/nlsq compilation (``cold``), the second
does not (``warm``). The strategies of one size run one after the other, so
machine noise hits them alike. Each line gives wall seconds, the strategy's
``Timings`` (stratify / fit / compile), the full-data cost, the verdict and the
peak resident memory of the process. ``full`` is ``nlsq.curve_fit`` on all
points: the figure the issue-11 targets compare ``fastsplit.fit`` with.
This is what ``auto``'s choice in ``docs/fit.md`` rests on.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

CHILD = r"""
import json, resource, sys, time, warnings
from fastsplit.xpcs import fit_two_time, synthesize
mode, frames, angles, strategy = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = synthesize(n_angles=angles, n_frames=frames, mode=mode, seed=0)
model = data.model
out = {"mode": mode, "frames": frames, "angles": angles, "n": data.n_points, "strategy": strategy}
for call in ("cold", "warm"):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fit_two_time(model, data, p0=model.rough_p0(), strategy=strategy, on_failure="warn")
    out[call] = {"wall": time.perf_counter() - t0, **r.timings.as_dict(), "cost": r.cost,
                 "success": r.success, "nfev": r.nfev}
out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print("RESULT " + json.dumps(out))
"""


def run_one(mode: str, frames: int, angles: int, strategy: str, timeout: float) -> dict[str, Any]:
    """One strategy on one data set in a fresh process."""
    cmd = [sys.executable, "-c", CHILD, mode, str(frames), str(angles), strategy]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"mode": mode, "frames": frames, "strategy": strategy, "error": "timeout"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    return {"mode": mode, "frames": frames, "strategy": strategy, "error": done.stderr[-500:]}


def line_of(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['mode']:13s} {r['frames']:5d} {r['strategy']:10s} ERROR {r['error'][:80]}"
    cold, warm = r["cold"], r["warm"]
    return (
        f"{r['mode']:13s} {r['n']:>10,d} {r['strategy']:10s} cold {cold['wall']:7.2f} s "
        f"(compile {cold['compile']:5.2f})  warm {warm['wall']:7.2f} s  "
        f"cost {warm['cost']:.10g}  {'OK' if warm['success'] else 'FAILED'}  "
        f"peak {r['peak_rss_gb']:.2f} GB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[10, 30, 66, 150])
    parser.add_argument("--angles", type=int, default=23)
    parser.add_argument("--modes", nargs="+", default=["static", "laminar_flow"])
    parser.add_argument("--strategies", nargs="+", default=["chunked", "full", "streaming"])
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", default=None, help="also write every result here")
    args = parser.parse_args(argv)
    results = []
    for mode in args.modes:
        for frames in args.frames:
            for strategy in args.strategies:
                r = run_one(mode, frames, args.angles, strategy, args.timeout)
                results.append(r)
                print(line_of(r), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
