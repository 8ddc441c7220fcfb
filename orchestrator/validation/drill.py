"""The restore drill: playbooks/restore_drill.yml (roles/restore) per service, its result turned into findings.

The playbook restores the service's latest restic snapshot into scratch containers on the host, compares row
counts with the snapshot's counts.json, lets a scratch n8n decrypt the credential made for the drill, removes
everything, and hands its result back with set_stats (`aidevops_drill.<host>.<service>`). Here that result is
judged: a failed drill, or a backup older than the schedule allows, is a high finding and an alert.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.agents import services as declared_services
from orchestrator.plan.placement import hosts_of, limit_for
from orchestrator.redact import Redactor
from orchestrator.run.artifacts import scrub
from orchestrator.run.runner import run_playbook
from orchestrator.validation.findings import Finding, Metric

PLAYBOOK = "restore_drill.yml"
# The backup timers are daily: a day plus two hours of slack for a slow or retried run.
MAX_AGE_HOURS = 26.0


@dataclass
class DrillResult:
    host: str
    service: str
    status: str  # passed, failed, no_backup, not_runnable
    snapshot_id: str | None = None
    snapshot_time: str | None = None
    backup_age_hours: float | None = None
    counts_expected: dict[str, int] = field(default_factory=dict)
    counts_found: dict[str, int] = field(default_factory=dict)
    decrypt_ok: bool | None = None
    duration: float | None = None
    error: str = ""
    repository_age_hours: float | None = None  # when there is no snapshot yet
    scratch_left: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hours_since(stamp: str | float | None, now: datetime) -> float | None:
    if stamp in (None, ""):
        return None
    try:
        when = (datetime.fromtimestamp(float(stamp), UTC) if isinstance(stamp, (int, float))
                or str(stamp).replace(".", "", 1).isdigit() else datetime.fromisoformat(str(stamp)))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round((now - when).total_seconds() / 3600, 2)


def parse(custom_stats: dict[str, Any], service: str, hosts: list[str], now: datetime | None = None,
          problem: str = "") -> list[DrillResult]:
    """One DrillResult per host from the playbook's set_stats; a host that handed nothing back failed."""
    now = now or datetime.now(UTC)
    handed = custom_stats.get("aidevops_drill") or {}
    results = []
    for host in hosts or sorted(handed):
        raw = (handed.get(host) or {}).get(service)
        if not raw:
            results.append(DrillResult(host, service, "failed",
                                       error=problem or "the drill playbook handed no result back"))
            continue
        results.append(DrillResult(
            host, service, str(raw.get("status") or "failed"),
            snapshot_id=raw.get("snapshot_id") or None, snapshot_time=raw.get("snapshot_time") or None,
            backup_age_hours=_hours_since(raw.get("snapshot_time"), now),
            counts_expected={k: int(v) for k, v in (raw.get("counts_expected") or {}).items()},
            counts_found={k: int(v) for k, v in (raw.get("counts_found") or {}).items()},
            decrypt_ok=raw.get("decrypt_ok") if isinstance(raw.get("decrypt_ok"), bool) else None,
            duration=float(raw["duration"]) if raw.get("duration") not in (None, "") else None,
            error=str(raw.get("error") or "").strip(),
            repository_age_hours=_hours_since(raw.get("repository_made"), now),
            scratch_left=int(raw.get("scratch_left") or 0)))
    return results


