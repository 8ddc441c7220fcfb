"""Plain (non-template) role settings as they apply to this inventory: its group_vars, else the role's defaults.

The report states what was deployed with which values (versions, backup folder, schedule), so it reads
them where Ansible does; a value that is a Jinja expression is only resolved in the simple cases the
inventories use (the request's admin_email), otherwise left unknown rather than guessed.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from orchestrator import project
from orchestrator.agents import registry
from orchestrator.inventory_yaml import StrictLoader


class RoleVars:
    def __init__(self, inventory: Path, request: dict[str, Any]):
        self.inventory = inventory
        self.request = request

    @cached_property
    def _group_vars(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for path in sorted((self.inventory / "group_vars").rglob("*.y*ml")):
            text = path.read_text(errors="replace")
            if text.startswith("$ANSIBLE_VAULT"):
                continue  # secrets are read by credentials.py, never here
            try:
                data = yaml.load(text, Loader=StrictLoader)  # noqa: S506
            except yaml.YAMLError:
                continue
            if isinstance(data, dict):
                found.update(data)
        return found

    def _role_defaults(self, role: str) -> dict[str, Any]:
        path = project.declared_roles_dir() / role / "defaults" / "main.yml"
        try:
            return yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return {}

    def get(self, name: str, default: Any = None) -> Any:
        value = self._group_vars.get(name)
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
