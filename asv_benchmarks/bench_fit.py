"""Stratify time as a share of the fit in ``fastsplit.fit`` (target <= 0.1 %).

Skipped (NotImplementedError in setup) for versions without the fit adapter and
environments without nlsq.
"""

from __future__ import annotations

import importlib.util
import warnings

from . import common


class FitOverhead:
    """Static XPCS two-time fit, 23 angles (49 parameters): 361 x 361 frames (2,997,383
    points, the section 9 size) with ``FASTSPLIT_ASV_FULL=1``, else 100 x 100 (230,000)."""

    timeout = 600

    def setup(self):
        if importlib.util.find_spec("nlsq") is None:
            raise NotImplementedError("nlsq is not installed (pip install 'fastsplit[fit]')")
        try:
            from fastsplit import fit, xpcs
        except ImportError as exc:
            raise NotImplementedError(f"fastsplit.fit is not available: {exc}") from exc
        if not callable(fit):  # versions where fastsplit.fit was the adapter's package
            fit = fit.fit
        n_frames = 361 if common.FULL else 100
        data = xpcs.synthesize(n_angles=common.TARGET_GROUPS, n_frames=n_frames, seed=0)
        model = data.model
        # the start point of `fastsplit demo`: from the truth the fit would be too short
        p0 = {**model.default_p0(), "D0": 1.0e4, "alpha": -0.8, "D_offset": 500.0}

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fit(
                    model,
                    data.x,
                    data.g2,
                    groups=data.phi,
                    p0=p0,
                    per_group=("contrast", "offset"),
                    sigma=data.sigma,
                    bounds=model.default_bounds(),
                )

        self.run = run
        run()  # JAX tracing/compilation and numba loading, not part of the figure

    def track_stratify_fit_overhead_percent(self):
        """100 x stratify seconds / fit seconds, as ``FitResult.timings`` reports them."""
        timings = self.run().timings
        return 100 * timings.stratify / timings.fit

    track_stratify_fit_overhead_percent.unit = "%"
