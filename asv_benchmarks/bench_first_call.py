"""The first copy + index call of a fresh interpreter (targets: <= 0.15 s with numba's
cache populated, <= 3 s with it empty).

Each track runs a fresh interpreter with its own numba cache directory: 100,000
angle-major points, 23 groups, 4 float64 arrays, ``stratify`` in copy then in index
mode, timed from just before the first call (``import fastsplit`` and the data are
not counted; importing numba on that first call is). Only the API every version
offers is used.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from . import common

_CHILD = r"""
import json, time
import numpy as np
import fastsplit
rng = np.random.default_rng(0)
labels = np.repeat(np.linspace(-170.0, 170.0, 23), 4348)
arrays = [rng.random(labels.size) for _ in range(4)]
start = time.perf_counter()
fastsplit.stratify(labels, *arrays, mode="copy")
fastsplit.stratify(labels, mode="index")
seconds = time.perf_counter() - start
try:  # since issue 21 an empty cache compiles in a background process: stop it
    from fastsplit.backends import _cold
except ImportError:
    pass
else:
    import os, signal
    if _cold._STATE._child_running():
        os.kill(_cold._STATE.child, signal.SIGTERM)
        os.waitpid(_cold._STATE.child, 0)
print(json.dumps({"seconds": seconds}))
"""


def _first_call(cache: Path, **env_vars: str) -> float:
    script = cache.parent / "first_call.py"
    script.write_text(_CHILD)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "FASTSPLIT_NUMBA_CACHE": "1", **env_vars}
    out = common.run_file(script, env)
    return float(json.loads(out.strip().splitlines()[-1])["seconds"])


class FirstCall:
    timeout = 600

    def setup(self):
        common.require_backend("numba")

    def track_first_call_empty_cache(self):
        """Seconds of the first copy + index call with numba's cache empty (since issue 21
        served by numpy while numba compiles in the background; before, compiling)."""
        with tempfile.TemporaryDirectory() as work:
            return _first_call(Path(work) / "cache")

    track_first_call_empty_cache.unit = "s"

    def track_first_call_populated_cache(self):
        """Seconds of the first copy + index call when the kernels load from numba's cache."""
        with tempfile.TemporaryDirectory() as work:
            cache = Path(work) / "cache"
            _first_call(cache, FASTSPLIT_COLD_START="wait")  # fills the cache
            return min(_first_call(cache) for _ in range(3))

    track_first_call_populated_cache.unit = "s"
