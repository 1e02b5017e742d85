"""Shared fixtures: every contract test runs on every backend that can run here."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Numba compiles a kernel per type signature on first use; a deadline would time
# the compiler, not fastsplit.
settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=120)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

BACKENDS = ["numpy", "numba", "jax"]

# With numba's cache empty (a fresh CI checkout), backend="auto" would serve small
# calls from numpy while a background process compiles: the suite wants "auto" to
# mean numba, deterministically. test_cold_start.py checks the background path.
os.environ.setdefault("FASTSPLIT_COLD_START", "wait")


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@pytest.fixture(scope="session")
def jax_x64() -> Iterator[None]:
    """JAX's 64-bit mode on for the rest of the session (the tests use float64 data).

    The library never touches JAX's config; the tests turn it on here, once, and
    restore it at the end. Tests of x64-off behaviour use ``x64_off`` in
    ``test_jax_backend.py``.
    """
    pytest.importorskip("fastsplit.backends._jax")
    import jax

    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


@pytest.fixture(params=BACKENDS, scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn; skipped where its library is not installed."""
    name = request.param
    if name != "numpy" and not _installed(name):
        pytest.skip(f"{name} is not installed")
    if name == "jax":
        request.getfixturevalue("jax_x64")
    return name


@pytest.fixture(params=["numba", "jax"], scope="session")
def fast_backend(request: pytest.FixtureRequest) -> str:
    """The accelerated backends, each checked against the numpy oracle."""
    name = request.param
    if not _installed(name):
        pytest.skip(f"{name} is not installed")
    if name == "jax":
        request.getfixturevalue("jax_x64")
    return name


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    """A LocalCluster of 2 single-threaded worker processes, 1 GiB each (~2 s to start).

    Shared by every cluster test (``test_dask_cluster.py``, ``test_dask_fit.py``).
    """
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GiB",
            dashboard_address=":0",  # never the shared default port
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as c,
    ):
        yield c


@pytest.fixture
def on_cluster(client: Any) -> Iterator[Any]:
    """The cluster as dask's scheduler for one test."""
    import dask

    with dask.config.set(scheduler=client):
        yield client
