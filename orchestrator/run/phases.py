"""Phase execution: a host-side agent's playbook through ansible-runner, or a controller-side agent's function.

Both end as one PhaseResult. A failed playbook phase goes to recovery, which may run it again; each attempt
has its own private data dir, whose artifacts are scrubbed of the run's secrets when it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from orchestrator import errors
from orchestrator.agents.fingerprint import role_fingerprint
from orchestrator.outcome import CANCELLED, DEGRADED, FAILED, NOT_AVAILABLE, SKIPPED, SUCCEEDED, PhaseResult
from orchestrator.plan import Phase
from orchestrator.request import DeploymentRequest
from orchestrator.request.execution_node import Route, route_folder, routes
from orchestrator.run.artifacts import scrub
from orchestrator.run.bus import Topic
from orchestrator.run.context import AgentResult, ControllerAgents, PhaseContext
from orchestrator.run.pump import EventPump
from orchestrator.run.recording import FailureCollector
from orchestrator.run.recovery import Recovery
from orchestrator.run.remote import Transport, over_ssh
from orchestrator.run.runner import PhaseRun, merged, run_playbook
from orchestrator.run.session import RunSession
from orchestrator.store import now

_RUNNER_STATUS = {"successful": SUCCEEDED, "failed": FAILED, "timeout": FAILED, "canceled": CANCELLED}


class PhaseExecutor:
    def __init__(self, session: RunSession, request: DeploymentRequest, *, controller_agents: ControllerAgents,
                 results: dict[str, PhaseResult], cancel: threading.Event, check: bool = False,
                 pump: EventPump | None = None, failures: FailureCollector | None = None,
                 recovery: Recovery | None = None,
                 variables: Callable[[str], dict] = lambda phase: {},
                 placement: dict[str, list[str]] | None = None,
                 before: Callable[[Phase], None] = lambda phase: None,
                 via_nodes: bool = True, transport: Transport = over_ssh):
        self.session, self.request = session, request
        self.controller_agents = controller_agents
        self.pump, self.failures, self.recovery = pump, failures, recovery
        self.results = results  # finished phases, kept by the run
        self.cancel, self.check = cancel, check
        self.variables = variables  # the phase's AI-chosen role variables
        # Where the hosts stand in the deployment: service -> its hosts, for the roles that serve or publish only
        # what is placed on their host; the waves (Ansible's serial and max_fail_percentage) the host playbooks take.
        self.fleet_vars = {"aidevops_placement": placement} if placement is not None else {}
        self.fleet_vars.update({f"aidevops_{k}": request.options[k] for k in ("serial", "max_fail_percentage")
                                if request.options.get(k) is not None})
        self.before = before  # called before a phase starts its work (the run's hooks)
        # Hosts with an aidevops_execution_node run their phases there; False: every phase from this machine.
        self.via_nodes, self.transport = via_nodes, transport
        self._last_failures: dict[str, list] = {}  # phase -> the failed tasks of its last attempt, for recovery

    def artifact_dir(self, phase: Phase) -> str:
        """Where the phase's artifacts will be: the runner's artifacts folder, or a controller agent's own."""
        folder = self.session.phase_dir(phase.id)
        if phase.agent.entry or len(self.routes(phase)) > 1:  # a split phase: its routes' folders side by side
            return str(folder)
        return str(folder / "artifacts" / phase.id)

    def announce(self, phase: Phase) -> None:
        """The phase starts: on the bus (the store records it as running, progress shows it)."""
        self.session.bus.publish(phase.id, Topic.PHASE, "started", {"artifact_dir": self.artifact_dir(phase),
                                                                    "playbook": phase.agent.playbook,
                                                                    "entry": phase.agent.entry})

    def finished(self, result: PhaseResult) -> None:
        """The phase settled (ran, or was skipped): kept for the phases after it, and on the bus."""
        self.results[result.phase] = result
        self.session.bus.publish(result.phase, Topic.PHASE, "finished", result)

    def execute(self, phase: Phase) -> PhaseResult:
        self.before(phase)
        if phase.agent.entry:
            return self._controller(phase)
        variables = self.variables(phase.id)
        fingerprint = role_fingerprint(phase.agent)  # the role content this phase runs, for a later resume
        result = self._playbook(phase, variables)
        if result.status == FAILED and self.recovery and not self.check and not self.cancel.is_set():
            result = self.recovery.recover(phase.id, result, lambda: self._last_failures.get(phase.id, []),
                                           lambda extra, n: self._playbook(phase, extra, n), variables)
        result.fingerprint = fingerprint
        return result

    def _playbook(self, phase: Phase, variables: dict, attempt: int = 0) -> PhaseResult:
        started_at, t0 = now(), time.monotonic()
        mark = self.failures.mark(phase.id)
        # Phases that failed so far: the proxy leaves out a service whose deployment failed.
        failed = sorted(p for p, r in self.results.items() if r.status in (FAILED, SKIPPED, NOT_AVAILABLE))
        private_data_dir = self.session.phase_dir(phase.id, attempt)
        # AI-chosen role variables first: the orchestrator's own can never be overridden by a decision.
        # aidevops_command: `check` lets a role show the diff of a file it otherwise hides (masked here).
        extravars = {**variables, "aidevops_run_id": self.session.run_id, "aidevops_failed_phases": failed,
                     "aidevops_command": self.session.command, **self.fleet_vars}
        routes = self.routes(phase)
        if len(routes) == 1:
            [(route, _)] = routes.items()
            # Placed on some of the inventory's hosts only: Ansible's own --limit keeps the others out.
            run = self._run(phase, private_data_dir, extravars, route,
                            ",".join(phase.hosts) if phase.hosts is not None else None)
        else:
            run = self._split(phase, private_data_dir, extravars, routes)
        self.pump.flush()  # this attempt's events are all on the bus: its failures are known
        if run.brought_back:
            self.session.note(phase.id, f"saved in the inventory from the execution node: "
                                        f"{', '.join(run.brought_back)}")
        # Tasks without no_log may print a secret: no artifact keeps one in clear text.
        scrub(private_data_dir, self.session.redactor)
        failures = self._last_failures[phase.id] = self.failures.since(phase.id, mark)
        status = _RUNNER_STATUS.get(run.status, FAILED)
        reason = ""
        if status == FAILED:
            if failures:
                first = failures[0]
                reason = f"{len(failures)} task(s) failed; first on {first.host}: {first.task}: {first.message}"
            else:
                reason = run.error or f"ansible-playbook exited with rc {run.rc} ({run.status})"
        elif status == CANCELLED:
            reason = "cancelled by the user"
        elif self.failures.degraded(phase.id):
            status, reason = DEGRADED, "; ".join(self.failures.degraded(phase.id))
        changed = sum((run.stats.get("changed") or {}).values()) if run.stats else None
        return PhaseResult(phase.id, status, self.session.redactor.text(reason), started_at, now(),
                           time.monotonic() - t0, run.rc, str(run.artifact_dir), changed=changed)

    def routes(self, phase: Phase) -> dict[Route | None, list[str]]:
        """The phase's hosts by how they are reached: through an execution node, or (None) from here."""
        hosts = [h for h in self.request.hosts if phase.hosts is None or h.name in phase.hosts]
        if not self.via_nodes:
            return {None: [h.name for h in hosts]}
        return routes(hosts, self.request.inventory) or {None: []}

    def _run(self, phase: Phase, private_data_dir: Path, extravars: dict, route: Route | None,
             limit: str | None) -> PhaseRun:
        return run_playbook(phase=phase.id, playbook=phase.agent.playbook, inventory=self.request.inventory,
                            private_data_dir=private_data_dir, events=self.pump.queue, cancel=self.cancel,
                            extravars=extravars, limit=limit, check=self.check, node=route,
                            transport=self.transport)

    def _split(self, phase: Phase, private_data_dir: Path, extravars: dict,
               routes: dict[Route | None, list[str]]) -> PhaseRun:
        """Hosts behind different nodes (or some reached from here): one playbook run per route, side by side
        (each node is its own controller), each in its own private data dir under the phase's folder."""
        with ThreadPoolExecutor(max_workers=len(routes), thread_name_prefix=f"{phase.id}-route") as pool:
            futures = [pool.submit(self._run, phase, private_data_dir / route_folder(route, i), extravars, route,
                                   ",".join(hosts))
                       for i, (route, hosts) in enumerate(routes.items())]
            runs = [f.result() for f in futures]  # a route's exception is raised here, in the phase's thread
        return merged(runs, private_data_dir)

    def _controller(self, phase: Phase) -> PhaseResult:
        """Validator and report run here, in the orchestrator's process, not through ansible-runner."""
        started_at, t0 = now(), time.monotonic()
        phase_dir = self.session.phase_dir(phase.id)
        phase_dir.mkdir(parents=True, exist_ok=True)
        ctx = PhaseContext(
            run_id=self.session.run_id, phase=phase.id, request=self.request, run_dir=self.session.run_dir,
            phase_dir=phase_dir, store=self.session.store, log=self.session.log, redactor=self.session.redactor,
            results=dict(self.results), cancel=self.cancel, check=self.check,
            note=lambda message: self.session.note(phase.id, message),
            alert=lambda kind, message, severity="warning", **extra: self.session.alert(
                phase.id, kind, message, severity, **extra),
        )
        agent = self.controller_agents.get(phase.agent.entry)
        try:
            if agent is None:
                raise errors.AidevopsError(f"no implementation of the controller-side agent '{phase.agent.entry}' "
                                           "was given to this run")
            result: AgentResult = agent(ctx)
        except errors.AidevopsError as exc:  # an expected problem, worded for the user
            result = AgentResult(FAILED, str(exc))
        status = CANCELLED if self.cancel.is_set() and result.status == FAILED else result.status
        return PhaseResult(phase.id, status, self.session.redactor.text(result.reason), started_at, now(),
                           time.monotonic() - t0, None, str(phase_dir))
