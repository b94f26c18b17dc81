"""Which process executes a run: its id, host and start time, as run tags (pipelines/recovery.py)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

PID_TAG = "vob/pid"
HOST_TAG = "vob/host"
PID_STARTED_TAG = "vob/pid_started"  # the process's start time (clock ticks since boot): pids are reused


def process_started(pid: int) -> str | None:
    """The process's start time from /proc (None when there is no such process, or it is a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return ""  # no /proc to read: unknown, treated as alive below
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (command) "
    if fields[0] in ("Z", "X"):  # zombie or dead: killed, its parent has not reaped it yet
        return None
    return fields[19]


def process_tags(pid: int | None = None) -> dict[str, str]:
    """Tags that identify the process executing a run."""
    pid = pid or os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), PID_STARTED_TAG: process_started(pid) or ""}
