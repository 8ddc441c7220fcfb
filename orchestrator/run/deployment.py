"""One deployment run's lifecycle: decisions before it, the scheduler over the plan, the outcome after it.

The session records the run; the executor runs each phase; recovery handles a failed one; every message goes
over the session's bus, where the command that started the run may subscribe its progress display.
"""

from __future__ import annotations

import json
import threading

from orchestrator import atomic
from orchestrator.ai.bounds import Confirm
from orchestrator.ai.choice import AISettings
from orchestrator.ai.choice import resolve as resolve_ai
from orchestrator.ai.planning import PlanDecisions, decide_plan, make_maker, recorded_plan, system_state
from orchestrator.outcome import SUCCEEDED, PhaseResult, RunOutcome, outcome_status
from orchestrator.plan import Phase, Plan, recorded_request
from orchestrator.request import DeploymentRequest
from orchestrator.run import runner, unchanged
from orchestrator.run.bus import Topic
from orchestrator.run.context import ControllerAgents
from orchestrator.run.phases import PhaseExecutor
from orchestrator.run.pump import EventPump
from orchestrator.run.recording import FailureCollector
from orchestrator.run.recovery import Recovery
from orchestrator.run.scheduler import Scheduler
from orchestrator.run.session import RunSession
from orchestrator.state import StateDir
from orchestrator.store import now


def keep_auto_placement(request: DeploymentRequest) -> None:
    """`placement: auto`: what the planner decided is kept, so that later runs and day-2 commands find each
    service where it was deployed (facts such as free disk change once it is)."""
    data = {"services": {s: list(h) for s, h in (request.auto_placement or {}).items()},
            "reasons": request.auto_reasons, "at": now()}
    atomic.write_text(StateDir(request.inventory).placement, json.dumps(data, indent=2))


