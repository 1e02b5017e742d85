"""``fastsplit.choose_strategy``: what :func:`fastsplit.fit` would do, without fitting."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _memory
from .._progress import Progress
from . import _data, _nlsq
from ._groups import group_bytes
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

    def __str__(self) -> str:
        return (
            f"{self.strategy}: {self.reason} ({self.n_points:,} points, {self.n_groups} groups, "
            f"{self.n_parameters} parameters, {self.n_chunks} chunks of <= {self.chunk_size:,}, "
            f"{self.loss} loss)"
        )


def choose_strategy(
    model: Callable[..., Any],
    x: Any,
    y: Any,
    *,
    groups: Any,
    p0: Mapping[str, Any],
    per_group: Sequence[str] | str,
    sigma: Any = None,
    bounds: Mapping[str, Any] | None = None,
    chunk_size: int | None = None,
    strategy: str = "auto",
    backend: str = "auto",
    config: Any = None,
    on_failure: str | None = None,
    max_nfev: int | None = None,
    absolute_sigma: bool = False,
    max_step_sigma: float = 1.0,
    loss: str = "linear",
    f_scale: float = 1.0,
    progress: Progress | Callable[[str], None] | bool | None = None,
    errors: str = "model",
    clusters: Any = None,
) -> StrategyChoice:
    """The dry run of :func:`fastsplit.fit`: which strategy it would take and why.

    Takes exactly the arguments of :func:`fastsplit.fit` and checks every one
    of them the same way; groups the labels and applies the same choice, but
    fits nothing and does not reorder the data. When ``auto`` would fall back to
    ``sequential``, the model's Jacobian is evaluated on a sample of every group
    (that needs JAX) to make sure each shared parameter can be determined from
    one group alone; otherwise the answer needs neither nlsq nor JAX.

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
    setup = set_up(
        model,
        x,
        y,
        groups=groups,
        p0=p0,
        per_group=per_group,
        sigma=sigma,
        bounds=bounds,
        chunk_size=chunk_size,
        strategy=strategy,
        backend=backend,
        config=config,
        on_failure=on_failure,
        max_nfev=max_nfev,
        absolute_sigma=absolute_sigma,
        max_step_sigma=max_step_sigma,
        loss=loss,
        f_scale=f_scale,
        progress=progress,
        errors=errors,
        clusters=clusters,
    )
    choice = setup.choice
    counted, inputs, layout = setup.counted, setup.inputs, setup.layout
    if choice.strategy == "sequential" and not choice.requested:
        in_order = _data.in_input_order(inputs.labels, counted, choice.chunk_size, 0.0)
        with _nlsq.x64():
            choice = avoid_sequential_gaps(setup, model, in_order.members)
    n = inputs.n_points
    n_chunks = -(-n // choice.chunk_size)
    chunk_points = -(-n // n_chunks)
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
    )
