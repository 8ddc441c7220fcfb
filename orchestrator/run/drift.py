"""`aidevops check`: every deployed phase again in Ansible check+diff mode, and what would change is drift.

A clean host changes nothing in check mode (the roles are idempotent and check-mode safe), so each task that
would change names something that moved on the host since the last run: a file edited by hand (its diff), a
service stopped (it would be started), a package removed, a firewall rule added by hand (base_server lists
the rules it did not declare). Nothing is changed on the hosts.

The drift is read back from the run's ansible-runner events (job_events/, already scrubbed of the run's
secrets) and masked again by the redactor, so `aidevops runs show` of a check rebuilds the same report.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import EXIT_CANCELLED, EXIT_CHECK_INCOMPLETE, EXIT_FAILED, EXIT_OK
from orchestrator.outcome import CANCELLED, DEGRADED, DONE, FAILED, KEPT, NOT_SELECTED, SUCCEEDED, PhaseResult
from orchestrator.plan import Plan
from orchestrator.redact import Redactor
from orchestrator.run.artifacts import job_events
from orchestrator.run.deployment import Deployment
from orchestrator.store import RunStore
from orchestrator.store.queries import RunRecord

COMMAND = "check"
DRIFTED = "drifted"  # the check's run status when something would change
_SERVICE_ACTIONS = {"ansible.builtin.service", "ansible.builtin.systemd", "ansible.builtin.systemd_service",
                    "service", "systemd", "systemd_service"}
_MAX_DIFF_LINES = 200
_CHANGED = "would change"


@dataclass(frozen=True)
class Drift:
    """One task that would change one host: what it is, and how (a diff, a service state, an item list)."""
    phase: str
    host: str
    task: str
    action: str
    changes: tuple[str, ...]  # one line per item or per change, e.g. "allow 8080/tcp", "nginx would be started"
    diff: str  # unified diff(s), masked; "" when the module gives none

    def as_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "host": self.host, "task": self.task, "action": self.action,
                "changes": list(self.changes), "diff": self.diff}


# -- reading drift from events -------------------------------------------------------------------------------

def drift_from_events(phase: str, events: Iterable[dict[str, Any]], redactor: Redactor) -> list[Drift]:
    """Each changed result of a check-mode run's events (runner_on_ok with changed), masked."""
    out = []
    for ev in events:
        if ev.get("event") != "runner_on_ok":
            continue
        data = ev.get("event_data") or {}
        res = data.get("res") or {}
        if not isinstance(res, dict) or not res.get("changed"):
            continue
        action = data.get("resolved_action") or data.get("task_action") or ""
        changes, diffs = _describe(res, action)
        out.append(Drift(phase, data.get("host") or "", redactor.text(data.get("task") or ""), action,
                         tuple(redactor.text(c) for c in changes), redactor.text("\n".join(d for d in diffs if d))))
    return out


def run_drift(store: RunStore, run_id: str, redactor: Redactor) -> list[Drift]:
    """The drift a recorded check found, from its phases' artifacts."""
    out = []
    for row in store.phases(run_id):
        if row.get("artifact_dir"):
            out += drift_from_events(row["phase"], job_events(Path(row["artifact_dir"])), redactor)
    return out


def _describe(res: dict[str, Any], action: str) -> tuple[list[str], list[str]]:
    """One result's changes (lines) and diffs; a loop's changed items each."""
    if res.get("censored"):  # no_log: the task's output is hidden on purpose
        return [f"{_CHANGED} (output hidden: no_log)"], []
    items = res.get("results")
    if isinstance(items, list):
        changes, diffs = [], []
        for item in items:
            if isinstance(item, dict) and item.get("changed"):
                c, d = _describe({k: v for k, v in item.items() if k != "results"}, action)
                label = _item_label(item)
                changes += [line if not label else label if line in (_CHANGED, label) else f"{label}: {line}"
                            for line in c]
                diffs += d
        return changes or [_CHANGED], diffs
    diffs = [_render_diff(d) for d in _as_list(res.get("diff"))]
    if action in _SERVICE_ACTIONS and res.get("name"):
        # The task's asked state (a handler's `reloaded`), else what the module reports.
        state = ((res.get("invocation") or {}).get("module_args") or {}).get("state") or res.get("state")
        verb = {"started": "would be started", "stopped": "would be stopped", "restarted": "would be restarted",
                "reloaded": "would be reloaded"}.get(state, f"would change ({state or 'enabled'})")
        return [f"{res['name']} {verb}"], diffs
    line = _summary(res)
    return [line], diffs


