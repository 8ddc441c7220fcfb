"""`aidevops backup`: each service's backup taken now on its hosts, as a recorded run (command "backup", one
`backup` phase running playbooks/backup.yml through ansible-runner, as a deployment's phases run)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from orchestrator import errors
from orchestrator.agents import registry
from orchestrator.agents.registry import AgentSpec
from orchestrator.outcome import CANCELLED, SUCCEEDED, PhaseResult
from orchestrator.plan import Phase
from orchestrator.plan.placement import limit_for, service_hosts
from orchestrator.request import DeploymentRequest
from orchestrator.run import runner
from orchestrator.run.bus import Topic
from orchestrator.run.phases import PhaseExecutor
from orchestrator.run.pump import EventPump
from orchestrator.run.recording import FailureCollector
from orchestrator.run.session import RunSession

PHASE = "backup"
PLAYBOOK = "backup.yml"
RESULTS = "backups"  # the run's folder where the playbook saves each host's new snapshots


@dataclass
class Snapshot:
    host: str
    service: str
    id: str
    size: int | None  # bytes the backup read (restic's summary), when restic reports it


@dataclass
class BackupOutcome:
    run_id: str
    status: str  # succeeded, failed, cancelled
    exit_code: int
    reason: str
    snapshots: list[Snapshot] = field(default_factory=list)
    duration: float = 0.0


def backed_up_services(request: DeploymentRequest) -> list[str]:
    """The services of the request whose role declares what to back up, in the request's order."""
    declared = {a.service: a for a in registry().values() if a.service}
    return [s for s in request.services
            if s in declared and declared[s].declaration.service.backup is not None
            and declared[s].declaration.service.backup.database is not None]


def services_to_back_up(request: DeploymentRequest, service: str | None) -> list[str]:
    """What `--service` asks for, or every backed-up service; bad input when there is nothing to back up."""
    deployed = backed_up_services(request)
    known = sorted(a.service for a in registry().values() if a.service)
    if service is not None and service not in known:
        raise errors.BadInput(f"unknown service '{service}'", where="--service",
                              hint=f"one of: {', '.join(known)}")
    if service is not None and service not in deployed:
        raise errors.BadInput(f"'{service}' is not deployed by this inventory, so it has no backup",
                              where=f"--service {service}",
                              hint=f"back up one of: {', '.join(deployed) or '(none)'}; or add it to "
                                   "aidevops.services and run aidevops run")
    if not deployed:
        raise errors.BadInput("the inventory deploys no service with backups", where=str(request.inventory),
                              hint="aidevops.services lists the services (n8n, supabase)")
    return [service] if service else deployed


def take_backups(request: DeploymentRequest, services: list[str], *, note=lambda m: None,
                 cancel: threading.Event | None = None) -> BackupOutcome:
    cancel = cancel or threading.Event()
    session = RunSession(request.inventory, "backup")
    session.bus.subscribe(lambda m: note(str(m.content)), topics=[Topic.NOTE])
    failures = FailureCollector()
    session.bus.subscribe(failures, topics=[Topic.TASK])
    pump = EventPump(session.bus, session.redactor)
    results_dir = session.run_dir / RESULTS
    extravars = {"aidevops_backup_services": services, "aidevops_backup_results": str(results_dir)}
    placed = service_hosts(request, services)
    executor = PhaseExecutor(session, request, controller_agents={}, results={}, cancel=cancel, pump=pump,
                             failures=failures, variables=lambda phase: extravars,
                             placement={s: list(h) for s, h in placed.items()},
                             # Its playbook saves the new snapshots' ids on the controller, as restore, the drill
                             # and upgrade do: the day-2 commands all reach the hosts from here.
                             via_nodes=False)
    limit = limit_for(request, services)
    phase = Phase(PHASE, AgentSpec(PHASE, "Backup now", (), playbook=PLAYBOOK), depends_on=(), available=True,
                  hosts=tuple(limit.split(",")) if limit else None)
    session.start(request.as_dict(), services=services)
    results_dir.mkdir(parents=True, exist_ok=True)
    result = PhaseResult(PHASE, CANCELLED, "cancelled by the user")  # unless it ends by itself
    try:
        with pump:
            executor.announce(phase)
            result = executor.execute(phase)
    finally:
        runner.kill_run_leftovers(session.run_dir)
        if cancel.is_set():
            result = PhaseResult(PHASE, CANCELLED, "cancelled by the user")
        snapshots = _snapshots(results_dir)
        code = {SUCCEEDED: errors.EXIT_OK, CANCELLED: errors.EXIT_CANCELLED}.get(result.status, errors.EXIT_FAILED)
        if code == errors.EXIT_FAILED:
            session.alert(PHASE, "backup_failed", f"backup of {', '.join(services)} failed: {result.reason}", "high",
                          services=services, run_id=session.run_id)
        executor.finished(result)
        duration = session.finish(result.status, code)
    return BackupOutcome(session.run_id, result.status, code, result.reason, snapshots, duration)


def _snapshots(folder) -> list[Snapshot]:
    found = []
    for path in sorted(folder.glob("*.json")):
        for service, snap in json.loads(path.read_text()).items():
            summary = snap.get("summary") or {}
            found.append(Snapshot(path.stem, service, snap.get("short_id") or snap["id"][:8],
                                  summary.get("total_bytes_processed")))
    return found
