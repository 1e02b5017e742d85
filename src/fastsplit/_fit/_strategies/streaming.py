"""``streaming``: nlsq's adaptive hybrid streaming optimiser, one stratified chunk per batch.

nlsq's streaming optimiser has no robust loss; one is folded into the
residuals it sees (``Loss.signed_root``: their plain sum of squares is the
robust cost), so it minimises the robust cost in one run.
"""

from __future__ import annotations

from .. import _nlsq
from .._problem import Outcome, Problem, nlsq_outcome

__all__ = ["TOLERANCE", "run"]

TOLERANCE = 1e-8
"""nlsq's default ``gauss_newton_tol``."""


def run(problem: Problem) -> Outcome:
    """L-BFGS warm-up, then streaming Gauss-Newton over the chunks.

    nlsq cuts its batches along the points: with the padded chunk length as its
    batch size, each batch is one stratified chunk and holds every group.
    """
    f, xdata, y = _nlsq.weighted_data(
        problem.model,
        problem.layout,
        problem.x_is_tuple,
        problem.stacks_in_memory(),
        point_major=True,
        loss=problem.loss,
    )
    popt, info = _nlsq.hybrid_streaming(
        f,
        xdata,
        y,
        problem.start,
        problem.lower,
        problem.upper,
        chunk_size=problem.stacks_in_memory().chunk_len,
        max_nfev=problem.max_nfev,
    )
    return nlsq_outcome(popt, info, TOLERANCE)
