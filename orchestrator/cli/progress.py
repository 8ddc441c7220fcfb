"""Live progress: a rich table in a terminal, plain lines otherwise (CI logs, pipes).

With several hosts the terminal shows a hosts x phases grid besides the phases; with more than FLEET hosts the
plain lines keep to what a reader needs (failures as they happen, one line per phase with its hosts' tally)
instead of a line per changed task and host.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from orchestrator.outcome import PhaseResult
from orchestrator.plan import Plan
from orchestrator.run.bus import AgentMessage, Topic
from orchestrator.run.events import Kind, TaskEvent

_STYLE = {
    "pending": "dim", "running": "bold cyan", "succeeded": "green", "degraded": "yellow", "failed": "bold red", "skipped": "yellow",
    "not_available": "dim yellow", "not_selected": "dim", "kept": "dim green", "cancelled": "magenta",
}


FLEET = 3  # more hosts than this: plain output keeps to failures and one tally line per phase
_MARK = {"pending": "·", "running": "…", "done": "✓", "failed": "✗"}


@dataclass
class _PhaseView:
    status: str = "pending"
    task: str = ""
    reason: str = ""
    started: float | None = None
    duration: float | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "changed": 0, "failed": 0, "skipped": 0})
    hosts: dict[str, str] = field(default_factory=dict)  # host -> running / failed, as its events say


class Progress:
    """Receives phase starts/results and task events; draws them live or prints them as lines."""

    def __init__(self, plan: Plan, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stdout
        self.live_mode = self.stream.isatty() if live is None else live
        self.console = Console(file=self.stream, highlight=False, soft_wrap=not self.live_mode)
        self.views = {p.id: _PhaseView() for p in plan.phases}
        # The hosts each host-side phase runs on (the controller-side ones run here, for every host).
        self.placed = {p.id: plan.placement.hosts.get(p.id, ()) for p in plan.phases if not p.agent.entry}
        self.hosts = list(dict.fromkeys(h for names in self.placed.values() for h in names))
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.live_mode:
            self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live:
            self._live.update(self._table())
            self._live.__exit__(*exc)

    def _line(self, text: str) -> None:
        if not self.live_mode:
            self.console.print(text, markup=False)

    def on_message(self, m: AgentMessage) -> None:
        """The run's bus subscriber: phases, tasks and notes as they happen."""
        if m.topic == Topic.PHASE and m.type == "started":
            self.phase_started(m.sender)
        elif m.topic == Topic.PHASE and m.type == "finished":
            self.phase_finished(m.content)
        elif m.topic == Topic.TASK:
            self.task_event(m.content)
        elif m.topic == Topic.NOTE and m.sender in self.views:
            self.note(m.sender, str(m.content))

    def phase_started(self, phase_id: str) -> None:
        with self._lock:
            v = self.views[phase_id]
            v.status, v.started = "running", time.monotonic()
        self._line(f"[{phase_id}] started")
        self._refresh()

    def phase_finished(self, result: PhaseResult) -> None:
        with self._lock:
            v = self.views[result.phase]
            v.status, v.reason, v.duration, v.task = result.status, result.reason, result.duration, ""
            tally = self._tally(result.phase) if self._fleet and v.hosts else ""
        took = f" in {result.duration:.1f}s" if result.duration is not None else ""
        why = f": {result.reason}" if result.reason else ""
        self._line(f"[{result.phase}] {result.status.replace('_', ' ')}{took}{tally}{why}")
        self._refresh()

    @property
    def _fleet(self) -> bool:
        return len(self.hosts) > FLEET

    def _tally(self, phase: str) -> str:
        """`, 8 hosts: 7 done, 1 failed (app-3)` for a phase's hosts, from their events."""
        v = self.views[phase]
        failed = [h for h in self.placed.get(phase, ()) if v.hosts.get(h) == "failed"]
        reached = [h for h in self.placed.get(phase, ()) if h in v.hosts]
        parts = [f"{len(reached) - len(failed)} done"] + ([f"{len(failed)} failed ({', '.join(failed)})"]
                                                          if failed else [])
        untouched = len(self.placed.get(phase, ())) - len(reached)
        if untouched:
            parts.append(f"{untouched} not reached")
        return f", {len(self.placed.get(phase, ()))} hosts: " + ", ".join(parts)

    def task_event(self, ev: TaskEvent) -> None:
        with self._lock:
            v = self.views.get(ev.phase)
            if v is None:
                return
            if ev.kind is Kind.TASK_START:
                v.task = ev.task or ""
            elif ev.kind in (Kind.OK, Kind.CHANGED, Kind.SKIPPED):
                v.counts[ev.kind.value] += 1
            elif ev.is_failure:
                v.counts["failed"] += 1
            if ev.host and ev.kind in (Kind.OK, Kind.CHANGED, Kind.SKIPPED, Kind.FAILED, Kind.UNREACHABLE):
                if ev.is_failure:
                    v.hosts[ev.host] = "failed"
                else:
                    v.hosts.setdefault(ev.host, "running")
            quiet = self._fleet and ev.kind is Kind.CHANGED  # a fleet's changes are tallied at the phase's end
        if ev.kind in (Kind.CHANGED, Kind.FAILED, Kind.UNREACHABLE) and not ev.ignored and not quiet:
            detail = f" - {ev.message}" if ev.message else ""
            self._line(f"[{ev.phase}] {ev.host}: {ev.kind.value}: {ev.task}{detail}")
        self._refresh()

    def note(self, phase_id: str, message: str) -> None:
        """A step of a controller-side phase (validator, report): shown like a running task."""
        with self._lock:
            v = self.views.get(phase_id)
            if v is None:
                return
            v.task = message
        self._line(f"[{phase_id}] {message}")
        self._refresh()

    def _refresh(self) -> None:
        if self._live:
            self._live.update(self._table())

    def _table(self) -> Table | Group:
        """The phases; with several hosts, beside them the hosts x phases grid."""
        phases = self._phase_table()
        return phases if len(self.hosts) < 2 else Group(phases, self._host_grid())

    def _host_grid(self) -> Table:
        """One row per host, one column per host-side phase: · pending, … running, ✓ done, ✗ failed."""
        grid = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        grid.add_column("host")
        columns = [p for p in self.views if p in self.placed]
        for pid in columns:
            grid.add_column(pid, justify="center")
        with self._lock:
            for host in self.hosts:
                cells = []
                for pid in columns:
                    v = self.views[pid]
                    if host not in self.placed[pid]:
                        cells.append("")
                        continue
                    state = v.hosts.get(host, "pending")
                    if state == "running" and v.status not in ("pending", "running"):
                        state = "done" if v.status in ("succeeded", "degraded") else v.status
                    cells.append(_MARK.get(state, state.replace("_", " ")))
                grid.add_row(host, *cells)
        return grid

    def _phase_table(self) -> Table:
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for col in ("phase", "status", "ok", "changed", "failed", "time", "task / reason"):
            table.add_column(col)
        with self._lock:
            for pid, v in self.views.items():
                took = v.duration if v.duration is not None else (
                    time.monotonic() - v.started if v.started else None)
                table.add_row(
                    pid, f"[{_STYLE[v.status]}]{v.status.replace('_', ' ')}[/]", str(v.counts["ok"]),
                    str(v.counts["changed"]), str(v.counts["failed"]), f"{took:.0f}s" if took else "",
                    v.task if v.status == "running" else v.reason,
                )
        return table
