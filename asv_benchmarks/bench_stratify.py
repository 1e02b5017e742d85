"""Stratify time and memory over n x groups x mode x backend, and the targets' figures.

Every ``setup`` runs the exact call once, so numba compiles (or loads from its
cache) before anything is timed.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

from . import common


class Stratify:
    """``fastsplit.stratify`` over n x groups x mode x backend (angle-major, 4 float64 arrays)."""

    params = (common.SIZES, common.GROUPS, common.MODES, common.BACKENDS)
    param_names = ("n", "groups", "mode", "backend")
    timeout = 600

    def setup(self, n, groups, mode, backend):
        common.require_backend(backend, n)
        self.labels, self.arrays = common.make_data(n, groups)
        common.warm(self.labels, self.arrays, mode, backend)

    def time_stratify(self, n, groups, mode, backend):
        common.stratify(self.labels, self.arrays, mode, backend)


class StratifyMemory:
    """Peak resident memory (inputs included, as asv measures it) of the numba backend."""

    params = (common.SIZES, common.GROUPS, common.MODES)
    param_names = ("n", "groups", "mode")
    timeout = 600

    def setup(self, n, groups, mode):
        common.require_backend("numba", n)
        self.labels, self.arrays = common.make_data(n, groups)
        common.warm(self.labels, self.arrays, mode, "numba")

    def peakmem_stratify(self, n, groups, mode):
        common.stratify(self.labels, self.arrays, mode, "numba")


class PlainCopy:
    """The floor: every array copied into fresh memory (tracks the machine, not the code)."""

    params = (common.SIZES,)
    param_names = ("n",)

    def setup(self, n):
        self.labels, self.arrays = common.make_data(n, common.TARGET_GROUPS)

    def time_plain_copy(self, n):
        [np.array(a, copy=True) for a in self.arrays]

    def peakmem_plain_copy(self, n):
        [np.array(a, copy=True) for a in self.arrays]


class Targets:
    """The figures of docs/benchmarks.md at 3M points, 23 groups, as tracked numbers."""

    params = (common.MODES,)
    param_names = ("mode",)
    timeout = 600

    def setup(self, mode):
        common.require_backend("numba")
        self.labels, self.arrays = common.make_data(common.TARGET_N, common.TARGET_GROUPS)
        common.warm(self.labels, self.arrays, mode, "numba")

    def _time(self, labels, arrays, mode, repeat=7):
        return common.best_time(lambda: common.stratify(labels, arrays, mode, "numba"), repeat)

    def track_ratio_to_plain_copy(self, mode):
        """Stratify time / time of copying the same arrays (targets: copy <= 1.6, index <= 0.5)."""
        arrays = self.arrays
        floor = common.best_time(lambda: [np.array(a, copy=True) for a in arrays], 7)
        return self._time(self.labels, self.arrays, mode) / floor

    track_ratio_to_plain_copy.unit = "ratio"

    def track_extra_peak_memory(self, mode):
        """Extra peak bytes of one call (tracemalloc): x outputs in copy mode (<= 1.1),
        bytes per point in index mode (<= 6 + O(K x G))."""
        gc.collect()
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            common.stratify(self.labels, self.arrays, mode, "numba")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        extra = peak - before
        if mode == "copy":
            return extra / sum(a.nbytes for a in self.arrays)
        return extra / self.labels.size

    track_extra_peak_memory.unit = "x outputs (copy) or bytes/point (index)"

    def track_group_cost_360_vs_3(self, mode):
        """Stratify time with 360 groups / with 3 groups (target <= 1.3)."""
        times = {}
        for groups in (3, 360):
            labels, arrays = common.make_data(common.TARGET_N, groups)
            common.warm(labels, arrays, mode, "numba")
            times[groups] = self._time(labels, arrays, mode)
        return times[360] / times[3]

    track_group_cost_360_vs_3.unit = "ratio"

    def track_scaling_exponent(self, mode):
        """Slope of log(time) on log(n) over SCALING_SIZES (target 0.95 .. 1.05 for 1e5..3e7)."""
        sizes = common.SCALING_SIZES
        times = []
        for n in sizes:
            labels, arrays = common.make_data(n, common.TARGET_GROUPS)
            common.warm(labels, arrays, mode, "numba")
            times.append(self._time(labels, arrays, mode, repeat=5))
        return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])

    track_scaling_exponent.unit = "exponent"


class RealSize:
    """Ratios to the floor at the real size, 23 x 1001 x 1001 = 23,046,023 points (targets:
    copy <= 1.6, index <= 0.5, index mode + gathering every array <= 1.5)."""

    params = (["copy", "index", "index+take"],)
    param_names = ("method",)
    timeout = 900

    def setup(self, method):
        common.require_backend("numba")
        self.labels, self.arrays = common.make_data(common.REAL_N, common.TARGET_GROUPS)
        self.call = {
            "copy": lambda: common.stratify(self.labels, self.arrays, "copy", "numba"),
            "index": lambda: common.stratify(self.labels, self.arrays, "index", "numba"),
            "index+take": lambda: common.take_all(
                common.stratify(self.labels, self.arrays, "index", "numba"), self.arrays
            ),
        }[method]
        self.call()

    def track_ratio_to_plain_copy(self, method):
        """Best of 3 of the method / best of 3 of copying the 4 arrays, interleaved."""
        arrays = self.arrays
        ours, floor = [], []
        for _ in range(3):
            floor.append(common.best_time(lambda: [np.array(a, copy=True) for a in arrays], 1))
            ours.append(common.best_time(self.call, 1))
        return min(ours) / min(floor)

    track_ratio_to_plain_copy.unit = "ratio"
