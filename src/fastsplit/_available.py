"""What memory this process can still allocate: psutil, cgroup limits, rlimits.

The least of psutil's ``virtual_memory().available``, the room under every
enclosing cgroup memory limit (containers, batch jobs; v1 and v2) and the room
under ``RLIMIT_AS``/``RLIMIT_DATA``. psutil is imported on first use only.
"""

from __future__ import annotations

import functools
from pathlib import Path


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _inactive_file(stat: Path, key: str) -> int:
    try:
        for line in stat.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


@functools.cache
def _limited_cgroups() -> tuple[tuple[Path, tuple[str, str, str]], ...]:
    """Cgroup directories (this process's and every enclosing one) that set a memory limit.

    Found once per process: walking the hierarchy costs ~0.2 ms, and limits are set
    when a job starts. Usage is read again on every call.
    """
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return ()
    limited = []
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if controllers == "":  # cgroup v2
            root = Path("/sys/fs/cgroup")
            files = ("memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):
            root = Path("/sys/fs/cgroup/memory")
            files = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        level = root / rel.lstrip("/")
        while True:
            limit = _read_int(level / files[0])
            if limit is not None and limit < 2**60:  # "max" / 2**63-ish mean unlimited
                limited.append((level, files))
            if level == root or root not in level.parents:
                break
            level = level.parent
    return tuple(limited)


def _cgroup_available() -> int | None:
    """Least memory left under any enclosing cgroup limit (v1 or v2), if limited."""
    best: int | None = None
    for level, (limit_file, usage_file, inactive_key) in _limited_cgroups():
        limit = _read_int(level / limit_file)
        usage = _read_int(level / usage_file)
        if limit is None or usage is None:
            continue
        # page cache that can be dropped is available, as psutil counts it
        left = limit - usage + _inactive_file(level / "memory.stat", inactive_key)
        best = left if best is None else min(best, left)
    return best


def _rlimit_available() -> tuple[int | None, str]:
    """Room left under RLIMIT_AS / RLIMIT_DATA (``ulimit -v`` / ``-d``), if set."""
    try:
        import resource

        status = Path("/proc/self/status").read_text().splitlines()
    except (ImportError, OSError):
        return None, ""
    used = {}
    for line in status:
        key, _, value = line.partition(":")
        if key in ("VmSize", "VmData"):
            used[key] = int(value.split()[0]) * 1024
    best: int | None = None
    name = ""
    for limit_id, key, label in (
        (resource.RLIMIT_AS, "VmSize", "RLIMIT_AS"),
        (resource.RLIMIT_DATA, "VmData", "RLIMIT_DATA"),
    ):
        soft, _ = resource.getrlimit(limit_id)
        if soft != resource.RLIM_INFINITY and key in used:
            left = soft - used[key]
            if best is None or left < best:
                best, name = left, label
    return best, name


def available_memory() -> tuple[int, str]:
    """Bytes this process can still allocate, and which limit decides it.

    The least of psutil's ``virtual_memory().available``, the room under the
    cgroup memory limit and the room under ``RLIMIT_AS``/``RLIMIT_DATA``.
    """
    import psutil

    best, source = int(psutil.virtual_memory().available), "psutil available"
    cgroup = _cgroup_available()
    if cgroup is not None and cgroup < best:
        best, source = cgroup, "cgroup memory limit"
    rlimit, name = _rlimit_available()
    if rlimit is not None and rlimit < best:
        best, source = rlimit, name
    return max(best, 0), source


__all__ = ["available_memory"]
