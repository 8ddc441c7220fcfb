"""Subscribers that keep what a run says: the JSON-lines log and the run store, and the failures that
recovery and the phase's reason are built from."""

from __future__ import annotations

import threading

from orchestrator.outcome import FAILED, PhaseResult
from orchestrator.run.bus import AgentMessage, Priority, Topic
from orchestrator.run.events import Kind, TaskEvent, host_stats
from orchestrator.run.log import RunLog
from orchestrator.store import RunStore, now

_LOGGED_KINDS = (Kind.CHANGED, Kind.TASK_START, Kind.PLAY_START, Kind.STATS)


class RunRecorder:
    """The run log and the store, fed from the bus."""

    def __init__(self, run_id: str, store: RunStore, log: RunLog):
        self.run_id, self.store, self.log = run_id, store, log

    def __call__(self, m: AgentMessage) -> None:
        if m.topic == Topic.TASK:
            self._task(m.content)
        elif m.topic == Topic.PHASE and m.type == "started":
            start = dict(m.content)  # artifact_dir, and the playbook or entry the phase runs
            self.store.record_phase(self.run_id, m.sender, "running", started_at=now(),
                                    artifact_dir=start.pop("artifact_dir"))
            self.log.log("info", m.sender, "phase started", **start)
        elif m.topic == Topic.PHASE and m.type == "finished":
            r: PhaseResult = m.content
            self.store.record_phase(self.run_id, r.phase, r.status, r.reason, r.started_at, r.ended_at,
                                    r.duration, r.rc, r.artifact_dir, r.fingerprint, r.kept_from)
            self.log.log("error" if r.status == FAILED else "info", r.phase, f"phase {r.status}", reason=r.reason,
                         duration=r.duration, rc=r.rc)
        elif m.topic in (Topic.NOTE, Topic.RUN, Topic.ALERT):
            context = dict(m.content) if isinstance(m.content, dict) else {}  # never change what others receive
            text = context.pop("message", m.type) if context else str(m.content or m.type)
            self.log.log("warning" if m.priority >= Priority.HIGH else "info", m.sender, text, **context)

    def _task(self, ev: TaskEvent) -> None:
        if ev.degraded:
            self.log.log("warning", ev.phase, f"{ev.host}: degraded: {ev.degraded}", **ev.as_dict())
        if ev.is_failure:
            self.store.record_failure(self.run_id, ev.phase, ev.host, ev.task, ev.action, ev.task_path,
                                      ev.message or "")
            self.log.log("error", ev.phase, f"{ev.host}: {ev.task} {ev.kind.value}", **ev.as_dict())
        elif ev.kind in _LOGGED_KINDS:
            self.log.log("info", ev.phase, f"{ev.kind.value}: {ev.task or ''}".strip(), **ev.as_dict())
        if ev.kind is Kind.STATS and ev.stats:
            self.store.record_host_stats(self.run_id, ev.phase, host_stats(ev.stats))


class FailureCollector:
    """Failed tasks and fallbacks per phase, so an attempt can ask for its own (`since(phase, mark)`)."""

    def __init__(self) -> None:
        self._failures: dict[str, list[TaskEvent]] = {}
        self._degraded: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, m: AgentMessage) -> None:
        ev: TaskEvent = m.content
        with self._lock:
            if ev.degraded:
                self._degraded.setdefault(ev.phase, []).append(f"{ev.host}: {ev.degraded}")
            if ev.is_failure:
                self._failures.setdefault(ev.phase, []).append(ev)

    def mark(self, phase: str) -> int:
        with self._lock:
            return len(self._failures.get(phase, []))

    def since(self, phase: str, mark: int) -> list[TaskEvent]:
        with self._lock:
            return list(self._failures.get(phase, [])[mark:])

    def degraded(self, phase: str) -> list[str]:
        with self._lock:
            return list(self._degraded.get(phase, []))
