"""fastsplit.dask.stratify is the in-memory result, bit for bit (docs/scaling-out.md).

Property tests on the synchronous scheduler: any input blocks (empty ones too),
both layouts, sparse groups, n = 0, label merging, both kernel sets; then the
inputs a user gets wrong, each refused with the way out.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastsplit
from fastsplit.errors import (
    BackendUnavailableError,
    InvalidArgumentError,
    InvalidLabelsError,
    InvalidShapeError,
    InvalidTypeError,
    LengthMismatchError,
    SparseGroupWarning,
)

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
fsd = pytest.importorskip("fastsplit.dask")

pytestmark = pytest.mark.dask


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@st.composite
def cases(draw, max_n=1500, max_groups=300):
    """Labels, blocks (sizes, empty ones allowed), chunk size, chunks per block, options."""
    n = draw(st.integers(0, max_n))
    n_groups = draw(st.integers(1, max_groups))
    kind = draw(st.sampled_from(["float64", "float32", "int64", "int16", "bool"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "bool":
        values = np.array([False, True])
    elif kind.startswith("float"):
        values = np.unique(np.round(rng.uniform(-180, 180, n_groups), 2).astype(kind))
        values[0] = -0.0 if values.size > 1 else values[0]  # -0.0 and 0.0 are one group
        values = np.append(values, 0.0).astype(kind)
    else:
        values = np.arange(-(n_groups // 2), n_groups - n_groups // 2).astype(kind)
    weights = rng.pareto(1.0, values.size) + 1e-3  # heavy and very light (sparse) groups
    labels = rng.choice(values, size=n, p=weights / weights.sum())
    if draw(st.booleans()):
        labels = np.sort(labels, kind="stable")  # group-major (angle-major) input
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=6)))
    sizes = tuple(int(s) for s in np.diff([0, *cuts, n]))
    lowest = max(1, n * values.size // 200_000)  # the oracle's K x G stays small
    chunk_size = max(lowest, draw(st.sampled_from([1, 7, 16, 100, 10**6]) | st.integers(1, n + 5)))
    chunks_per_block = draw(st.integers(1, 4))
    layout = draw(st.sampled_from(["strided", "contiguous"]))
    merge = draw(st.sampled_from([{}, {"decimals": 0}, {"atol": 1.5}]))
    if kind not in ("float64", "float32"):
        merge = {}
    seed = draw(st.sampled_from([{}, {}, {"seed": 0}, {"seed": (3, 1)}, {"seed": [2**64 - 1]}]))
    return labels, sizes, chunk_size, chunks_per_block, layout, {**merge, **seed}


def _quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGroupWarning)
        return call(*args, **kwargs)


def _data(labels):
    n = labels.shape[0]
    rng = np.random.default_rng(n)
    big_endian = rng.normal(size=n).astype(">f8")
    return (
        np.arange(n, dtype=np.int64),  # the permutation itself
        rng.normal(size=n).astype(np.float32),
        big_endian,
    )


def _assert_same(got, ref):
    """Everything the dask result shares with the in-memory one, bit for bit."""
    assert np.array_equal(got.bounds, ref.bounds)
    assert got.groups.dtype == ref.groups.dtype
    assert got.groups.tobytes() == ref.groups.tobytes()
    assert np.array_equal(got.counts, ref.counts)
    assert np.array_equal(got.sparse_groups, ref.sparse_groups)
    assert got.n_chunks == ref.n_chunks and len(got) == len(ref)
    values = dask.compute(*got.arrays)
    assert len(values) == len(ref.arrays)
    for value, expected in zip(values, ref.arrays, strict=True):
        assert value.dtype == expected.dtype
        assert value.tobytes() == expected.tobytes()


@given(case=cases(), backend=st.sampled_from(["numpy", "numba"]))
def test_equals_in_memory_bit_for_bit(case, backend):
    labels, sizes, chunk_size, per_block, layout, merge = case
    arrays = _data(labels)
    options = {"chunk_size": chunk_size, "layout": layout, **merge}
    ref = _quietly(fastsplit.stratify, labels, *arrays, backend="numpy", mode="copy", **options)
    blocks = [da.from_array(a, chunks=(sizes,)) for a in (labels, *arrays)]
    got = _quietly(fsd.stratify, *blocks, chunks_per_block=per_block, backend=backend, **options)
    _assert_same(got, ref)
    # blocks of whole chunks, chunks_per_block each, sizes known up front
    k = got.n_chunks
    edges = [*range(0, k, per_block), k]
    assert got.arrays[0].chunks == ((tuple(np.diff(ref.bounds[edges]).tolist()) or (0,)),)
    assert np.array_equal(got.block_bounds, ref.bounds[edges])


@given(case=cases(max_n=600, max_groups=40))
def test_chunks_iterate_the_in_memory_chunks(case):
    labels, sizes, chunk_size, per_block, layout, _ = case
    chunk_size = max(chunk_size, labels.shape[0] // 30 + 1)  # a compute per block: few blocks
    y = np.arange(labels.shape[0], dtype=np.float64)
    ref = _quietly(fastsplit.stratify, labels, y, chunk_size=chunk_size, layout=layout)
    got = _quietly(
        fsd.stratify,
        da.from_array(labels, chunks=(sizes,)),
        da.from_array(y, chunks=(sizes,)),
        chunk_size=chunk_size,
        layout=layout,
        chunks_per_block=per_block,
    )
    chunks = list(got.chunks())
    assert len(chunks) == ref.n_chunks
    for (mine,), (theirs,) in zip(chunks, ref.chunks(), strict=True):
        assert np.array_equal(mine, theirs)


def test_angle_major_xpcs_like_data_many_blocks():
    """23 angles, angle-major, blocks that cut through groups; the numba kernels."""
    phi = np.repeat(np.linspace(-170.3, 170.9, 23), 4321)
    t1 = np.tile(np.arange(4321.0), 23)
    ref = fastsplit.stratify(phi, phi, t1, chunk_size=5000)
    for layout in ("strided", "contiguous"):
        ref = fastsplit.stratify(phi, phi, t1, chunk_size=5000, layout=layout)
        got = fsd.stratify(
            da.from_array(phi, chunks=7777),
            da.from_array(phi, chunks=7777),
            da.from_array(t1, chunks=10_000),  # other blocks: rechunked to the labels'
            chunk_size=5000,
            layout=layout,
            chunks_per_block=3,
        )
        _assert_same(got, ref)
        assert got.backend == "numba" and got.layout == layout


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_seeded_equals_in_memory_seeded(layout, backend):
    """Random-order labels with a sparse group; int and (seed, epoch) seeds."""
    rng = np.random.default_rng(5)
    labels = np.append(rng.choice([-45.0, 0.0, 45.0, 90.0], 5000), [7.5, 7.5, 7.5])
    rng.shuffle(labels)
    index = np.arange(labels.size)
    orders = []
    for seed in (0, 12345, (12345, 0), (12345, 1), 2**64 - 1):
        ref = _quietly(fastsplit.stratify, labels, index, chunk_size=400, layout=layout, seed=seed)
        got = _quietly(
            fsd.stratify,
            da.from_array(labels, chunks=777),
            da.from_array(index, chunks=777),
            chunk_size=400,
            layout=layout,
            seed=seed,
            chunks_per_block=2,
            backend=backend,
        )
        _assert_same(got, ref)
        assert got.sparse_groups.tolist() == [7.5]
        assert got.plan.seed == ref.plan.seed
        orders.append(ref.arrays[0])
    assert not np.array_equal(orders[2], orders[3])  # epochs differ
    unseeded = _quietly(fastsplit.stratify, labels, index, chunk_size=400, layout=layout)
    unseeded = unseeded.arrays[0]
    assert not any(np.array_equal(order, unseeded) for order in orders)


@pytest.mark.parametrize("kind", ["U", "S", "O"])
@pytest.mark.parametrize("layout", ["strided", "contiguous"])
def test_labels_that_are_strings_are_their_sorted_codes(kind, layout):
    """Groups by their own values, ascending; the order of the integer codes of the grouping."""
    rng = np.random.default_rng(4)
    names = np.array(["north", "south", "east", "detector-2", "détecteur-1"])
    text = np.append(rng.choice(names[:4], 2000), ["détecteur-1"] * 2)  # a sparse group
    rng.shuffle(text)
    labels = text.astype(object) if kind == "O" else text
    if kind == "S":
        text = labels = np.char.encode(text, "utf-8")
    codes = np.unique(text, return_inverse=True)[1]
    index = np.arange(text.size)
    for seed in (None, (5, 1)):
        ref = _quietly(fastsplit.stratify, codes, index, chunk_size=150, layout=layout, seed=seed)
        got = _quietly(
            fsd.stratify,
            da.from_array(labels, chunks=600),
            da.from_array(index, chunks=600),
            da.from_array(text, chunks=600),  # a string data array, reordered as well
            chunk_size=150,
            layout=layout,
            seed=seed,
        )
        order, reordered = dask.compute(*got.arrays)
        assert np.array_equal(order, ref.arrays[0]) and np.array_equal(got.bounds, ref.bounds)
        assert reordered.dtype == text.dtype and np.array_equal(reordered, text[order])
        assert got.groups.tolist() == sorted(set(text.tolist()))
        assert np.array_equal(got.counts, ref.counts)
        values, counts = np.unique(text, return_counts=True)
        assert got.sparse_groups.tolist() == values[counts == 2].tolist()  # "détecteur-1"


def test_labels_that_do_not_sort_or_round_are_refused():
    mixed = da.from_array(np.array(["a", None, "b", "a"], dtype=object), chunks=2)
    with pytest.raises(InvalidLabelsError, match=r"input block 0 cannot be sorted.*astype\(str\)"):
        fsd.stratify(mixed, chunk_size=2)
    words = da.from_array(np.array(["a", "b"] * 5), chunks=4)
    with pytest.raises(InvalidArgumentError, match=r"dtype <U1 are grouped by exact equality"):
        fsd.stratify(words, atol=0.5)


def test_numpy_inputs_take_the_blocks_of_the_dask_ones():
    phi = np.repeat([1.0, 2.0, 3.0], 100)
    y = da.arange(300.0, chunks=70)
    got = fsd.stratify(phi, y, chunk_size=50)
    _assert_same(got, fastsplit.stratify(phi, np.arange(300.0), chunk_size=50))
    only_numpy = fsd.stratify(phi, np.arange(300.0), chunk_size=50)
    _assert_same(only_numpy, fastsplit.stratify(phi, np.arange(300.0), chunk_size=50))


def test_xarray_on_dask_stays_lazy():
    xr = pytest.importorskip("xarray")
    phi = np.repeat([1.0, 2.0, 3.0], 100)
    lazy = xr.DataArray(da.from_array(phi, chunks=70), dims="point")
    got = fsd.stratify(lazy, xr.DataArray(np.arange(300.0), dims="point"), chunk_size=50)
    assert got.arrays[0].chunks == ((50,) * 6,)
    _assert_same(got, fastsplit.stratify(phi, np.arange(300.0), chunk_size=50))


def test_numpy_inputs_of_every_kind_keep_their_bytes():
    """Big-endian labels; datetime, complex, read-only arrays passed as NumPy arrays."""
    rng = np.random.default_rng(3)
    phi = rng.choice([-0.0, 0.0, 1.5, 99.5], 2000).astype(">f8")
    when = np.arange(2000).astype("M8[s]")
    wave = (rng.normal(size=2000) + 1j).astype("c16")
    frozen = rng.normal(size=2000)
    frozen.flags.writeable = False
    got = fsd.stratify(da.from_array(phi, chunks=333), when, wave, frozen, chunk_size=150)
    _assert_same(got, fastsplit.stratify(phi, when, wave, frozen, chunk_size=150))


def test_no_points_and_no_arrays():
    empty = da.from_array(np.zeros(0), chunks=1)
    s = fsd.stratify(empty, da.from_array(np.zeros(0, np.float32), chunks=1))
    assert s.bounds.tolist() == [0] and s.n_chunks == 0 and len(s) == 0
    assert s.arrays[0].dtype == np.float32 and s.arrays[0].compute().shape == (0,)
    assert list(s.chunks()) == []
    labels_only = fsd.stratify(da.from_array(np.repeat([1, 2], 10), chunks=7), chunk_size=5)
    assert labels_only.arrays == () and labels_only.n_chunks == 4
    assert list(labels_only.chunks()) == [()] * 4


def test_sparse_groups_warn_and_are_reported():
    labels = np.append(np.zeros(1000), [7.0, 8.0])
    with pytest.warns(SparseGroupWarning, match="2 group"):
        s = fsd.stratify(da.from_array(labels, chunks=300), chunk_size=100)
    assert s.sparse_groups.tolist() == [7.0, 8.0]
    text = s.report()
    assert "dask mode" in text and "SPARSE" in text


def test_atol_merges_on_the_union_of_every_block():
    # 10.0 and 10.4 never share a block, yet merge (chained through 10.2) as in memory
    labels = np.repeat([10.0, 10.2, 10.4, 20.0], 50)
    s = fsd.stratify(da.from_array(labels, chunks=50), atol=0.25, chunk_size=40)
    ref = fastsplit.stratify(labels, atol=0.25, chunk_size=40)
    assert s.groups.tolist() == [10.0, 20.0] == ref.groups.tolist()
    assert s.counts.tolist() == [150, 50]


def test_result_describes_itself():
    s = fsd.stratify(da.from_array(np.repeat([1.0, 2.0], 500), chunks=300), chunk_size=100)
    assert "DaskStratified(n=1000, groups=2, chunks=10, blocks=10" in repr(s)
    assert s.plan.n_chunks == 10 and s.counts.tolist() == [500, 500]
    assert s.diagnostics.mode == "dask" and s.diagnostics.seconds > 0


# ------------------------------------------------------------------ what users get wrong


def test_refusals_name_the_argument_and_the_fix():
    labels = da.from_array(np.repeat([1.0, 2.0], 50), chunks=30)
    with pytest.raises(InvalidShapeError, match=r"labels must be one-dimensional.*ravel"):
        fsd.stratify(da.zeros((10, 10)))
    with pytest.raises(InvalidShapeError, match=r"arrays\[0\] must be one-dimensional"):
        fsd.stratify(labels, np.zeros((100, 2)))
    with pytest.raises(InvalidTypeError, match="labels must be numeric"):
        fsd.stratify(da.from_array(np.array([1 + 2j, 3j])))
    with pytest.raises(InvalidTypeError, match=r"arrays\[1\] has dtype object"):
        fsd.stratify(labels, np.zeros(100), np.array([None] * 100))
    with pytest.raises(LengthMismatchError, match=r"arrays\[0\] has 99 points"):
        fsd.stratify(labels, da.zeros(99, chunks=30))
    with pytest.raises(LengthMismatchError, match=r"arrays\[0\] has 99 points"):
        fsd.stratify(labels, np.zeros(99))
    with pytest.raises(InvalidArgumentError, match="chunks_per_block"):
        fsd.stratify(labels, chunks_per_block=0)
    with pytest.raises(InvalidTypeError, match="chunk_size must be a positive int"):
        fsd.stratify(labels, chunk_size=2.5)
    with pytest.raises(InvalidArgumentError, match=r"backend='jax' is not valid.*'numba'"):
        fsd.stratify(labels, backend="jax")
    with pytest.raises(InvalidArgumentError, match="layout='rows'"):
        fsd.stratify(labels, layout="rows")
    with pytest.raises(InvalidArgumentError, match="decimals= or atol="):
        fsd.stratify(labels, decimals=1, atol=0.1)
    with pytest.raises(InvalidArgumentError, match=r"seed=\(\) is empty"):
        fsd.stratify(labels, seed=())
    with pytest.raises(InvalidArgumentError, match="seed values must be ints from 0"):
        fsd.stratify(labels, seed=-1)


def test_unknown_block_sizes_are_refused_with_compute_chunk_sizes():
    x = da.from_array(np.arange(100.0), chunks=30)
    masked = (x % 3)[x > 10]
    with pytest.raises(InvalidArgumentError, match=r"compute_chunk_sizes\(\)"):
        fsd.stratify(masked)
    s = fsd.stratify(masked.compute_chunk_sizes(), chunk_size=20)
    assert len(s) == 89


def test_nan_label_is_refused_with_its_global_index():
    labels = np.repeat([1.0, 2.0], 50)
    labels[77] = np.nan
    with pytest.raises(InvalidLabelsError, match=r"first at index 77 .*input block 2"):
        fsd.stratify(da.from_array(labels, chunks=30))


def test_labels_that_change_between_passes_are_caught():
    calls = []

    def fickle(block):  # a different grouping on every read, like unseeded random labels
        calls.append(1)
        return block + len(calls)

    labels = da.from_array(np.repeat([1.0, 2.0], 50), chunks=100).map_blocks(fickle)
    s = fsd.stratify(labels, labels, chunk_size=10)
    with pytest.raises(InvalidLabelsError, match=r"changed between the count pass.*persist"):
        s.arrays[0].compute()


def test_in_memory_stratify_points_at_fastsplit_dask():
    with pytest.raises(TypeError, match=r"fastsplit\.dask\.stratify"):
        fastsplit.stratify(da.zeros(10, chunks=5))


# ------------------------------------------------------------------ lazy, light, optional


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_importing_fastsplit_and_fastsplit_dask_loads_no_dask():
    out = _run(
        "import sys, fastsplit, fastsplit.dask\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed', 'numba')))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_missing_dask_names_the_extra():
    out = _run(
        "import sys\n"
        "sys.modules['dask'] = None\n"
        "import numpy as np, fastsplit.dask\n"
        "try:\n"
        "    fastsplit.dask.stratify(np.zeros(3))\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(BackendUnavailableError.__name__)
    assert "pip install 'fastsplit[dask]'" in out.stdout


def test_batches_on_dask_labels_name_the_dask_way_and_it_gives_the_same_batches():
    rng = np.random.default_rng(8)
    labels = np.append(rng.choice([1.0, 2.0, 3.0], 900), [4.0])  # 4.0: a sparse group
    lazy = da.from_array(labels, chunks=250)
    with pytest.raises(
        InvalidTypeError, match=r"labels\.compute\(\).*seed=\(11, 2\), chunk_size=64"
    ):
        fastsplit.batches(lazy, 64, seed=11, epoch=2)
    # the way the message names: each epoch's chunks are that epoch's batches
    sampler = _quietly(fastsplit.batches, labels, 64, seed=11, epoch=2)
    s = _quietly(
        fsd.stratify, lazy, da.arange(labels.size, chunks=250), seed=(11, 2), chunk_size=64
    )
    got = [chunk for (chunk,) in s.chunks()]
    expected = list(sampler)
    assert len(got) == len(expected) == sampler.n_batches
    for mine, theirs in zip(got, expected, strict=True):
        assert np.array_equal(mine, theirs)
