"""`aidevops restore`: one playbook phase of a recorded run (command "restore").

The real restore is playbooks/restore.yml (roles/restore, tasks/restore.yml): it refuses a snapshot that is not
the service's or whose key is not the vault's before touching anything, takes a backup first, then stops the
service, restores its database and files, and starts it again. The drill alone (`restore --drill`) is the same
kind of run around orchestrator/validation/drill.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator import errors
from orchestrator.outcome import CANCELLED, FAILED, SUCCEEDED, PhaseResult
from orchestrator.plan.placement import limit_for
from orchestrator.request import DeploymentRequest
from orchestrator.run.artifacts import scrub
from orchestrator.run.bus import Topic
from orchestrator.run.pump import EventPump
from orchestrator.run.recording import FailureCollector
from orchestrator.run.runner import run_playbook
from orchestrator.run.session import RunSession
from orchestrator.store import now

PLAYBOOK = "restore.yml"
# restic's snapshot ids: 8 (short) to 64 hex digits.
SNAPSHOT_ID = re.compile(r"^[0-9a-f]{8,64}$")


def check_snapshot_id(value: str) -> str:
    if not SNAPSHOT_ID.match(value or ""):
        raise errors.BadInput(f"'{value}' is not a restic snapshot id", where="--snapshot",
                              hint="give the 8-64 hex digits that `aidevops restore --drill` or "
                                   "`restic snapshots` shows")
    return value


@dataclass
class RestoreOutcome:
    run_id: str
    status: str
    exit_code: int
    reason: str
    duration: float
    results: dict[str, Any] = field(default_factory=dict)  # host -> what the playbook handed back


def run_phase(session: RunSession, request: DeploymentRequest, phase: str, cancel: threading.Event,
              work: Callable[[EventPump, FailureCollector], tuple[str, str]]) -> PhaseResult:
    """One phase of a run whose work runs a playbook: announced, its task events recorded, settled."""
    failures = FailureCollector()
    session.bus.subscribe(failures, topics=[Topic.TASK])
    folder = session.phase_dir(phase)
    session.bus.publish(phase, Topic.PHASE, "started", {"artifact_dir": str(folder / "artifacts" / phase),
                                                        "playbook": None, "entry": None})
    started_at, t0 = now(), time.monotonic()
    status, reason = FAILED, "cancelled by the user"
    with EventPump(session.bus, session.redactor) as pump:
        try:
            status, reason = work(pump, failures)
        finally:
            pump.flush()
            scrub(folder, session.redactor)
            if cancel.is_set():
                status, reason = CANCELLED, "cancelled by the user"
            result = PhaseResult(phase, status, session.redactor.text(reason), started_at, now(),
                                 time.monotonic() - t0, None, str(folder))
            session.bus.publish(phase, Topic.PHASE, "finished", result)
    return result


def restore(request: DeploymentRequest, service: str, snapshot: str, *, cancel: threading.Event,
            note: Callable[[str], None] = lambda m: None) -> RestoreOutcome:
    session = RunSession(request.inventory, f"restore --service {service} --snapshot {snapshot}")
    session.bus.subscribe(lambda m: note(str(m.content)), topics=[Topic.NOTE])
    session.start(request.as_dict())
    handed: dict[str, Any] = {}
    phase = "restore"

    def work(pump: EventPump, failures: FailureCollector) -> tuple[str, str]:
        session.note(phase, f"restoring {service} from snapshot {snapshot} (a backup is taken first)")
        ran = run_playbook(phase=phase, playbook=PLAYBOOK, inventory=request.inventory,
                           private_data_dir=session.phase_dir(phase), events=pump.queue, cancel=cancel,
                           extravars={"restore_service": service, "restore_snapshot": snapshot,
                                      "aidevops_run_id": session.run_id},
                           limit=limit_for(request, [service]))
        pump.flush()
        handed.update(ran.custom_stats.get("aidevops_restore") or {})
        if ran.status == "successful":
            return SUCCEEDED, "; ".join(f"{h}: restored {v[service]['restored']} (taken "
                                        f"{v[service]['snapshot_time']}), backup taken first "
                                        f"{v[service]['backup_first']}" for h, v in handed.items() if service in v)
        found = failures.since(phase, 0)
        if found:
            return FAILED, f"on {found[0].host}: {found[0].task}: {found[0].message}"
        return FAILED, f"ansible-playbook exited with rc {ran.rc} ({ran.status})"

    result = PhaseResult(phase, FAILED, "did not run")
    try:
        result = run_phase(session, request, phase, cancel, work)
    finally:
        code = {SUCCEEDED: errors.EXIT_OK, CANCELLED: errors.EXIT_CANCELLED}.get(result.status, errors.EXIT_FAILED)
        duration = session.finish(result.status, code)
    return RestoreOutcome(session.run_id, result.status, code, result.reason, duration, handed)