def _item_label(item: dict[str, Any]) -> str:
    label = item.get("_ansible_item_label", item.get("item"))
    if isinstance(label, dict):
        label = ", ".join(f"{k}={v}" for k, v in label.items() if not isinstance(v, (dict, list)))
    return "" if label is None else str(label)


def _summary(res: dict[str, Any]) -> str:
    for key in ("dest", "path", "name", "msg"):
        value = res.get(key)
        if isinstance(value, str) and value:
            return value if key != "name" else f"{value} would change"
    return _CHANGED


def _as_list(diff: Any) -> list[dict[str, Any]]:
    if isinstance(diff, dict):
        return [diff]
    return [d for d in diff if isinstance(d, dict)] if isinstance(diff, list) else []


def _after_header(diff: dict[str, Any]) -> str:
    """Where the new text comes from; a template's temporary copy on the host says nothing to the reader."""
    header = str(diff.get("after_header") or "after")
    return "as the run would write it" if "/.ansible/tmp/" in header else header


def _render_diff(diff: dict[str, Any]) -> str:
    """Ansible's diff (before/after texts, before/after dicts of attributes, or a prepared text) as text."""
    if diff.get("prepared"):
        return str(diff["prepared"]).rstrip()
    before, after = diff.get("before"), diff.get("after")
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before or {}, after or {}
        return "\n".join(f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in sorted(set(before) | set(after))
                         if before.get(k) != after.get(k))
    if before is None and after is None:
        return ""
    lines = list(difflib.unified_diff(str(before or "").splitlines(), str(after or "").splitlines(),
                                      fromfile=str(diff.get("before_header") or "before"),
                                      tofile=_after_header(diff), lineterm=""))
    if len(lines) > _MAX_DIFF_LINES:
        lines = lines[:_MAX_DIFF_LINES] + [f"... {len(lines) - _MAX_DIFF_LINES} more lines"]
    return "\n".join(lines)


# -- the check -----------------------------------------------------------------------------------------------

def deployed_phases(store: RunStore, plan: Plan) -> tuple[dict[str, str], RunRecord | None]:
    """Host-side phases of the plan that a real `aidevops run` left in place: phase -> the run that did it,
    from the latest run that ran each phase (a phase left out by --only looks further back); and the latest
    real run (its decisions are replayed)."""
    host_phases = {p.id for p in plan.phases if p.agent.entry is None}
    runs = [r for r in store.runs(limit=1000) if _is_deployment(r.command) and r.status != "running"]
    found: dict[str, str] = {}
    seen: set[str] = set()
    for record in runs:  # newest first
        for row in store.phases(record.id):
            phase = row["phase"]
            if phase not in host_phases or phase in seen or row["status"] == NOT_SELECTED:
                continue
            seen.add(phase)
            if row["status"] in (SUCCEEDED, DEGRADED, KEPT):
                found[phase] = row["kept_from"] or record.id
    return found, (runs[0] if runs else None)


def _is_deployment(command: str) -> bool:
    return (command == "run" or command.startswith("run ")) and "--check" not in command


class DriftCheck(Deployment):
    """The deployment's phases in check mode, recorded as a `check` run whose outcome is the drift found."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, command=COMMAND, check=True, **kwargs)
        self.drift: list[Drift] = []
        self.problems: list[str] = []  # why the check could not be done everywhere

    def _optimize(self) -> None:
        """A check changes nothing: no suggestions for next time are asked for (no model is called)."""

    def settle(self, results: dict[str, PhaseResult], interrupted: bool) -> tuple[str, int]:
        ran = {p: r for p, r in results.items() if r.status != NOT_SELECTED}
        if interrupted or any(r.status == CANCELLED for r in ran.values()):
            return CANCELLED, EXIT_CANCELLED
        self.drift = [d for p, r in ran.items() if r.artifact_dir
                      for d in drift_from_events(p, job_events(Path(r.artifact_dir)), self.session.redactor)]
        self.problems = [f"{p}: {r.reason or r.status}" for p, r in ran.items() if r.status not in DONE]
        if self.drift:
            hosts = sorted({d.host for d in self.drift})
            message = (f"drift on {', '.join(hosts)}: {len(self.drift)} task(s) would change "
                       f"({', '.join(sorted({d.phase for d in self.drift}))}) since the last run")
            self.session.alert("orchestrator", "drift_found", message, "warning", hosts=hosts,
                               tasks=len(self.drift), run_id=self.run_id)
        if self.problems:  # drift seen elsewhere is reported, but the check as a whole is not done
            return FAILED, EXIT_CHECK_INCOMPLETE
        return (DRIFTED, EXIT_FAILED) if self.drift else (SUCCEEDED, EXIT_OK)
