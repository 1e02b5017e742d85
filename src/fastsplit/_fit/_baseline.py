"""What a user gets without fastsplit: nlsq's own chunked path on the data as given, judged.

Used by ``fastsplit demo`` and the benchmarks to show the failure that
stratification fixes; not part of the public API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._plan import DEFAULT_CHUNK_SIZE
from .._progress import Progress
from .._validate import check_chunk_size
from ..config import load_config
from ..errors import InvalidArgumentError
from . import _data, _nlsq
from ._choose import Choice
from ._inputs import check_inputs
from ._judge import Clock, judge
from ._model import flat_parameters
from ._normal import Objective
from ._options import FitOptions, signature_with
from ._problem import Outcome, Problem
from ._result import FitResult

__all__ = ["nlsq_chunked_baseline"]


USED = ("groups", "p0", "per_group", "sigma", "bounds", "chunk_size", "max_nfev")
"""The options of :func:`fastsplit.fit` the baseline takes; the others are refused."""


@signature_with("model", "x", "y", only=USED)
def nlsq_chunked_baseline(model: Callable[..., Any], x: Any, y: Any, **options: Any) -> FitResult:
    """Run nlsq's *own* chunked large-dataset path on the data as given, and judge it.

    This is ``nlsq.curve_fit_large`` on the data in input (for XPCS:
    angle-major) order. Nothing is stratified. The result goes through the same
    full-data checks as :func:`fastsplit.fit`, but never raises: look at
    ``result.success`` and ``result.check.problems``. It takes only the options
    of :func:`fastsplit.fit` named in :data:`USED` (``chunk_size`` defaults to
    100,000); ``chunk_size`` is nlsq's. nlsq 0.6.x fits the chunks
    in order (per-group parameters of groups absent from a chunk get no gradient
    there); 0.7.2+ shuffles the points first. The model is fed through an index
    array (nlsq cuts x along axis 0), so any model works. ``sigma`` weights the
    full-data checks; it is passed to nlsq only on 0.7.x, whose chunked path
    slices it per chunk (0.6.x cannot: there nlsq fits unweighted, which is the
    same fit when ``sigma`` is constant).

    Examples
    --------
    >>> from fastsplit.xpcs import synthesize
    >>> from fastsplit._fit import nlsq_chunked_baseline
    >>> d = synthesize(n_angles=3, n_frames=12, seed=0)   # one chunk: quick to show
    >>> r = nlsq_chunked_baseline(d.model, d.x, d.g2, groups=d.phi,
    ...                           p0=d.model.default_p0(), per_group=("contrast", "offset"),
    ...                           bounds=d.model.default_bounds(), chunk_size=500)
    >>> r.strategy
    'nlsq-chunked'
    """
    given = FitOptions.of(options, where="nlsq_chunked_baseline")
    unused = [name for name in given.changed() if name not in USED]
    if unused:
        raise InvalidArgumentError(
            f"nlsq_chunked_baseline does not take {unused}: it runs nlsq's own chunked path "
            f"as a user without fastsplit would, with only {list(USED)}."
        )
    groups, sigma, bounds, max_nfev = given.groups, given.sigma, given.bounds, given.max_nfev
    p0, per_group = given.require_p0(), () if given.per_group is None else given.per_group
    inputs = check_inputs(model, x, y, groups, sigma)
    chunk_size = check_chunk_size(
        DEFAULT_CHUNK_SIZE if given.chunk_size is None else given.chunk_size
    )
    version = _nlsq.nlsq_version()
    with _nlsq.x64():
        import jax.numpy as jnp

        clock = Clock.now()
        counted, _ = _data.count_groups(inputs.labels, chunk_size, "auto")
        # Nothing is stratified: no stratification time.
        chunking = _data.in_input_order(inputs.labels, counted, counted.chunk_size, 0.0)
        layout, start, lower, upper = flat_parameters(p0, per_group, bounds, counted.n_groups)
        stacks = _data.ChunkStacks.build(inputs.x, inputs.y, inputs.weight, chunking)
        problem = Problem(
            model=model,
            layout=layout,
            inputs=inputs,
            chunking=chunking,
            stacks=stacks,
            objective=Objective(model, layout, inputs.x_is_tuple, stacks),
            start=start,
            lower=lower,
            upper=upper,
            settings=load_config(None),
            max_nfev=max_nfev,
            absolute_sigma=False,
            progress=Progress(None),
        )
        table = jnp.asarray(np.vstack([*inputs.x, chunking.codes]).astype(np.float64))
        inner = _nlsq.flat_model(
            model, layout, inputs.x_is_tuple, len(inputs.x), point_major=False, weighted=False
        )

        def by_index(index: Any, *theta: Any) -> Any:
            return inner(table[:, index.astype(jnp.int32)], *theta)

        t0 = time.perf_counter()
        popt, info = _nlsq.raw_chunked_curve_fit(
            by_index,
            np.arange(inputs.n_points, dtype=np.float64),
            inputs.y,
            start,
            lower,
            upper,
            chunk_size=counted.chunk_size,
            max_nfev=max_nfev,
            sigma=None if sigma is None or version < (0, 7) else 1.0 / inputs.weight,
        )
        info["seconds"] = time.perf_counter() - t0
        info["shuffles"] = version >= (0, 7, 2)
        reason = f"nlsq {'.'.join(map(str, version))} curve_fit_large on input order"
        return judge(
            Outcome(popt, info["nfev"], info["success"], info["message"], info),
            problem,
            Choice("nlsq-chunked", reason, counted.chunk_size),
            max_step_sigma=1.0,
            clock=clock,
        )
