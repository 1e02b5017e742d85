"""Cluster-robust (sandwich) errors: the cluster labels, checked once, and the covariance.

Points that share a cluster may be correlated in any way; points of different
clusters are independent. The covariance of the least-squares estimate is then
the sandwich ``H^-1 M H^-1`` with ``H = J^T J`` (the information the judge
inverts) and ``M = sum_c s_c s_c^T``, ``s_c`` the sum of the scores ``J_i r_i``
over the points ``i`` of cluster ``c`` (Liang & Zeger 1986). With several
cluster dimensions (multiway: Cameron, Gelbach & Miller 2011, "Robust inference
with multiway clustering", JBES 29), ``M`` is the inclusion-exclusion sum over
every non-empty subset of dimensions, clustered by the intersection of their
labels: for two, ``M = M_a + M_b - M_ab``. Each term gets the small-sample
correction of statsmodels' ``cov_cluster`` (``use_correction=True``), applied per
term as ``cov_cluster_2groups`` does: ``G / (G - 1) * (n - 1) / (n - P)`` with
``G`` the clusters of that term, ``n`` the points and ``P`` the constrained
parameters. A multiway sum can lose positive-definiteness; as CGM (section
2.3) propose, its negative eigenvalues are set to zero.

The per-cluster score sums are accumulated by the compiled normal pass
(``_kernels``: one segment sum per term, ``O(clusters x P)`` memory); this
module turns them into the covariance. With weights (``sigma``) and robust
losses, ``J`` and ``r`` are the weighted, loss-scaled ones the normal equations
use.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validate import check_1d, check_choice
from ..errors import ClusterWarning, FastsplitError, InvalidArgumentError, InvalidTypeError
from ._data import gather_codes

if TYPE_CHECKING:
    from ._model import ParameterLayout
    from ._problem import Problem
    from ._result import FitResult

__all__ = [
    "ERRORS",
    "MIN_CLUSTERS",
    "ClusterSpec",
    "check_errors",
    "cluster_covariance",
    "precheck_errors",
    "scatter_scores",
    "with_cluster_errors",
]

ERRORS = ("model", "cluster")
"""The kinds of error bars a fit reports."""

MIN_CLUSTERS = 10
"""Fewer clusters than this in a dimension: the robust estimate is itself too noisy."""

MAX_DIMENSIONS = 3
"""Cluster dimensions at most (2**d - 1 terms of the multiway sum)."""

CORRECTION = "G/(G-1) * (n-1)/(n-P) per term (statsmodels cov_cluster, use_correction=True)"


@dataclass(frozen=True)
class ClusterSpec:
    """The checked cluster labels of a fit.

    The kernels sum the scores over the *finest* clusters only (the intersection
    of every dimension: one code per point, one segment sum); each term of the
    multiway sum is a union of finest clusters, so its sums are added up on the
    host through ``parents``.

    Attributes
    ----------
    shown : str
        The errors the result reports as ``errors`` (``"model"`` or ``"cluster"``);
        both are kept.
    codes : tuple of numpy.ndarray
        ``(finest,)``: the int32 finest-cluster code of every point, in input order
        (empty on Dask, where the blocks hold them).
    n_finest : int
        Finest clusters.
    parents : tuple of numpy.ndarray
        Per term, the term's cluster of every finest cluster.
    sizes : tuple of int
        Clusters of each term: each dimension, then the intersections of every
        larger subset of dimensions.
    signs : tuple of int
        ``+1`` or ``-1``: the term's sign in the inclusion-exclusion sum.
    names : tuple of str
        ``"clusters[0]"``, ``"clusters[0] x clusters[1]"``, ...
    """

    shown: str
    codes: tuple[np.ndarray, ...]
    n_finest: int
    parents: tuple[np.ndarray, ...]
    sizes: tuple[int, ...]
    signs: tuple[int, ...]
    names: tuple[str, ...]

    def term_scores(self, finest: np.ndarray) -> list[np.ndarray]:
        """Per term, ``(clusters, P)`` score sums from the finest clusters' ``(n_finest, P)``."""
        out = []
        for parent, size in zip(self.parents, self.sizes, strict=True):
            summed = np.zeros((size, finest.shape[1]))
            np.add.at(summed, parent, finest)
            out.append(summed)
        return out


