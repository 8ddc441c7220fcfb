"""One run per inventory at a time: a kernel lock (flock) on `.aidevops/run.lock`, which names its holder.

The kernel releases a flock when its process ends, however it ends, so a lock is never left held by a dead
process. The file also keeps the holder's run id, pid, host and start time: for the line that refuses a second
run, and, when the file still names a holder after the lock was won, to say that a run died without releasing it
(killed, crashed), to stop what that run left running, and to warn.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from orchestrator.errors import InventoryBusy
from orchestrator.run import runner
from orchestrator.state import StateDir

POLL = 0.2  # seconds between tries while waiting

_held: dict[Path, RunLock] = {}  # by resolved inventory: the locks this process holds


class RunLock:
    def __init__(self, inventory: Path):
        self.inventory = Path(inventory)
        self.state = StateDir(self.inventory)
        self.path = self.state.run_lock
        self._fd: int | None = None
        self.holder: dict[str, Any] = {}

    def acquire(self, *, wait: bool = False, timeout: float | None = None,
                note: Callable[[str], None] = lambda m: None) -> RunLock:
        """Take the lock, or raise InventoryBusy naming the holder; with wait, wait for it (up to timeout
        seconds, forever when None), saying once that it waits. note() gets that line and takeover warnings."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = None if timeout is None else time.monotonic() + timeout
        said = False
        try:
            while not self._try(fd):
                busy = f"{self.inventory}: another aidevops run holds this inventory: {_describe(_read(fd))}"
                if not wait:
                    raise InventoryBusy(f"{busy} (wait with --wait, or stop it)")
                if deadline is not None and time.monotonic() >= deadline:
                    raise InventoryBusy(f"{busy} (waited {timeout:g} s: wait longer, or stop it)")
                if not said:
                    note(f"waiting: {busy}")
                    said = True
                time.sleep(POLL)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        previous = _read(fd)
        if previous:  # the lock is ours, yet the file names a holder: that run ended without releasing it
            left = runner.kill_run_leftovers(self.state.runs, previous["pid"]) if _same_host(previous) else 0
            note(f"warning: {self.inventory}: took over the run lock from {_describe(previous)}: its process is "
                 f"gone" + (f"; stopped {left} process(es) it left running" if left else ""))
        self.holder = {"run_id": None, "pid": os.getpid(), "host": socket.gethostname(),
                       "since": datetime.now(UTC).isoformat(timespec="seconds")}
        self._write()
        _held[self.inventory.resolve()] = self
        return self

    def set_run(self, run_id: str) -> None:
        """Name the run that holds the lock, once the run has an id."""
        self.holder["run_id"] = run_id
        self._write()

    def release(self) -> None:
        if self._fd is None:
            return
        _held.pop(self.inventory.resolve(), None)
        os.ftruncate(self._fd, 0)  # an empty file: released cleanly, nothing to take over
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @staticmethod
    def _try(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _write(self) -> None:
        # In place, never by rename: the flock belongs to this inode.
        data = json.dumps(self.holder).encode() + b"\n"
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)


def note_run(inventory: Path, run_id: str) -> None:
    """The run session tells the lock of its inventory (if this process holds it) which run it is."""
    lock = _held.get(Path(inventory).resolve())
    if lock is not None:
        lock.set_run(run_id)


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else {}
    except ValueError:
        return {}  # torn by a crash mid-write: no holder to name


def _same_host(holder: dict[str, Any]) -> bool:
    return holder.get("host") == socket.gethostname()


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "run unknown (starting)"
    return (f"run {holder.get('run_id') or '(starting)'}, pid {holder.get('pid')} on {holder.get('host')} "
            f"since {holder.get('since')}")
