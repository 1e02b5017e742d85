"""Stratify time as a share of the fit in ``fastsplit.fit`` (target <= 0.5 %).

The static XPCS two-time fit, 23 angles (49 parameters), from the demo's rough
start point. Versions with ``fastsplit.xpcs.fit_two_time`` are fitted through it;
older ones (``fastsplit.xpcs`` a module, no ``rough_p0``) through ``fastsplit.fit``
with the same start; versions before ``fastsplit.fit`` or without nlsq are skipped.
"""

from __future__ import annotations

import importlib.util
import warnings

from . import common

# The demo's start point (TwoTimeModel.rough_p0 where it exists): D0, alpha, D_offset
# away from the truth, so that the fit has real work to do.
ROUGH = {"D0": 1e4, "alpha": -0.8, "D_offset": 500.0, "contrast": 0.3, "offset": 0.9}


def _fit_function():
    """``fastsplit.fit``: a function, or in early versions a subpackage holding it."""
    import importlib

    import fastsplit

    found = getattr(fastsplit, "fit", None)
    if found is None:
        try:
            found = importlib.import_module("fastsplit.fit")
        except ImportError as exc:
            raise NotImplementedError(f"fastsplit.fit is not available: {exc}") from exc
    if not callable(found):
        found = getattr(found, "fit", None)
    if not callable(found):
        raise NotImplementedError("fastsplit.fit is not available")
    return found


def _fitter():
    """(synthesize, fit(model, data, p0) -> result, rough start) for this version."""
    try:
        import fastsplit.xpcs as xpcs
    except ImportError as exc:
        raise NotImplementedError(f"fastsplit.xpcs is not available: {exc}") from exc
    if not hasattr(xpcs, "synthesize"):
        raise NotImplementedError("fastsplit.xpcs.synthesize is not available")

    def rough(model):
        if hasattr(model, "rough_p0"):
            return model.rough_p0()
        return {
            **model.default_p0(),
            **{k: v for k, v in ROUGH.items() if k in model.parameter_names},
        }

    if hasattr(xpcs, "fit_two_time"):
        return xpcs.synthesize, lambda m, d, p0: xpcs.fit_two_time(m, d, p0=p0), rough
    fit_function = _fit_function()

    def fit(model, data, p0):
        return fit_function(
            model,
            data.x,
            data.g2,
            groups=data.phi,
            p0=p0,
            per_group=("contrast", "offset"),
            sigma=data.sigma,
            bounds=model.default_bounds(),
        )

    return xpcs.synthesize, fit, rough


class FitOverhead:
    """Static XPCS two-time fit, 23 angles (49 parameters): 361 x 361 frames (2,997,383
    points, the size of the targets) with ``FASTSPLIT_ASV_FULL=1``, else 100 x 100 (230,000)."""

    timeout = 600

    def setup(self):
        if importlib.util.find_spec("nlsq") is None:
            raise NotImplementedError("nlsq is not installed (pip install 'fastsplit[fit]')")
        synthesize, fit, rough = _fitter()
        n_frames = 361 if common.FULL else 100
        data = synthesize(n_angles=common.TARGET_GROUPS, n_frames=n_frames, seed=0)
        model = data.model

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fit(model, data, rough(model))

        self.run = run
        run()  # JAX tracing/compilation and numba loading, not part of the figure

    def track_stratify_fit_overhead_percent(self):
        """100 x stratify seconds / fit seconds, as ``FitResult.timings`` reports them."""
        timings = self.run().timings
        return 100 * timings.stratify / timings.fit

    track_stratify_fit_overhead_percent.unit = "%"
