"""What every benchmark prints first: the commit, the machine and the sizes, so that a figure
can be put beside others (`bench/README.md` keeps the table)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def commit() -> str:
    """The checkout's commit (short), marked `+changes` when the tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPOSITORY, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+changes" if dirty else head


def memory_gib() -> float:
    """Physical memory of the machine, in GiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def process_stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (field 3, the state, first); None
    where /proc cannot tell (the process is gone, or not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def describe(**sizes: object) -> str:
    """One line: commit, cores, memory, Python, and the run's sizes and seed."""
    given = ", ".join(f"{name} {value:,}" if isinstance(value, int) else f"{name} {value}"
                      for name, value in sizes.items())
    return (f"commit {commit()} · {len(os.sched_getaffinity(0))} cores · "
            f"{memory_gib():.0f} GiB · Python {platform.python_version()} · {given}")
