"""Plain (non-template) role settings as they apply to this inventory: its group_vars, else the role's defaults;
for one host, its own vars first (hosts.yml, host_vars/<host>, group_vars/<its groups>).

The report states what was deployed with which values (versions, backup folder, schedule), and the validator
what a host was told to run (a service only rendered), so they read them where Ansible does; a value that is a
Jinja expression is only resolved in the simple cases the inventories use (the request's admin_email),
otherwise left unknown rather than guessed.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from orchestrator import project
from orchestrator.agents import registry
from orchestrator.inventory_yaml import StrictLoader, safe_load
from orchestrator.request.model import Host


class RoleVars:
    def __init__(self, inventory: Path, request: dict[str, Any]):
        self.inventory = inventory
        self.request = request

    @cached_property
    def _group_vars(self) -> dict[str, Any]:
        return _read_vars(self.inventory / "group_vars", "**")

    def _own_vars(self, host: Host) -> dict[str, Any]:
        """The host's vars in Ansible's order, lowest first: its groups' vars in hosts.yml, group_vars/all, its
        groups' group_vars files, its own vars in hosts.yml, its host_vars files."""
        found = {k: v for k, v in host.vars.items() if k not in host.own_vars}
        found.update(_read_vars(self.inventory / "group_vars", "all"))
        for group in host.groups:
            found.update(_read_vars(self.inventory / "group_vars", group))
        found.update(host.own_vars)
        found.update(_read_vars(self.inventory / "host_vars", host.name))
        return found

    def _role_defaults(self, role: str) -> dict[str, Any]:
        path = project.declared_roles_dir() / role / "defaults" / "main.yml"
        try:
            return safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return {}

    def get(self, name: str, default: Any = None, host: Host | None = None) -> Any:
        value = (self._own_vars(host) if host is not None else self._group_vars).get(name)
        if value is None:
            role = next((r for r in registry() if name.startswith(r + "_")), None)
            value = self._role_defaults(role).get(name) if role else None
        if isinstance(value, str) and "{{" in value:
            value = self._resolve(value)
        return default if value is None else value

    def _resolve(self, expr: str) -> Any:
        inner = expr.strip().removeprefix("{{").removesuffix("}}").strip()
        if inner == "aidevops.admin_email":
            return self.request.get("admin_email")
        if inner == "aidevops.domain":
            return self.request.get("domain")
        # n8n_image: "docker.n8n.io/n8nio/n8n:{{ n8n_version }}" and the like.
        if expr.count("{{") == 1 and inner.isidentifier():
            value = self.get(inner)
            return None if value is None else expr.replace(expr[expr.index("{{"):expr.index("}}") + 2], str(value))
        return None


def var_files(folder: Path, name: str) -> list[Path]:
    """The files Ansible reads for NAME in a group_vars/ or host_vars/ folder, in its order (the last wins):
    NAME.yml or NAME.yaml, then NAME/*.yml."""
    paths = [p for p in (folder / f"{name}.yml", folder / f"{name}.yaml") if p.is_file()]
    return paths + (sorted((folder / name).glob("*.y*ml")) if (folder / name).is_dir() else [])


def _read_vars(folder: Path, name: str) -> dict[str, Any]:
    """The plain variables of folder/<name>.yml and folder/<name>/*.yml (every file below folder for `**`);
    vault-encrypted files are left out (secrets are read by credentials.py, never here)."""
    paths = sorted(folder.rglob("*.y*ml")) if name == "**" else var_files(folder, name)
    found: dict[str, Any] = {}
    for path in paths:
        text = path.read_text(errors="replace")
        if text.startswith("$ANSIBLE_VAULT"):
            continue
        try:
            data = yaml.load(text, Loader=StrictLoader)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict):
            found.update(data)
    return found
