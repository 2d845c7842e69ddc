"""Run one tool in a fresh interpreter and measure the whole process: wall time and peak RSS.

Peak RSS comes from GNU ``/usr/bin/time`` when installed: Linux counts the memory a child
inherits at fork/vfork in its ``ru_maxrss``, so a child forked straight from this (large)
harness process would report at least the harness's own RSS. ``time`` is a tiny process, so
the tool's figure is its own. Without it, ``os.wait4`` gives the usage of exactly the waited
child (``RUSAGE_CHILDREN`` would give the maximum over every child so far), floor included.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.05
GNU_TIME = Path("/usr/bin/time")


@dataclass(frozen=True)
class ProcessMeasurement:
    """Outcome of one child process."""

    status: str  # "ok", "failed" or "timeout"
    exit_code: int | None
    wall_seconds: float
    peak_rss_bytes: int
    log_path: Path
    rss_method: str
    cpu_seconds: float  # user + system CPU of the tool process: less sensitive to other load


def _usage(rss_file: Path, usage: resource.struct_rusage) -> tuple[int, float, str]:
    """Peak RSS in bytes, CPU seconds, and the source (both report RSS in kilobytes)."""
    try:
        rss_kb, user, system = rss_file.read_text().splitlines()[-1].split()
        return int(rss_kb) * 1024, float(user) + float(system), "gnu-time"
    except (OSError, ValueError, IndexError):
        return usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, "wait4"


def run_measured(
    argv: list[str], *, cwd: Path, log_path: Path, timeout: float, env: dict[str, str] | None = None
) -> ProcessMeasurement:
    """Run ``argv`` to completion (or ``timeout`` seconds), output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    rss_file = log_path.with_suffix(".maxrss")
    rss_file.unlink(missing_ok=True)
    if GNU_TIME.exists():
        argv = [str(GNU_TIME), "-f", "%M %U %S", "-o", str(rss_file), *argv]
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group, so a timeout kills all of it
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -signal.SIGKILL
                rss, cpu, method = _usage(rss_file, usage)
                return ProcessMeasurement(
                    "timeout", None, time.perf_counter() - started, rss, log_path, method, cpu
                )
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # tell Popen the child is reaped
    rss, cpu, method = _usage(rss_file, usage)
    outcome = "ok" if code == 0 else "failed"
    return ProcessMeasurement(outcome, code, wall, rss, log_path, method, cpu)
