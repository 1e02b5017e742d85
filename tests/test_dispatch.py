"""``backend="auto"``, ``FASTSPLIT_BACKEND``, missing backends and the registry.

Deciding never imports numba or jax: the subprocess tests block a library (a
``None`` entry in ``sys.modules`` makes it uninstallable for that process) and
check what was imported afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

import fastsplit
from fastsplit import backends
from fastsplit.backends import _REGISTRY, get_backend, resolve
from fastsplit.errors import InvalidArgumentError

PHI = np.repeat([-1.5, 0.0, 2.5], 100)
Y = np.arange(300.0)
HAS_NUMBA = importlib.util.find_spec("numba") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None


def _run(code: str, *, block: tuple[str, ...] = (), env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh interpreter with ``block`` made uninstallable; return its JSON."""
    blocker = "".join(f"sys.modules[{name!r}] = None\n" for name in block)
    script = f"import sys, json\n{blocker}{code}\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


_REPORT = (
    "print(json.dumps({'backend': s.backend, 'mods': [m for m in ('numba', 'jax') "
    "if sys.modules.get(m) is not None], 'available': fastsplit.available_backends()}))"
)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
def test_auto_picks_numba_and_imports_no_jax():
    result = _run(
        "import numpy as np, fastsplit\n"
        "s = fastsplit.stratify(np.repeat([1.0, 2.0], 50), np.arange(100.0), chunk_size=10)\n"
        + _REPORT
    )
    assert result["backend"] == "numba"
    assert result["mods"] == ["numba"]


def test_auto_falls_back_to_numpy_without_numba():
    result = _run(
        "import numpy as np, fastsplit\n"
        "s = fastsplit.stratify(np.repeat([1.0, 2.0], 50), np.arange(100.0), chunk_size=10)\n"
        + _REPORT,
        block=("numba",),
    )
    assert result["backend"] == "numpy"
    assert result["mods"] == []
    assert result["available"]["numpy"] == "available"
    assert "numba is not installed" in result["available"]["numba"]
    assert "pip install numba" in result["available"]["numba"]


def test_missing_numba_and_jax_name_what_to_install():
    result = _run(
        "import fastsplit\n"
        "from fastsplit.errors import BackendUnavailableError\n"
        "out = {}\n"
        "for name in ('numba', 'jax'):\n"
        "    try:\n"
        "        fastsplit.stratify([1.0, 2.0], [3.0, 4.0], backend=name)\n"
        "    except BackendUnavailableError as e:\n"
        "        out[name] = [str(e), isinstance(e, ImportError)]\n"
        "out['available'] = fastsplit.available_backends()\n"
        "print(json.dumps(out))",
        block=("numba", "jax"),
    )
    assert "pip install numba" in result["numba"][0] and result["numba"][1]
    assert "pip install fastsplit[jax]" in result["jax"][0] and result["jax"][1]
    assert "fastsplit[jax]" in result["available"]["jax"]


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_auto_picks_jax_for_jax_arrays():
    jnp = pytest.importorskip("jax.numpy")
    y = jnp.arange(300, dtype=jnp.float32)
    assert resolve("auto", (y,)) == "jax"
    assert resolve("auto", (np.asarray(y), y)) == "jax"  # any JAX array decides
    assert fastsplit.stratify(PHI, y, chunk_size=50).backend == "jax"


def test_numpy_input_never_resolves_to_jax(monkeypatch):
    monkeypatch.delenv("FASTSPLIT_BACKEND", raising=False)
    assert resolve("auto", (Y,)) == ("numba" if HAS_NUMBA else "numpy")


def test_env_overrides_auto_only(monkeypatch):
    monkeypatch.setenv("FASTSPLIT_BACKEND", "numpy")
    assert fastsplit.stratify(PHI, Y, chunk_size=50).backend == "numpy"
    assert resolve("auto") == "numpy"
    if HAS_NUMBA:  # an explicit backend wins over the environment
        assert fastsplit.stratify(PHI, Y, chunk_size=50, backend="numba").backend == "numba"
    monkeypatch.setenv("FASTSPLIT_BACKEND", " auto ")
    assert resolve("auto") == ("numba" if HAS_NUMBA else "numpy")


def test_env_override_imports_nothing_it_does_not_use():
    import os

    result = _run(
        "import numpy as np, fastsplit\n"
        "s = fastsplit.stratify(np.repeat([1.0, 2.0], 50), np.arange(100.0), chunk_size=10)\n"
        + _REPORT,
        env=dict(os.environ, FASTSPLIT_BACKEND="numpy"),
    )
    assert result["backend"] == "numpy" and result["mods"] == []


def test_available_backends_lists_every_registered_one():
    status = fastsplit.available_backends()
    assert set(status) == set(_REGISTRY)
    assert status["numpy"] == "available"
    assert (status["numba"] == "available") == HAS_NUMBA
    assert (status["jax"] == "available") == HAS_JAX


def test_unknown_backend_lists_the_valid_ones():
    with pytest.raises(InvalidArgumentError, match="'numpy', 'numba', 'jax'"):
        resolve("cupy")
    with pytest.raises(InvalidArgumentError, match="use one of"):
        get_backend("cupy")


def test_a_new_backend_is_one_module_and_one_registry_entry(monkeypatch):
    """Registering a module under a new name is all it takes (here: the oracle again)."""
    monkeypatch.setitem(
        _REGISTRY,
        "oracle",
        backends._Entry(
            "fastsplit.backends._numpy:NumpyBackend",
            "fastsplit.backends._numpy:NumpySizes",
            None,
            None,
        ),
    )
    get_backend.cache_clear()
    try:
        s = fastsplit.stratify(PHI, Y, chunk_size=70, backend="oracle")
        ref = fastsplit.stratify(PHI, Y, chunk_size=70, backend="numpy")
        assert s.backend == "oracle"
        assert np.array_equal(s.order, ref.order) and np.array_equal(s.arrays[0], ref.arrays[0])
        assert fastsplit.available_backends()["oracle"] == "available"
    finally:
        get_backend.cache_clear()
