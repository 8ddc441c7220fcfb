"""The agents of the architecture: one per role that declares one, plus the two controller-side agents.

A host-side agent is an Ansible role (roles/<r>, its declaration in meta/aidevops.yml) driven through its
playbook in playbooks/<r>.yml; it is available when that playbook exists. A controller-side agent (validator,
report) is a Python function `run(ctx) -> AgentResult` in a package above the run; `entry` is the name the
command that starts a run hands it over by. Agents not built yet are planned and shown as "not available",
never run or faked. The orchestrator itself is the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from orchestrator import project
from orchestrator.agents.declaration import Declaration, Service, Site, load


@dataclass(frozen=True)
class AgentSpec:
    id: str
    title: str
    after: tuple[str, ...]  # agents that must finish first, when they are part of the plan
    playbook: str | None = None  # host-side agents run this playbook
    entry: str | None = None  # controller-side agents: the name the run's ControllerAgents give the function by
    tolerates: tuple[str, ...] = ()  # of `after`: run even if these failed, as long as one of them did not
    service: str | None = None  # planned only when the request asks for this service
    needs_dns: bool = False  # planned only when the request names a DNS provider
    always: bool = False  # runs whatever happened before it (the report)
    shows_decisions: bool = False  # shows the run's AI decisions: the optimization decision is made before it
    declaration: Declaration | None = None  # what the role declares (host-side agents)

    def available(self) -> tuple[bool, str]:
        if self.entry is not None:  # part of this package: the command that starts a run hands it over
            return True, ""
        if self.playbook is None:
            return False, "agent not built yet"
        path = project.playbooks_dir() / self.playbook
        if not path.exists():
            return False, f"agent not built yet (no playbooks/{self.playbook})"
        return True, ""


def _host_agent(d: Declaration, services: list[str]) -> AgentSpec:
    after = list(d.after)
    tolerates: tuple[str, ...] = ()
    if d.after_services:  # the proxy serves whichever services came through
        after += [s for s in services if s not in after]
        tolerates = tuple(services)
    return AgentSpec(d.role, d.title, tuple(after), playbook=f"{d.role}.yml", tolerates=tolerates,
                     service=d.service.name if d.service else None, needs_dns=d.needs_dns, declaration=d)


def _ordered(agents: list[AgentSpec]) -> list[AgentSpec]:
    """Dependencies first; among agents ready at the same time, by name (a stable, readable plan)."""
    known = {a.id for a in agents}
    done: list[AgentSpec] = []
    pending = sorted(agents, key=lambda a: a.id)
    while pending:
        ready = [a for a in pending if all(d in {x.id for x in done} or d not in known for d in a.after)]
        if not ready:  # a cycle: keep the rest in name order, the scheduler reports it
            ready = pending
        done += ready
        pending = [a for a in pending if a not in ready]
    return done


@lru_cache(maxsize=8)
def _registry(roles_dir: Path) -> dict[str, AgentSpec]:
    declarations = [d for r in sorted(roles_dir.iterdir()) if r.is_dir() and (d := load(r)) is not None]
    service_agents = [d.role for d in declarations if d.service]
    host = _ordered([_host_agent(d, service_agents) for d in declarations])
    host_ids = tuple(a.id for a in host)
    controller = [
        # Validation checks whatever is there, so a partly failed run still says what works.
        AgentSpec("validator", "System validation", after=host_ids, entry="validator", always=True),
        # After every other phase, not only the validator: a validator that is not available settles at once,
        # and the report must still wait for the phases still running.
        AgentSpec("report", "Final report", after=(*host_ids, "validator"), entry="report", always=True,
                  shows_decisions=True),
    ]
    return {a.id: a for a in [*host, *controller]}


def registry() -> dict[str, AgentSpec]:
    """Every agent, in plan order, from the roles of the project home (AIDEVOPS_HOME or the checkout)."""
    return _registry(project.declared_roles_dir().resolve())


def agent(agent_id: str) -> AgentSpec:
    return registry()[agent_id]


def services() -> dict[str, Service]:
    """The services the roles provide, by name."""
    return {a.service: a.declaration.service for a in registry().values()
            if a.declaration is not None and a.declaration.service is not None}


def sites() -> dict[str, tuple[str, Site]]:
    """Every public site of every service, by site name: (service, site)."""
    return {site.name: (name, site) for name, svc in services().items() for site in svc.sites}


def __getattr__(name: str):
    if name == "AGENTS":  # the registry of the project home, read when asked for
        return registry()
    raise AttributeError(name)
