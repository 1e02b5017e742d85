"""``fastsplit.choose_strategy``: what :func:`fastsplit.fit` would do, without fitting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _memory
from . import _data, _nlsq
from ._groups import group_bytes
from ._numeric import CHECK_POINTS, numeric_strategy, traces
from ._options import FitOptions, signature_with
from ._setup import avoid_sequential_gaps, set_up
from ._strategies import chunked, full

__all__ = ["StrategyChoice", "choose_strategy"]


@dataclass(frozen=True)
class StrategyChoice:
    """The strategy ``fit`` would run, why, and the figures it decided on.

    Attributes
    ----------
    strategy : str
        ``"full"``, ``"chunked"``, ``"streaming"`` or ``"sequential"``.
    reason : str
        Why (``"requested"`` when ``strategy=`` named it).
    chunk_size, n_chunks : int
        The chunk size the data would be stratified with, and the chunks.
    n_points, n_groups, n_parameters : int
        Size of the problem.
    sparse_groups : list
        Labels of groups with fewer points than chunks (absent from some chunks).
    loss : str
        The loss that would be minimised.
    memory : dict
        Estimated peak bytes of each strategy on these data (``full`` holds the
        whole Jacobian; ``chunked`` and ``streaming`` one chunk's; ``sequential``
        the largest group's).
    budget : float or None
        Bytes the memory policy allows (``None`` when ``check_memory_safety``
        is off).
    grouped : bool
        Whether the fit has groups (``groups=None``: one group, chunked by position).
    """

    strategy: str
    reason: str
    chunk_size: int
    n_chunks: int
    n_points: int
    n_groups: int
    n_parameters: int
    sparse_groups: list[Any]
    loss: str
    memory: dict[str, float] = field(default_factory=dict)
    budget: float | None = None
    grouped: bool = True

    def __str__(self) -> str:
        return (
            f"{self.strategy}: {self.reason} ({self.n_points:,} points, "
            + (f"{self.n_groups} groups, " if self.grouped else "")
            + f"{self.n_parameters} parameters, {self.n_chunks} chunks of <= {self.chunk_size:,}, "
            f"{self.loss} loss)"
        )


@signature_with("model", "x", "y")
def choose_strategy(model: Callable[..., Any], x: Any, y: Any, **options: Any) -> StrategyChoice:
    """The dry run of :func:`fastsplit.fit`: which strategy it would take and why.

    Takes exactly the arguments of :func:`fastsplit.fit` (the fields of one
    ``FitOptions``) and checks every one
    of them the same way; groups the labels and applies the same choice, but
    fits nothing and does not reorder the data. When ``auto`` would fall back to
    ``sequential``, the model's Jacobian is evaluated on a sample of every group
    (that needs JAX) to make sure each shared parameter can be determined from
    one group alone; otherwise the answer needs neither nlsq nor JAX. On dask
    arrays only the labels are read (their counts, block by block); ``x``, ``y``
    and ``sigma`` are judged from their shapes and dtypes, never computed.

    Returns
    -------
    StrategyChoice

    Examples
    --------
    >>> import numpy as np
    >>> from fastsplit._fit import choose_strategy  # also fastsplit.choose_strategy
    >>> def line(x, *, slope, offset):
    ...     return slope * x + offset
    >>> x = np.tile(np.linspace(0, 1, 50), 3)
    >>> g = np.repeat([10.0, 20.0, 30.0], 50)
    >>> c = choose_strategy(line, x, 2 * x, groups=g, p0={"slope": 1.0, "offset": 0.0},
    ...                     per_group=["offset"], chunk_size=40)
    >>> c.strategy, c.n_chunks
    ('chunked', 4)
    """
    setup = set_up(model, x, y, FitOptions.of(options, where="choose_strategy"), dry_run=True)
    choice = setup.choice
    counted, inputs, layout = setup.counted, setup.inputs, setup.layout
    if choice.strategy == "sequential" and not choice.requested:
        in_order = _data.in_input_order(inputs.labels, counted, choice.chunk_size, 0.0)
        run_model = setup.model_or(model)
        with _nlsq.x64():
            sample = tuple(a[:CHECK_POINTS] for a in inputs.x)
            codes = np.zeros(sample[0].shape[0], dtype=np.intp)
            if traces(run_model, layout, inputs.x_is_tuple, sample, codes, setup.start):
                choice = avoid_sequential_gaps(setup, run_model, in_order.members)
            else:  # as fit does: finite differences run with chunked
                choice = numeric_strategy(choice)
    n = inputs.n_points
    n_chunks = setup.dask_chunks or -(-n // choice.chunk_size)  # dask: each block its own
    chunk_points = choice.chunk_size if setup.dask_chunks else -(-n // n_chunks)
    check = setup.options.settings.stratification.check_memory_safety
    return StrategyChoice(
        strategy=choice.strategy,
        reason=choice.reason,
        chunk_size=choice.chunk_size,
        n_chunks=n_chunks,
        n_points=n,
        n_groups=counted.n_groups,
        n_parameters=layout.size,
        sparse_groups=counted.groups[counted.counts < n_chunks].tolist(),
        loss=setup.options.loss.name,
        memory={
            "full": full.peak_bytes(n, layout),
            "chunked": chunked.chunk_bytes(chunk_points, layout),
            "streaming": chunked.chunk_bytes(chunk_points, layout),
            "sequential": group_bytes(int(counted.counts.max()), layout),
        },
        budget=_memory.budget() if check else None,
        grouped=setup.grouped,
    )
