"""Out of core: index mode over np.memmap inputs gathers one chunk at a time.

A subprocess caps its own anonymous memory with ``RLIMIT_DATA`` (file-backed,
read-only mappings do not count against it, allocations do) to what index mode
needs plus a little slack, then stratifies a memory-mapped dataset about five
times that size and checks every value arrives exactly once. If ``chunks()``
materialised any input array, the allocation would fail under the cap; a control
inside the subprocess shows that it does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba")  # the numpy oracle's sorts need ~65 bytes/point
resource = pytest.importorskip("resource")
if not Path("/proc/self/status").exists():
    pytest.skip("needs Linux /proc to measure the data segment", allow_module_level=True)

N = 12_000_000  # points: 96 MB per float64 array
N_ARRAYS = 5
N_GROUPS = 23
CHUNK = 200_000
SLACK = 48 * 2**20  # interpreter, allocator and per-chunk buffers

_CHILD = r"""
import json, resource, sys
import numpy as np
import fastsplit

path, n, n_arrays, n_groups, chunk, slack = sys.argv[1], *map(int, sys.argv[2:])


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024


# compile (or load) the kernels this path uses before the cap: the JIT is not under test
w = np.repeat(np.arange(4.0), 40_000)
list(fastsplit.stratify(w, w, mode="index", layout="contiguous", chunk_size=10_000).chunks())

need = fastsplit.estimate_memory(n, n_arrays=n_arrays, n_groups=n_groups, chunk_size=chunk,
                                 mode="index", layout="contiguous").index_bytes
cap = need + slack
base = status("VmData")
resource.setrlimit(resource.RLIMIT_DATA, (base + cap, resource.RLIM_INFINITY))

labels = np.memmap(path + ".labels", dtype=np.float64, mode="r", shape=(n,))
arrays = [np.memmap(f"{path}.{j}", dtype=np.float64, mode="r", shape=(n,))
          for j in range(n_arrays)]
s = fastsplit.stratify(labels, *arrays, mode="index", layout="auto", chunk_size=chunk,
                       max_memory_fraction=0.95)
seen = np.zeros(-(-n // 8), dtype=np.uint8)  # one bit per point
repeated = wrong = 0
sizes = []
for chunk_arrays in s.chunks():
    index = np.sort(chunk_arrays[0].astype(np.int64))
    repeated += int((np.diff(index) == 0).sum())
    byte, bit = index >> 3, (1 << (index & 7)).astype(np.uint8)
    repeated += int(((seen[byte] & bit) != 0).sum())
    np.bitwise_or.at(seen, byte, bit)
    for j in range(1, n_arrays):
        wrong += int((chunk_arrays[j] != chunk_arrays[0] * (j + 1)).sum())
    sizes.append(len(index))
grew = status("VmData") - base
try:  # control: one whole input does not fit under the cap
    np.array(arrays[1])
    control = "fit"
except MemoryError:
    control = "MemoryError"
print(json.dumps({
    "layout": s.layout, "backend": s.backend, "mode": s.mode, "cap": cap, "grew": grew,
    "arrived": int(np.unpackbits(seen)[:n].sum()), "repeated": repeated, "wrong": wrong,
    "chunks": len(sizes), "largest_chunk": max(sizes), "control": control,
    "rss_anon": status("RssAnon"), "vm_hwm": status("VmHWM"),
}))
"""


def _write(path: Path) -> int:
    """Angle-major labels and arrays ``a_j[i] = (j + 1) * i``, written a slice at a time."""
    counts = np.full(N_GROUPS, N // N_GROUPS)
    counts[: N % N_GROUPS] += 1
    labels = np.memmap(f"{path}.labels", dtype=np.float64, mode="w+", shape=(N,))
    labels[:] = np.repeat(np.linspace(-170.0, 170.0, N_GROUPS), counts)
    labels.flush()
    del labels
    step = 1 << 22
    for j in range(N_ARRAYS):
        out = np.memmap(f"{path}.{j}", dtype=np.float64, mode="w+", shape=(N,))
        for lo in range(0, N, step):
            hi = min(N, lo + step)
            out[lo:hi] = np.arange(lo, hi, dtype=np.float64) * (j + 1)
        out.flush()
        del out
    return (N_ARRAYS + 1) * N * 8


def test_memmap_index_mode_stays_within_a_cap_far_below_the_file(tmp_path):
    path = tmp_path / "data"
    file_bytes = _write(path)
    args = [str(path), str(N), str(N_ARRAYS), str(N_GROUPS), str(CHUNK), str(SLACK)]
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["layout"] == "contiguous"  # layout="auto" on memory-mapped input
    assert result["mode"] == "index" and result["backend"] == "numba"
    assert file_bytes >= 4 * result["cap"]  # the data is several times the memory allowed
    assert result["control"] == "MemoryError"  # the cap does bite
    assert result["arrived"] == N and result["repeated"] == 0 and result["wrong"] == 0
    assert result["chunks"] == -(-N // CHUNK) and result["largest_chunk"] <= CHUNK
    assert result["grew"] <= result["cap"]
