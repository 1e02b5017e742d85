"""The ``fastsplit`` command: ``demo``, ``fit``, ``stratify``, ``warmup``, ``info``.

The command prints; the library only logs. Progress lines go to stderr so that
stdout holds the report; warnings are one line each, ``fastsplit: warning: ...``.
Errors are one line, ``fastsplit: error: ...`` (exit 2; a failed fit is exit 1,
Ctrl-C exit 130). ``_parser`` holds the options, ``_commands`` what each command
does, ``_outputs`` how files are checked and written. The benchmark harness is
not part of the installed package: ``make bench`` runs it from a source
checkout (``benchmarks/``).
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import FastsplitError, FitFailedError, SparseGroupWarning
from ..xpcs import XpcsWarning
from ._parser import build_parser

__all__ = ["build_parser", "main"]


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """fastsplit's own warnings, each shown once as ``fastsplit: warning: message``."""
    from .._fit import FitQualityWarning

    ours = (XpcsWarning, SparseGroupWarning, FitQualityWarning)
    show = warnings.showwarning

    def one_line(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        if issubclass(category, ours):
            print(f"fastsplit: warning: {message}", file=sys.stderr, flush=True)
        else:
            show(message, category, *args, **kwargs)

    with warnings.catch_warnings():
        for category in ours:
            warnings.simplefilter("default", category)
        warnings.showwarning = one_line
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastsplit`` command. Returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "bench":  # bench ignores the options of the old harness
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help()
        return 2
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        with _warnings_as_lines():
            return int(args.func(args))
    except FitFailedError as exc:
        print(f"fastsplit: fit failed: {exc}", file=sys.stderr)
        return 1
    except FastsplitError as exc:
        print(f"fastsplit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastsplit: interrupted; no partial output was left", file=sys.stderr)
        return 130
