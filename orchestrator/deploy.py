"""One deployment run: plan → scheduler → ansible-runner phases → events → progress, log and store."""

from __future__ import annotations

import importlib
import queue
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from orchestrator import errors, paths, vault
from orchestrator.agents.context import AgentResult, PhaseContext
from orchestrator.artifacts import scrub
from orchestrator.events import TaskEvent, host_stats, parse
from orchestrator.plan import Phase, Plan
from orchestrator.progress import Progress
from orchestrator.redact import Redactor
from orchestrator.request import DeploymentRequest
from orchestrator.runlog import RunLog
from orchestrator.runner import run_playbook
from orchestrator.scheduler import (
    CANCELLED, DEGRADED, FAILED, NOT_AVAILABLE, SKIPPED, SUCCEEDED, PhaseResult, Scheduler,
)
from orchestrator.store import RunStore, now

_RUNNER_STATUS = {"successful": SUCCEEDED, "failed": FAILED, "timeout": FAILED, "canceled": CANCELLED}


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def store_for(inventory: Path) -> RunStore:
    return RunStore(paths.state_dir(inventory) / "aidevops.db")


@dataclass
class RunOutcome:
    run_id: str
    status: str  # succeeded, failed, degraded, cancelled
    exit_code: int
    results: dict[str, PhaseResult]
    duration: float


def outcome_status(results: dict[str, PhaseResult], cancelled: bool) -> tuple[str, int]:
    statuses = {r.status for r in results.values()}
    if cancelled or CANCELLED in statuses:
        return "cancelled", errors.EXIT_CANCELLED
    if FAILED in statuses:
        return "failed", errors.EXIT_FAILED
    if statuses & {SKIPPED, NOT_AVAILABLE, DEGRADED}:
        return "degraded", errors.EXIT_DEGRADED
    return "succeeded", errors.EXIT_OK


