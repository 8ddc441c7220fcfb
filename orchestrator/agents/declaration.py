"""A role's declaration: what the controller needs to know about its agent, read from `meta/aidevops.yml`.

    agent:
      title: n8n deployment
      after: [base_server]          # agents that must finish first, when they are part of the plan
      after_services: false         # true: after every service agent, and run if at least one came through
      needs_dns: false              # planned only when the request names a DNS provider
      service:                      # planned only when the request asks for this service
        name: n8n
        app_ports: [5678, 5432]     # listen on 127.0.0.1 inside the host only
        vault_file: vault_n8n.yml   # where the role saves the secrets it generates (group_vars/all/)
        secrets: [n8n_encryption_key, ...]
        backup:                     # what cannot be regenerated (roles/restic_backup backs it up)
          summary: its database, its data folder and its encryption key   # one line for the report
          project_dir_variable: n8n_project_dir                       # the compose project's folder
          database: {compose_service: postgres, name_variable: n8n_db_name, user_variable: n8n_db_user}
          tables: [workflow_entity, credentials_entity, user, execution_entity]   # row counts checked
          secrets: {N8N_ENCRYPTION_KEY: n8n_encryption_key}          # NAME in secrets.env: vault secret
          data: [{name: n8n_data, compose_service: n8n, path: /home/node/.n8n}]  # or a host path
          image_service: n8n                                         # whose image meta.json names
          version_variable: n8n_version
        # (the older form, `backup: one sentence`, is read as a summary with nothing to back up)
        state_variable: null        # a role variable whose value `rendered` means: files in place, nothing
                                    # started (supabase_state); the validator then checks the files only
        sites:                      # the public names the proxy serves for it
          - name: n8n               # its key in the request's `hostnames:`
            title: n8n
            subdomain: n8n          # default host name: <subdomain>.<domain>
            upstream_port: 5678
            health_path: /healthz
            login: {user_variable: n8n_owner_email, password_secret: n8n_owner_password}
            proxy: {websocket: true, read_timeout: 3600}   # nginx_proxy's settings for the site
      host_state:                   # what the role leaves on a host, fingerprinted after a successful run:
        paths: [/etc/nginx]         # files (a folder: every file in it) by content, mode and owner
        services: [nginx]           # systemd units, active and enabled
        commands: ["ufw status verbose"]   # outputs that tell managed state files do not hold
                                    # (Jinja over the role's variables, per host). `aidevops run` keeps a phase
                                    # whose inputs and host state are both as a successful run left them.
      maintenance:                  # the report's guide: steps per section, Jinja over the role's variables
        - section: backups
          when: "{{ n8n_backup_enabled }}"
          text: ...
          commands: [...]

Every service fact the orchestrator uses (names, ports, health paths, hostnames, secrets, maintenance notes) is
read from here: adding a service is adding a role and its declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import safe_load

FILE = Path("meta") / "aidevops.yml"
SECTIONS = ("updates", "backups", "certificates", "secrets", "logs")


@dataclass(frozen=True)
class Login:
    user_variable: str | None = None  # a role variable holding the account name
    user_secret: str | None = None  # or a generated secret holding it
    password_secret: str | None = None


@dataclass(frozen=True)
class HealthAuth:
    """What a site's health endpoint wants before it answers 200: a gateway that refuses without it shows
    that its key or password check is in force, one that answers with it that the service behind is up."""
    scheme: str  # "apikey": the secret in a header; "basic": the site's login as HTTP basic auth
    header: str = "apikey"
    secret: str | None = None  # the vault secret sent in the header (scheme apikey)


HEALTH_AUTH_SCHEMES = ("apikey", "basic")


@dataclass(frozen=True)
class Site:
    name: str
    title: str
    subdomain: str
    upstream_port: int
    health_path: str
    login: Login | None = None
    proxy: dict[str, Any] = field(default_factory=dict)  # nginx_proxy's site settings (websockets, timeouts)
    health_auth: HealthAuth | None = None


@dataclass(frozen=True)
class BackupDatabase:
    compose_service: str  # the PostgreSQL service of the compose project
    name: str | None = None  # the database's name, or
    name_variable: str | None = None  # the role variable holding it
    user: str | None = None
    user_variable: str | None = None


@dataclass(frozen=True)
class BackupData:
    name: str  # its folder in the snapshot: files/<name>/
    path: str  # inside compose_service's container, else on the host (relative: to the project folder)
    compose_service: str | None = None


@dataclass(frozen=True)
class Backup:
    """What of a service cannot be regenerated, so its backups hold it (roles/restic_backup)."""
    summary: str
    database: BackupDatabase | None = None  # None: the older one-sentence form, nothing declared to back up
    tables: tuple[str, ...] = ()
    secrets: dict[str, str] = field(default_factory=dict)  # NAME in secrets.env -> the vault secret
    data: tuple[BackupData, ...] = ()
    project_dir_variable: str | None = None
    image_service: str | None = None
    version_variable: str | None = None


@dataclass(frozen=True)
class Needs:
    """What a service needs of its host (the upstream project's documented minimum), for `placement: auto`."""
    memory_mb: int = 0
    cores: int = 0
    disk_gb: int = 0


@dataclass(frozen=True)
class Service:
    name: str
    sites: tuple[Site, ...]
    app_ports: tuple[int, ...] = ()
    vault_file: str | None = None
    secrets: tuple[str, ...] = ()
    backup: Backup | None = None
    needs: Needs = Needs()
    state_variable: str | None = None  # its value `rendered`: the service's files are in place, nothing runs


@dataclass(frozen=True)
class MaintenanceStep:
    section: str  # one of SECTIONS
    text: str  # Jinja over the role's variables and the run's (inventory, run_id, ...)
    commands: tuple[str, ...] = ()
    when: str | None = None  # Jinja: the step is shown when it renders truthy


@dataclass(frozen=True)
class HostState:
    """What a role manages on a host, fingerprinted so that an unchanged phase can be kept (run/unchanged.py).
    Each entry is Jinja over the role's variables, rendered per host."""
    paths: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Declaration:
    role: str
    title: str
    after: tuple[str, ...] = ()
    after_services: bool = False
    needs_dns: bool = False
    service: Service | None = None
    maintenance: tuple[MaintenanceStep, ...] = ()
    host_state: HostState | None = None  # None: the phase runs every time


def _fail(path: Path, key: str, expected: str) -> BadInput:
    return BadInput(f"{key}: expected {expected}", where=str(path), hint="see orchestrator/agents/declaration.py")


def _mapping(value: Any, path: Path, key: str, known: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, key, "a mapping")
    unknown = sorted(set(value) - known)
    if unknown:
        raise _fail(path, f"{key}.{unknown[0]}", f"one of {', '.join(sorted(known))}")
    return value


def _site(raw: Any, path: Path, key: str) -> Site:
    d = _mapping(raw, path, key, {"name", "title", "subdomain", "upstream_port", "health_path", "login", "proxy",
                                  "health_auth"})
    if not isinstance(d.get("upstream_port"), int):
        raise _fail(path, f"{key}.upstream_port", "a port number")
    login = None
    if d.get("login") is not None:
        login = Login(**_mapping(d["login"], path, f"{key}.login", {"user_variable", "user_secret", "password_secret"}))
    name = str(d.get("name") or "")
    if not name:
        raise _fail(path, f"{key}.name", "the site's name")
    return Site(name, str(d.get("title") or name), str(d.get("subdomain") or name), d["upstream_port"],
                str(d.get("health_path") or "/"), login, dict(d.get("proxy") or {}),
                _health_auth(d.get("health_auth"), login, path, f"{key}.health_auth"))


def _health_auth(raw: Any, login: Login | None, path: Path, key: str) -> HealthAuth | None:
    if raw is None:
        return None
    d = _mapping(raw, path, key, {"scheme", "header", "secret"})
    scheme = d.get("scheme")
    if scheme not in HEALTH_AUTH_SCHEMES:
        raise _fail(path, f"{key}.scheme", f"one of {', '.join(HEALTH_AUTH_SCHEMES)}")
    if scheme == "apikey" and not d.get("secret"):
        raise _fail(path, f"{key}.secret", "the vault secret sent as the key")
    if scheme == "basic" and not (login and login.user_secret and login.password_secret):
        raise _fail(path, f"{key}.scheme", "a site login with user_secret and password_secret for basic auth")
    return HealthAuth(scheme, str(d.get("header") or "apikey"), d.get("secret"))


def _service(raw: Any, path: Path) -> Service:
    d = _mapping(raw, path, "agent.service", {"name", "sites", "app_ports", "vault_file", "secrets", "backup",
                                              "needs", "state_variable"})
    sites = tuple(_site(s, path, f"agent.service.sites[{i}]") for i, s in enumerate(d.get("sites") or []))
    ports = d.get("app_ports") or []
    if not all(isinstance(p, int) for p in ports):
        raise _fail(path, "agent.service.app_ports", "a list of port numbers")
    secrets = tuple(d.get("secrets") or ())
    return Service(str(d["name"]), sites, tuple(ports), d.get("vault_file"), secrets,
                   _backup(d.get("backup"), secrets, path), _needs(d.get("needs"), path),
                   _name(d, path, "agent.service", "state_variable", "a role variable's name", required=False))


def _needs(raw: Any, path: Path) -> Needs:
    if raw is None:
        return Needs()
    d = _mapping(raw, path, "agent.service.needs", {"memory_mb", "cores", "disk_gb"})
    for key, value in d.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _fail(path, f"agent.service.needs.{key}", "a whole number, 0 or more")
    return Needs(**d)


NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")  # a table, or schema.table


def _name(d: dict, path: Path, key: str, field_: str, what: str, *, required: bool = True,
          pattern: re.Pattern = NAME) -> str | None:
    value = d.get(field_)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise _fail(path, f"{key}.{field_}", what)
    return value


def _backup(raw: Any, vault_secrets: tuple[str, ...], path: Path) -> Backup | None:
    key = "agent.service.backup"
    if raw is None:
        return None
    if isinstance(raw, str):  # the older form: one sentence, nothing declared to back up
        return Backup(summary=raw)
    d = _mapping(raw, path, key, {"summary", "database", "tables", "secrets", "data", "project_dir_variable",
                                  "image_service", "version_variable"})
    if not isinstance(d.get("summary"), str) or not d["summary"].strip():
        raise _fail(path, f"{key}.summary", "one line on what the backup covers")
    db = _mapping(d.get("database"), path, f"{key}.database",
                  {"compose_service", "name", "name_variable", "user", "user_variable"})
    for what in ("name", "user"):
        if (db.get(what) is None) == (db.get(f"{what}_variable") is None):
            raise _fail(path, f"{key}.database", f"exactly one of {what} and {what}_variable")
        _name(db, path, f"{key}.database", what, f"the database's {what}", required=False)
        _name(db, path, f"{key}.database", f"{what}_variable", "a role variable's name", required=False)
    database = BackupDatabase(_name(db, path, f"{key}.database", "compose_service", "a compose service's name",
                                    pattern=re.compile(r"^[a-z0-9][a-z0-9_.-]*$")),
                              db.get("name"), db.get("name_variable"), db.get("user"), db.get("user_variable"))
    tables = d.get("tables")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, str) and TABLE.match(t) for t in tables):
        raise _fail(path, f"{key}.tables", "a list of the main tables (table or schema.table) whose rows are counted")
    secrets = d.get("secrets") or {}
    if not isinstance(secrets, dict) or not all(isinstance(n, str) and NAME.match(n) for n in secrets):
        raise _fail(path, f"{key}.secrets", "a mapping of NAME (in secrets.env) to a vault secret")
    unknown = sorted(v for v in secrets.values() if v not in vault_secrets)
    if unknown:
        raise _fail(path, f"{key}.secrets.{unknown[0]}", "one of the service's secrets (agent.service.secrets)")
    data = []
    for i, item in enumerate(d.get("data") or []):
        k = f"{key}.data[{i}]"
        e = _mapping(item, path, k, {"name", "path", "compose_service"})
        if not isinstance(e.get("path"), str) or not e["path"].strip():
            raise _fail(path, f"{k}.path", "the folder to back up")
        data.append(BackupData(_name(e, path, k, "name", "a folder name (letters, digits, _)"), e["path"],
                               e.get("compose_service")))
    return Backup(
        summary=d["summary"].strip(), database=database, tables=tuple(tables), secrets=dict(secrets),
        data=tuple(data),
        project_dir_variable=_name(d, path, key, "project_dir_variable", "the role variable of the project folder"),
        image_service=d.get("image_service"),
        version_variable=_name(d, path, key, "version_variable", "a role variable's name", required=False))


