"""Labels that are not numbers: strings, bytes, booleans, Python objects, pandas categoricals.

Groups are their own values in sorted order, and the order is the one of the
integer codes of the same grouping (``np.unique(labels, return_inverse=True)``),
bit for bit, on every backend.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastsplit
from contract import check_contract
from fastsplit.errors import InvalidArgumentError, InvalidLabelsError, InvalidTypeError

RNG = np.random.default_rng(11)
STATIONS = np.array(["north", "south", "east", "west-2"])
LABELS = STATIONS[RNG.integers(0, 4, size=2000)]
CODES = np.unique(LABELS, return_inverse=True)[1]


def _same_order(labels, codes, backend, **options):
    s = fastsplit.stratify(labels, chunk_size=150, backend=backend, mode="index", **options)
    t = fastsplit.stratify(codes, chunk_size=150, backend=backend, mode="index", **options)
    assert np.asarray(s.order).tobytes() == np.asarray(t.order).tobytes()
    assert s.counts.tolist() == t.counts.tolist()
    return s


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
def test_string_labels_order_like_their_codes(backend, layout):
    s = _same_order(LABELS, CODES, backend, layout=layout)
    assert s.groups.tolist() == ["east", "north", "south", "west-2"]
    check_contract(LABELS, (), 150, s, layout=layout)


def test_seeded_and_group_major_string_labels_order_like_their_codes(backend):
    _same_order(LABELS, CODES, backend, seed=(3, 1))
    major = np.sort(LABELS)
    _same_order(major, np.unique(major, return_inverse=True)[1], backend)


def test_string_data_comes_back_reordered(backend):
    names = np.char.add("pt", np.arange(LABELS.size).astype(str))  # <U6
    raw = names.astype("S")  # bytes
    x = RNG.normal(size=LABELS.size)
    s = fastsplit.stratify(LABELS, x, names, raw, chunk_size=150, backend=backend, mode="copy")
    check_contract(LABELS, (x, names, raw), 150, s)
    assert s.arrays[1].dtype == names.dtype and s.arrays[2].dtype == raw.dtype
    i = fastsplit.stratify(LABELS, chunk_size=150, backend=backend, mode="index")
    taken = i.take(names)
    assert np.array_equal(np.asarray(taken), names[i.order])
    chunk = next(iter(fastsplit.stratify(LABELS, names, chunk_size=150, mode="index").chunks()))
    assert np.array_equal(chunk[0], names[i.order[: i.bounds[1]]])


@pytest.mark.filterwarnings("ignore::fastsplit.errors.SparseGroupWarning")
@given(
    st.lists(st.sampled_from(["", "a", "ab", "b", "zz", "é"]), min_size=0, max_size=300),
    st.integers(1, 64),
)
def test_any_strings_group_as_their_codes(values, chunk_size):
    labels = np.array(values, dtype="<U2")
    codes = np.unique(labels, return_inverse=True)[1].reshape(-1)
    for backend in ("numpy", "numba"):
        s = fastsplit.stratify(labels, chunk_size=chunk_size, backend=backend, mode="index")
        t = fastsplit.stratify(codes, chunk_size=chunk_size, backend=backend, mode="index")
        assert np.array_equal(s.order, t.order)
        assert s.groups.tolist() == sorted(set(values))


def test_bytes_bool_and_object_labels(backend):
    s = _same_order(LABELS.astype("S"), CODES, backend)
    assert s.groups.tolist() == [b"east", b"north", b"south", b"west-2"]
    flags = LABELS == "north"
    s = _same_order(flags, flags.astype(np.int64), backend)
    assert s.groups.dtype == np.bool_ and s.groups.tolist() == [False, True]
    objects = LABELS.astype(object)
    s = _same_order(objects, CODES, backend)
    assert s.groups.dtype == object and s.groups.tolist() == ["east", "north", "south", "west-2"]
    tuples = np.empty(LABELS.size, dtype=object)
    tuples[:] = [(str(x), 1) for x in LABELS]
    assert _same_order(tuples, CODES, backend).groups[0] == ("east", 1)


def test_dates_group_by_value(backend):
    days = np.datetime64("2026-01-01") + CODES.astype("timedelta64[D]")
    s = _same_order(days, CODES, backend)
    assert s.groups.dtype == days.dtype and s.groups[0] == np.datetime64("2026-01-01")


def test_pandas_series_and_categoricals(backend):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"station": LABELS, "x": RNG.normal(size=LABELS.size)})
    s = fastsplit.stratify(df["station"], df["x"], chunk_size=150, backend=backend)
    t = fastsplit.stratify(CODES, df["x"].to_numpy(), chunk_size=150, backend=backend)
    assert np.array_equal(s.order, t.order) and np.array_equal(s.arrays[0], t.arrays[0])
    assert s.groups.tolist() == ["east", "north", "south", "west-2"]
    # categories in another order, and one that is unused: sorted values, present only
    cat = pd.Categorical(LABELS, categories=["west-2", "unused", "south", "north", "east"])
    for labels in (cat, pd.Series(cat)):
        s = _same_order(labels, CODES, backend)
        assert s.groups.tolist() == ["east", "north", "south", "west-2"]
    ints = pd.Series(pd.Categorical(CODES * 10))
    assert _same_order(ints, CODES, backend).groups.tolist() == [0, 10, 20, 30]
    reordered = df.iloc[fastsplit.stratify(df["station"], chunk_size=150, mode="index").order]
    assert reordered["x"].to_numpy().tolist() == t.arrays[0].tolist()


def test_plan_and_batches_take_string_labels():
    p = fastsplit.plan(LABELS, chunk_size=150)
    assert p.groups.tolist() == ["east", "north", "south", "west-2"]
    assert np.array_equal(p.counts, np.bincount(CODES))
    s = fastsplit.stratify(p, chunk_size=150, mode="index")
    assert np.array_equal(s.order, fastsplit.stratify(CODES, chunk_size=150, mode="index").order)
    b = fastsplit.batches(LABELS, 100, seed=0)
    for batch in b:
        assert set(LABELS[batch]) == set(STATIONS)
    coded = fastsplit.batches(CODES, 100, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip(b, coded, strict=True))


def test_report_and_plot_name_text_groups(tmp_path):
    pytest.importorskip("matplotlib")
    s = fastsplit.stratify(LABELS.astype("S"), chunk_size=150)
    assert "every chunk holds every group" in s.report()
    fig = s.plot(tmp_path / "composition.png")
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["east", "north", "south", "west-2"]
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_sparse_string_groups_are_named():
    labels = np.array(["common"] * 99 + ["rare"])
    with pytest.warns(fastsplit.errors.SparseGroupWarning, match="'rare'"):
        fastsplit.stratify(labels, chunk_size=10)


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        (np.array(["a", None, "b"], dtype=object), "1 missing value"),
        (np.array([1.0, np.nan, 2.0], dtype=object), "missing value"),
        (np.array(["a", 1], dtype=object), "cannot be sorted.*astype\\(str\\)"),
        (np.array([[1], [2], None], dtype=object)[:2], "unhashable.*str\\(x\\)"),
        (np.array([1 + 2j, 3j]), "labels must be numbers, strings"),
    ],
)
def test_unusable_labels_are_refused_naming_labels_and_the_fix(labels, words):
    with pytest.raises((InvalidLabelsError, InvalidTypeError), match=words) as info:
        fastsplit.stratify(labels)
    assert "labels" in str(info.value)


def test_missing_pandas_labels_are_refused():
    pd = pytest.importorskip("pandas")
    with pytest.raises(InvalidLabelsError, match=r"missing.*dropna"):
        fastsplit.stratify(pd.Series(["a", None, "b"]))
    with pytest.raises(InvalidLabelsError, match="1 missing"):
        fastsplit.stratify(pd.Series(["a", None, "b"]).astype("category"))
    with pytest.raises(InvalidLabelsError, match="NaN"):  # pandas gives NA as NaN here
        fastsplit.stratify(pd.array([1, None, 2], dtype="Int64"))


def test_rounding_options_and_object_data_are_refused():
    with pytest.raises(InvalidArgumentError, match=r"decimals= and atol=.*numeric"):
        fastsplit.stratify(LABELS, atol=0.1)
    with pytest.raises(InvalidTypeError, match=r"arrays\[0\] has dtype object.*dtype=str"):
        fastsplit.stratify(LABELS, LABELS.astype(object))


def test_fit_takes_string_groups():
    pytest.importorskip("nlsq")
    import jax.numpy as jnp

    def line(x, *, slope, offset):
        return offset + slope * x

    x = np.linspace(0.0, 1.0, LABELS.size)
    truth = {"east": 1.0, "north": 2.0, "south": 3.0, "west-2": 4.0}
    y = np.array([truth[s] for s in LABELS]) + 0.5 * x
    for strategy in ("chunked", "sequential"):
        r = fastsplit.fit(
            lambda x, **p: line(jnp.asarray(x), **p),
            x,
            y,
            groups=LABELS,
            p0={"slope": 0.0, "offset": 0.0},
            per_group=("offset",),
            chunk_size=400,
            strategy=strategy,
        )
        assert r.success and r.groups.tolist() == list(truth)
        assert np.allclose(r.params["offset"], list(truth.values()), atol=1e-6)
        assert r.params["slope"] == pytest.approx(0.5, abs=1e-6)
