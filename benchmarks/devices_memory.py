"""Memory of the chunked fit on several JAX devices against one device (docs/scaling-out.md).

For each device count (``--devices``, default 1 and 4), a subprocess with that many
fake CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count``, set before
JAX is imported) runs one whole ``fastsplit.fit`` of the XPCS static model
(``--angles`` x ``--frames``^2 points) and reports the process's peak resident size
(``ru_maxrss``, before and after the fit); then it builds the same chunk stacks, runs
one normal-equations pass of the objective on all its devices, and reports the bytes
of live JAX arrays held on each device (every addressable shard of
``jax.live_arrays()``: CPU devices have no ``memory_stats()``).

Run:  python -m benchmarks.devices_memory [--frames 400] [--angles 12] [--devices 1 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np, jax
    import fastsplit
    from fastsplit._fit import _data, _model
    from fastsplit._fit._normal import Objective
    from fastsplit.xpcs import synthesize

    angles, frames, chunk_size = (int(a) for a in sys.argv[1:4])
    d = synthesize(n_angles=angles, n_frames=frames, seed=4)
    m = d.model
    options = dict(p0=m.rough_p0(), per_group=("contrast", "offset"), sigma=d.sigma,
                   bounds=m.default_bounds())

    def per_device():
        held = {str(dev): 0 for dev in jax.devices()}
        for a in jax.live_arrays():  # shard sizes from the sharding: shard.data would
            size = int(np.prod(a.sharding.shard_shape(a.shape))) * a.dtype.itemsize
            for device in a.sharding.device_set:  # make new arrays, live ever after
                held[str(device)] += size
        return list(held.values())

    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    before_fit = rss()
    r = fastsplit.fit(m, d.x, d.g2, groups=d.phi, chunk_size=chunk_size, **options)
    fit_peak = rss()
    with jax.enable_x64(True):
        counted, _ = _data.count_groups(d.phi, chunk_size, "auto")
        chunking = _data.stratified(counted, chunk_size, "auto", 0.0)
        stacks = _data.ChunkStacks.build(d.x, d.g2, 1.0 / d.sigma, chunking)
        built = per_device()
        layout, start, _, _ = _model.flat_parameters(
            options["p0"], options["per_group"], None, counted.n_groups)
        objective = Objective(m, layout, True, stacks)
        objective.normal(start)
        passed = per_device()
        stack_bytes = sum(int(np.asarray(a).nbytes) for a in (*stacks.x, stacks.y,
                                                              stacks.weight, stacks.codes))
        del objective, stacks
    json.dump({"devices": len(jax.devices()), "n": int(d.g2.size),
               "n_chunks": int(r.info["n_chunks"]), "stack_bytes": stack_bytes,
               "after_build": built, "after_pass": passed, "rss_before_fit": before_fit,
               "rss_peak": fit_peak, "cost": r.cost}, sys.stdout)
    """
)


def run(devices: int, angles: int, frames: int, chunk_size: int) -> dict[str, object]:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(angles), str(frames), str(chunk_size)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--angles", type=int, default=12)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args(argv)
    mib = 2.0**20
    for count in args.devices:
        r = run(count, args.angles, args.frames, args.chunk_size)
        build = ", ".join(f"{b / mib:.1f}" for b in r["after_build"])  # type: ignore[attr-defined]
        passed = ", ".join(f"{b / mib:.1f}" for b in r["after_pass"])  # type: ignore[attr-defined]
        print(
            f"{r['devices']} device(s), n={r['n']:,}, {r['n_chunks']} chunks, stacks "
            f"{r['stack_bytes'] / mib:.1f} MiB (padding included)\n"  # type: ignore[operator]
            f"  MiB held per device after the build: [{build}]\n"
            f"  MiB held per device after a pass:    [{passed}]\n"
            f"  peak RSS {r['rss_peak'] / mib:.0f} MiB over a whole fit "  # type: ignore[operator]
            f"(before the fit {r['rss_before_fit'] / mib:.0f} MiB), cost {r['cost']:.6g}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
