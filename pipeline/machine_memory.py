"""How much memory this process may use: the machine's, or its container's when less.

A trusted research environment usually runs the pipeline in a container whose memory limit
(cgroup) is well below the host's; a DuckDB limit sized from the host's memory would then
get the process killed instead of spilling to disk.
"""

from __future__ import annotations

import os
from pathlib import Path

#: cgroup v2 and v1 limit files (v1 reports a huge number when unlimited)
CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)


def memory_bytes() -> int | None:
    """The smaller of physical memory and any container limit; None when neither is known
    (a platform without ``sysconf``)."""
    found = [v for v in (_physical(), *map(_cgroup_limit, CGROUP_LIMITS)) if v]
    return min(found) if found else None


def _physical() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _cgroup_limit(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit
