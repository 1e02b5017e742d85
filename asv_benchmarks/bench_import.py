"""``import fastsplit`` must stay light: <= 0.15 s and none of numba/jax/... imported."""

from __future__ import annotations

from . import common


def timeraw_import_fastsplit():
    """Import time in a fresh interpreter (target <= 0.15 s)."""
    return "import fastsplit"


def track_heavy_modules_after_import():
    """How many of numba, jax, nlsq, psutil, scipy, matplotlib ``import fastsplit`` loads (0)."""
    code = f"import sys, fastsplit; print(sum(m in sys.modules for m in {common.HEAVY_MODULES!r}))"
    return int(common.run_python(code))


track_heavy_modules_after_import.unit = "modules"
