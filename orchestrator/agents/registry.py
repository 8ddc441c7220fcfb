"""What each agent does, what it needs before it, and whether it is built yet.

A host-side agent is an Ansible role driven through its playbook in playbooks/; it is available when that
playbook exists. Agents not built yet are planned and shown as "not available", never run or faked.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.paths import playbooks_dir


@dataclass(frozen=True)
class AgentSpec:
    id: str
    title: str
    after: tuple[str, ...]  # agents that must finish first, when they are part of the plan
    playbook: str | None = None  # host-side agents run this playbook
    service: str | None = None  # planned only when the request asks for this service
    needs_dns: bool = False  # planned only when the request names a DNS provider
    always: bool = False  # runs whatever happened before it (the report)

    def available(self) -> tuple[bool, str]:
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
        AgentSpec("nginx_proxy", "nginx reverse proxy and TLS", after=("base_server", "dns", "n8n", "supabase"),
                  playbook="nginx_proxy.yml"),
        AgentSpec("validator", "System validation",
                  after=("base_server", "dns", "n8n", "supabase", "nginx_proxy")),
        AgentSpec("report", "Final report", after=("validator",), always=True),
    )
}


def agent(agent_id: str) -> AgentSpec:
    return AGENTS[agent_id]
