"""What a controller-side agent (validator, report) gets from the run, and what it gives back.

Such an agent is a function `run(ctx: PhaseContext) -> AgentResult`; its AgentSpec.entry names it, and the
command that starts the run hands the run the functions by those names (ControllerAgents). It
reads the request and the results so far, writes what it finds to the run store (findings, metrics) and
its files under ctx.phase_dir, logs through ctx.log, and passes every text it shows through ctx.redactor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from pathlib import Path

from orchestrator.outcome import PhaseResult
from orchestrator.redact import Redactor
from orchestrator.request import DeploymentRequest
from orchestrator.run.log import RunLog
from orchestrator.store import RunStore


@dataclass
class PhaseContext:
    run_id: str
    phase: str
    request: DeploymentRequest
    run_dir: Path  # the run's folder under the state dir
    phase_dir: Path  # this phase's own folder (created), beside the playbook phases' artifacts
    store: RunStore
    log: RunLog
    redactor: Redactor
    results: dict[str, PhaseResult]  # phases finished before this one started
    cancel: threading.Event
    check: bool = False
    note: Callable[[str], None] = lambda message: None  # one line of live progress
    bus: Any = None  # the run's Bus: alerts (Topic.ALERT) go there


@dataclass
class AgentResult:
    status: str  # succeeded, degraded or failed (see orchestrator.scheduler)
    reason: str = ""  # one line: why degraded or failed, or a summary


ControllerAgent = Callable[[PhaseContext], AgentResult]
ControllerAgents = Mapping[str, ControllerAgent]  # AgentSpec.entry -> the function