class Deployment:
    def __init__(self, request: DeploymentRequest, plan: Plan, *, stream: TextIO | None = None,
                 live: bool | None = None, command: str = "run", check: bool = False):
        self.request = request
        self.plan = plan
        self.command = command + (" --check" if check else "")
        self.check = check
        self.run_id = new_run_id()
        self.state_dir = paths.state_dir(request.inventory)
        self.run_dir = self.state_dir / "runs" / self.run_id
        self.redactor = Redactor(vault.secret_values(request.inventory))
        self.store = store_for(request.inventory)
        self.log = RunLog(self.run_dir / "run.log.jsonl", self.run_id, self.redactor)
        self.progress = Progress(plan, stream=stream, live=live)
        self.cancel = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._failures: dict[str, list[TaskEvent]] = {}
        self._degraded: dict[str, list[str]] = {}
        self._results: dict[str, PhaseResult] = {}  # finished phases, for controller-side agents

    # -- events ----------------------------------------------------------------------------------

    def _dispatch_events(self) -> None:
        while True:
            item = self._events.get()
            if item is None:
                return
            phase, raw = item
            if phase == "__flush__":
                raw.set()
                continue
            try:
                self._handle_event(phase, raw)
            except Exception as exc:  # one odd event must not stop progress, logging or the run
                self.log.log("warning", "orchestrator", f"could not process an event: {exc!r}")

    def _handle_event(self, phase: str, raw: dict) -> None:
        ev = parse(phase, raw)
        if ev is None:
            return
        if ev.message or ev.degraded:  # task output may hold a secret: the terminal must not show it either
            ev = replace(ev, message=self.redactor.text(ev.message) if ev.message else None,
                         degraded=self.redactor.text(ev.degraded) if ev.degraded else None)
        self.progress.task_event(ev)
        if ev.degraded:
            self._degraded.setdefault(phase, []).append(f"{ev.host}: {ev.degraded}")
            self.log.log("warning", phase, f"{ev.host}: degraded: {ev.degraded}", **ev.as_dict())
        if ev.is_failure:
            self._failures.setdefault(phase, []).append(ev)
            self.store.record_failure(self.run_id, phase, ev.host, ev.task, ev.action, ev.task_path,
                                      ev.message or "")
            self.log.log("error", phase, f"{ev.host}: {ev.task} {ev.kind.value}", **ev.as_dict())
        elif ev.kind.value in ("changed", "task_start", "play_start", "stats"):
            self.log.log("info", phase, f"{ev.kind.value}: {ev.task or ''}".strip(), **ev.as_dict())

    def _flush_events(self) -> None:
        done = threading.Event()
        self._events.put(("__flush__", done))
        done.wait()

    # -- phases ----------------------------------------------------------------------------------

    def _execute(self, phase: Phase) -> PhaseResult:
        if phase.agent.entry:
            return self._execute_controller_agent(phase)
        started_at, t0 = now(), time.monotonic()
        # Phases that failed so far: the proxy leaves out a service whose deployment failed.
        failed = sorted(p for p, r in self._results.items() if r.status in (FAILED, SKIPPED, NOT_AVAILABLE))
        run = run_playbook(
            phase=phase.id, playbook=phase.agent.playbook, inventory=self.request.inventory,
            private_data_dir=self.run_dir / phase.id, events=self._events, cancel=self.cancel,
            extravars={"aidevops_run_id": self.run_id, "aidevops_failed_phases": failed}, check=self.check,
        )
        self._flush_events()
        # Tasks without no_log may print a secret: no artifact keeps one in clear text.
        scrub(self.run_dir / phase.id, self.redactor)
        stats = host_stats(run.stats)
        self.store.record_host_stats(self.run_id, phase.id, stats)
        status = _RUNNER_STATUS.get(run.status, FAILED)
        reason = ""
        if status == FAILED:
            failures = self._failures.get(phase.id, [])
            if failures:
                first = failures[0]
                reason = f"{len(failures)} task(s) failed; first on {first.host}: {first.task}: {first.message}"
            else:
                reason = f"ansible-playbook exited with rc {run.rc} ({run.status})"
        elif status == CANCELLED:
            reason = "cancelled by the user"
        elif self._degraded.get(phase.id):
            status, reason = DEGRADED, "; ".join(self._degraded[phase.id])
        return PhaseResult(phase.id, status, self.redactor.text(reason), started_at, now(),
                           time.monotonic() - t0, run.rc, str(run.artifact_dir))

    def _execute_controller_agent(self, phase: Phase) -> PhaseResult:
        """Validator and report run here, in the orchestrator's process, not through ansible-runner."""
        started_at, t0 = now(), time.monotonic()
        module, _, func = phase.agent.entry.partition(":")
        phase_dir = self.run_dir / phase.id
        phase_dir.mkdir(parents=True, exist_ok=True)
        ctx = PhaseContext(
            run_id=self.run_id, phase=phase.id, request=self.request, run_dir=self.run_dir, phase_dir=phase_dir,
            store=self.store, log=self.log, redactor=self.redactor, results=dict(self._results),
            cancel=self.cancel, check=self.check,
            note=lambda message: self.progress.note(phase.id, self.redactor.text(message)),
        )
        try:
            result: AgentResult = getattr(importlib.import_module(module), func)(ctx)
        except errors.AidevopsError as exc:  # an expected problem, worded for the user
            result = AgentResult(FAILED, str(exc))
        status = CANCELLED if self.cancel.is_set() and result.status == FAILED else result.status
        return PhaseResult(phase.id, status, self.redactor.text(result.reason), started_at, now(),
                           time.monotonic() - t0, None, str(phase_dir))

    def _on_start(self, phase: Phase) -> None:
        artifacts = self.run_dir / phase.id
        if not phase.agent.entry:
            artifacts = artifacts / "artifacts" / phase.id
        self.store.record_phase(self.run_id, phase.id, "running", started_at=now(), artifact_dir=str(artifacts))
        self.progress.phase_started(phase.id)
        self.log.log("info", phase.id, "phase started", playbook=phase.agent.playbook, entry=phase.agent.entry)

    def _on_result(self, r: PhaseResult) -> None:
        self._results[r.phase] = r
        self.store.record_phase(self.run_id, r.phase, r.status, r.reason, r.started_at, r.ended_at,
                                r.duration, r.rc, r.artifact_dir)
        self.progress.phase_finished(r)
        level = "error" if r.status == FAILED else "info"
        self.log.log(level, r.phase, f"phase {r.status}", reason=r.reason, duration=r.duration, rc=r.rc)

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        t0 = time.monotonic()
        self.store.start_run(self.run_id, str(self.request.inventory), self.command, self.request.as_dict(),
                             str(self.run_dir))
        self.store.set_strategy(self.run_id, self.plan.strategy, self.plan.strategy_reason)
        self.log.log("info", "orchestrator", "run started", strategy=self.plan.strategy,
                     phases=[p.id for p in self.plan.phases])
        dispatcher = threading.Thread(target=self._dispatch_events, name="events", daemon=True)
        dispatcher.start()
        scheduler = Scheduler(self.plan, self._execute, on_result=self._on_result, on_start=self._on_start,
                              cancel=self.cancel)
        try:
            with self.progress:
                results = scheduler.run()
        finally:
            self._events.put(None)
            dispatcher.join()
        interrupted = scheduler.interrupted or self.cancel.is_set()
        status, code = outcome_status(results, interrupted)
        duration = time.monotonic() - t0
        self.store.finish_run(self.run_id, status, code, duration)
        self.log.log("info", "orchestrator", f"run {status}", exit_code=code, duration=duration)
        self.log.close()
        return RunOutcome(self.run_id, status, code, results, duration)
