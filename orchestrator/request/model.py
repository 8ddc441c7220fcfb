"""The deployment request as the rest of the tool reads it: the hosts and what they should run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.request.execution_node import ExecutionNode
from orchestrator.request.notifications import NotificationSettings
from orchestrator.request.validation import ValidationSettings


@dataclass(frozen=True)
class Host:
    name: str
    vars: dict[str, Any]
    groups: tuple[str, ...] = ()  # the inventory groups that list it, directly or as a child group's host; not `all`
    node: ExecutionNode | None = None  # where its phases run (aidevops_execution_node); None: from this machine


@dataclass(frozen=True)
class DeploymentRequest:
    inventory: Path
    domain: str
    admin_email: str
    services: tuple[str, ...]
    dns_provider: str
    hostnames: dict[str, str]
    hosts: tuple[Host, ...]
    strategy: str | None = None
    max_parallel: int = 2
    options: dict[str, Any] = field(default_factory=dict)
    ai: dict[str, Any] = field(default_factory=dict)  # the `ai:` section, checked by parse_ai
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "inventory": str(self.inventory), "domain": self.domain, "admin_email": self.admin_email,
            "services": list(self.services), "dns_provider": self.dns_provider,
            "hostnames": dict(self.hostnames), "hosts": [h.name for h in self.hosts],
            "strategy": self.strategy, "max_parallel": self.max_parallel,
            "validation": self.validation.as_dict(), "notifications": self.notifications.model_dump(),
        }