@dataclass(frozen=True)
class ClusterRule:
    """Clusters given as a function of the fitted parameters, resolved by the judge."""

    shown: str
    rule: Callable[[dict[str, Any]], Any]
    codes: tuple[np.ndarray, ...] = ()


def check_errors(errors: object, clusters: Any, n: int) -> ClusterSpec | ClusterRule | None:
    """Check ``errors`` and ``clusters`` of :func:`fastsplit.fit` against ``n`` points:
    ``None`` without clusters, a :class:`ClusterRule` for a function (checked when it is
    called). Warns (``ClusterWarning``) below :data:`MIN_CLUSTERS` clusters."""
    shown = precheck_errors(errors, clusters)
    if callable(clusters):
        return ClusterRule(shown, clusters)
    if clusters is None:
        return None
    dims = dimensions(clusters)
    labelled = dimension_names(len(dims))
    base = []
    for name, labels in zip(labelled, dims, strict=True):
        values = check_1d(name, labels, n=n, kinds="fiub", host=True, length_of="the y values")
        codes, size = codes_of(values, name)
        base.append((codes, size))
    check_counts([size for _, size in base])
    return _with_intersections(shown, base, labelled)


def precheck_errors(errors: object, clusters: Any, dask: bool = False) -> str:
    """What can be checked of ``errors`` and ``clusters`` without the data: the kind, that
    clusters are given for ``"cluster"``, the number of dimensions, each one 1-D (and
    no function of the parameters for ``dask`` data)."""
    shown = check_choice("errors", errors, ERRORS)
    if dask and callable(clusters):
        raise InvalidArgumentError(
            "clusters as a function of the fitted parameters needs the data in memory; "
            "on dask arrays pass the cluster labels themselves (one per point)."
        )
    if clusters is None:
        if shown == "cluster":
            raise InvalidArgumentError(
                'errors="cluster" needs clusters: one label per point saying which points '
                "may be correlated (e.g. clusters=block_of_time), or a tuple of such arrays "
                'for multiway clusters. Pass clusters=..., or errors="model".'
            )
        return shown
    if callable(clusters):
        return shown
    dims = dimensions(clusters)
    for name, labels in zip(dimension_names(len(dims)), dims, strict=True):
        if np.ndim(labels) != 1:
            raise InvalidTypeError(
                f"{name} must be a 1-D array of cluster labels, one per point; got shape "
                f"{np.shape(labels)}. Pass several dimensions as a tuple of 1-D arrays."
            )
    return shown


def dimensions(clusters: Any) -> list[Any]:
    """The label arrays of ``clusters`` (one, or a tuple of up to :data:`MAX_DIMENSIONS`)."""
    dims = list(clusters) if isinstance(clusters, tuple) else [clusters]
    if not dims:
        raise InvalidArgumentError(
            "clusters is an empty tuple; pass one label array per point, or a tuple of them."
        )
    if len(dims) > MAX_DIMENSIONS:
        raise InvalidArgumentError(
            f"clusters has {len(dims)} dimensions; at most {MAX_DIMENSIONS} are supported "
            f"(2**d - 1 terms). Combine some labels into one dimension."
        )
    return dims


def subsets(n_dimensions: int) -> list[tuple[int, ...]]:
    """The terms of the multiway sum: every non-empty subset of the dimensions, by size
    (the sign of a term is ``+1`` for odd sizes, ``-1`` for even ones)."""
    dims = range(n_dimensions)
    return [s for k in range(1, n_dimensions + 1) for s in itertools.combinations(dims, k)]


def dimension_names(n_dimensions: int) -> list[str]:
    """How messages name each dimension of ``clusters``."""
    if n_dimensions == 1:
        return ["clusters"]
    return [f"clusters[{i}]" for i in range(n_dimensions)]


