"""The command's output files: checked before any work, written whole or not at all.

* :meth:`Outputs.reserve` runs before the work: the folder exists (or can be
  made) and is writable, the name is not a folder, an existing file is replaced
  only with ``--force`` and never when it is one of the inputs, and two outputs
  never share a name.
* :func:`write_atomic` writes into a temporary file beside the target and
  renames it into place only when the writer finished: Ctrl-C, a full disk, a
  file-size limit or an exception leave the target as it was (absent, or the
  old file) and no temporary file behind.
* :func:`write_together` writes the files of one run (a fit's record and figure)
  all or none: a failure or Ctrl-C removes the ones already written.

The name reported is the name written: files are written under exactly the
name given (numpy would add ``.npz`` to a bare name; the writer gets a file
handle, so it cannot).
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import InvalidArgumentError

__all__ = ["Outputs", "write_atomic", "write_together"]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


class Outputs:
    """The output paths of one command, checked before it does any work.

    Parameters
    ----------
    force : bool
        Replace existing files (never an input file).
    inputs : iterable of path or None
        The command's input files (``None`` entries are skipped).
    """

    def __init__(self, *, force: bool, inputs: Iterable[str | os.PathLike[str] | None]) -> None:
        self.force = force
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.reserved: list[Path] = []

    def reserve(self, path: str | os.PathLike[str], option: str) -> Path:
        """Check that ``path`` (given with ``option``) can be written; return it.

        Raises
        ------
        InvalidArgumentError
            Naming the option and the path: a missing or read-only folder, a
            folder where a file should go, an existing file without ``--force``,
            an input file, or a name already used by another output.
        """
        target = Path(path)
        where = f"{option} {str(target)!r}"
        if str(path) == "" or target.name in ("", ".", ".."):
            raise InvalidArgumentError(f"{where} is not a file name.")
        if target.is_dir():
            raise InvalidArgumentError(f"{where} is a folder; give a file name.")
        for other in self.inputs:
            if _same_file(target, other) or target.resolve() == other.resolve():
                raise InvalidArgumentError(
                    f"{where} is the input file {str(other)!r}; fastsplit never overwrites "
                    "its input. Choose another output name."
                )
        if any(target.resolve() == done.resolve() for done in self.reserved):
            raise InvalidArgumentError(f"{where} is already used by another output.")
        folder = target.parent
        _check_folder(folder, where)
        if target.exists() and not self.force:
            raise InvalidArgumentError(
                f"{where} exists; pass --force to replace it, or choose another name."
            )
        self.reserved.append(target)
        return target

    def reserve_folder(
        self, folder: str | os.PathLike[str], names: Iterable[str], option: str
    ) -> list[Path]:
        """Reserve the files ``names`` inside ``folder`` (made when missing, at write time)."""
        base = Path(folder)
        if base.exists() and not base.is_dir():
            raise InvalidArgumentError(f"{option} {str(base)!r} is a file, not a folder.")
        if not base.exists():
            _check_folder(_existing_parent(base), f"{option} {str(base)!r}")
            return [self._reserve_new(base / name) for name in names]
        return [self.reserve(base / name, option) for name in names]

    def _reserve_new(self, target: Path) -> Path:
        self.reserved.append(target)
        return target


def _existing_parent(path: Path) -> Path:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _check_folder(folder: Path, where: str) -> None:
    folder = folder if str(folder) else Path(".")
    if not folder.exists():
        raise InvalidArgumentError(f"{where}: the folder {str(folder)!r} does not exist.")
    if not folder.is_dir():
        raise InvalidArgumentError(f"{where}: {str(folder)!r} is not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidArgumentError(f"{where}: the folder {str(folder)!r} is not writable.")


def write_atomic(path: Path, writer: Callable[[IO[bytes]], Any]) -> Path:
    """Write ``path`` through ``writer(handle)`` into a temporary file, then rename it in place.

    Any failure, ``KeyboardInterrupt`` included, removes the temporary file and
    leaves ``path`` untouched; an ``OSError`` (disk full, file too large) becomes
    an :class:`~fastsplit.errors.InvalidArgumentError` naming the file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> target = Path(tempfile.mkdtemp()) / "note.txt"
    >>> write_atomic(target, lambda handle: handle.write(b"done")).read_bytes()
    b'done'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; files are not
        os.replace(temporary, path)
    except OSError as exc:
        _remove(temporary)
        raise InvalidArgumentError(
            f"cannot write {str(path)!r}: {exc.strerror or exc}; nothing was written."
        ) from None
    except BaseException:
        _remove(temporary)
        raise
    return path


def write_together(files: dict[Path, bytes]) -> None:
    """Write every file atomically; if any write fails or is interrupted, remove the others.

    The outputs of one run (a fit's record and its figure) are then all there or
    none is: a file this run wrote is removed again (one it was to replace with
    ``--force`` is gone too, as it would be after a complete run).
    """
    written: list[Path] = []
    try:
        for path, content in files.items():
            write_atomic(path, functools.partial(_write_bytes, content))
            written.append(path)
    except BaseException:
        for path in written:
            _remove(str(path))
        raise


def _write_bytes(content: bytes, handle: IO[bytes]) -> None:
    handle.write(content)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
