"""A first call with numba's cache empty: the numpy reference serves it while numba compiles.

Numba compiles fastsplit's kernels on their first use and keeps them in its
on-disk cache: ~0.1 s to load in every later process, but 10-20 s to compile on
a fresh install (or after numba's cache was cleared). The numpy backend computes
the same output bit for bit (it is the test oracle) in O(n log n): 0.2 s at
1M points. So when ``backend="auto"`` would pick numba, the kernels are not in
this process yet and their cache is empty, a call of up to :data:`COLD_LIMIT`
points is served by numpy while one detached process compiles the kernels into
numba's cache (``fastsplit.warmup("numba")``). Later calls, in this process once
that compilation ended and in every later process, use numba. Larger calls
compile in the call, as before: numpy's sort would cost more than the compile.

``FASTSPLIT_COLD_START=wait`` (or caching turned off, or a platform without
``os.posix_spawn``) keeps the old behaviour: the first call compiles what it needs.
The state is one module-level object; the check costs four small file reads,
once per process.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from pathlib import Path

log = logging.getLogger("fastsplit")

ENV_VAR = "FASTSPLIT_COLD_START"
"""``background`` (the default) or ``wait`` (compile in the first call)."""

COLD_LIMIT = 1 << 22
"""Most points served by numpy while the kernels compile: its order pass at 4M
points is ~0.7 s and ~260 MB of temporaries, against 10-20 s of compiling."""

STALE_SECONDS = 600.0
"""A compile lock older than this is a compile that died without removing it."""

WAIT_SECONDS = 120.0
"""A call too large for numpy waits this long for a running compile, then compiles itself."""

LOCK_NAME = "fastsplit-compiling.lock"


def _core() -> tuple[object, ...]:
    """The kernels every numba call needs: labels -> codes, the layout, the scatter."""
    from ._numba_emit import emit
    from ._numba_factorize import _factorize
    from ._numba_scatter import _block_positions_range, _segment

    return (_factorize, _block_positions_range, _segment, emit)


def _lock_of(kernels: tuple[object, ...]) -> Path:
    """The compile lock, in the cache directory numba chose for the kernels."""
    return Path(kernels[2]._cache._cache_path) / LOCK_NAME  # type: ignore[attr-defined]


def _cached(kernels: tuple[object, ...]) -> bool:
    """Whether numba's cache holds every kernel (an index for the current source)."""
    return all(k._cache._cache_file._load_index() for k in kernels)  # type: ignore[attr-defined]


