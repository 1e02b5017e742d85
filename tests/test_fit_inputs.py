"""fastsplit.fit refuses bad input with an error that names the argument."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.nlsq
pytest.importorskip("nlsq")

import jax.numpy as jnp  # noqa: E402  (after importorskip: nlsq brings JAX)

from fastsplit._fit import fit  # noqa: E402
from fastsplit.errors import (  # noqa: E402
    BackendUnavailableError,
    InvalidArgumentError,
    InvalidShapeError,
    InvalidTypeError,
    LengthMismatchError,
)
from test_fit import line, sparse_data  # noqa: E402

# -- bad input ---------------------------------------------------------------------------


def test_input_errors_name_the_argument():
    x, y, g = sparse_data()
    p0 = {"slope": 1.0, "offset": 0.0}
    kw = dict(groups=g, p0=p0, per_group=["offset"])
    with pytest.raises(InvalidTypeError, match="p0 must be a mapping"):
        fit(line, x, y, groups=g, p0=[1.0, 0.0], per_group=["offset"])
    with pytest.raises(InvalidArgumentError, match="per_group names"):
        fit(line, x, y, groups=g, p0=p0, per_group=["intercept"])
    with pytest.raises(InvalidArgumentError, match="bounds has names"):
        fit(line, x, y, **kw, bounds={"gain": (0, 1)})
    with pytest.raises(InvalidArgumentError, match="p0 is outside the bounds"):
        fit(line, x, y, **kw, bounds={"slope": (2, 3)})
    with pytest.raises(InvalidShapeError, match="per-group"):
        fit(line, x, y, groups=g, p0={"slope": 1.0, "offset": [0.0, 1.0]}, per_group=["offset"])
    with pytest.raises(LengthMismatchError, match="x has"):
        fit(line, x[:-1], y, **kw)
    with pytest.raises(LengthMismatchError, match="groups"):
        fit(line, x, y, groups=g[:-1], p0=p0, per_group=["offset"])
    with pytest.raises(InvalidShapeError, match="tuple of 1-D arrays"):
        fit(line, np.stack([x, x]), y, **kw)
    with pytest.raises(InvalidArgumentError, match="sigma"):
        fit(line, x, y, **kw, sigma=-1.0)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        fit(line, x, np.where(x > 0.5, np.nan, y), **kw)
    with pytest.raises(InvalidArgumentError, match="strategy must be one of"):
        fit(line, x, y, **kw, strategy="fastest")
    with pytest.raises(InvalidArgumentError, match="does not accept the parameters"):
        fit(lambda x, *, slope: slope * x, x, y, **kw)
    with pytest.raises(InvalidTypeError, match="chunk_size"):
        fit(line, x, y, **kw, chunk_size=10.5)


def test_non_pointwise_model_is_rejected():
    x, y, g = sparse_data()

    def normalised(x, *, slope, offset):
        return slope * x + offset / jnp.mean(offset)

    with pytest.raises(InvalidArgumentError, match="not pointwise"):
        fit(normalised, x, y, groups=g, p0={"slope": 1.0, "offset": 1.0}, per_group=["offset"])


def test_missing_nlsq_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "nlsq":
            raise ImportError("No module named 'nlsq'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    from fastsplit._fit import _nlsq

    with pytest.raises(BackendUnavailableError, match=r"fastsplit\[fit\]"):
        _nlsq.import_nlsq()