def judge(result: DrillResult, max_age_hours: float = MAX_AGE_HOURS) -> list[Finding]:
    """The drill's finding and the backup age's finding.

    No snapshot at all: right after a first deploy the timer has not fired yet, so a repository younger than
    the allowed age is "no backup yet" (the age check passes, info; nothing to drill); an older one is a stale
    backup (high). No repository at all means backups are not set up on the host (restic_backup off): skipped,
    info. A drill that could not run because the service's containers are not there is skipped (info)."""
    where, s = result.host, result.service
    drill_id, age_id = f"backup.{s}.drill", f"backup.{s}.age"
    if result.status == "not_runnable":
        return [Finding(drill_id, where, "skipped", "info", f"{s} restore drill", f"not runnable here: "
                        f"{result.error}", "restore")]
    if result.status == "no_backup":
        if result.error.startswith("no backup repository"):
            return [Finding(age_id, where, "skipped", "info", f"{s} backup age",
                            f"{result.error}: backups are not set up on this host", "restore")]
        if result.repository_age_hours is not None and result.repository_age_hours <= max_age_hours:
            return [Finding(age_id, where, "passed", "info", f"{s} backup age", f"no backup yet: the repository "
                            f"was made {result.repository_age_hours:.1f} h ago, the first is due within "
                            f"{max_age_hours:g} h", "restore")]
        return [Finding(age_id, where, "failed", "high", f"{s} backup age", f"no backup: {result.error}",
                        "restore")]
    findings = []
    age = result.backup_age_hours
    if age is None:
        findings.append(Finding(age_id, where, "error", "high", f"{s} backup age",
                                f"the age of snapshot {result.snapshot_id} is unknown", "restore"))
    else:
        stale = age > max_age_hours
        findings.append(Finding(age_id, where, "failed" if stale else "passed", "high", f"{s} backup age",
                                f"latest snapshot {result.snapshot_id} taken {result.snapshot_time}, {age:.1f} h "
                                f"ago (allowed {max_age_hours:g} h)", "restore"))
    passed = result.status == "passed" and not result.scratch_left
    findings.append(Finding(drill_id, where, "passed" if passed else "failed", "high", f"{s} restore drill",
                            summary(result), "restore"))
    return findings


def summary(result: DrillResult) -> str:
    """One line: what the drill restored and what it found."""
    parts = [f"snapshot {result.snapshot_id or '-'}"]
    if result.counts_expected or result.counts_found:
        names = sorted(set(result.counts_expected) | set(result.counts_found))
        parts.append("rows " + ", ".join(f"{n} {result.counts_expected.get(n, '-')}/{result.counts_found.get(n, '-')}"
                                         for n in names) + " (expected/found)")
    if result.decrypt_ok is not None:
        parts.append("credential decrypted" if result.decrypt_ok else "credential NOT decrypted")
    if result.duration is not None:
        parts.append(f"{result.duration:.0f}s")
    if result.scratch_left:
        parts.append(f"{result.scratch_left} scratch container(s) left behind")
    if result.error:
        parts.append(result.error)
    return "; ".join(parts)


def metrics(result: DrillResult, max_age_hours: float = MAX_AGE_HOURS) -> list[Metric]:
    target = f"{result.service}@{result.host}"
    found = [Metric("restore_drill", target, None, "", None,
                    None if result.status in ("not_runnable", "no_backup") else result.status == "passed",
                    summary(result), text_value=result.status)]
    if result.backup_age_hours is not None:
        found.append(Metric("backup_age", target, result.backup_age_hours, "h", max_age_hours,
                            result.backup_age_hours <= max_age_hours, f"snapshot {result.snapshot_id}"))
    return found


def alerts(result: DrillResult, findings: list[Finding]) -> list[tuple[str, dict[str, Any]]]:
    """(kind, content) of the alerts the contract names, for the failed findings."""
    out = []
    for f in findings:
        if f.status not in ("failed", "error"):
            continue
        kind = "drill_failed" if f.check_id.endswith(".drill") else "backup_stale"
        what = "restore drill failed" if kind == "drill_failed" else "backup is stale"
        out.append((kind, {"message": f"{result.service} on {result.host}: {what}: {f.evidence}"[:500],
                           "severity": "high", "service": result.service, "host": result.host,
                           "snapshot_id": result.snapshot_id, "backup_age_hours": result.backup_age_hours}))
    return out


def drilled_services(request) -> list[str]:
    """The request's services whose role declares something to back up (a database: roles/restic_backup)."""
    declared = declared_services()
    return [s for s in request.services
            if s in declared and declared[s].backup is not None and declared[s].backup.database is not None]


def run(*, inventory: Path, service: str, hosts: list[str], folder: Path, redactor: Redactor,
        cancel: threading.Event, extravars: dict[str, Any] | None = None,
        events: queue.Queue | None = None, limit: str | None = None) -> list[DrillResult]:
    """The drill playbook for one service on its hosts (LIMIT, Ansible's --limit); its results. Artifacts stay in folder (scrubbed);
    its task events go to `events` (a run's EventPump) when given."""
    events = events if events is not None else queue.Queue()
    ran = run_playbook(phase=f"drill-{service}", playbook=PLAYBOOK, inventory=inventory, private_data_dir=folder,
                       events=events, cancel=cancel, extravars={"restore_service": service, **(extravars or {})},
                       limit=limit)
    scrub(folder, redactor)
    problem = "" if ran.status == "successful" else f"the drill playbook ended {ran.status} (rc {ran.rc})"
    results = parse(ran.custom_stats, service, hosts, problem=problem)
    for r in results:
        r.error = redactor.text(r.error)
    (folder / "drill.json").write_text(json.dumps([r.as_dict() for r in results], indent=2))
    return results