class _Cold:
    def __init__(self) -> None:
        self.ready = False  # numba kernels usable without compiling in a call
        self.child: int | None = None  # pid of the compile this process started
        self.spawned = False

    def backend_for(self, n: int) -> str:
        """``"numba"``, or ``"numpy"`` while numba's kernels compile in the background."""
        if self.ready:
            return "numba"
        if os.environ.get(ENV_VAR, "background").strip().lower() == "wait":
            return "numba"
        try:
            lock = self._check()
        except Exception as exc:  # numba internals moved: compile as before
            log.debug("numba cache check failed (%s): compiling in the call", exc)
            self.ready = True
            return "numba"
        if lock is None:
            return "numba"
        if n > COLD_LIMIT and not self._compiling(lock):
            return "numba"  # compile in this call: cheaper than numpy's sort at this size
        if not self._compiling(lock):
            if self.spawned:  # our compile ended and the cache is still cold: give up on it
                self.ready = True
                return "numba"
            self._spawn(lock)
        if n > COLD_LIMIT:
            self._wait(lock)
            self.ready = True
            return "numba"
        return "numpy"

    def _check(self) -> Path | None:
        """None when numba can run now (kernels cached or compiled here); else the lock path."""
        from . import _jit

        kernels = _core()
        if not _jit.CACHE or not hasattr(os, "posix_spawn"):
            self.ready = True
            return None
        lock = _lock_of(kernels)
        if self._compiling(lock):
            return lock
        if all(k.signatures for k in kernels) or _cached(kernels):  # type: ignore[attr-defined]
            self.ready = True
            return None
        return lock

    def _child_running(self) -> bool:
        if self.child is None:
            return False
        try:
            pid, status = os.waitpid(self.child, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere, or a fork of the process that started it
            self.child = None
            return False
        if pid == 0:
            return True
        if status:
            log.warning(
                "compiling numba's kernels in the background failed (status %d); "
                "the next call compiles them itself",
                status,
            )
        self.child = None
        return False

    def _compiling(self, lock: Path) -> bool:
        """Whether a compile (this process's or another's) holds the lock.

        The lock says which host and process compile; a lock of this host whose
        process has gone, or any lock older than :data:`STALE_SECONDS`, holds nothing.
        """
        if self._child_running():
            return True
        try:
            age = time.time() - lock.stat().st_mtime
            owner = lock.read_text().split()
        except (FileNotFoundError, NotADirectoryError):
            return False
        if age >= STALE_SECONDS:
            return False
        if len(owner) == 2 and owner[0] == socket.gethostname() and owner[1].isdigit():
            return _alive(int(owner[1]))
        return age < 5.0  # being written, or another host's: trust it only while young

    def _spawn(self, lock: Path) -> None:
        """Start one detached process that compiles the kernels into numba's cache."""
        self.spawned = True
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:  # a stale lock, or another process just took it
            if self._compiling(lock):
                log.info(
                    "numba's kernels are compiling in another process (first use after "
                    "installing): this call uses the numpy reference backend (same output)"
                )
                return
            lock.unlink(missing_ok=True)
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
        env = {**os.environ, ENV_VAR: "wait"}
        null = os.devnull
        try:
            self.child = os.posix_spawn(
                sys.executable,
                [sys.executable, "-m", "fastsplit.backends._cold", str(lock)],
                env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
                ],
                setsid=True,  # Ctrl-C in the terminal stops the caller, not the compile
            )
            lock.write_text(f"{socket.gethostname()} {self.child}\n")
        except OSError as exc:  # no interpreter to start: compile in the calls, as before
            lock.unlink(missing_ok=True)
            log.debug("background compile not started (%s): compiling in the call", exc)
            self.ready = True
            return
        log.info(
            "numba's kernel cache is empty (first use after installing): this call and "
            "those like it use the numpy reference backend (same output) while the "
            "kernels compile in the background (10-20 s, once); "
            "`fastsplit warmup` compiles them in the foreground"
        )

    def _wait(self, lock: Path) -> None:
        log.info("waiting for numba's kernels to finish compiling (first use after installing)")
        deadline = time.monotonic() + WAIT_SECONDS
        while self._compiling(lock) and time.monotonic() < deadline:
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


_STATE = _Cold()


def status() -> str:
    """One line on numba's kernels for ``fastsplit info``: cached, compiling, or not yet."""
    from . import _jit

    if not _jit.CACHE:
        return "not cached (FASTSPLIT_NUMBA_CACHE=0 or no writable cache): every process compiles"
    kernels = _core()
    lock = _lock_of(kernels)
    where = lock.parent
    if _STATE._compiling(lock):
        return f"compiling in the background into {where}"
    if _cached(kernels):
        return f"compiled, cached in {where}"
    return (
        f"not compiled yet (cache {where}): the first small calls use numpy while they "
        "compile; `fastsplit warmup` compiles them now"
    )


def backend_for(n: int) -> str:
    """The backend for an ``auto`` call of ``n`` points whose choice is numba."""
    return _STATE.backend_for(n)


def _main(lock: str) -> None:
    """The background compile: every kernel variant, then the lock goes."""
    try:
        from .._api import warmup

        warmup("numba")
    finally:
        Path(lock).unlink(missing_ok=True)


if __name__ == "__main__":
    _main(sys.argv[1])
