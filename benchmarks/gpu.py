"""The JAX backend on an accelerator: gather bandwidth, host order, transfer, and fit.

Run on a machine with a GPU (and ``jax[cuda]``)::

    python -m benchmarks.gpu [--sizes 23046023 100000000] [--json gpu.json]
    python -m benchmarks.gpu --small     # tiny sizes: checks the script on any JAX device

At each size (angle-major data, 23 groups, 4 float32 arrays, chunk_size 100,000)
it measures, median of ``--repeat`` runs after one untimed run (compilation):

* the host order (``backend="numba"`` index mode: what the JAX backend runs on
  the host before gathering);
* the host-to-device transfer of the 4 arrays (``jax.device_put``), in GB/s;
* the JAX backend's gather of the 4 arrays by the permutation, already on the
  device, in GB/s (bytes read and written, indices included), against a plain
  device copy of the same arrays and against the device's nominal memory
  bandwidth when its kind is known (goal: >= 50 % of it);
* ``fastsplit.fit`` (``fastsplit.xpcs.fit_two_time``, static model) on the
  accelerator and on the host CPU, on 23 x F^2 points (``--fit-frames``; 1001
  is the real size, 23M points).

JAX's 64-bit mode is turned on by this script (the fit works in float64), never
by the library.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["NOMINAL_GB_S", "main"]

NOMINAL_GB_S = {  # vendor figures of HBM bandwidth, by a substring of jax's device_kind
    "H200": 4800.0,
    "H100": 3350.0,
    "A100": 1555.0,
    "V100": 900.0,
    "L4": 300.0,
    "A10": 600.0,
    "T4": 320.0,
}


def _median_s(fn: Callable[[], Any], repeat: int) -> float:
    import jax

    jax.block_until_ready(fn())  # compile / warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _nominal(kind: str) -> float | None:
    for name, gb_s in NOMINAL_GB_S.items():
        if name.lower() in kind.lower():
            return gb_s
    return None


def measure_gather(n: int, repeat: int, device: Any) -> dict[str, Any]:
    """Host order, transfer, device gather and device copy at ``n`` points."""
    import jax
    import jax.numpy as jnp

    import fastsplit
    from fastsplit.backends import _jax

    groups = 23
    labels = np.repeat(np.linspace(-170.0, 170.0, groups), -(-n // groups))[:n]
    rng = np.random.default_rng(0)
    host = tuple(rng.random(n, dtype=np.float32) for _ in range(4))
    order_s = _median_s(lambda: fastsplit.stratify(labels, mode="index", backend="numba"), repeat)
    order = fastsplit.stratify(labels, mode="index", backend="numba").order
    transfer_s = _median_s(lambda: jax.device_put(host, device), repeat)
    arrays = jax.device_put(host, device)
    indices = jax.device_put(order, device)
    gather_s = _median_s(lambda: _jax._gather(arrays, indices), repeat)
    copy_s = _median_s(lambda: tuple(jnp.copy(a) for a in arrays), repeat)
    data_bytes = sum(a.nbytes for a in host)
    moved = 2 * data_bytes + order.nbytes  # read + write the arrays, read the indices
    kind = getattr(device, "device_kind", str(device))
    nominal = _nominal(kind)
    gather_gb_s = moved / gather_s / 1e9
    return {
        "n": n,
        "device": str(device),
        "device_kind": kind,
        "host_order_s": order_s,
        "transfer_s": transfer_s,
        "transfer_gb_s": data_bytes / transfer_s / 1e9,
        "gather_s": gather_s,
        "gather_gb_s": gather_gb_s,
        "copy_gb_s": 2 * data_bytes / copy_s / 1e9,
        "nominal_gb_s": nominal,
        "gather_share_of_nominal": gather_gb_s / nominal if nominal else None,
    }


def measure_fit(n_frames: int, device: Any, repeat: int) -> dict[str, Any]:
    """``fit_two_time`` (static) with JAX on ``device``: seconds of the second fit."""
    import jax

    from fastsplit.xpcs import fit_two_time, synthesize

    data = synthesize(n_angles=23, n_frames=n_frames, seed=0)
    model = data.model

    def once() -> Any:
        with warnings.catch_warnings(), jax.default_device(device):
            warnings.simplefilter("ignore")
            return fit_two_time(model, data, p0=model.rough_p0())

    once()  # compile
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = once()
        times.append(time.perf_counter() - start)
    return {
        "n": int(data.n_points),
        "device": str(device),
        "seconds": statistics.median(times),
        "strategy": str(getattr(result, "strategy", "")),
        "success": bool(getattr(result, "success", False)),
    }


def run(sizes: Sequence[int], fit_frames: int, repeat: int, fit: bool = True) -> dict[str, Any]:
    """Every measurement of the module docstring; returns a JSON-ready report."""
    import jax

    jax.config.update("jax_enable_x64", True)  # a program may; the library never does
    device = jax.devices()[0]
    cpu = jax.devices("cpu")[0]
    report: dict[str, Any] = {
        "jax": jax.__version__,
        "device": str(device),
        "platform": device.platform,
        "gather": [measure_gather(n, repeat, device) for n in sizes],
    }
    if fit:
        report["fit"] = {
            "accelerator": measure_fit(fit_frames, device, max(1, repeat // 3)),
            "cpu": measure_fit(fit_frames, cpu, max(1, repeat // 3)),
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"JAX {report['jax']} on {report['device']} ({report['platform']})"]
    for g in report["gather"]:
        share = (
            f"{100 * g['gather_share_of_nominal']:.0f} % of nominal {g['nominal_gb_s']:.0f} GB/s"
            if g["gather_share_of_nominal"] is not None
            else "nominal bandwidth unknown for this device"
        )
        lines += [
            f"{g['n']:,} points, 4 x float32:",
            f"  host order (numba, index mode)  {1e3 * g['host_order_s']:9.2f} ms",
            f"  host -> device transfer         {1e3 * g['transfer_s']:9.2f} ms "
            f"({g['transfer_gb_s']:.1f} GB/s)",
            f"  device gather (jax backend)     {1e3 * g['gather_s']:9.2f} ms "
            f"({g['gather_gb_s']:.0f} GB/s; {share}; a plain device copy "
            f"{g['copy_gb_s']:.0f} GB/s)",
        ]
    if "fit" in report:
        acc, cpu = report["fit"]["accelerator"], report["fit"]["cpu"]
        lines.append(
            f"fit_two_time, static, {acc['n']:,} points: {acc['seconds']:.2f} s on "
            f"{acc['device']} vs {cpu['seconds']:.2f} s on {cpu['device']} "
            f"({cpu['seconds'] / acc['seconds']:.1f}x)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__)
    parser.add_argument("--sizes", type=lambda s: int(float(s)), nargs="+")
    parser.add_argument("--fit-frames", type=int, default=1001)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-fit", action="store_true", help="skip the fit comparison")
    parser.add_argument(
        "--small", action="store_true", help="tiny sizes: check the script on any device"
    )
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    try:
        import jax  # noqa: F401
    except ImportError:
        print("benchmarks.gpu needs jax (pip install 'fastsplit[jax]')", file=sys.stderr)
        return 1
    sizes = args.sizes or ([100_000, 1_000_000] if args.small else [23 * 1001 * 1001, 100_000_000])
    fit_frames = 31 if args.small else args.fit_frames
    report = run(sizes, fit_frames, 3 if args.small else args.repeat, fit=not args.no_fit)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
