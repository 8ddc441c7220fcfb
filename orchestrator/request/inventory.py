"""Reading the inventory's files: its YAML, its folder, and the hosts of hosts.yml with their variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import BadInput
from orchestrator.request.model import Host

HOSTS_FILES = ("hosts.yml", "hosts.yaml")


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
