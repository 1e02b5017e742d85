"""fastsplit's benchmark harness: not part of the installed package.

Run from the repository root, against the fastsplit on ``sys.path``::

    python -m benchmarks.bench          # side by side (``make bench``)
    python -m benchmarks.scaling        # the figures in docs/img
    python benchmarks/jax_vs_numba.py   # the JAX backend against numba

See ``docs/benchmarks.md``. The ASV suite (``asv_benchmarks/``) times the same
data (:mod:`benchmarks.data`) across the project's history.
"""
