"""The run's JSON-lines log, with the architecture's fields: timestamp, agent_id, level, message, context, trace_id."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from orchestrator.redact import Redactor
from orchestrator.store import now


class RunLog:
    def __init__(self, path: Path, trace_id: str, redactor: Redactor):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.trace_id = trace_id
        self.redactor = redactor
        # Unbuffered, appending: each record is one write() of one whole line, so a process killed at any moment
        # leaves whole lines only (a buffered file may split a long line over two writes).
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115  (closed by close())
        self._lock = threading.Lock()

    def log(self, level: str, agent_id: str, message: str, /, **context: Any) -> None:
        record = {
            "timestamp": now(), "agent_id": agent_id, "level": level,
            "message": self.redactor.text(message), "context": self.redactor.data(context),
            "trace_id": self.trace_id,
        }
        with self._lock:
            if self._file.closed:  # a late message after the run was finished: the run's record is complete
                return
            self._file.write((json.dumps(record, default=str) + "\n").encode())

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        with self._lock:
            self._file.close()
