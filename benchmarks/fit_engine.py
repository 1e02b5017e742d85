"""The fit engine alone: two XPCS fits in one process, the second one timed.

Run from the repository root (``PYTHONPATH`` picks the tree to measure)::

    python -m benchmarks.fit_engine [--frames 1001] [--angles 23] [--mode static]

``fit_two_time`` with ``errors="model"`` (where the installed fastsplit has the
option), so that releases before and after the cluster-robust errors of issue 19
do the same work; the rough start and the model's bounds, as
``benchmarks.fit_strategies`` fits. Prints wall seconds, the result's
``Timings`` and the cost of each call.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
import warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--frames", type=int, default=1001)
    parser.add_argument("--angles", type=int, default=23)
    parser.add_argument("--mode", default="static", choices=["static", "laminar_flow"])
    args = parser.parse_args(argv)
    from fastsplit.xpcs import fit_two_time, synthesize

    d = synthesize(n_angles=args.angles, n_frames=args.frames, mode=args.mode, seed=0)
    options = {"errors": "model"} if "errors" in inspect.signature(fit_two_time).parameters else {}
    for call in ("cold", "warm"):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fit_two_time(
                d.model, d, p0=d.model.rough_p0(), strategy="chunked", on_failure="warn", **options
            )
        wall = time.perf_counter() - t0
        t = r.timings
        print(
            f"{args.mode} {d.n_points:,} points {call}: {wall:.2f} s wall, fit {t.fit:.2f} s, "
            f"stratify {t.stratify:.3f} s, compile {t.compile:.2f} s, cost {r.cost:.10g}, "
            f"nfev {r.nfev}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
