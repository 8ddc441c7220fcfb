"""The deployment request: what the user asks for, read from the inventory and validated before anything runs.

It lives in `<inventory>/group_vars/all/aidevops.yml` under one key, `aidevops`, so that Ansible sees the
same values as the orchestrator. Every problem is reported as one line naming the file, the key and
what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from orchestrator.agents import services as declared_services
from orchestrator.agents import sites as declared_sites
from orchestrator.errors import BadInput
from orchestrator.request.ai import parse_ai
from orchestrator.request.inventory import inventory_dir, load_hosts, load_yaml
from orchestrator.request.model import DeploymentRequest, Host
from orchestrator.request.validation import parse_validation

DNS_PROVIDERS = ("cloudflare", "rfc2136", "none")
STRATEGIES = ("sequential", "parallel", "hybrid", "adaptive")
REQUEST_FILE = Path("group_vars/all/aidevops.yml")

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_domain(name: str) -> bool:
    """A fully qualified DNS name of at least two labels (RFC 1123), with no trailing dot."""
    if not isinstance(name, str) or len(name) > 253 or "." not in name:
        return False
    labels = name.lower().split(".")
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def load_request(inventory_path: Path) -> DeploymentRequest:
    inventory = inventory_dir(Path(inventory_path))
    request_file = inventory / REQUEST_FILE
    if not request_file.exists():
        raise BadInput(
            "no deployment request", where=str(request_file),
            hint="copy inventories/example/group_vars/all/aidevops.yml and edit it",
        )
    data = load_yaml(request_file)
    hosts = load_hosts(inventory)
    return parse_request(data, inventory, hosts, str(request_file))


def parse_request(data: Any, inventory: Path, hosts: tuple[Host, ...], where: str) -> DeploymentRequest:
    def fail(key: str, message: str, hint: str | None = None) -> BadInput:
        return BadInput(f"{key}: {message}", where=where, hint=hint)

    if not isinstance(data, dict) or "aidevops" not in data:
        raise fail("aidevops", "missing", "the file must hold one mapping under the key 'aidevops'")
    req = data["aidevops"]
    if not isinstance(req, dict):
        raise fail("aidevops", f"expected a mapping, got {type(req).__name__}")
    known = {"domain", "admin_email", "services", "dns", "hostnames", "options", "ai", "validation"}
    for key in req:
        if key not in known:
            raise fail(f"aidevops.{key}", "unknown key", f"expected one of {', '.join(sorted(known))}")

    domain = req.get("domain")
    if domain is None:
        raise fail("aidevops.domain", "missing", "set the domain the services live under, e.g. example.com")
    if not valid_domain(domain):
        raise fail("aidevops.domain", f"'{domain}' is not a valid domain name", "expected a name like example.com")
    domain = domain.lower()

    email = req.get("admin_email")
    if not isinstance(email, str) or not _EMAIL.match(email):
        raise fail("aidevops.admin_email", f"expected an email address, got {email!r}",
                   "it receives certificate expiry notices")

    known_services = list(declared_services())
    services = req.get("services", known_services)
    if not isinstance(services, list):
        raise fail("aidevops.services", f"expected a list, got {type(services).__name__}")
    for i, svc in enumerate(services):
        if svc not in known_services:
            raise fail(f"aidevops.services[{i}]", f"unknown service '{svc}'",
                       f"expected one of {', '.join(known_services)}")
    if len(set(services)) != len(services):
        raise fail("aidevops.services", "lists a service twice")

    dns = req.get("dns")
    if not isinstance(dns, dict) or "provider" not in dns:
        raise fail("aidevops.dns.provider", "missing", f"expected one of {', '.join(DNS_PROVIDERS)}")
    if dns["provider"] not in DNS_PROVIDERS:
        raise fail("aidevops.dns.provider", f"unknown provider '{dns['provider']}'",
                   f"expected one of {', '.join(DNS_PROVIDERS)}")

    hostnames = {name: f"{site.subdomain}.{domain}" for name, (_, site) in declared_sites().items()}
    given = req.get("hostnames") or {}
    if not isinstance(given, dict):
        raise fail("aidevops.hostnames", "expected a mapping of service to hostname")
    for svc, name in given.items():
        if svc not in hostnames:
            raise fail(f"aidevops.hostnames.{svc}", "unknown service", f"expected one of {', '.join(hostnames)}")
        if not valid_domain(name):
            raise fail(f"aidevops.hostnames.{svc}", f"'{name}' is not a valid host name")
        hostnames[svc] = name.lower()

    options = req.get("options") or {}
    if not isinstance(options, dict):
        raise fail("aidevops.options", "expected a mapping")
    strategy = options.get("strategy")
    if strategy is not None and strategy not in STRATEGIES:
        raise fail("aidevops.options.strategy", f"unknown strategy '{strategy}'", f"expected one of {', '.join(STRATEGIES)}")
    max_parallel = options.get("max_parallel", 2)
    if not isinstance(max_parallel, int) or isinstance(max_parallel, bool) or not 1 <= max_parallel <= 8:
        raise fail("aidevops.options.max_parallel", f"expected a whole number from 1 to 8, got {max_parallel!r}")

    ai = parse_ai(req.get("ai"), fail)

    return DeploymentRequest(
        inventory=inventory, domain=domain, admin_email=email, services=tuple(services),
        dns_provider=dns["provider"], hostnames=hostnames, hosts=hosts, strategy=strategy,
        max_parallel=max_parallel, options=options, ai=ai,
        validation=parse_validation(req.get("validation"), fail),
    )