def check_counts(sizes: Sequence[int]) -> None:
    """At least 2 clusters per dimension (an error), :data:`MIN_CLUSTERS` (a warning)."""
    fewest = min(sizes)
    if fewest < 2:
        raise InvalidArgumentError(
            "clusters must have at least 2 different labels in every dimension, got "
            f"{fewest}: with one cluster the robust covariance is zero. Use smaller clusters."
        )
    if fewest < MIN_CLUSTERS:
        warnings.warn(
            f"only {fewest} clusters in a dimension of clusters: the cluster-robust errors "
            f"rest on so few independent sums that they are themselves uncertain; use at "
            f"least {MIN_CLUSTERS} (smaller clusters), or treat the errors as rough.",
            ClusterWarning,
            stacklevel=4,
        )


def _with_intersections(
    shown: str, base: list[tuple[np.ndarray, int]], names: list[str]
) -> ClusterSpec:
    """The spec from each dimension's ``(codes, clusters)``: one pass over the points for
    the finest clusters; every term's clusters from the finest ones' labels alone."""
    finest, n_finest = base[0]
    combined = np.arange(n_finest, dtype=np.int64)  # each finest cluster's combined value
    for other, other_size in base[1:]:
        span = combined.size * other_size
        dense: np.ndarray = finest.astype(np.int32 if span < 2**31 else np.int64)
        np.multiply(dense, other_size, out=dense)  # in place: no 64-bit temporaries
        np.add(dense, other, out=dense, casting="unsafe")
        finest, n_finest, combined = _compress(dense, span, values=True)
    sizes = [size for _, size in base]
    digits = []  # each finest cluster's code in every dimension: undo the combination
    rest = combined.copy()
    for size in reversed(sizes):
        digits.append(rest % size)
        rest //= size
    digits.reverse()
    terms = subsets(len(base))
    parents = []
    for term in terms:
        value = digits[term[0]]
        for i in term[1:]:
            value = value * sizes[i] + digits[i]
        parents.append(np.unique(value, return_inverse=True)[1].reshape(-1))
    return ClusterSpec(
        shown=shown,
        codes=(finest.astype(np.int32, copy=False),),
        n_finest=int(n_finest),
        parents=tuple(parents),
        sizes=tuple(int(p.max()) + 1 for p in parents),
        signs=tuple(1 if len(t) % 2 else -1 for t in terms),
        names=tuple(" x ".join(names[i] for i in t) for t in terms),
    )


def codes_of(labels: np.ndarray, name: str = "clusters") -> tuple[np.ndarray, int]:
    """``(codes, number of clusters)`` of per-point labels (ascending label order)."""
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise InvalidArgumentError(
            f"{name} holds NaN or infinite labels; give every point a finite cluster label."
        )
    if labels.dtype.kind == "f" and labels.size:
        with np.errstate(invalid="ignore", over="ignore"):
            whole = labels.astype(np.int64)
        if np.array_equal(whole, labels):  # integral floats (block numbers): no sort either
            labels = whole
    if labels.dtype.kind in "iub" and labels.size:
        low, high = int(labels.min()), int(labels.max())
        if high - low <= max(labels.size, 1 << 16):  # dense: no sort
            if labels.dtype.kind == "b" or low:
                labels = labels.astype(np.int64) - low  # in range before narrowing
            dense = labels.astype(np.int32 if high - low < 2**31 else np.int64, copy=False)
            codes, size, _ = _compress(dense, high - low + 1)
            return codes, size
    uniques, codes = np.unique(labels, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), int(uniques.size)


def _compress(
    dense: np.ndarray, span: int, values: bool = False
) -> tuple[np.ndarray, int, np.ndarray]:
    """Codes in ``[0, span)`` renumbered to the occupied ones only: ``(codes, how many,
    the occupied values)`` (the values only when asked for)."""
    if span <= max(dense.size, 1 << 16):
        counts = np.bincount(dense, minlength=span)
        occupied = counts > 0
        kept = np.flatnonzero(occupied) if values else dense[:0]
        if occupied.all():  # every code occurs: nothing to renumber
            return dense, span, kept
        table = (np.cumsum(occupied) - 1).astype(dense.dtype)
        return table[dense], int(kept.size if values else occupied.sum()), kept
    uniques, codes = np.unique(dense, return_inverse=True)
    return codes.reshape(-1), int(uniques.size), uniques


