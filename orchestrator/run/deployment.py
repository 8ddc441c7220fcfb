"""One deployment run: plan → scheduler → ansible-runner phases → events → progress, log and store."""

from __future__ import annotations

import importlib
import queue
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from orchestrator import errors, vault
from orchestrator.ai.bounds import Confirm
from orchestrator.ai.choice import AISettings
from orchestrator.ai.choice import resolve as resolve_ai
from orchestrator.ai.planning import PlanDecisions, decide_plan, make_maker, system_state
from orchestrator.cli.progress import Progress
from orchestrator.outcome import (
    CANCELLED,
    DEGRADED,
    FAILED,
    NOT_AVAILABLE,
    SKIPPED,
    SUCCEEDED,
    PhaseResult,
    RunOutcome,
    outcome_status,
)
from orchestrator.plan import Phase, Plan
from orchestrator.redact import Redactor
from orchestrator.request import DeploymentRequest
from orchestrator.run.artifacts import scrub
from orchestrator.run.context import AgentResult, PhaseContext
from orchestrator.run.events import TaskEvent, host_stats, parse
from orchestrator.run.log import RunLog
from orchestrator.run.recovery import Recovery
from orchestrator.run.runner import run_playbook
from orchestrator.run.scheduler import Scheduler
from orchestrator.state import StateDir, new_run_id
from orchestrator.store import RunStore, now

_RUNNER_STATUS = {"successful": SUCCEEDED, "failed": FAILED, "timeout": FAILED, "canceled": CANCELLED}


def store_for(inventory: Path) -> RunStore:
    return RunStore(StateDir(inventory).db)


class Deployment:
    def __init__(self, request: DeploymentRequest, plan: Plan, *, stream: TextIO | None = None,
                 live: bool | None = None, command: str = "run", check: bool = False,
                 ai: AISettings | None = None, confirm: Confirm | None = None, strategy_fixed: bool = True):
        self.request = request
        self.plan = plan
        self.command = command + (" --check" if check else "")
        self.check = check
        self.run_id = new_run_id()
        self.state = StateDir(request.inventory)
        self.run_dir = self.state.run_dir(self.run_id)
        self.redactor = Redactor(vault.secret_values(request.inventory))
        self.store = store_for(request.inventory)
        self.log = RunLog(self.run_dir / "run.log.jsonl", self.run_id, self.redactor)
        self.progress = Progress(plan, stream=stream, live=live)
        self.cancel = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._failures: dict[str, list[TaskEvent]] = {}
        self._last_failures: dict[str, list[TaskEvent]] = {}
        self._degraded: dict[str, list[str]] = {}
        self._results: dict[str, PhaseResult] = {}  # finished phases, for controller-side agents
        # The AI layer (offline unless a provider is chosen): decisions before, during and after the run.
        self.ai = ai or resolve_ai(None, request.ai, request.inventory)
        self.maker = make_maker(self.ai, request, plan, store=self.store, run_id=self.run_id, redactor=self.redactor,
                                confirm=confirm,
                                log=lambda level, message: self.log.log(level, "ai", message))
        self.strategy_fixed = strategy_fixed
        self.decisions: PlanDecisions | None = None
        self._optimized = False
        self.recovery = Recovery(self.maker, max_attempts=self.ai.max_recoveries, cancel=self.cancel,
                                 system_state=lambda: system_state(request, plan, {p: r.status for p, r in
                                                                                   self._results.items()}),
                                 note=self._note)

    def _note(self, phase: str, message: str) -> None:
        """A recovery step: on the terminal and in the run log."""
        message = self.redactor.text(message)
        self.progress.note(phase, message)
        self.log.log("warning", phase, message)

    def decide(self) -> PlanDecisions:
        """Strategic and tactical decisions, applied to the plan; call before printing the plan."""
        if self.decisions is None:
            self.decisions = decide_plan(self.maker, self.request, self.plan, self.strategy_fixed)
        return self.decisions

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
        variables = (self.decisions.variables if self.decisions else {}).get(phase.id, {})
        result = self._run_phase(phase, variables)
        if result.status == FAILED and not self.check and not self.cancel.is_set():
            result = self.recovery.recover(phase.id, result, lambda: self._last_failures.get(phase.id, []),
                                           lambda extra, attempt: self._run_phase(phase, extra, attempt), variables)
        return result

    def _run_phase(self, phase: Phase, variables: dict, attempt: int = 0) -> PhaseResult:
        started_at, t0 = now(), time.monotonic()
        before = len(self._failures.get(phase.id, []))
        # Phases that failed so far: the proxy leaves out a service whose deployment failed.
        failed = sorted(p for p, r in self._results.items() if r.status in (FAILED, SKIPPED, NOT_AVAILABLE))
        private_data_dir = self.run_dir / (phase.id if not attempt else f"{phase.id}.retry{attempt}")
        run = run_playbook(
            phase=phase.id, playbook=phase.agent.playbook, inventory=self.request.inventory,
            private_data_dir=private_data_dir, events=self._events, cancel=self.cancel,
            # AI-chosen role variables first: the orchestrator's own can never be overridden by a decision.
            extravars={**variables, "aidevops_run_id": self.run_id, "aidevops_failed_phases": failed},
            check=self.check,
        )
        self._flush_events()
        self._last_failures[phase.id] = self._failures.get(phase.id, [])[before:]  # this attempt's, for recovery
        # Tasks without no_log may print a secret: no artifact keeps one in clear text.
        scrub(private_data_dir, self.redactor)
        stats = host_stats(run.stats)
        self.store.record_host_stats(self.run_id, phase.id, stats)
        status = _RUNNER_STATUS.get(run.status, FAILED)
        reason = ""
        if status == FAILED:
            failures = self._last_failures[phase.id]
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
        if phase.id == "report" and not self.cancel.is_set():
            self._optimize(self._results)  # so that the report shows the suggestions for next time
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

    def _optimize(self, results: dict[str, PhaseResult]) -> None:
        """After the run (before its report): suggestions for next time, recorded once (nothing is changed)."""
        if self._optimized:
            return
        self._optimized = True
        phases = [{"phase": r.phase, "status": r.status, "reason": r.reason[:300],
                   "duration": round(r.duration or 0, 1), "recovered": self.recovery.recovered.get(r.phase)}
                  for r in results.values()]
        try:
            self.maker.optimization(phases=phases, system_state=system_state(
                self.request, self.plan, {p: r.status for p, r in results.items()}))
        except Exception as exc:  # advice only: it never changes the run's outcome
            self.log.log("warning", "ai", f"optimization decision failed: {exc!r}")

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        t0 = time.monotonic()
        self.store.start_run(self.run_id, str(self.request.inventory), self.command, self.request.as_dict(),
                             str(self.run_dir))
        self.decide()
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
        if not interrupted:
            self._optimize(results)
        status, code = outcome_status((r.status for r in results.values()), interrupted)
        duration = time.monotonic() - t0
        self.store.finish_run(self.run_id, status, code, duration)
        self.log.log("info", "orchestrator", f"run {status}", exit_code=code, duration=duration)
        self.log.close()
        return RunOutcome(self.run_id, status, code, results, duration)
