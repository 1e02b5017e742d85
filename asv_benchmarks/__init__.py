"""ASV benchmark suite of fastsplit (see docs/benchmarks.md for how to run it)."""
