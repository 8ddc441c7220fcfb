"""One run session for every command that records a run (`run`, `validate`, `plan --ai`, and later ones).

It mints the run id, owns the run's folder and the paths inside it, opens and finishes the store's record of
the run, holds the run log, the redactor that knows the inventory's secrets, and the bus that every message of
the run travels on. The inventory's vault is read first: a wrong vault password is bad input, reported
before anything is created. When the vault names notification channels, every started run has a Notifier on
its bus (run/notify.py): its end and its alerts go out as the request's `notifications:` section says.
Its end also applies the request's `retention:` policy (run/retention.py), sparing this run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from orchestrator import notify, vault
from orchestrator.outcome import CANCELLED
from orchestrator.redact import Redactor
from orchestrator.request.notifications import NotificationSettings
from orchestrator.request.retention import RetentionPolicy
from orchestrator.run import lock as run_lock
from orchestrator.run import retention
from orchestrator.run.bus import AgentMessage, Bus, Priority, Topic
from orchestrator.run.log import RunLog
from orchestrator.run.notify import Notifier
from orchestrator.run.recording import RunRecorder
from orchestrator.state import StateDir, new_run_id
from orchestrator.store import RunStore

LOG_FILE = "run.log.jsonl"


class RunSession:
    def __init__(self, inventory: Path, command: str, *, id_prefix: str = ""):
        self.inventory = Path(inventory)
        self.command = command
        self.redactor = Redactor(vault.secret_values(self.inventory))
        self.channels = notify.load_channels(self.inventory)  # a bad URL is bad input, before anything exists
        self.notifier: Notifier | None = None
        self.state = StateDir(self.inventory)
        self.run_id = id_prefix + new_run_id()
        self.run_dir = self.state.run_dir(self.run_id)
        self.store = RunStore(self.state.db)
        self.bus = Bus(self.run_id, on_error=self._subscriber_failed)
        self.log: RunLog | None = None
        self._t0: float | None = None
        self.finished = False
        self.retention: RetentionPolicy | None = None  # the request's, from start()
        self.retention_note: str | None = None  # what the prune at the end did, when it did or failed anything

    def phase_dir(self, phase: str, attempt: int = 0) -> Path:
        """A phase's own folder in the run (ansible-runner's private data dir, or a controller-side agent's)."""
        return self.run_dir / (phase if not attempt else f"{phase}.retry{attempt}")

    def start(self, request: dict[str, Any], *, resumed_from: str | None = None, **context: Any) -> RunSession:
        """Open the run's record and log; from here on the bus's messages are kept."""
        self._t0 = time.monotonic()
        self.store.start_run(self.run_id, str(self.inventory), self.command, request, str(self.run_dir),
                             resumed_from=resumed_from)
        run_lock.note_run(self.inventory, self.run_id)
        self.log = RunLog(self.run_dir / LOG_FILE, self.run_id, self.redactor)
        self.bus.subscribe(RunRecorder(self.run_id, self.store, self.log))
        self.retention = RetentionPolicy.model_validate(request.get("retention") or {})
        if self.channels:
            settings = NotificationSettings.model_validate(request.get("notifications") or {})
            self.notifier = Notifier(self.channels, settings, inventory=self.inventory, run_id=self.run_id,
                                     command=self.command, redactor=self.redactor, log=self.log)
            self.bus.subscribe(self.notifier, topics=[Topic.RUN, Topic.PHASE, Topic.ALERT])
        self.bus.publish("orchestrator", Topic.RUN, "started", {"message": "run started", **context})
        return self

    def note(self, sender: str, message: str, *, warning: bool = False) -> None:
        """One line of progress from a phase, redacted, on the terminal and in the log."""
        self.bus.publish(sender, Topic.NOTE, "note", self.redactor.text(message),
                         priority=Priority.HIGH if warning else Priority.NORMAL)

    def alert(self, sender: str, kind: str, message: str, severity: str = "warning", **extra: Any) -> None:
        """Something an operator must hear about (notify.ALERT_KINDS), redacted, on the bus for the run log
        and the notifications."""
        self.bus.publish(sender, Topic.ALERT, kind,
                         {"message": self.redactor.text(message), "severity": severity, **self.redactor.data(extra)},
                         priority=Priority.HIGH)

    def finish(self, status: str, exit_code: int) -> float:
        """Close the run's record with its status and exit code; the duration since start(). The run's
        notifications are given up to their timeout to go out before the log is closed."""
        duration = time.monotonic() - (self._t0 or time.monotonic())
        self.store.finish_run(self.run_id, status, exit_code, duration)
        self._prune(status)
        self.bus.publish("orchestrator", Topic.RUN, "finished",
                         {"message": f"run {status}", "status": status, "exit_code": exit_code,
                          "duration": duration})
        if self.notifier is not None:
            self.notifier.close()
        if self.log is not None:
            self.log.close()
        self.finished = True
        return duration

    def _prune(self, status: str) -> None:
        """The retention policy, sparing this run (and any running one), in the run log: what it removed, by
        name. Its outcome is the run's whatever happens here: a failure is a warning. A cancelled run ends at
        once."""
        if self.retention is None or not self.retention.after_run or status == CANCELLED or self.log is None:
            return
        try:
            done = retention.prune(self.store, self.state, self.retention, spare=[self.run_id])
        except Exception as exc:  # noqa: BLE001 - housekeeping: whatever fails here, the run's outcome stands
            self.retention_note = f"retention: the prune failed, the run's outcome stands: {exc!r}"
            self.log.log("warning", "orchestrator", self.retention_note)
            return
        notes = []
        if done.items:
            notes.append(f"retention: removed {done.summary()}")
            self.log.log("info", "orchestrator", notes[-1], **done.as_dict())
        if done.failed:
            notes.append(f"retention: could not remove {'; '.join(done.failed)}")
            self.log.log("warning", "orchestrator", notes[-1])
        self.retention_note = "\n".join(notes) or None

    def _subscriber_failed(self, handler, message: AgentMessage, exc: Exception) -> None:
        if self.log is not None and not self.log.closed:
            self.log.log("warning", "orchestrator", f"a subscriber failed on a {message.topic} message: {exc!r}")