class Deployment:
    def __init__(self, request: DeploymentRequest, plan: Plan, *, controller_agents: ControllerAgents,
                 command: str = "run", check: bool = False, ai: AISettings | None = None,
                 confirm: Confirm | None = None, strategy_fixed: bool = True, resumed_from: str | None = None,
                 decisions_from: str | None = None):
        self.request, self.plan, self.check = request, plan, check
        self.resumed_from = resumed_from  # `run --resume`: the run whose decisions this one uses again
        # `aidevops check`: the deployment's decisions, replayed, without being a resume of it.
        self.decisions_from = resumed_from or decisions_from
        # A command that is a dry run by nature (`check`) does not say so twice.
        self.session = RunSession(request.inventory, command + (" --check" if check and command.startswith("run")
                                                                else ""))
        self.run_id, self.bus = self.session.run_id, self.session.bus
        self.cancel = threading.Event()
        self.results: dict[str, PhaseResult] = {}  # finished phases
        # The AI layer (offline unless a provider is chosen): decisions before, during and after the run.
        self.ai = ai or resolve_ai(None, request.ai, request.inventory)
        self.maker = make_maker(self.ai, request, plan, store=self.session.store, run_id=self.run_id,
                                redactor=self.session.redactor, confirm=confirm,
                                log=lambda level, message: self.session.note("ai", message, warning=level != "info"))
        self.strategy_fixed = strategy_fixed
        self.decisions: PlanDecisions | None = None
        self._optimized = False
        self.recovery = Recovery(self.maker, max_attempts=self.ai.max_recoveries, cancel=self.cancel,
                                 system_state=lambda: self._state(self.results),
                                 note=lambda phase, message: self.session.note(phase, message, warning=True))
        self.failures = FailureCollector()
        self.bus.subscribe(self.failures, topics=[Topic.TASK])
        self.pump = EventPump(self.bus, self.session.redactor)
        self.executor = PhaseExecutor(
            self.session, request, controller_agents=controller_agents, results=self.results, cancel=self.cancel,
            check=check, pump=self.pump, failures=self.failures, recovery=self.recovery,
            variables=lambda phase: (self.decisions.variables if self.decisions else {}).get(phase, {}),
            placement=plan.placement.services(request), before=self._before_phase)

    def decide(self) -> PlanDecisions:
        """Strategic and tactical decisions, applied to the plan; call before printing the plan."""
        if self.decisions is None and self.decisions_from:
            self.decisions = recorded_plan(self.maker, self.decisions_from, self.plan)
        elif self.decisions is None:
            self.decisions = decide_plan(self.maker, self.request, self.plan, self.strategy_fixed)
        return self.decisions

    def given(self, phase: str) -> dict:
        """What the phase's playbook run is given besides the inventory, less what differs every run."""
        return {**(self.decisions.variables if self.decisions else {}).get(phase, {}), **self.executor.fleet_vars}

    def mark_unchanged(self) -> dict[str, str]:
        """After decide(): the phases whose inputs and host state are as the last successful run left them are
        kept when their turn comes (run/unchanged.py); phase -> why it runs or may be kept."""
        return unchanged.mark_unchanged(self.request, self.plan, self.session.store, self.given)

    def _record_state(self, results: dict[str, PhaseResult]) -> None:
        """What the phases were given and left on the hosts, for the next run to compare (a plain run only:
        --check changed nothing and --limit saw some hosts only)."""
        if self.check or self.request.limit is not None:
            return
        try:
            kept = unchanged.record(self.request, self.plan, self.session.store, self.run_id, results, self.given)
        except Exception as exc:  # the next run then runs every phase; this one's outcome stands
            self.session.note("orchestrator", f"could not record the host state for the next run: {exc!r}",
                              warning=True)
            return
        finally:  # its SSH connections go with the run, as the phases' do (ControlPersist would keep them)
            runner.kill_run_leftovers(self.session.run_dir)
        if kept:
            self.session.note("orchestrator", f"host state recorded for the next run: {', '.join(kept)}")

    def _state(self, results: dict[str, PhaseResult]) -> dict:
        return system_state(self.request, self.plan, {p: r.status for p, r in results.items()})

    def _before_phase(self, phase: Phase) -> None:
        # An agent that shows the run's AI decisions (the report) sees the suggestions for next time too.
        if phase.agent.shows_decisions and not self.cancel.is_set():
            self._optimize()

    def _optimize(self) -> None:
        """Suggestions for next time from how the run went, recorded once (nothing is changed)."""
        if self._optimized:
            return
        self._optimized = True
        phases = [{"phase": r.phase, "status": r.status, "reason": r.reason[:300],
                   "duration": round(r.duration or 0, 1), "recovered": self.recovery.recovered.get(r.phase)}
                  for r in self.results.values()]
        try:
            self.maker.optimization(phases=phases, system_state=self._state(self.results))
        except Exception as exc:  # advice only: it never changes the run's outcome
            self.session.note("ai", f"optimization decision failed: {exc!r}", warning=True)

    def settle(self, results: dict[str, PhaseResult], interrupted: bool) -> tuple[str, int]:
        """The run's status and exit code from its phases (a check settles on the drift it found instead)."""
        return outcome_status((r.status for r in results.values()), interrupted)

    def run(self) -> RunOutcome:
        self.decide()
        # The placement is recorded with the request: the report says what ran where, a resume compares it.
        if self.request.placement == "auto" and not self.check:
            keep_auto_placement(self.request)
        self.session.start(recorded_request(self.request, self.plan), resumed_from=self.resumed_from, strategy=self.plan.strategy,
                           phases=[p.id for p in self.plan.phases])
        self.session.store.set_strategy(self.run_id, self.plan.strategy, self.plan.strategy_reason)
        scheduler = Scheduler(self.plan, self.executor.execute, on_result=self.executor.finished,
                              on_start=self.executor.announce, cancel=self.cancel)
        try:
            with self.pump:
                results = scheduler.run()
        finally:  # nothing a phase started outlives the run: workers, SSH control masters kept for reuse
            runner.kill_run_leftovers(self.session.run_dir)
        interrupted = scheduler.interrupted or self.cancel.is_set()
        if not interrupted:
            self._optimize()
        status, code = self.settle(results, interrupted)
        if status == SUCCEEDED:
            self._record_state(results)
        duration = self.session.finish(status, code)
        return RunOutcome(self.run_id, status, code, results, duration)
