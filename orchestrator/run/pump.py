"""From ansible-runner's event handler to the bus.

ansible-runner calls its event handler synchronously for every event, and a slow handler can stall it into a
pexpect timeout (ansible-runner issue 1343): the handler only queues the raw event, and one thread parses,
redacts and publishes it. `flush()` waits until everything queued so far is on the bus.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import replace
from typing import Any

from orchestrator.redact import Redactor
from orchestrator.run.bus import Bus, Priority, Topic
from orchestrator.run.events import parse

_STOP = object()


class EventPump:
    def __init__(self, bus: Bus, redactor: Redactor):
        self.bus, self.redactor = bus, redactor
        self.queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._pump, name="events", daemon=True)

    def __enter__(self) -> "EventPump":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.queue.put(_STOP)
        self._thread.join()

    def flush(self) -> None:
        done = threading.Event()
        self.queue.put(done)
        done.wait()

    def _pump(self) -> None:
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            phase, raw = item
            try:
                self._publish(phase, raw)
            except Exception as exc:  # one odd event must not stop progress, logging or the run
                self.bus.publish("orchestrator", Topic.NOTE, "warning", {"message": f"could not process an event: {exc!r}"},
                                 priority=Priority.HIGH)

    def _publish(self, phase: str, raw: dict[str, Any]) -> None:
        ev = parse(phase, raw)
        if ev is None:
            return
        if ev.message or ev.degraded:  # task output may hold a secret: the terminal must not show it either
            ev = replace(ev, message=self.redactor.text(ev.message) if ev.message else None,
                         degraded=self.redactor.text(ev.degraded) if ev.degraded else None)
        high = ev.is_failure or ev.degraded
        self.bus.publish(phase, Topic.TASK, ev.kind.value, ev, priority=Priority.HIGH if high else Priority.NORMAL)
