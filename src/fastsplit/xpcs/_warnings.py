"""The warning of :mod:`fastsplit.xpcs`: something in the data or the config that was not used.

It says what, once, and the work goes on: config keys fastsplit does not read, a
given ``dt`` that differs from the file's, angle ranges that matched nothing when
the config allows every angle instead.
"""

from __future__ import annotations

__all__ = ["XpcsWarning"]


class XpcsWarning(UserWarning):
    """A config key or a data field that fastsplit.xpcs did not use, or used against the file."""
