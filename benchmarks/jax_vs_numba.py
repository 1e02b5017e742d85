"""JAX backend on this machine's default JAX device vs the numba backend.

Copy mode, 3M angle-major points in 23 groups, 4 data arrays: float32 with JAX's
default 32-bit mode, then float64 with ``jax_enable_x64`` turned on (by this
script, never by the library). The JAX arrays already live on the device, as
they would in a JAX program. First-call (compile) time is reported separately
from the steady-state median.

Run:  .venv/bin/python benchmarks/jax_vs_numba.py [--n 3000000] [--repeat 21]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import fastsplit
from fastsplit.backends import _jax, get_backend


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _run(n: int, groups: int, dtype: Any, repeat: int) -> None:
    phi = np.repeat(np.linspace(-170.0, 170.0, groups), -(-n // groups))[:n]
    rng = np.random.default_rng(0)
    host = tuple(rng.normal(size=n).astype(dtype) for _ in range(4))
    device = tuple(jnp.asarray(a) for a in host)
    jax.block_until_ready(device)

    # JAX: the first call with these shapes traces and compiles the gather
    start = time.perf_counter()
    first = fastsplit.stratify(phi, *device, backend="jax", check_memory_safety=False)
    jax.block_until_ready(first.arrays)
    first_ms = 1e3 * (time.perf_counter() - start)

    def numba_copy() -> Any:
        return fastsplit.stratify(phi, *host, backend="numba", check_memory_safety=False).arrays

    def jax_copy() -> Any:
        return fastsplit.stratify(phi, *device, backend="jax", check_memory_safety=False).arrays

    kernels = get_backend("numba")
    s = fastsplit.stratify(phi, mode="index", backend="numba")
    grouping, plan = s._grouping, s.plan

    def host_order() -> Any:
        return kernels.order(grouping, plan)

    order = jax.device_put(host_order())

    def gather_only() -> Any:
        return _jax._gather(device, order)

    numba_copy()
    numba_ms = _median_ms(numba_copy, repeat)
    jax_ms = _median_ms(jax_copy, repeat)
    order_ms = _median_ms(host_order, repeat)
    gather_ms = _median_ms(gather_only, repeat)
    check = fastsplit.stratify(phi, *host, backend="numba")
    assert all(
        np.asarray(a).tobytes() == b.tobytes()
        for a, b in zip(first.arrays, check.arrays, strict=True)
    )
    name = np.dtype(dtype).name
    print(f"\n{n:,} points, {groups} groups, 4 x {name}, copy mode (median of {repeat})")
    print(f"  numba backend                 {numba_ms:8.2f} ms")
    print(f"  jax backend (steady state)    {jax_ms:8.2f} ms   = {jax_ms / numba_ms:.2f}x numba")
    print(f"    of which host order (numba) {order_ms:8.2f} ms")
    print(f"    of which jitted gather      {gather_ms:8.2f} ms")
    print(f"  jax first call (compile)      {first_ms:8.2f} ms   (+{first_ms - jax_ms:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3_000_000)
    parser.add_argument("--groups", type=int, default=23)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    fastsplit.warmup("numba")
    print(f"JAX {jax.__version__} on {jax.devices()[0]}; numba threads: ", end="")
    print(get_backend("numba").num_threads())
    _run(args.n, args.groups, np.float32, args.repeat)
    jax.config.update("jax_enable_x64", True)  # a program may; the library never does
    _run(args.n, args.groups, np.float64, args.repeat)


if __name__ == "__main__":
    main()
