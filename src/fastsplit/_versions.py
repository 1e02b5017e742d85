"""Versions of fastsplit and of the packages around it, read without importing them."""

from __future__ import annotations

import importlib.metadata

__all__ = ["installed", "parse"]


def installed(name: str) -> str:
    """The installed version of distribution ``name``, or ``"not installed"``.

    Examples
    --------
    >>> installed("numpy") != "not installed"
    True
    """
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def parse(text: str) -> tuple[int, int, int]:
    """``"0.7.6rc1"`` -> ``(0, 7, 6)``: the leading digits of the first three parts.

    Examples
    --------
    >>> parse("0.7.6rc1"), parse("1.2"), parse("not installed")
    ((0, 7, 6), (1, 2, 0), (0, 0, 0))
    """
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]
