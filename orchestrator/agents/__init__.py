"""The agents of the architecture, each declared once: host-side agents by their role's meta/aidevops.yml,
the controller-side validator and report in registry.py. The orchestrator is the scheduler itself."""

from orchestrator.agents.registry import AgentSpec, agent, registry, services, sites

__all__ = ["AgentSpec", "agent", "registry", "services", "sites"]