def scatter_scores(
    layout: ParameterLayout, shared: np.ndarray, per_group: np.ndarray
) -> np.ndarray:
    """``(clusters, P)`` score sums in the flat layout, from the kernel's blocks.

    ``shared`` is ``(clusters, n_shared)``; ``per_group`` is ``(clusters,
    n_groups, n_per_group)``: a point's per-group score belongs to its own group's
    entry of that name.
    """
    ns, npg, n_groups = layout.n_shared, layout.n_per_group, layout.n_groups
    out = np.zeros((shared.shape[0], layout.size))
    out[:, :ns] = shared
    for j in range(npg):
        out[:, ns + j * n_groups : ns + (j + 1) * n_groups] = per_group[:, :, j]
    return out


def cluster_covariance(
    spec: ClusterSpec,
    scores: Sequence[np.ndarray],
    inverse: np.ndarray,
    n_points: int,
) -> tuple[np.ndarray, int]:
    """``(covariance, eigenvalues clipped)``: the corrected multiway sandwich.

    ``scores`` holds one ``(clusters, P)`` array of summed scores per term of
    ``spec``; ``inverse`` is ``(J^T J)^-1`` with NaN rows for unconstrained
    parameters, which stay NaN.
    """
    size = inverse.shape[0]
    keep = np.flatnonzero(np.isfinite(np.diag(inverse)))
    out = np.full((size, size), np.nan)
    if keep.size == 0:
        return out, 0
    bread = inverse[np.ix_(keep, keep)]
    p = keep.size
    total = np.zeros((p, p))
    for sign, clusters, s in zip(spec.signs, spec.sizes, scores, strict=True):
        kept = np.asarray(s)[:, keep]
        meat = kept.T @ kept
        correction = clusters / max(clusters - 1, 1) * (n_points - 1) / max(n_points - p, 1)
        total += sign * correction * (bread @ meat @ bread)
    total = 0.5 * (total + total.T)
    clipped = 0
    if len(spec.sizes) > 1:  # a multiway sum may not be positive semi-definite
        lam, vec = np.linalg.eigh(total)
        negative = lam < 0
        clipped = int(np.count_nonzero(negative))
        if clipped:
            total = (vec * np.where(negative, 0.0, lam)) @ vec.T
    out[np.ix_(keep, keep)] = total
    return out, clipped


def with_cluster_errors(
    result: FitResult, problem: Problem, flat: np.ndarray, inverse: np.ndarray
) -> FitResult:
    """``result`` with both kinds of errors: the model ones it holds, and the cluster ones.

    Runs the normal pass with the per-cluster score sums once, at ``flat`` (the
    point the judge evaluated); ``inverse`` is the judge's ``(J^T J)^-1``.
    ``errors`` and ``covariance`` become the kind the fit asked for; the
    parameters are untouched. No clusters: ``result`` as it is.
    """
    spec, codes = problem.clusters, None
    if spec is None:
        return result
    layout = problem.layout
    if isinstance(spec, ClusterRule):  # labels from the fitted parameters
        try:
            resolved = check_errors(spec.shown, spec.rule(layout.unpack(flat)), result.n_points)
        except FastsplitError as exc:  # the fit stands; say why its errors are the model's
            result.check.notes.append(f"no cluster-robust errors: {exc}")
            return result
        assert isinstance(resolved, ClusterSpec)
        spec, codes = resolved, gather_codes(problem.chunking, resolved.codes)
    ((shared, per_group),) = problem.objective.cluster_scores(flat, (spec.n_finest,), codes)
    scores = spec.term_scores(scatter_scores(layout, shared, per_group))
    covariance, clipped = cluster_covariance(spec, scores, inverse, result.n_points)
    variance = np.diag(covariance)
    errors = layout.unpack(np.sqrt(np.where(variance >= 0, variance, np.nan)))
    info = dict(result.info)
    info["clusters"] = {
        "terms": list(spec.names),
        "n_clusters": list(spec.sizes),
        "correction": CORRECTION,
        "clipped_eigenvalues": clipped,
    }
    cluster = spec.shown == "cluster"
    return dataclasses.replace(
        result,
        errors=errors if cluster else result.errors,
        covariance=covariance if cluster else result.covariance,
        error_kind=spec.shown,
        errors_model=result.errors,
        covariance_model=result.covariance,
        errors_cluster=errors,
        covariance_cluster=covariance,
        info=info,
    )
