"""The run's outcome vocabulary: phase statuses, a phase's result, the run's outcome and its exit code.

Everything reads these words (the scheduler, recovery, progress, the store, the validator and the report),
so they sit at the ground and import nothing but the exit codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from orchestrator.errors import EXIT_CANCELLED, EXIT_DEGRADED, EXIT_FAILED, EXIT_OK

SUCCEEDED = "succeeded"
DEGRADED = "degraded"  # done, with a fallback the user should know about; dependents go on
FAILED = "failed"
SKIPPED = "skipped"
NOT_AVAILABLE = "not_available"
NOT_SELECTED = "not_selected"
KEPT = "kept"  # `run --resume`: done in an earlier run of the chain, and nothing it depends on changed since
CANCELLED = "cancelled"
RUNNING = "running"
# A dependency in one of these states blocks its dependents; a phase left out by --only does not
# (the user says it is already done), nor one kept from the run a resume continues.
BLOCKING = {FAILED, SKIPPED, NOT_AVAILABLE, CANCELLED}
# A phase in one of these states left its work in place: a service behind it is deployed.
DONE = {SUCCEEDED, DEGRADED, NOT_SELECTED, KEPT}


@dataclass
class PhaseResult:
    phase: str
    status: str
    reason: str = ""
    started_at: str | None = None
    ended_at: str | None = None
    duration: float | None = None
    rc: int | None = None
    artifact_dir: str | None = None
    fingerprint: str | None = None  # of the role's content it ran (host-side phases)
    kept_from: str | None = None  # status kept: the run where its work was done
    changed: int | None = None  # host-side phases: how many task results changed something, over its hosts


@dataclass
class RunOutcome:
    run_id: str
    status: str  # succeeded, failed, degraded, cancelled
    exit_code: int
    results: dict[str, PhaseResult] = field(default_factory=dict)
    duration: float = 0.0


def outcome_status(statuses: Iterable[str], cancelled: bool = False) -> tuple[str, int]:
    """The run's status and exit code from its phases' statuses."""
    statuses = set(statuses)
    if cancelled or CANCELLED in statuses:
        return CANCELLED, EXIT_CANCELLED
    if FAILED in statuses:
        return FAILED, EXIT_FAILED
    if statuses & {SKIPPED, NOT_AVAILABLE, DEGRADED}:
        return DEGRADED, EXIT_DEGRADED
    return SUCCEEDED, EXIT_OK
