"""Events as one typed message on one bus: the architecture's AgentMessage, in our terms.

Everything that happens in a run (a phase starts or ends, a task reports, a controller-side agent takes a step)
is published once as an AgentMessage; progress, the run log, the store and the failure collector that feeds
recovery are subscribers. A later consumer (metrics, notifications) is one more subscriber.

Delivery is synchronous and serialised: publishers are the scheduler's thread, the phases' worker threads and
the runner's event pump, and subscribers may then keep plain state. A subscriber that raises is reported once
on the bus's error hook and never stops the run or the other subscribers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any


class Topic:
    RUN = "run"  # the run started or ended
    PHASE = "phase"  # a phase started or ended (content: the Phase, then its PhaseResult)
    TASK = "task"  # an Ansible task event (content: a TaskEvent)
    NOTE = "note"  # one step of a phase worth a line: a controller-side agent's progress, a recovery step
    ALERT = "alert"  # something an operator must hear about (content: {"message": str, "severity": str, ...})


class Priority(IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2  # failures and warnings


@dataclass(frozen=True)
class AgentMessage:
    sender: str  # the phase (agent id), or "orchestrator"
    topic: str
    type: str  # e.g. started, finished, ok, changed, failed, note
    content: Any = None
    priority: Priority = Priority.NORMAL
    trace_id: str = ""  # the run id
    recipient: str | None = None  # None: every subscriber of the topic
    at: float = field(default_factory=time.time)  # seconds since the epoch; formatted only when asked for

    @property
    def timestamp(self) -> str:
        """When it was published, as the store writes times (ISO 8601, UTC, milliseconds)."""
        return datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds")


Handler = Callable[[AgentMessage], None]


class Bus:
    def __init__(self, trace_id: str, on_error: Callable[[Handler, AgentMessage, Exception], None] | None = None):
        self.trace_id = trace_id
        self._subscribers: list[tuple[Handler, frozenset[str] | None]] = []
        self._lock = threading.RLock()  # a subscriber may publish (a note about a message) without deadlock
        self._on_error = on_error

    def subscribe(self, handler: Handler, topics: Iterable[str] | None = None) -> None:
        """`handler` receives every message of `topics` (all topics when None), in publishing order."""
        with self._lock:
            self._subscribers.append((handler, frozenset(topics) if topics is not None else None))

    def publish(self, sender: str, topic: str, type: str, content: Any = None, *,
                priority: Priority = Priority.NORMAL, recipient: str | None = None) -> AgentMessage:
        message = AgentMessage(sender, topic, type, content, priority, self.trace_id, recipient)
        with self._lock:
            for handler, topics in self._subscribers:
                if topics is not None and topic not in topics:
                    continue
                try:
                    handler(message)
                except Exception as exc:  # one broken consumer must not stop the run or the others
                    if self._on_error is not None:
                        self._on_error(handler, message, exc)
        return message
