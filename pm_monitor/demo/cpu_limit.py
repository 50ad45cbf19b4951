"""Give a running process a small share of one core, as on a robot whose CPU is busy with
navigation: every thread pinned to one core, a busy process competing on that core, and the
process's threads reniced so that the scheduler gives it about a fifth of the core.

For the demos and the CPU-starvation tests (Linux: sched_setaffinity, per-thread nice)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# CFS weights: nice 0 = 1024, nice 6 = 272 -> 272 / (272 + 1024) = 21 % of the core against
# one busy process at nice 0 (less when other work shares the core too).
STARVED_NICENESS = 6


def _threads(pid: int) -> list[int]:
    """Every thread of `pid`: affinity and nice are per thread on Linux, and the monitor has
    already started its inference and executor threads when it is starved."""
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return [pid]


def starve(pid: int, niceness: int = STARVED_NICENESS) -> subprocess.Popen:
    """Pin `pid` (all its threads) to one core, lower their priority by `niceness` and start
    a busy process on the same core; returns that process (stop it with .kill())."""
    core = max(os.sched_getaffinity(pid))
    for tid in _threads(pid):
        try:
            os.sched_setaffinity(tid, {core})
            os.setpriority(os.PRIO_PROCESS, tid,
                           os.getpriority(os.PRIO_PROCESS, tid) + niceness)
        except (ProcessLookupError, PermissionError):
            continue  # a thread that ended meanwhile
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                  stdin=subprocess.DEVNULL)
    os.sched_setaffinity(competitor.pid, {core})
    return competitor


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (s), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
