"""What the suites look at: each host's address as seen from outside, each public hostname and how to reach it.

Service facts (hostnames, health paths, the apps' ports) come from the roles' declarations. In production a
hostname is reached on 443/80 by its name and a host is scanned at its ansible_host. On a
sandbox host the names do not resolve from here: the proxy's ports are published on 127.0.0.1
(`aidevops_published_ports`), so we connect there with SNI and Host set to the name, and the host is
scanned at its address on the sandbox's Docker network (`aidevops_sandbox_address`).
"""

from __future__ import annotations

from typing import Any

from orchestrator.agents import services as declared_services
from orchestrator.plan import build_plan
from orchestrator.request import DeploymentRequest, Host
from orchestrator.request.role_vars import RoleVars

PUBLIC_PORTS = [22, 80, 443]
# Scanned from outside besides 1-1024 and the apps' ports: where a forgotten service usually listens
# (Docker's API, databases and caches, alternative HTTP ports).
COMMON_PORTS = [2375, 2376, 3000, 3306, 5000, 5432, 6379, 8443, 9000, 9090, 9200, 11211, 27017, *range(8000, 8101)]


def placement(request: DeploymentRequest) -> dict[str, tuple[str, ...]]:
    """agent -> the hosts it runs on (orchestrator/plan/placement.py: inventory groups named after services)."""
    return build_plan(request).placement.hosts


def serving_hosts(request: DeploymentRequest, service: str) -> tuple[Host, ...]:
    """The hosts a service is placed on, each with its own proxy and certificates."""
    names = placement(request).get(service, ())
    return tuple(h for h in request.hosts if h.name in names)


def rendered(request: DeploymentRequest, services: list[str]) -> dict[str, dict[str, str | None]]:
    """service -> {host: its compose project folder} where it is only rendered (its declared state variable
    says `rendered`, e.g. supabase_state where its images cannot be had): its files are there, nothing runs."""
    declared, settings = declared_services(), RoleVars(request.inventory, {})
    out = {}
    for svc in services:
        variable, backup = declared[svc].state_variable, declared[svc].backup
        folder_variable = backup.project_dir_variable if backup else None
        hosts = {h.name: settings.get(folder_variable, host=h) if folder_variable else None
                 for h in serving_hosts(request, svc)
                 if variable and str(settings.get(variable, host=h)) == "rendered"}
        if hosts:
            out[svc] = hosts
    return out


def endpoints(request: DeploymentRequest, services: list[str]) -> list[dict[str, Any]]:
    """Each public hostname of the deployed services, on each host that serves it, and how to reach it."""
    declared = declared_services()
    out = []
    for svc in services:
        for host in serving_hosts(request, svc):
            published = host.vars.get("aidevops_published_ports") or {}
            own = request.for_host(host.name)  # a fleet's host: its own domain and admin email
            for site in declared[svc].sites:
                name = own.hostnames[site.name]
                if published.get("https"):
                    connect, https, http = "127.0.0.1", int(published["https"]), int(published.get("http") or 0)
                else:
                    connect, https, http = name, 443, 80
                out.append({"service": svc, "site": site.name, "hostname": name, "connect": connect,
                            "https_port": https, "http_port": http, "health": site.health_path, "host": host.name,
                            "health_auth": health_auth(site), "admin_email": own.admin_email})
    return out


def health_auth(site) -> dict[str, str] | None:
    """How the site's health route is opened: names of the secrets only (their values travel separately)."""
    auth = site.health_auth
    if auth is None:
        return None
    if auth.scheme == "apikey":
        return {"scheme": "apikey", "header": auth.header, "secret": auth.secret}
    return {"scheme": "basic", "user_secret": site.login.user_secret, "password_secret": site.login.password_secret}


def hosts(request: DeploymentRequest) -> dict[str, dict[str, Any]]:
    out = {}
    for h in request.hosts:
        sandbox_address = h.vars.get("aidevops_sandbox_address")
        out[h.name] = {
            # Never scan 127.0.0.1 for a sandbox host: that is this machine, not the host.
            "address": sandbox_address or h.vars.get("ansible_host") or h.name,
            "ssh_port": 22 if sandbox_address else int(h.vars.get("ansible_port") or 22),
            "container": h.vars.get("aidevops_sandbox_container"),
        }
    return out


def app_ports(services: list[str]) -> list[int]:
    """Ports the deployed apps listen on inside the host: each must be bound to 127.0.0.1 only."""
    declared = declared_services()
    return sorted({port for svc in services for port in declared[svc].app_ports})


def suite_config(request: DeploymentRequest, services: list[str]) -> dict[str, Any]:
    settings = request.validation
    ca = settings.ca_path(request.inventory)
    return {
        "domain": request.domain,
        "services": services,
        "hosts": hosts(request),
        "placement": {agent: list(names) for agent, names in placement(request).items()},
        "endpoints": endpoints(request, services) if services else [],
        "rendered": rendered(request, services),
        "app_ports": app_ports(services),
        "public_ports": PUBLIC_PORTS,
        "scan_ports": sorted(set(range(1, 1025)) | set(app_ports(list(declared_services()))) | set(COMMON_PORTS)),
        "ca_file": str(ca) if ca else None,
        "settings": settings.as_dict(),
        "admin_email": request.admin_email,
        "inventory": str(request.inventory),
    }
