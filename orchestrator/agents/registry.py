"""What each agent does, what it needs before it, and whether it is built yet.

A host-side agent is an Ansible role driven through its playbook in playbooks/; it is available when that
playbook exists. A controller-side agent (validator, report) is a Python function `run(ctx) -> AgentResult`
in a package above the run; `entry` is the name the command that starts a run hands it over by. Agents not built yet are planned and shown as
"not available", never run or faked.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.project import playbooks_dir


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

    def available(self) -> tuple[bool, str]:
        if self.entry is not None:  # part of this package: the command that starts a run hands it over
            return True, ""
        if self.playbook is None:
            return False, "agent not built yet"
        path = playbooks_dir() / self.playbook
        if not path.exists():
            return False, f"agent not built yet (no playbooks/{self.playbook})"
        return True, ""


AGENTS: dict[str, AgentSpec] = {
    a.id: a
    for a in (
        AgentSpec("base_server", "Base server setup", after=(), playbook="base_server.yml"),
        AgentSpec("dns", "DNS records", after=(), playbook="dns.yml", needs_dns=True),
        AgentSpec("n8n", "n8n deployment", after=("base_server",), playbook="n8n.yml", service="n8n"),
        AgentSpec("supabase", "Supabase deployment", after=("base_server",), playbook="supabase.yml",
                  service="supabase"),
        # The proxy serves whichever services were deployed: one failed service must not take the other down.
        AgentSpec("nginx_proxy", "nginx reverse proxy and TLS", after=("base_server", "dns", "n8n", "supabase"),
                  playbook="nginx_proxy.yml", tolerates=("n8n", "supabase")),
        # Validation checks whatever is there, so a partly failed run still says what works.
        AgentSpec("validator", "System validation",
                  after=("base_server", "dns", "n8n", "supabase", "nginx_proxy"),
                  entry="validator", always=True),
        # After every other phase, not only the validator: a validator that is not available settles at once,
        # and the report must still wait for the phases still running.
        AgentSpec("report", "Final report",
                  after=("base_server", "dns", "n8n", "supabase", "nginx_proxy", "validator"),
                  entry="report", always=True,
                  shows_decisions=True),
    )
}


def agent(agent_id: str) -> AgentSpec:
    return AGENTS[agent_id]
