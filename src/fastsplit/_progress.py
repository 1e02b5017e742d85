"""The one progress reporter: what long work says while it runs.

Every message goes to the ``fastsplit`` logger at INFO level. A caller who wants
to see it live passes ``progress=True`` (timestamped lines on stderr, what the
command line uses) or a callable that receives each line. :meth:`Progress.phase`
announces a phase and, when it took long enough to matter, how long it took.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator

log = logging.getLogger("fastsplit")

Sink = Callable[[str], None]

SLOW_SECONDS = 1.0
"""A phase that took at least this long reports its duration when it ends."""


class Progress:
    """Progress lines to the log and, optionally, to stderr or a callable.

    Parameters
    ----------
    sink : bool, callable or None
        ``True``: timestamped lines on stderr; a callable: called with each line;
        ``None`` / ``False``: the log only.

    Examples
    --------
    >>> lines = []
    >>> progress = Progress(lines.append)
    >>> progress("reading")
    >>> with progress.phase("compiling"):
    ...     pass
    >>> lines
    ['reading', 'compiling ...']
    """

    def __init__(self, sink: Sink | bool | None = None) -> None:
        self.start = time.perf_counter()
        if sink is True:
            self._sink: Sink | None = self._stderr
        elif callable(sink):
            self._sink = sink
        else:
            self._sink = None

    @classmethod
    def of(cls, progress: Progress | Sink | bool | None) -> Progress:
        """``progress`` itself when it is a :class:`Progress`, else a new one around it."""
        return progress if isinstance(progress, Progress) else cls(progress)

    @property
    def live(self) -> bool:
        """Whether lines are shown to someone (not only logged)."""
        return self._sink is not None

    def _stderr(self, message: str) -> None:
        elapsed = time.perf_counter() - self.start
        print(f"[{elapsed:7.1f} s] {message}", file=sys.stderr, flush=True)

    def __call__(self, message: str) -> None:
        log.info("%s", message)
        if self._sink is not None:
            self._sink(message)

    @contextlib.contextmanager
    def phase(self, what: str) -> Iterator[None]:
        """Announce ``what``; when it ends after a second or more, say how long it took."""
        self(f"{what} ...")
        t0 = time.perf_counter()
        yield
        seconds = time.perf_counter() - t0
        if seconds >= SLOW_SECONDS:
            self(f"{what}: done in {seconds:.1f} s")


__all__ = ["Progress"]
