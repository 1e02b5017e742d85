"""``streaming``: nlsq's adaptive hybrid streaming optimiser, one stratified chunk per batch."""

from __future__ import annotations

import numpy as np

from .. import _nlsq
from .._problem import Outcome, Problem

__all__ = ["run"]


def run(problem: Problem) -> Outcome:
    """L-BFGS warm-up then streaming Gauss-Newton over the chunks; weights fold into the model.

    nlsq cuts its batches along the points: with the padded chunk length as its
    batch size, each batch is one stratified chunk and holds every group.
    """
    xs, codes, weight, y = problem.stacks.flat()
    flat = _nlsq.flat_model(
        problem.model,
        problem.layout,
        problem.x_is_tuple,
        len(xs),
        point_major=True,
        weighted=True,
    )
    popt, info = _nlsq.hybrid_streaming(
        flat,
        np.column_stack([*xs, codes.astype(np.float64), weight]),
        y * weight,
        problem.start,
        problem.lower,
        problem.upper,
        chunk_size=problem.stacks.chunk_len,
        max_nfev=problem.max_nfev,
    )
    return Outcome(popt, info["nfev"], info["success"], info["message"], info)
