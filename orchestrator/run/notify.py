"""Notifications as one more subscriber of the run's bus: the run's end and every alert, to the vault's channels.

What is sent is the request's `notifications:` section (NotificationSettings), where is the channels of
orchestrator/notify.py. Each message is a title and one short body (inventory, run id, status, what happened,
the command to look closer), passed through the run's redactor. Sending happens on a thread of its own, so a
slow or broken channel never holds the bus; the end of the run waits for it at most `timeout` seconds. A channel
that fails is one warning in the run log (once per channel and run); it never changes the run's outcome.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

from orchestrator import notify
from orchestrator.notify import Channel, Delivery
from orchestrator.redact import Redactor
from orchestrator.request.notifications import NotificationSettings
from orchestrator.run.bus import AgentMessage, Topic
from orchestrator.run.log import RunLog

SENDER = "notify"
_WHAT_MAX = 600  # characters of "what happened": a notification is read on a phone
_RUN_TYPES = {"succeeded": "success", "degraded": "warning", "failed": "failure", "cancelled": "info"}
_ALERT_TYPES = {"high": "failure", "warning": "warning", "info": "info"}


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


class Notifier:
    def __init__(self, channels: list[Channel], settings: NotificationSettings, *, inventory: Path, run_id: str,
                 command: str, redactor: Redactor, log: RunLog, send: Callable[..., list[Delivery]] = notify.send):
        self.channels, self.settings = channels, settings
        self.inventory, self.run_id, self.command = Path(inventory), run_id, command
        self.redactor, self.log, self._send = redactor, log, send
        for channel in channels:  # a channel's error message may quote a piece of its URL
            for secret in channel.secrets():
                redactor.add(secret)
        self._phases: dict[str, tuple[str, str]] = {}  # phase -> (status, reason)
        self._warned: set[str] = set()
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=f"notify-{run_id}", daemon=True)
        self._thread.start()
        self.sent: list[Delivery] = []  # every delivery of the run, for tests and the caller

    # -- the bus side: quick, never blocks on a channel

    def __call__(self, m: AgentMessage) -> None:
        if m.topic == Topic.PHASE and m.type == "finished":
            r = m.content
            self._phases[r.phase] = (r.status, r.reason or "")
        elif m.topic == Topic.ALERT:
            content = m.content if isinstance(m.content, dict) else {"message": str(m.content)}
            severity = str(content.get("severity") or "warning")
            if self.settings.wants_alert(severity):
                self._enqueue(self._alert(m.type, m.sender, severity, str(content.get("message") or m.type)),
                              ("alert", m.type), _ALERT_TYPES.get(severity, "warning"))
        elif m.topic == Topic.RUN and m.type == "finished":
            content = m.content if isinstance(m.content, dict) else {}
            status = str(content.get("status") or "")
            if self.settings.wants_run(status):
                self._enqueue(self._finished(status, content), (status,), _RUN_TYPES[status])

    def _enqueue(self, message: tuple[str, str], tags: tuple[str, ...], notify_type: str) -> None:
        channels = [c for c in self.channels if c.wants(tags)]
        if channels:
            title, body = message
            self._queue.put((channels, self.redactor.text(title), self.redactor.text(body), notify_type))

    # -- what a message says

    def _head(self) -> str:
        return f"aidevops {self.command.split()[0]}" if self.command else "aidevops"

    def _look(self) -> str:
        return f"Look: aidevops runs show {self.run_id} --inventory {self.inventory}"

    def _finished(self, status: str, content: dict) -> tuple[str, str]:
        title = f"{self._head()}: {status} on {self.inventory.name}"
        code, duration = content.get("exit_code"), float(content.get("duration") or 0)
        bad = [f"{p} {s}: {r}" if r else f"{p} {s}" for p, (s, r) in self._phases.items()
               if s in ("failed", "degraded", "cancelled", "interrupted")]
        done = [f"{p} {s.replace('_', ' ')}" for p, (s, _) in self._phases.items() if s != "not_selected"]
        what = "; ".join(bad) or ", ".join(done) or str(content.get("message") or f"run {status}")
        return title, self._body(f"{status}, exit {code}, after {_duration(duration)}", what)

    def _alert(self, kind: str, sender: str, severity: str, message: str) -> tuple[str, str]:
        title = f"{self._head()}: {kind.replace('_', ' ')} on {self.inventory.name}"
        return title, self._body(f"alert {kind} from {sender}, severity {severity}", message)

    def _body(self, run_state: str, what: str) -> str:
        """Every message's body: the inventory, the run and its state, what happened, where to look."""
        return "\n".join([
            f"Inventory: {self.inventory.name} ({self.inventory})",
            f"Run: {self.run_id} (aidevops {self.command}), {run_state}",
            f"What happened: {self._cut(what)}",
            self._look(),
        ])

    @staticmethod
    def _cut(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= _WHAT_MAX else text[:_WHAT_MAX - 1] + "…"

    # -- the sending side: its own thread

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                channels, title, body, notify_type = item
                try:
                    deliveries = self._send(channels, title, body, notify_type=notify_type)
                except Exception as exc:  # noqa: BLE001 - the channels' code must not end the thread
                    deliveries = [Delivery(c, False, f"{type(exc).__name__}: {exc}") for c in channels]
                self.sent += deliveries
                for d in deliveries:
                    if not d.ok:
                        self._warn(d.channel.name, f"notification to {d.channel.name} failed: {d.error}")
            finally:
                self._queue.task_done()

    def _warn(self, key: str, text: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        self.log.log("warning", SENDER, self.redactor.text(text))

    def close(self) -> None:
        """Wait for what is queued, at most the settings' timeout; called before the run log is closed."""
        self._queue.put(None)
        self._thread.join(self.settings.timeout)
        if self._thread.is_alive():
            self._warn("timeout", f"notifications still sending after {self.settings.timeout} s were left behind")