def drill_and_judge(ctx, service: str, events: queue.Queue | None = None
                    ) -> tuple[list[DrillResult], list[Finding], list[Metric]]:
    """The drill of one service in a phase (validator, restore): run, judged, recorded in the store (drills),
    alerts raised for the operator. The findings and figures are the caller's to record."""
    ctx.note(f"restore drill of {service}")
    results = run(inventory=ctx.request.inventory, service=service, hosts=list(hosts_of(ctx.request, service)),
                  limit=limit_for(ctx.request, [service]),
                  folder=ctx.phase_dir / f"drill-{service}", redactor=ctx.redactor, cancel=ctx.cancel,
                  events=events)
    findings, figures = [], []
    for r in results:
        max_age = ctx.request.validation.backup_max_age_hours
        judged = judge(r, max_age)
        findings += judged
        figures += metrics(r, max_age)
        ctx.store.record_drill(ctx.run_id, ctx.phase, r.as_dict())
        ctx.note(f"restore drill of {service} on {r.host}: {r.status}: {summary(r)}")
        for kind, content in alerts(r, judged):
            content = dict(content)
            ctx.alert(kind, content.pop("message"), content.pop("severity"), **content)
    return results, findings, figures


@dataclass
class DrillOutcome:
    run_id: str
    status: str
    exit_code: int
    reason: str
    duration: float
    drills: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)


def drill_run(request, services: list[str], *, cancel: threading.Event,
              note=lambda m: None) -> DrillOutcome:
    """`aidevops restore --drill`: the drills alone, as a recorded run (command "restore --drill", one phase
    `restore_drill`); exit 0 when every drill passed and every backup is fresh, 1 otherwise."""
    from orchestrator import errors
    from orchestrator.outcome import CANCELLED, FAILED, SUCCEEDED
    from orchestrator.run.bus import Topic
    from orchestrator.run.context import PhaseContext
    from orchestrator.run.restore import run_phase
    from orchestrator.run.session import RunSession
    from orchestrator.validation.findings import problems, verdict

    session = RunSession(request.inventory, "restore --drill" + "".join(f" --service {s}" for s in services))
    session.bus.subscribe(lambda m: note(str(m.content)), topics=[Topic.NOTE])
    session.start(request.as_dict())
    phase = "restore_drill"

    def work(pump, failures) -> tuple[str, str]:
        folder = session.phase_dir(phase)
        folder.mkdir(parents=True, exist_ok=True)
        ctx = PhaseContext(run_id=session.run_id, phase=phase, request=request, run_dir=session.run_dir,
                           phase_dir=folder, store=session.store, log=session.log, redactor=session.redactor,
                           results={}, cancel=cancel, note=lambda m: session.note(phase, m),
                           alert=lambda kind, message, severity="warning", **extra: session.alert(
                               phase, kind, message, severity, **extra))
        found: list[Finding] = []
        for service in services:
            _, judged, figures = drill_and_judge(ctx, service, events=pump.queue)
            pump.flush()
            found += judged
            for f in judged:
                session.store.record_finding(session.run_id, phase, f.check_id, f.host, f.status, f.severity,
                                             session.redactor.text(f.title), session.redactor.text(f.evidence),
                                             agent=f.agent)
            for m in figures:
                m.detail = session.redactor.text(m.detail)
                session.store.record_metric(session.run_id, phase, **asdict(m))
        _, reason = verdict(found)
        return (FAILED if problems(found) else SUCCEEDED), reason

    result = None
    try:
        result = run_phase(session, request, phase, cancel, work)
    finally:
        status = result.status if result else FAILED
        code = {SUCCEEDED: errors.EXIT_OK, CANCELLED: errors.EXIT_CANCELLED}.get(status, errors.EXIT_FAILED)
        duration = session.finish(status, code)
    return DrillOutcome(session.run_id, status, code, result.reason if result else "", duration,
                        session.store.drills(session.run_id), session.store.findings(session.run_id))
