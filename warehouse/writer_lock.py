"""One writer of a warehouse at a time, across processes and Dagster instances.

Two operators may run `vob run` at once on the same `VOB_WAREHOUSE` from
different `DAGSTER_HOME`s: the Dagster pool cannot see the other instance, and
DuckDB's own file lock would fail the second run with a lock traceback. An OS
lock (`flock`) on `.<warehouse name>.lock` beside the warehouse serialises
them: the kernel releases it when its holder exits or dies (SIGKILL included),
so a dead holder never blocks anybody. The file says who holds it (pid, host,
since when, command); the waiting process prints that once and waits.

`vob run` / `vob rebuild` hold it for the whole command (re-entrant within the
process). Runs launched by the daemon do not take it: their steps hold a slot of
the writer pool, and waiting for this lock while holding the slot would deadlock
with a `vob run` of the same instance that holds the lock and waits for the slot.
Within one instance the pool serialises writers; a daemon of another instance
meets DuckDB's own lock (`warehouse.store.connect` waits up to 60 s).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from vob.base.files import shared_dir
from vob.base.settings import Settings

POLL_SECONDS = 0.5

_held: dict[Path, int] = {}  # lock file -> how many holders in this process


class WarehouseBusy(RuntimeError):
    """Another process held the warehouse for longer than VOB_LOCK_TIMEOUT_SECONDS."""


def lock_path(warehouse: Path) -> Path:
    warehouse = warehouse.absolute()
    return warehouse.with_name(f".{warehouse.name}.lock")


def holds_warehouse(warehouse: Path) -> bool:
    """Whether this process holds the warehouse's writer lock."""
    return bool(_held.get(lock_path(warehouse)))


def holder_text(path: Path) -> str:
    """Who holds the lock, in words: 'pid 123 on host h since 2026-11-28 23:01:02 UTC (vob run --period 2025-H1)'."""
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "another process (it has not written its name yet)"
    return f"pid {holder.get('pid')} on host {holder.get('host')} since {holder.get('since')} ({holder.get('command')})"


@contextmanager
def hold_warehouse(settings: Settings, command: str, say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the writer lock of the warehouse `settings.warehouse_path`; wait (saying once who holds it)
    while another process does, for `settings.lock_timeout_seconds` at most (0: as long as it takes)."""
    path = lock_path(settings.warehouse_path)
    if _held.get(path):
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    shared_dir(path.parent, settings)  # the published file's folder: the BI group reaches it (vob/base/files.py)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        _acquire(
            fd, path, say or (lambda text: print(text, file=sys.stderr, flush=True)), settings.lock_timeout_seconds
        )
        _write_holder(fd, command)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def _acquire(fd: int, path: Path, say: Callable[[str], None], timeout: float) -> None:
    started = time.monotonic()
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not told:
            say(f"waiting for the warehouse {path.with_name(path.name[1:-5])}: held by {holder_text(path)}")
            told = True
        if timeout and time.monotonic() - started > timeout:
            raise WarehouseBusy(
                f"the warehouse is still held by {holder_text(path)} after {timeout:.0f} s "
                "(VOB_LOCK_TIMEOUT_SECONDS); try again when it has finished"
            )
        time.sleep(POLL_SECONDS)


def _write_holder(fd: int, command: str) -> None:
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since, "command": command})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)
