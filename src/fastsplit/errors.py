"""Exceptions raised by fastsplit.

Every error subclasses the builtin that fits it, so ``except ValueError`` in user
code keeps working, and every message names the argument at fault and the fix.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "ConfigError",
    "FastsplitError",
    "FitFailedError",
    "InvalidArgumentError",
    "InvalidLabelsError",
    "InvalidShapeError",
    "InvalidTypeError",
    "LengthMismatchError",
    "MemoryBudgetError",
]


class FastsplitError(Exception):
    """Base class of every fastsplit error."""


class InvalidArgumentError(FastsplitError, ValueError):
    """An argument has a value outside what is accepted (for example ``chunk_size=0``)."""


class InvalidTypeError(FastsplitError, TypeError):
    """An argument has the wrong type (for example ``chunk_size=2.5`` or string labels)."""


class InvalidLabelsError(InvalidArgumentError):
    """Group labels cannot be used (NaN or infinite values, sizes that do not add up)."""


class InvalidShapeError(InvalidArgumentError):
    """An array is not one-dimensional where one-dimensional data is required."""


class LengthMismatchError(InvalidArgumentError):
    """Labels and data arrays do not have the same length."""


class BackendUnavailableError(FastsplitError, ImportError):
    """The requested backend's library is not installed; the message names the extra."""


class MemoryBudgetError(FastsplitError, MemoryError):
    """The operation would not fit in available memory; raised before allocating."""


class ConfigError(InvalidArgumentError):
    """A configuration file or mapping has unknown keys or invalid values."""


class FitFailedError(FastsplitError, RuntimeError):
    """A fit did not move, left a group unconstrained, or otherwise cannot be trusted."""


class SparseGroupWarning(UserWarning):
    """Some groups have fewer points than there are chunks, so some chunks miss them."""


__all__ += ["SparseGroupWarning"]


class ClusterWarning(UserWarning):
    """Cluster-robust errors rest on too few clusters to be reliable."""


__all__ += ["ClusterWarning"]
