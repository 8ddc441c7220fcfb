"""`aidevops validate`: the validator alone, as a recorded run (command "validate", one `validator` phase)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from orchestrator import errors
from orchestrator.outcome import CANCELLED, FAILED, PhaseResult
from orchestrator.request import DeploymentRequest
from orchestrator.run.bus import Topic
from orchestrator.run.context import PhaseContext
from orchestrator.run.session import RunSession
from orchestrator.store import now
from orchestrator.validation import agent
from orchestrator.validation.findings import BLOCKING, problems

PHASE = "validator"


@dataclass
class ValidateOutcome:
    run_id: str
    status: str  # succeeded, degraded, failed, cancelled
    exit_code: int
    reason: str
    findings: list[dict]
    metrics: list[dict]
    duration: float


def exit_code(findings: list[dict]) -> int:
    """0 all passed, 1 a critical/high check failed, 3 only medium/low ones did."""
    bad = problems([_F(f) for f in findings])
    if not bad:
        return errors.EXIT_OK
    return errors.EXIT_FAILED if any(f.severity in BLOCKING for f in bad) else errors.EXIT_DEGRADED


class _F:  # the fields problems() reads, from a stored row
    def __init__(self, row: dict):
        self.status, self.severity = row["status"], row["severity"]


def validate(request: DeploymentRequest, *, audit: bool | None = None, note=lambda m: None) -> ValidateOutcome:
    if audit is not None:
        request = replace(request, validation=replace(request.validation, audit=audit))
    session = RunSession(request.inventory, "validate" + ("" if request.validation.audit else " --no-audit"))
    session.bus.subscribe(lambda m: note(str(m.content)), topics=[Topic.NOTE])
    session.start(request.as_dict())
    phase_dir = session.phase_dir(PHASE)
    phase_dir.mkdir(parents=True, exist_ok=True)
    started, t0 = now(), time.monotonic()
    session.bus.publish(PHASE, Topic.PHASE, "started", {"artifact_dir": str(phase_dir), "entry": PHASE})
    ctx = PhaseContext(run_id=session.run_id, phase=PHASE, request=request, run_dir=session.run_dir,
                       phase_dir=phase_dir, store=session.store, log=session.log, redactor=session.redactor,
                       results={}, cancel=threading.Event(), note=lambda message: session.note(PHASE, message))
    status, reason = CANCELLED, "cancelled by the user"
    try:
        result = agent.run(ctx)
        status, reason = result.status, session.redactor.text(result.reason)
    except errors.AidevopsError as exc:
        status, reason = FAILED, session.redactor.text(str(exc))
    finally:
        findings, metrics = session.store.findings(session.run_id), session.store.metrics(session.run_id)
        code = errors.EXIT_CANCELLED if status == CANCELLED else exit_code(findings)
        if status == FAILED and code == errors.EXIT_OK:  # nothing to check at all
            code = errors.EXIT_FAILED
        session.bus.publish(PHASE, Topic.PHASE, "finished", PhaseResult(
            PHASE, status, reason, started, now(), time.monotonic() - t0, None, str(phase_dir)))
        duration = session.finish(status, code)
    return ValidateOutcome(session.run_id, status, code, reason, findings, metrics, duration)
