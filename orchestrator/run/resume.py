"""`aidevops run --resume [RUN_ID]`: which run to continue, and which of its phases run again and why.

The run resumed is the one named, else the latest `aidevops run` of the inventory (not a `--check` one, not
`validate`): the latest run describes the hosts as they are, so an older failed run it superseded is not
picked up. A phase that was done (succeeded, degraded, or kept from an earlier run of the chain) is kept
unless the request or its role changed since; every other phase runs again; one left out by `--only` stays
left out. The decisions (strategy, role variables) are the first run's, replayed (ai/planning.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.agents.fingerprint import role_fingerprint
from orchestrator.errors import BadInput
from orchestrator.outcome import DEGRADED, KEPT, NOT_SELECTED, RUNNING, SUCCEEDED
from orchestrator.plan import Kept, Phase, Plan
from orchestrator.store import RunStore
from orchestrator.store.queries import RunRecord

# Keys of the request that change only how phases are scheduled, validated or notified, not what a role does
# (and the inventory folder, which find_run checks itself).
NOT_ROLE_INPUT = ("inventory", "strategy", "max_parallel", "validation", "notifications", "retention")

RERUN, KEEP, LEFT_OUT, UNAVAILABLE = "re-run", "kept", "left out", "not available"
_DONE_FOR_DEPENDENTS = (SUCCEEDED, DEGRADED, KEPT, NOT_SELECTED)


@dataclass(frozen=True)
class Verdict:
    phase: str
    action: str  # RERUN, KEEP, LEFT_OUT or UNAVAILABLE (not built: it settles as not available again)
    why: str  # what the plan prints, e.g. "re-run: failed in RUN_ID"
    kept: Kept | None = None


@dataclass
class Resume:
    source: RunRecord
    verdicts: dict[str, Verdict]

    @property
    def nothing_to_do(self) -> bool:
        return all(v.action != RERUN for v in self.verdicts.values())


def find_run(store: RunStore, inventory: Path, run_id: str | None) -> RunRecord:
    """The run to resume, or BadInput saying why it cannot be."""
    if run_id:
        record = store.run(run_id)
    else:
        latest = [r for r in store.runs(limit=1000) if _is_run(r.command) and "--check" not in r.command]
        if not latest:
            raise BadInput("no `aidevops run` recorded for this inventory: nothing to resume", where=str(inventory),
                           hint="start one with `aidevops run`")
        record = latest[0]
    if Path(record.inventory).resolve() != Path(inventory).resolve():
        raise BadInput(f"run {record.id} was a run of the inventory {record.inventory}, not {inventory}",
                       where=str(store.path), hint=f"resume it with `aidevops run --resume {record.id} "
                       f"--inventory {record.inventory}`")
    if not _is_run(record.command):
        raise BadInput(f"run {record.id} is a `{record.command}`, not an `aidevops run`: it cannot be resumed",
                       hint="`aidevops runs list` shows the runs")
    if "--check" in record.command:
        raise BadInput(f"run {record.id} was a dry run (--check): it changed nothing to resume",
                       hint="start a real run with `aidevops run`")
    if record.status == RUNNING:
        raise BadInput(f"run {record.id} is still running (pid {record.pid})",
                       hint="wait for it to end, or stop it, then resume")
    return record


def select(store: RunStore, source: RunRecord, request_now: dict[str, Any], plan: Plan) -> Resume:
    """A verdict for each phase of today's plan, from the source run's phase rows and today's roles."""
    rows = {row["phase"]: row for row in store.phases(source.id)}
    changed = request_changes(source.request or {}, request_now)
    # A dependency that is not built was not waited for then, and cannot be now.
    unbuilt = {p.id for p in plan.phases if not p.available}
    verdicts = {p.id: _host_verdict(p, rows, source.id, changed, unbuilt) for p in plan.phases
                if p.agent.entry is None}
    host_reruns = any(v.action == RERUN for v in verdicts.values())
    for p in plan.phases:  # the validator and the report look at the whole deployment
        if p.agent.entry is not None:
            verdicts[p.id] = _controller_verdict(p, rows, source.id, host_reruns)
    return Resume(source, {p.id: verdicts[p.id] for p in plan.phases})


def apply(plan: Plan, resume: Resume) -> None:
    """Mark the plan's phases: kept ones settle as kept, left-out ones as not selected."""
    plan.phases = [dataclasses.replace(p, kept=v.kept, selected=v.action != LEFT_OUT)
                   for p in plan.phases for v in [resume.verdicts[p.id]]]
    plan.notes.append(f"resuming run {resume.source.id}")


def request_changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The request's keys (dotted one level down) whose values differ, ignoring scheduling, validation and
    notifications."""
    changed = []
    for key in sorted(set(before) | set(now)):
        if key in NOT_ROLE_INPUT or before.get(key) == now.get(key):
            continue
        old, new = before.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changed += [f"{key}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        else:
            changed.append(key)
    return changed


def _host_verdict(phase: Phase, rows: dict[str, dict[str, Any]], source: str, changed: list[str],
                  unbuilt: set[str]) -> Verdict:
    row = rows.get(phase.id)
    if row is not None and row["status"] == NOT_SELECTED:
        return Verdict(phase.id, LEFT_OUT, f"left out by --only in {source}")
    if not phase.available:
        return Verdict(phase.id, UNAVAILABLE, f"not available: {phase.reason}")
    if row is None:
        return Verdict(phase.id, RERUN, f"re-run: never started in {source}")
    status = row["status"]
    if status not in (SUCCEEDED, DEGRADED, KEPT):
        why = "interrupted" if status == RUNNING else status.replace("_", " ")
        return Verdict(phase.id, RERUN, f"re-run: {why} in {source}")
    done_in = row["kept_from"] or source
    if changed:
        return Verdict(phase.id, RERUN, f"re-run: the request changed since {source} (keys: {', '.join(changed)})")
    # A phase that went on without a dependency (the proxy leaves out a failed service) does its work again
    # once that dependency is done.
    without = [d for d in phase.depends_on
               if d not in unbuilt and (rows.get(d) or {}).get("status") not in _DONE_FOR_DEPENDENTS]
    if without:
        return Verdict(phase.id, RERUN, f"re-run: it ran without {', '.join(without)} in {source}")
    now = role_fingerprint(phase.agent)
    if row["fingerprint"] is None:
        return Verdict(phase.id, RERUN, f"re-run: {done_in} did not record the content of role {phase.id}")
    if row["fingerprint"] != now:
        return Verdict(phase.id, RERUN, f"re-run: role {phase.id} changed since {done_in}")
    return Verdict(phase.id, KEEP, f"done in {done_in}, kept", Kept(done_in, f"done in {done_in}", now))


def _controller_verdict(phase: Phase, rows: dict[str, dict[str, Any]], source: str, host_reruns: bool) -> Verdict:
    row = rows.get(phase.id)
    if row is None or row["status"] not in (SUCCEEDED, DEGRADED, KEPT):
        return _host_verdict(phase, rows, source, [], set())
    if host_reruns:
        return Verdict(phase.id, RERUN, "re-run: it covers the phases that run again")
    done_in = row["kept_from"] or source
    return Verdict(phase.id, KEEP, f"done in {done_in}, kept", Kept(done_in, f"done in {done_in}"))


def _is_run(command: str) -> bool:
    return command == "run" or command.startswith("run ")
