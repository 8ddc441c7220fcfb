"""The deployment request: what the user asks for, read from the inventory and validated before anything runs.

It lives in `<inventory>/group_vars/all/aidevops.yml` under one key, `aidevops`, so that Ansible sees the
same values as the orchestrator. Every problem is reported as one line naming the file, the key and
what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import BadInput
from orchestrator.validation.settings import ValidationSettings, parse_validation

SERVICES = ("n8n", "supabase")
DNS_PROVIDERS = ("cloudflare", "rfc2136", "none")
STRATEGIES = ("sequential", "parallel", "hybrid", "adaptive")
REQUEST_FILE = Path("group_vars/all/aidevops.yml")
HOSTS_FILES = ("hosts.yml", "hosts.yaml")

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_domain(name: str) -> bool:
    """A fully qualified DNS name of at least two labels (RFC 1123), with no trailing dot."""
    if not isinstance(name, str) or len(name) > 253 or "." not in name:
        return False
    labels = name.lower().split(".")
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


@dataclass(frozen=True)
class Host:
    name: str
    vars: dict[str, Any]


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "inventory": str(self.inventory), "domain": self.domain, "admin_email": self.admin_email,
            "services": list(self.services), "dns_provider": self.dns_provider,
            "hostnames": dict(self.hostnames), "hosts": [h.name for h in self.hosts],
            "strategy": self.strategy, "max_parallel": self.max_parallel,
            "validation": self.validation.as_dict(),
        }


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadInput(f"cannot read the file: {exc.strerror}", where=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"invalid YAML: {problem}", where=where, hint="fix the syntax") from None


def inventory_dir(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise BadInput("inventory not found", where=str(path), hint="give the inventory folder, e.g. inventories/prod")
    if path.is_file():
        return path.parent.resolve()
    return path.resolve()


def load_hosts(inventory: Path) -> tuple[Host, ...]:
    """Hosts of a YAML inventory (hosts.yml), with the vars set on them or their groups in that file."""
    hosts_file = next((inventory / n for n in HOSTS_FILES if (inventory / n).exists()), None)
    if hosts_file is None:
        raise BadInput(
            "no hosts file", where=str(inventory / HOSTS_FILES[0]),
            hint="list your server under all.hosts as in inventories/example/hosts.yml, "
            "or run `aidevops sandbox up` for the local sandbox",
        )
    data = load_yaml(hosts_file)
    if not isinstance(data, dict):
        raise BadInput("expected a mapping with an 'all' group", where=str(hosts_file))
    found: dict[str, dict[str, Any]] = {}

    def walk(group: Any, inherited: dict[str, Any], path: str) -> None:
        if group is None:
            return
        if not isinstance(group, dict):
            raise BadInput(f"'{path}' must be a mapping", where=str(hosts_file))
        gvars = {**inherited, **(group.get("vars") or {})}
        for name, hvars in (group.get("hosts") or {}).items():
            found[str(name)] = {**found.get(str(name), {}), **gvars, **(hvars or {})}
        for child, body in (group.get("children") or {}).items():
            walk(body, gvars, f"{path}.children.{child}")

    for top, body in data.items():
        walk(body, {}, str(top))
    if not found:
        raise BadInput("the inventory lists no host", where=str(hosts_file), hint="add one under all.hosts")
    hosts = tuple(Host(name, hvars) for name, hvars in found.items())
    for host in hosts:
        key = host.vars.get("ansible_ssh_private_key_file") or host.vars.get("ansible_private_key_file")
        if key and "{{" not in str(key):
            key_path = Path(str(key)).expanduser()
            if not key_path.is_absolute():
                key_path = inventory / key_path
            if not key_path.exists():
                raise BadInput(
                    f"host '{host.name}': ansible_ssh_private_key_file {key} does not exist",
                    where=str(hosts_file), hint="point it at the SSH private key for this server",
                )
    return hosts


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

    services = req.get("services", list(SERVICES))
    if not isinstance(services, list):
        raise fail("aidevops.services", f"expected a list, got {type(services).__name__}")
    for i, svc in enumerate(services):
        if svc not in SERVICES:
            raise fail(f"aidevops.services[{i}]", f"unknown service '{svc}'", f"expected one of {', '.join(SERVICES)}")
    if len(set(services)) != len(services):
        raise fail("aidevops.services", "lists a service twice")

    dns = req.get("dns")
    if not isinstance(dns, dict) or "provider" not in dns:
        raise fail("aidevops.dns.provider", "missing", f"expected one of {', '.join(DNS_PROVIDERS)}")
    if dns["provider"] not in DNS_PROVIDERS:
        raise fail("aidevops.dns.provider", f"unknown provider '{dns['provider']}'",
                   f"expected one of {', '.join(DNS_PROVIDERS)}")

    hostnames = {"n8n": f"n8n.{domain}", "supabase": f"supabase.{domain}", "studio": f"studio.{domain}"}
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


AI_PROVIDERS = ("anthropic", "openai", "offline")  # and replay:FILE


def parse_ai(section: Any, fail) -> dict[str, Any]:
    """The request's `ai:` section: which provider decides, and its limits. Keys come from the environment only."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise fail("aidevops.ai", "expected a mapping")
    checks = {
        "provider": (lambda v: isinstance(v, str) and (v in AI_PROVIDERS or v.startswith("replay:")),
                     f"one of {', '.join(AI_PROVIDERS)} or replay:FILE"),
        "model": (lambda v: isinstance(v, str) and v.strip() != "", "a model name"),
        "base_url": (lambda v: isinstance(v, str) and re.match(r"^https?://\S+$", v), "an http(s) URL"),
        "timeout": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v <= 600,
                    "seconds from 1 to 600"),
        "retries": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10,
                    "a whole number from 0 to 10"),
        "token_budget": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                         "a whole number of tokens (0: no model calls)"),
    }
    for key, value in section.items():
        if key not in checks:
            hint = "API keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY" if "key" in str(key) else \
                f"expected one of {', '.join(checks)}"
            raise fail(f"aidevops.ai.{key}", "unknown key", hint)
        ok, expected = checks[key]
        if not ok(value):
            raise fail(f"aidevops.ai.{key}", f"expected {expected}, got {value!r}")
    return dict(section)
