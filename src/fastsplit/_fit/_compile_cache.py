"""JAX's persistent compilation cache, set up so that a fit compiles once per machine.

A fresh process compiles every pass of a fit again (XLA: 0.5-2 s per pass of
the XPCS model, more for laminar flow). JAX can keep compiled executables on
disk (``jax_compilation_cache_dir``); this module turns that on for fastsplit,
on the first fit of a process, just after nlsq is imported (nlsq 0.6 points the
cache at its own directory on import, caching only compilations over 1 s, and
so leaves most of a fit's passes out).

The rule, in order:

1. ``FASTSPLIT_JAX_CACHE=0`` (or ``false``/``no``/``off``): fastsplit leaves
   every JAX setting as it finds it.
2. A cache directory the user chose is kept, with the user's thresholds:
   ``JAX_COMPILATION_CACHE_DIR``, ``jax.config.update("jax_compilation_cache_dir",
   ...)`` made before the first fit, or nlsq's ``NLSQ_JAX_CACHE_DIR``. When
   nlsq's import replaced it, it is put back.
3. Otherwise the cache goes to ``FASTSPLIT_JAX_CACHE_DIR``, else to
   ``$XDG_CACHE_HOME/fastsplit/jax`` (``~/.cache/fastsplit/jax``; on macOS
   ``~/Library/Caches/fastsplit/jax``, on Windows ``%LOCALAPPDATA%\\fastsplit\\jax``),
   with ``jax_persistent_cache_min_compile_time_secs = 0`` and
   ``jax_persistent_cache_min_entry_size_bytes = -1`` so that small passes are
   kept too. A directory that cannot be written leaves the settings alone
   (logged at debug level).

No other JAX setting is changed. The cache is keyed by JAX on the compiled
program, its shapes, the JAX/XLA versions and the device: a new model,
shape or JAX release compiles (and is then kept). It is never pruned by
fastsplit; delete the directory to clear it (``fastsplit info`` names it).
Tracing and lowering still run in every process: see ``docs/fit.md``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CacheSetting", "configure", "default_directory", "nlsq_imported", "setting"]

log = logging.getLogger("fastsplit")

SWITCH = "FASTSPLIT_JAX_CACHE"
"""``0``/``false``/``no``/``off``: fastsplit does not configure JAX's persistent cache."""
DIRECTORY = "FASTSPLIT_JAX_CACHE_DIR"
"""Where fastsplit puts JAX's persistent cache when the user has not chosen a place."""

_OFF = {"0", "false", "no", "off"}
_NLSQ_DEFAULT = "~/.cache/nlsq/jax_cache"
"""Where nlsq 0.6 points the cache on import unless ``NLSQ_JAX_CACHE_DIR`` says otherwise."""


@dataclass(frozen=True)
class CacheSetting:
    """What :func:`configure` decided.

    Attributes
    ----------
    directory : str or None
        JAX's persistent cache directory after configuring (``None``: no cache).
    source : str
        ``"fastsplit"`` (set here), ``"user"`` (kept), ``"off"`` (the switch),
        ``"unwritable"`` (fastsplit's directory could not be written) or
        ``"nlsq"`` (nlsq's own choice, left because fastsplit is switched off).
    """

    directory: str | None
    source: str


_lock = threading.Lock()
_before_nlsq: list[str | None] = []
_done: list[CacheSetting] = []


def default_directory() -> Path:
    """fastsplit's cache directory for JAX executables (``FASTSPLIT_JAX_CACHE_DIR`` first).

    Examples
    --------
    >>> default_directory().name
    'jax'
    """
    chosen = os.environ.get(DIRECTORY, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fastsplit" / "jax"


def switched_off() -> bool:
    """Whether ``FASTSPLIT_JAX_CACHE`` turns fastsplit's configuration off."""
    return os.environ.get(SWITCH, "1").strip().lower() in _OFF


def nlsq_imported(importer: Any) -> Any:
    """Call ``importer()`` (which imports nlsq), then configure the cache once.

    The user's own JAX setting is read before nlsq's import can replace it.
    """
    with _lock:
        if _done:
            return importer()
        if not _before_nlsq and "nlsq" not in sys.modules:
            _before_nlsq.append(_jax_directory())
        module = importer()
        _done.append(_configure())
    return module


def configure() -> CacheSetting:
    """Configure JAX's persistent cache as the module docstring says (once per process)."""
    with _lock:
        if not _done:
            _done.append(_configure())
        return _done[0]


def setting() -> CacheSetting | None:
    """What :func:`configure` decided in this process (``None`` before the first fit)."""
    return _done[0] if _done else None


def _jax_directory() -> str | None:
    try:
        import jax
    except ImportError:
        return None
    value = jax.config.jax_compilation_cache_dir
    return str(value) if value else None


def _nlsq_directory() -> str:
    return os.path.expanduser(os.environ.get("NLSQ_JAX_CACHE_DIR", _NLSQ_DEFAULT))


def _users_directory(current: str | None) -> str | None:
    """A cache directory the user chose (not nlsq's default), if any."""
    env = os.environ.get("JAX_COMPILATION_CACHE_DIR", "").strip()
    if env:
        return env
    nlsq_default = os.path.expanduser(_NLSQ_DEFAULT)
    for value in (*_before_nlsq, current):
        if value and os.path.expanduser(value) != nlsq_default:
            return value
    if os.environ.get("NLSQ_JAX_CACHE_DIR", "").strip():
        return _nlsq_directory()
    return None


def _configure() -> CacheSetting:
    import jax

    current = _jax_directory()
    if switched_off():
        return CacheSetting(current, "nlsq" if current else "off")
    chosen = _users_directory(current)
    if chosen is not None:
        if current != chosen:  # nlsq's import replaced it
            _point_at(jax, chosen)
        log.debug("JAX persistent compilation cache: the user's %s", chosen)
        return CacheSetting(chosen, "user")
    directory = default_directory()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        log.debug(
            "JAX persistent compilation cache not set: %s is not writable (%s)", directory, exc
        )
        return CacheSetting(current, "unwritable")
    _point_at(jax, str(directory))
    # Every pass of a fit, small ones too: a cache read costs milliseconds.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    log.debug("JAX persistent compilation cache: %s", directory)
    return CacheSetting(str(directory), "fastsplit")


def _point_at(jax: Any, directory: str) -> None:
    """Set the directory; a cache JAX already opened elsewhere is reopened on the next compile."""
    jax.config.update("jax_compilation_cache_dir", directory)
    try:
        from jax.experimental.compilation_cache import compilation_cache
    except ImportError:  # pragma: no cover - every supported JAX has it
        return
    compilation_cache.reset_cache()
