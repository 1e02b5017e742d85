"""What a fresh process pays before its first fit, with JAX's persistent cache empty and filled.

Run from the repository root::

    python -m benchmarks.first_fit [--frames 1001] [--angles 3]
        [--modes static laminar_flow] [--cli] [--json out.json]

For every mode, in a new cache directory (``XDG_CACHE_HOME``: fastsplit puts
JAX's persistent cache there, see ``fastsplit._fit._compile_cache``), two fresh
processes one after the other each fit the same synthetic two-time data twice
(rough start, the model's bounds). Each fit reports its ``Timings`` (stratify,
fit, compile) and what JAX announced while it ran (``jax.monitoring``): tracing,
lowering to MLIR, XLA compilation, persistent-cache reads. The figures of
issue 21:

* ``second / first process compile``: the compile seconds of the first fit in
  process 2 (the cache filled by process 1) over those of process 1 (<= 20 %);
* ``first / later fit``: in process 2, the first fit's total over the later
  fit's (<= 1.5x);

``--cli`` also runs ``fastsplit fit`` twice on the data written to an npz file,
in the same fresh cache, and reads the compile time the command prints.
numba's cache is left as it is (``benchmarks.measures.first_call`` measures it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD = r"""
import collections, json, sys, time, warnings
import jax.monitoring
events = collections.defaultdict(float)
jax.monitoring.register_event_duration_secs_listener(
    lambda event, secs, **kw: events.__setitem__(event, events[event] + secs))
from fastsplit.xpcs import fit_two_time, synthesize
from fastsplit._fit import _nlsq
mode, frames, angles = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = synthesize(n_angles=angles, n_frames=frames, mode=mode, seed=0)
model = data.model
t_start = time.perf_counter()
_nlsq.import_nlsq()  # as the CLI does before its fit: imports and start-up are not the fit's
from fastsplit.backends import _jit
_jit.start_up()  # numba's own start-up, which `fastsplit fit` does while loading JAX
start_up = time.perf_counter() - t_start
names = {"jaxpr_trace_duration": "trace", "jaxpr_to_mlir_module_duration": "lower",
         "backend_compile_duration": "xla", "cache_retrieval_time_sec": "cache_read"}
out = {"mode": mode, "n": data.n_points, "start_up": start_up}
for call in ("first", "later"):
    before = dict(events)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fit_two_time(model, data, p0=model.rough_p0(), on_failure="warn")
    wall = time.perf_counter() - t0
    jax_s = {names[k.rsplit("/", 1)[-1]]: v - before.get(k, 0.0) for k, v in events.items()
             if k.rsplit("/", 1)[-1] in names}
    out[call] = {"wall": wall, **r.timings.as_dict(), "jax": jax_s, "success": r.success}
print("RESULT " + json.dumps(out))
"""


def _child(code: str, args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(done.stderr[-2000:])


def _cli_fit(data: Path, mode: str, env: dict[str, str], timeout: float) -> dict[str, float]:
    """``fastsplit fit DATA`` in a fresh process: wall seconds and the compile seconds it prints."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "fastsplit.cli", "fit", str(data), "--mode", mode, "--force"],
        capture_output=True,
        text=True,
        env=env,
        cwd=data.parent,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - t0
    found = re.search(r"fit ([0-9.]+) s, ratio [0-9.]+ %, compilation ([0-9.]+) s", done.stdout)
    if found is None:
        raise RuntimeError(done.stdout[-1500:] + done.stderr[-1500:])
    return {"wall": wall, "fit": float(found[1]), "compile": float(found[2])}


def measure(mode: str, frames: int, angles: int, cli: bool, timeout: float) -> dict[str, Any]:
    """Two fresh processes (and, with ``cli``, two ``fastsplit fit`` runs) on one new cache."""
    with tempfile.TemporaryDirectory() as work:
        # HOME too: nlsq 0.6 points the cache at ~/.cache/nlsq on import (what the
        # figures before fastsplit configured the cache measure), never shared here.
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(work) / "cache"), "HOME": work}
        for name in (
            "JAX_COMPILATION_CACHE_DIR",
            "FASTSPLIT_JAX_CACHE",
            "FASTSPLIT_JAX_CACHE_DIR",
            "NLSQ_JAX_CACHE_DIR",
        ):
            env.pop(name, None)
        args = [mode, str(frames), str(angles)]
        out: dict[str, Any] = {
            "process1": _child(CHILD, args, env, timeout),
            "process2": _child(CHILD, args, env, timeout),
        }
        if cli:
            from fastsplit.xpcs import synthesize

            data = synthesize(n_angles=angles, n_frames=frames, mode=mode, seed=0)
            path = Path(work) / f"{mode}.npz"
            from fastsplit.xpcs import TwoTimeData

            TwoTimeData(
                data.phi,
                data.t1,
                data.t2,
                data.g2,
                sigma=data.sigma,
                q=data.model.q,
                dt=data.model.dt,
                n_frames=frames,
            ).save_npz(path)
            cli_home = Path(work) / "cli"
            cli_home.mkdir()
            cli_env = {**env, "XDG_CACHE_HOME": str(cli_home / "cache"), "HOME": str(cli_home)}
            out["cli1"] = _cli_fit(path, mode, cli_env, timeout)
            out["cli2"] = _cli_fit(path, mode, cli_env, timeout)
    return out


def lines_of(mode: str, r: dict[str, Any]) -> list[str]:
    lines = []
    for proc in ("process1", "process2"):
        p = r[proc]
        lines.append(
            f"{mode:13s} {proc} loading nlsq and JAX, starting numba: {p['start_up']:.2f} s "
            "(before the fits, as `fastsplit fit` does)"
        )
        for call in ("first", "later"):
            c = p[call]
            jax_s = ", ".join(f"{k} {v:.2f}" for k, v in sorted(c["jax"].items()))
            lines.append(
                f"{mode:13s} {proc} {call:5s} total {c['total']:6.2f} s = fit {c['fit']:6.2f} "
                f"+ compile {c['compile']:5.2f} (JAX: {jax_s or 'nothing'}) wall {c['wall']:6.2f}"
            )
    p1, p2 = r["process1"], r["process2"]
    share = p2["first"]["compile"] / max(p1["first"]["compile"], 1e-9)
    ratio = p2["first"]["total"] / max(p2["later"]["total"], 1e-9)
    lines.append(
        f"{mode:13s} second / first process compile {100 * share:.0f} % (target <= 20 %); "
        f"first / later fit in process 2: {ratio:.2f}x (target <= 1.5x)"
    )
    if "cli1" in r:
        c1, c2 = r["cli1"], r["cli2"]
        lines.append(
            f"{mode:13s} fastsplit fit: compile {c1['compile']:.2f} s then {c2['compile']:.2f} s "
            f"({100 * c2['compile'] / max(c1['compile'], 1e-9):.0f} %), wall {c1['wall']:.1f} s "
            f"then {c2['wall']:.1f} s"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1001)
    parser.add_argument("--angles", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=["static", "laminar_flow"])
    parser.add_argument("--cli", action="store_true", help="also `fastsplit fit` twice on a file")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--json", default=None, help="also write every result here")
    args = parser.parse_args(argv)
    results = {}
    for mode in args.modes:
        results[mode] = r = measure(mode, args.frames, args.angles, args.cli, args.timeout)
        for line in lines_of(mode, r):
            print(line, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
