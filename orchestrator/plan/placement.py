"""Which hosts each phase runs on, said the Ansible way: with inventory groups.

A group named after a service (`n8n`, `supabase`) puts that service on the group's hosts. A service without a
group of its own goes to every host that is in no service group, so an inventory without such groups (one
server, or several that all run everything) places every service on every host, as before. The other host-side
agents follow the services: base_server runs on every host of the inventory; an agent that serves the services
(nginx_proxy, whose declaration says `after_services`) and the DNS agent run on each host that serves a site,
each for its own sites. The controller-side agents (validator, report) cover every placed host.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.agents import AgentSpec
from orchestrator.errors import BadInput
from orchestrator.request import DeploymentRequest


@dataclass(frozen=True)
class Placement:
    hosts: dict[str, tuple[str, ...]]  # phase -> the hosts it runs on, in inventory order
    reasons: dict[str, str] = field(default_factory=dict)  # phase -> why there
    unlimited: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the same before `--limit` narrowed it

    def phases_on(self, host: str) -> list[str]:
        return [phase for phase, hosts in self.hosts.items() if host in hosts]

    def services(self, request: DeploymentRequest) -> dict[str, list[str]]:
        """service -> hosts: what the roles read (`aidevops_placement`) to serve, proxy and publish only their own."""
        return {s: list(self.hosts.get(s, ())) for s in request.services}


def service_groups(request: DeploymentRequest) -> dict[str, tuple[str, ...]]:
    """service -> the hosts of the inventory group named after it, for the services that have one (among the
    hosts without request fields of their own: those run their own services)."""
    found: dict[str, tuple[str, ...]] = {}
    for service in request.deployment_services:
        members = tuple(h.name for h in request.hosts if service in h.groups and h.name not in request.per_host)
        if members:
            found[service] = members
    return found


def service_hosts(request: DeploymentRequest, services: list[str] | None = None) -> dict[str, tuple[str, ...]]:
    """service -> the hosts it is placed on, for SERVICES (default: the request's); one clear error for a
    service left without a host."""
    wanted = request.services if services is None else services
    if request.placement == "auto":
        return _auto(request, wanted)
    everyone = tuple(h.name for h in request.hosts)
    grouped = service_groups(request)
    in_a_service_group = {name for members in grouped.values() for name in members}
    ungrouped = tuple(h for h in everyone if h not in in_a_service_group and h not in request.per_host)
    own = {h: r.services for h, r in request.per_host.items()}  # a fleet's hosts run their own services
    found: dict[str, tuple[str, ...]] = {}
    for service in wanted:
        by_group = grouped.get(service, ungrouped) if service in request.deployment_services else ()
        chosen = {*by_group, *(h for h, services in own.items() if service in services)}
        if chosen:
            found[service] = tuple(h for h in everyone if h in chosen)
        else:
            why = (f"every host is in another service's group ({', '.join(sorted(grouped))})" if grouped
                   else "every host runs its own services (aidevops_host) and none of them asks for it")
            raise BadInput(f"service {service} has no host: {why}", where=str(request.inventory / "hosts.yml"),
                           hint=f"add a host to a group named '{service}', or leave one host out of the service groups")
    return found


def _auto(request: DeploymentRequest, services: list[str]) -> dict[str, tuple[str, ...]]:
    """placement auto: what the planner decided (the CLI gathers the facts and sets request.auto_placement)."""
    decided = request.auto_placement or {}
    missing = [s for s in services if s not in decided]
    if missing:
        raise BadInput(f"placement auto: no placement of {', '.join(missing)} yet",
                       where=str(request.inventory / "group_vars/all/aidevops.yml"),
                       hint="`aidevops run` places the services from the hosts' facts; or use placement: groups")
    return {s: decided[s] for s in services}


def hosts_of(request: DeploymentRequest, service: str) -> tuple[str, ...]:
    """The hosts SERVICE is placed on: where a day-2 command (backup, drill, upgrade, restore) acts."""
    return service_hosts(request, [service])[service]


def limit_for(request: DeploymentRequest, services: list[str]) -> str | None:
    """Ansible's --limit for a command acting on SERVICES: their hosts, or None when that is every host."""
    placed = service_hosts(request, services)
    chosen = {h for names in placed.values() for h in names}
    everyone = tuple(h.name for h in request.hosts)
    return None if chosen >= set(everyone) else ",".join(_in_inventory_order(everyone, chosen))


def place(request: DeploymentRequest, agents: list[AgentSpec]) -> Placement:
    """The hosts of each agent in AGENTS (the planned ones), from the inventory's groups."""
    everyone = tuple(h.name for h in request.hosts)
    grouped = service_groups(request)
    planned_services = [a.service for a in agents if a.service]
    hosts: dict[str, tuple[str, ...]] = dict(service_hosts(request, planned_services))
    reasons: dict[str, str] = {}
    for service in planned_services:
        if request.placement == "auto":
            reasons[service] = request.auto_reasons.get(service, "auto: kept from an earlier run")
        elif request.per_host and hosts[service] and all(h in request.per_host for h in hosts[service]):
            reasons[service] = "the hosts whose own fields (aidevops_host) ask for it"
        elif service in grouped:
            reasons[service] = f"the hosts of inventory group '{service}'"
        elif hosts[service] == everyone:
            reasons[service] = "every host"
        else:
            reasons[service] = f"the hosts in no service group (no group named '{service}')"
    serving = _in_inventory_order(everyone, {h for s in planned_services if _has_sites(agents, s)
                                             for h in hosts[s]})
    for agent in agents:
        if agent.service:
            continue
        if agent.entry or not (agent.tolerates or agent.needs_dns):
            hosts[agent.id] = everyone
            reasons[agent.id] = "every host"
        else:  # it serves the services' sites (the proxy) or publishes their names (DNS): where they are
            hosts[agent.id] = serving
            reasons[agent.id] = "each host that serves a site"
    unlimited = {a.id: hosts[a.id] for a in agents}
    limited = unlimited
    if request.limit is not None:  # `--limit`: the placement stays the inventory's, its hosts are narrowed
        kept = set(request.limit[1])
        limited = {agent: tuple(h for h in names if h in kept) for agent, names in unlimited.items()}
    return Placement(limited, {a.id: reasons[a.id] for a in agents}, unlimited)


def _has_sites(agents: list[AgentSpec], service: str) -> bool:
    spec = next(a for a in agents if a.service == service)
    return bool(spec.declaration and spec.declaration.service and spec.declaration.service.sites)


def _in_inventory_order(everyone: tuple[str, ...], chosen: set[str]) -> tuple[str, ...]:
    return tuple(h for h in everyone if h in chosen)
