"""`aidevops validate`: the validator alone, as a recorded run (command "validate", one `validator` phase)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from orchestrator import errors, vault
from orchestrator.redact import Redactor
from orchestrator.request import DeploymentRequest
from orchestrator.run.context import PhaseContext
from orchestrator.run.deployment import new_run_id, store_for
from orchestrator.run.log import RunLog
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
    store = store_for(request.inventory)
    run_id = new_run_id()
    run_dir = store.path.parent / "runs" / run_id
    phase_dir = run_dir / PHASE
    phase_dir.mkdir(parents=True, exist_ok=True)
    redactor = Redactor(vault.secret_values(request.inventory))
    log = RunLog(run_dir / "run.log.jsonl", run_id, redactor)
    command = "validate" + ("" if request.validation.audit else " --no-audit")
    t0, started = time.monotonic(), now()
    store.start_run(run_id, str(request.inventory), command, request.as_dict(), str(run_dir))
    store.record_phase(run_id, PHASE, "running", started_at=started, artifact_dir=str(phase_dir))
    cancel = threading.Event()
    ctx = PhaseContext(run_id=run_id, phase=PHASE, request=request, run_dir=run_dir, phase_dir=phase_dir,
                       store=store, log=log, redactor=redactor, results={}, cancel=cancel, note=note)
    status, reason = "cancelled", "cancelled by the user"
    try:
        result = agent.run(ctx)
        status, reason = result.status, redactor.text(result.reason)
    except errors.AidevopsError as exc:
        status, reason = "failed", redactor.text(str(exc))
    finally:
        findings, metrics = store.findings(run_id), store.metrics(run_id)
        code = errors.EXIT_CANCELLED if status == "cancelled" else exit_code(findings)
        if status == "failed" and code == errors.EXIT_OK:  # nothing to check at all
            code = errors.EXIT_FAILED
        duration = time.monotonic() - t0
        store.record_phase(run_id, PHASE, status, reason, started, now(), duration, None, str(phase_dir))
        store.finish_run(run_id, status, code, duration)
        log.log("info", "orchestrator", f"run {status}", exit_code=code, duration=duration)
        log.close()
    return ValidateOutcome(run_id, status, code, reason, findings, metrics, duration)
