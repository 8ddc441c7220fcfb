"""ansible-runner events turned into typed events, per host, with durations and failure messages."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any


class Kind(str, Enum):
    PLAY_START = "play_start"
    TASK_START = "task_start"
    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"
    STATS = "stats"


_RESULT_EVENTS = {
    "runner_on_ok": Kind.OK,
    "runner_on_failed": Kind.FAILED,
    "runner_on_unreachable": Kind.UNREACHABLE,
    "runner_on_skipped": Kind.SKIPPED,
}


_PARSED = {"playbook_on_play_start", "playbook_on_task_start", "playbook_on_stats", *_RESULT_EVENTS}


@dataclass(frozen=True)
class TaskEvent:
    kind: Kind
    phase: str
    counter: int
    created: str
    host: str | None = None
    task: str | None = None
    action: str | None = None
    role: str | None = None
    task_path: str | None = None
    duration: float | None = None
    message: str | None = None
    ignored: bool = False  # a failure the play ignores (ignore_errors)
    stats: dict | None = None
    degraded: str | None = None  # a role said it fell back (a fact `<role>_degraded: true`), and why

    @property
    def is_failure(self) -> bool:
        return self.kind in (Kind.FAILED, Kind.UNREACHABLE) and not self.ignored

    def as_dict(self) -> dict[str, Any]:
        # Built by hand: dataclasses.asdict deep-copies, and this runs for every event.
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["kind"] = self.kind.value
        return {k: v for k, v in d.items() if v is not None}


def failure_message(res: dict[str, Any]) -> str:
    """What a user needs from a failed result: the module's msg, and the tail of stderr if any."""
    if not isinstance(res, dict):
        return str(res)
    parts = []
    msg = res.get("msg") or res.get("reason")
    if msg:
        parts.append(str(msg).strip())
    for item in res.get("results") or []:
        if isinstance(item, dict) and item.get("failed"):
            parts.append(f"item {item.get('item')!r}: {failure_message(item)}")
            break
    stderr = (res.get("stderr") or res.get("module_stderr") or "").strip()
    if stderr:
        tail = stderr.splitlines()[-5:]
        parts.append("stderr: " + " | ".join(tail))
    elif res.get("stdout") and not parts:
        parts.append("stdout: " + " | ".join(str(res["stdout"]).strip().splitlines()[-5:]))
    return "; ".join(parts) or "failed (no message)"


def parse(phase: str, raw: dict[str, Any]) -> TaskEvent | None:
    """A typed event for the events that matter to progress and the store; None for the rest."""
    name = raw.get("event", "")
    if name not in _PARSED:  # runner_on_start, verbose output and the like: about half of a run's events
        return None
    data = raw.get("event_data") or {}
    common = dict(
        phase=phase, counter=int(raw.get("counter") or 0), created=raw.get("created") or "",
        host=data.get("host"), task=data.get("task"), action=data.get("resolved_action") or data.get("task_action"),
        role=data.get("role"), task_path=data.get("task_path"),
    )
    if name == "playbook_on_play_start":
        return TaskEvent(Kind.PLAY_START, **{**common, "task": data.get("play")})
    if name == "playbook_on_task_start":
        return TaskEvent(Kind.TASK_START, **common)
    if name == "playbook_on_stats":
        stats = {k: data.get(k) or {} for k in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")}
        return TaskEvent(Kind.STATS, **common, stats=stats)
    kind = _RESULT_EVENTS.get(name)
    if kind is None:
        return None
    res = data.get("res") or {}
    if kind is Kind.OK and isinstance(res, dict) and res.get("changed"):
        kind = Kind.CHANGED
    message = failure_message(res) if kind in (Kind.FAILED, Kind.UNREACHABLE) else None
    duration = data.get("duration")
    return TaskEvent(
        kind, **common, duration=float(duration) if duration is not None else None, message=message,
        ignored=bool(data.get("ignore_errors")), degraded=degradation(res) if kind in (Kind.OK, Kind.CHANGED) else None,
    )


def degradation(res: dict[str, Any]) -> str | None:
    """Roles report a fallback (e.g. a self-signed certificate) as a fact `<role>_degraded: true`,
    with `<role>_degraded_reasons` saying why; the phase then ends degraded, not succeeded."""
    facts = res.get("ansible_facts") if isinstance(res, dict) else None
    if not isinstance(facts, dict):
        return None
    for name, value in facts.items():
        if name.endswith("_degraded") and value is True:
            reasons = facts.get(f"{name}_reasons") or []
            if isinstance(reasons, str):
                reasons = [reasons]
            return "; ".join(str(r) for r in reasons) or name
    return None


def host_stats(stats_event: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Per host counts from a playbook_on_stats payload (ansible calls unreachable 'dark')."""
    names = {"ok": "ok", "changed": "changed", "failures": "failures", "dark": "unreachable",
             "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}
    hosts: dict[str, dict[str, int]] = {}
    for key, label in names.items():
        for host, n in (stats_event.get(key) or {}).items():
            hosts.setdefault(host, {v: 0 for v in names.values()})[label] = int(n)
    return hosts
