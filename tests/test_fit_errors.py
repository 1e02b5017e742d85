"""Honest errors: about 68 % of parameters within one reported error of the truth, 95 % within two.

Many small noisy XPCS data sets (each its own seed: own noise, own per-angle
truth) are fitted, and every parameter's ``|fit - truth| / error`` is pooled.
``chunked`` and ``sequential`` are tested directly. ``full`` and ``streaming``
report the same covariance (the judge computes it from the exact normal
equations at the solution) and reach the same minimum as ``chunked``
(``test_fit_verdicts``), so their errors are the same ones. The bounds allow for
the sampling spread of a few hundred values (about 3 %).
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
pytest.importorskip("nlsq")

from fastsplit._fit import fit  # noqa: E402
from fastsplit.xpcs import synthesize  # noqa: E402


def pulls(strategy, mode, n_angles, n_frames, seeds):
    """``|fit - truth| / error`` of every parameter of every data set."""
    model = None
    out = []
    for seed in seeds:
        d = synthesize(n_angles=n_angles, n_frames=n_frames, mode=mode, noise=0.01, seed=seed)
        model = model or d.model  # one model object: compiled once for every data set
        r = fit(
            model,
            d.x,
            d.g2,
            groups=d.phi,
            p0=model.rough_p0(),
            per_group=model.per_group_names,
            bounds=model.default_bounds(),
            sigma=d.sigma,
            strategy=strategy,
            chunk_size=300,
        )
        truth = np.concatenate([np.atleast_1d(d.truth[n]) for n in model.parameter_names])
        out.append(np.abs(r.x - truth) / np.sqrt(np.diag(r.covariance)))
    return np.concatenate(out)


def assert_honest(z):
    within_one, within_two = np.mean(z < 1), np.mean(z < 2)
    assert 0.60 <= within_one <= 0.77, within_one
    assert 0.90 <= within_two <= 0.985, within_two


@pytest.mark.parametrize(
    ("mode", "n_angles", "n_frames", "n_sets"),
    [("static", 3, 10, 60), ("laminar_flow", 4, 20, 30)],
)
def test_chunked_errors_are_honest(mode, n_angles, n_frames, n_sets):
    assert_honest(pulls("chunked", mode, n_angles, n_frames, range(100, 100 + n_sets)))


def test_sequential_errors_are_honest():
    # Shared parameters combined with the groups' information matrices, per-group ones
    # refitted: to first order the joint minimum, whose errors the result reports.
    assert_honest(pulls("sequential", "static", 3, 10, range(100, 140)))
