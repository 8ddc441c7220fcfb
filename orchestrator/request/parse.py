"""The deployment request: what the user asks for, read from the inventory and validated before anything runs.

It lives in `<inventory>/group_vars/all/aidevops.yml` under one key, `aidevops`, so that Ansible sees the
same values as the orchestrator. The schema (schema.py) checks each section; here come the checks that need
the roles' declarations (service and site names) or more than one field. Every problem is one line naming the
file, the key and what was expected.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrator.agents import services as declared_services
from orchestrator.agents import sites as declared_sites
from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import load_yaml
from orchestrator.request import schema
from orchestrator.request.fields import excerpt
from orchestrator.request.inventory import inventory_dir, load_hosts
from orchestrator.request.model import DeploymentRequest, Host, HostRequest
from orchestrator.request.notifications import NotificationSettings
from orchestrator.request.retention import RetentionPolicy
from orchestrator.request.role_vars import var_files
from orchestrator.request.validation import ValidationSettings
from orchestrator.state import StateDir

REQUEST_FILE = Path("group_vars/all/aidevops.yml")


def load_request(inventory_path: Path) -> DeploymentRequest:
    inventory = inventory_dir(Path(inventory_path))
    request_file = inventory / REQUEST_FILE
    if not request_file.exists() and not request_file.is_symlink():
        raise BadInput(
            "no deployment request", where=str(request_file),
            hint="copy inventories/example/group_vars/all/aidevops.yml and edit it",
        )
    data = load_yaml(request_file)
    hosts = load_hosts(inventory)
    request = parse_request(data, inventory, hosts, str(request_file))
    if request.placement == "auto":
        request = replace(request, **kept_placement(inventory, hosts))
    return request


def kept_placement(inventory: Path, hosts: tuple[Host, ...]) -> dict[str, Any]:
    """`placement: auto`: what an earlier run decided (services on hosts that still exist), or nothing."""
    path = StateDir(inventory).placement
    try:
        data = json.loads(path.read_text())
        names = {h.name for h in hosts}
        kept = {str(s): tuple(str(h) for h in on) for s, on in data["services"].items() if on and set(on) <= names}
        when = str(data.get("at", "an earlier run"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise BadInput("the kept placement is unreadable", where=str(path),
                       hint="delete it: the next `aidevops run` places the services again") from None
    return {"auto_placement": kept, "auto_reasons": {s: f"auto: kept since {when}" for s in kept}}


def parse_request(data: Any, inventory: Path, hosts: tuple[Host, ...], where: str) -> DeploymentRequest:
    def fail(key: str, message: str, hint: str | None = None) -> BadInput:
        return BadInput(f"{key}: {message}", where=where, hint=hint)

    if not isinstance(data, dict) or "aidevops" not in data:
        raise fail("aidevops", "missing", "the file must hold one mapping under the key 'aidevops'")
    req = schema.validate(data["aidevops"], where)

    services, hostnames = _services_and_names(req.services, req.domain, req.hostnames or {}, fail, "aidevops")
    own = {h.name: found for h in hosts if (found := own_fields(h, inventory)) is not None}
    per_host = {h.name: _host_fields(h, *own[h.name], req, services) for h in hosts if h.name in own}
    base_services = tuple(services) if per_host else None
    if per_host:  # what the hosts run together: the services of every host, in the order the roles declare them
        everyone = set(services) if len(per_host) < len(hosts) else set()
        for fields in per_host.values():
            everyone |= set(fields.services)
        services = [s for s in declared_services() if s in everyone]

    options = req.options or schema.Options()
    return DeploymentRequest(
        inventory=inventory, domain=req.domain, admin_email=req.admin_email, services=tuple(services),
        dns_provider=req.dns.provider, hostnames=hostnames, hosts=hosts, strategy=options.strategy,
        max_parallel=options.max_parallel, options=options.model_dump(exclude_unset=True, exclude_none=True),
        ai=req.ai.model_dump(exclude_unset=True, exclude_none=True) if req.ai else {},
        validation=req.validation or ValidationSettings(),
        notifications=req.notifications or NotificationSettings(), retention=req.retention or RetentionPolicy(),
        placement=req.placement, per_host=per_host, base_services=base_services,
    )


def _services_and_names(asked: list[str] | None, domain: str, given: dict[str, str], fail,
                        key: str) -> tuple[list[str], dict[str, str]]:
    """The services (default: every declared one) and each site's host name under DOMAIN, checked."""
    known_services = list(declared_services())
    services = asked if asked is not None else known_services
    for i, svc in enumerate(services):
        if svc not in known_services:
            raise fail(f"{key}.services[{i}]", f"unknown service {excerpt(svc)}",
                       f"expected one of {', '.join(known_services)}")
    if len(set(services)) != len(services):
        raise fail(f"{key}.services", "lists a service twice")

    sites = declared_sites()
    hostnames = {name: f"{site.subdomain}.{domain}" for name, (_, site) in sites.items()}
    for site, name in given.items():
        if site not in hostnames:
            raise fail(f"{key}.hostnames.{site}", "unknown site", f"expected one of {', '.join(hostnames)}")
        hostnames[site] = name
    # Two sites on one name would make nginx serve one of them under the other's certificate.
    by_name: dict[str, str] = {}
    for site, name in hostnames.items():
        service = sites[site][0]
        if service not in services:
            continue
        if name in by_name:
            raise fail(f"{key}.hostnames.{site}", f"{name} is also the host name of {by_name[name]}",
                       "give each site its own host name")
        by_name[name] = site
    return list(services), hostnames


HOST_FIELDS = "aidevops_host"


def own_fields(host: Host, inventory: Path) -> tuple[Any, Path] | None:
    """A host's `aidevops_host` and the file it is written in: its host_vars file(s) beside hosts.yml, which
    Ansible reads over hosts.yml's host vars, else hosts.yml; None for a host without fields of its own.
    (Vault-encrypted host_vars files are left out: request fields are no secrets.)"""
    for path in reversed(var_files(inventory / "host_vars", host.name)):  # the last file read wins, as in Ansible
        if not path.read_text(errors="replace").startswith("$ANSIBLE_VAULT"):
            data = load_yaml(path)
            if isinstance(data, dict) and data.get(HOST_FIELDS) is not None:
                return data[HOST_FIELDS], path
    if host.vars.get(HOST_FIELDS) is not None:
        return host.vars[HOST_FIELDS], inventory / "hosts.yml"
    return None


def _host_fields(host: Host, value: Any, path: Path, req: schema.Request, services: list[str]) -> HostRequest:
    """A host's own request fields (`aidevops_host` in its host vars) over the deployment's: a fleet's hosts
    each with their domain and services."""
    key = f"{host.name}: {HOST_FIELDS}"
    where = str(path)

    def fail(path: str, message: str, hint: str | None = None) -> BadInput:
        return BadInput(f"{host.name}: {path}: {message}", where=where, hint=hint)

    fields = schema.validate_host_fields(value, where, key)
    domain = fields.domain or req.domain
    # The deployment's own host names hold for a host that keeps its domain; another domain starts afresh.
    given = {**((req.hostnames or {}) if fields.domain is None else {}), **(fields.hostnames or {})}
    own_services, own_names = _services_and_names(fields.services if fields.services is not None else services,
                                                  domain, given, fail, "aidevops_host")
    return HostRequest(domain, fields.admin_email or req.admin_email, tuple(own_services), own_names)
