"""Stratify time as a share of the fit in ``fastsplit.fit`` (target <= 0.1 %).

Skipped (NotImplementedError in setup) in environments without nlsq and for
versions without ``fastsplit.xpcs.fit_two_time`` and the demo's start point
``TwoTimeModel.rough_p0`` (before the XPCS application became a subpackage).
"""

from __future__ import annotations

import importlib.util
import warnings

from . import common


class FitOverhead:
    """Static XPCS two-time fit, 23 angles (49 parameters): 361 x 361 frames (2,997,383
    points, the size of the targets) with ``FASTSPLIT_ASV_FULL=1``, else 100 x 100 (230,000)."""

    timeout = 600

    def setup(self):
        if importlib.util.find_spec("nlsq") is None:
            raise NotImplementedError("nlsq is not installed (pip install 'fastsplit[fit]')")
        try:
            from fastsplit.xpcs import TwoTimeModel, fit_two_time, synthesize
        except ImportError as exc:
            raise NotImplementedError(
                f"fastsplit.xpcs.fit_two_time is not available: {exc}"
            ) from exc
        if not hasattr(TwoTimeModel, "rough_p0"):
            raise NotImplementedError("TwoTimeModel.rough_p0 is not available")
        n_frames = 361 if common.FULL else 100
        data = synthesize(n_angles=common.TARGET_GROUPS, n_frames=n_frames, seed=0)
        model = data.model

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # the demo's start point: from the truth the fit would be too short
                return fit_two_time(model, data, p0=model.rough_p0())

        self.run = run
        run()  # JAX tracing/compilation and numba loading, not part of the figure

    def track_stratify_fit_overhead_percent(self):
        """100 x stratify seconds / fit seconds, as ``FitResult.timings`` reports them."""
        timings = self.run().timings
        return 100 * timings.stratify / timings.fit

    track_stratify_fit_overhead_percent.unit = "%"
