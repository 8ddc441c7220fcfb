"""The eight agents of the architecture. The orchestrator is the scheduler itself; the others are phases."""

from orchestrator.agents.registry import AGENTS, AgentSpec, agent

__all__ = ["AGENTS", "AgentSpec", "agent"]
