"""What a reshuffled epoch of ``fastsplit.batches`` costs, and its ratio to index mode.

Versions without ``fastsplit.batches`` (before the minibatch issue) skip: setup
raises NotImplementedError, which asv reports as "n/a".
"""

from __future__ import annotations

import itertools
import warnings

from . import common

BATCH_SIZE = 4096


def _sampler(labels):
    import fastsplit

    if not hasattr(fastsplit, "batches"):
        raise NotImplementedError("this version has no fastsplit.batches")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sparse-group warnings at small n
        return fastsplit.batches(labels, BATCH_SIZE, seed=0)


class BatchesEpoch:
    """One seeded epoch (every batch yielded), 23 angle-major groups, numba backend."""

    params = (common.SIZES,)
    param_names = ("n",)
    timeout = 600

    def setup(self, n):
        common.require_backend("numba", n)
        self.labels, _ = common.make_data(n, common.TARGET_GROUPS)
        self.sampler = _sampler(self.labels)
        self.epochs = itertools.count()
        self._epoch()  # compile, and build what every epoch shares
        common.warm(self.labels, (), "index", "numba")

    def _epoch(self):
        self.sampler.set_epoch(next(self.epochs))
        for _ in self.sampler:
            pass

    def time_epoch(self, n):
        self._epoch()

    def track_epoch_over_index_mode(self, n):
        """Seeded epoch time / ``stratify(mode="index")`` time, measured side by side."""
        epoch = common.best_time(self._epoch, 5)
        index = common.best_time(lambda: common.stratify(self.labels, (), "index", "numba"), 5)
        return epoch / index

    track_epoch_over_index_mode.unit = "ratio"
