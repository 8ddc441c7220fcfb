"""`aidevops validate`: the validator alone, as a recorded run (command "validate", one `validator` phase)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from orchestrator import errors
from orchestrator.agents import registry
from orchestrator.outcome import CANCELLED, FAILED, PhaseResult
from orchestrator.plan import Phase
from orchestrator.request import DeploymentRequest
from orchestrator.run.bus import Topic
from orchestrator.run.phases import PhaseExecutor
from orchestrator.run.session import RunSession
from orchestrator.validation import agent
from orchestrator.validation.findings import BLOCKING, not_made, problems

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
    """0 all passed, 1 a critical/high check failed, 3 only medium/low ones did or an audit asked for was
    skipped."""
    rows = [_F(f) for f in findings]
    bad = problems(rows)
    if not bad:
        return errors.EXIT_DEGRADED if not_made(rows) else errors.EXIT_OK
    return errors.EXIT_FAILED if any(f.severity in BLOCKING for f in bad) else errors.EXIT_DEGRADED


class _F:  # the fields problems() reads, from a stored row
    def __init__(self, row: dict):
        self.status, self.severity, self.check_id = row["status"], row["severity"], row.get("check_id") or ""


def validate(request: DeploymentRequest, *, audit: bool | None = None, drill: bool | None = None,
             note=lambda m: None, cancel: threading.Event | None = None) -> ValidateOutcome:
    """The validator phase alone, as a recorded run, executed as `aidevops run` executes it. `audit` and `drill`,
    when given, replace the request's validation.audit and validation.drill for this run."""
    overrides = {k: v for k, v in (("audit", audit), ("drill", drill)) if v is not None}
    if overrides:
        request = replace(request, validation=request.validation.model_copy(update=overrides))
    command = "validate" + ("" if request.validation.audit else " --no-audit") \
        + ("" if request.validation.drill else " --no-drill")
    session = RunSession(request.inventory, command)
    session.bus.subscribe(lambda m: note(str(m.content)), topics=[Topic.NOTE])
    session.start(request.as_dict())
    executor = PhaseExecutor(session, request, controller_agents={PHASE: agent.run}, results={},
                             cancel=cancel or threading.Event())
    phase = Phase(PHASE, registry()[PHASE], depends_on=(), available=True)
    result = PhaseResult(PHASE, CANCELLED, "cancelled by the user")  # unless it ends by itself
    try:
        executor.announce(phase)
        result = executor.execute(phase)
    finally:
        findings, metrics = session.store.findings(session.run_id), session.store.metrics(session.run_id)
        if cancel is not None and cancel.is_set():
            result = PhaseResult(PHASE, CANCELLED, "cancelled by the user")
        code = errors.EXIT_CANCELLED if result.status == CANCELLED else exit_code(findings)
        if result.status == FAILED and code == errors.EXIT_OK:  # nothing to check at all
            code = errors.EXIT_FAILED
        executor.finished(result)
        duration = session.finish(result.status, code)
    return ValidateOutcome(session.run_id, result.status, code, result.reason, findings, metrics, duration)
