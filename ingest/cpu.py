"""The CPU cores this process may use (its affinity mask, not the machine's count)::

>>> available_cores() >= 1
True
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """Cores the scheduler lets this process run on (``taskset``, cgroup cpusets), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