def _step(raw: Any, path: Path, key: str) -> MaintenanceStep:
    d = _mapping(raw, path, key, {"section", "text", "commands", "when"})
    if d.get("section") not in SECTIONS:
        raise _fail(path, f"{key}.section", f"one of {', '.join(SECTIONS)}")
    return MaintenanceStep(d["section"], str(d.get("text") or ""), tuple(str(c) for c in d.get("commands") or ()),
                           d.get("when"))


def _host_state(raw: Any, path: Path) -> HostState | None:
    if raw is None:
        return None
    d = _mapping(raw, path, "agent.host_state", {"paths", "services", "commands"})
    lists = {}
    for key in ("paths", "services", "commands"):
        value = d.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise _fail(path, f"agent.host_state.{key}", "a list of strings")
        lists[key] = tuple(value)
    if not any(lists.values()):
        raise _fail(path, "agent.host_state", "at least one of paths, services and commands")
    if not all(p.startswith(("/", "{{")) for p in lists["paths"]):
        raise _fail(path, "agent.host_state.paths", "absolute paths")
    return HostState(**lists)


def load(role_dir: Path) -> Declaration | None:
    """The role's declaration, or None when its meta/aidevops.yml declares no agent (an internal role)."""
    path = Path(role_dir) / FILE
    if not path.exists():
        return None
    try:
        data = safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise BadInput(f"invalid YAML: {exc}", where=str(path)) from None
    if not isinstance(data, dict) or data.get("agent") is None:
        return None
    d = _mapping(data["agent"], path, "agent",
                 {"title", "after", "after_services", "needs_dns", "service", "maintenance", "host_state"})
    return Declaration(
        role=Path(role_dir).name, title=str(d.get("title") or Path(role_dir).name),
        after=tuple(d.get("after") or ()), after_services=bool(d.get("after_services")),
        needs_dns=bool(d.get("needs_dns")),
        service=_service(d["service"], path) if d.get("service") else None,
        maintenance=tuple(_step(s, path, f"agent.maintenance[{i}]") for i, s in enumerate(d.get("maintenance") or [])),
        host_state=_host_state(d.get("host_state"), path),
    )
