"""The deployment request as the rest of the tool reads it: the hosts and what they should run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.request.execution_node import ExecutionNode
from orchestrator.request.notifications import NotificationSettings
from orchestrator.request.retention import RetentionPolicy
from orchestrator.request.validation import ValidationSettings


@dataclass(frozen=True)
class Host:
    name: str
    vars: dict[str, Any]
    groups: tuple[str, ...] = ()  # the inventory groups that list it, directly or as a child group's host; not `all`
    node: ExecutionNode | None = None  # where its phases run (aidevops_execution_node); None: from this machine
    # The vars hosts.yml sets on the host itself (`vars` above also holds its groups' vars from there), which
    # Ansible ranks above group_vars/ files, and the group ones below them.
    own_vars: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HostRequest:
    """What one host of a fleet deploys: its own request fields (`aidevops_host`) over the deployment's."""
    domain: str
    admin_email: str
    services: tuple[str, ...]
    hostnames: dict[str, str]  # site -> host name under this host's domain


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
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    # `--limit PATTERN`: the hosts it matched (the pattern as given, and the names); None: every host
    limit: tuple[str, tuple[str, ...]] | None = None
    placement: str = "groups"  # groups | auto (the request's `placement`)
    # placement auto: service -> its hosts, as the planner decided (orchestrator/plan/auto.py) or a run kept
    auto_placement: dict[str, tuple[str, ...]] | None = None
    auto_reasons: dict[str, str] = field(default_factory=dict)  # service -> why it is there
    # A fleet: hosts with their own request fields (`aidevops_host` in their host vars), by host name; `services`
    # is then what all hosts run together, `base_services` what the deployment's own fields ask for
    per_host: dict[str, HostRequest] = field(default_factory=dict)
    base_services: tuple[str, ...] | None = None

    def for_host(self, name: str) -> HostRequest:
        """The request as one host sees it: its own fields, else the deployment's."""
        return self.per_host.get(name) or HostRequest(self.domain, self.admin_email, self.deployment_services,
                                                      self.hostnames)

    @property
    def deployment_services(self) -> tuple[str, ...]:
        """The services the deployment's own fields ask for (the hosts without fields of their own run these)."""
        return self.services if self.base_services is None else self.base_services

    def as_dict(self) -> dict[str, Any]:
        return {
            "inventory": str(self.inventory), "domain": self.domain, "admin_email": self.admin_email,
            "services": list(self.services), "dns_provider": self.dns_provider,
            "hostnames": dict(self.hostnames), "hosts": [h.name for h in self.hosts],
            "strategy": self.strategy, "max_parallel": self.max_parallel,
            "validation": self.validation.as_dict(), "notifications": self.notifications.model_dump(),
            "retention": self.retention.as_dict(),
            **({"limit": list(self.limit[1])} if self.limit else {}),
            **({"placement_mode": self.placement} if self.placement != "groups" else {}),
            **({"per_host": {h: {"domain": r.domain, "admin_email": r.admin_email, "services": list(r.services),
                                 "hostnames": dict(r.hostnames)} for h, r in self.per_host.items()}}
               if self.per_host else {}),
        }
