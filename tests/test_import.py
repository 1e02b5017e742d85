"""`import fastsplit` stays light: no heavy library is imported with it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "numba",
    "llvmlite",
    "jax",
    "jaxlib",
    "nlsq",
    "psutil",
    "scipy",
    "matplotlib",
    "h5py",
    "yaml",
    "dask",
    "distributed",
    "pandas",
    "xarray",
]


def _modules_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_loads_no_heavy_library():
    loaded = _modules_after("import fastsplit")
    assert not [m for m in HEAVY if m in loaded]


def test_dispatch_decision_imports_nothing():
    """Choosing the backend (and listing backends) probes without importing."""
    loaded = _modules_after(
        "import fastsplit\n"
        "from fastsplit.backends import resolve\n"
        "resolve('auto'); fastsplit.available_backends()"
    )
    assert "numba" not in loaded and "jax" not in loaded


def test_numpy_backend_never_imports_numba():
    loaded = _modules_after(
        "import numpy as np, fastsplit\n"
        "fastsplit.stratify(np.repeat([1.0, 2.0], 50), np.arange(100.0), chunk_size=10, "
        "backend='numpy').report()"
    )
    assert "numba" not in loaded and "jax" not in loaded


def test_public_names_are_exported():
    import fastsplit

    for name in fastsplit.__all__:
        assert hasattr(fastsplit, name), name


def test_subpackages_are_attributes_imported_on_first_use():
    loaded = _modules_after("import fastsplit")
    assert "fastsplit.xpcs" not in loaded and "fastsplit.dask" not in loaded
    loaded = _modules_after(
        "import fastsplit\n"
        "assert 'xpcs' in dir(fastsplit) and 'dask' in dir(fastsplit)\n"
        "fastsplit.xpcs.synthesize(n_angles=2, n_frames=4)\n"
        "assert callable(fastsplit.dask.stratify)"
    )
    assert {"fastsplit.xpcs", "fastsplit.dask"} <= loaded
    assert not [m for m in HEAVY if m in loaded]


def test_unknown_attributes_still_raise():
    import pytest

    import fastsplit

    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        fastsplit.nonesuch
