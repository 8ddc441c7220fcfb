"""Reading the inventory's files: its folder, and the hosts of hosts.yml with their variables.

hosts.yml is checked in every shape a user can write it (a list where a mapping belongs, vars as a string,
an unknown key in a group, an odd host name): each mistake is one line naming the file and the key path,
e.g. `all.children.web.vars`.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import load_yaml
from orchestrator.request.execution_node import VARIABLE as NODE_VARIABLE
from orchestrator.request.execution_node import parse_node
from orchestrator.request.fields import excerpt
from orchestrator.request.model import Host

HOSTS_FILES = ("hosts.yml", "hosts.yaml")
GROUP_KEYS = ("hosts", "vars", "children")
# A host name or address as Ansible takes it literally: no spaces, quotes or brackets (Ansible reads
# `web[1:3]` as a range of hosts, which aidevops does not expand).
_HOST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def inventory_dir(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise BadInput("inventory not found", where=str(path), hint="give the inventory folder, e.g. inventories/prod")
    if path.is_file():
        return path.parent.resolve()
    return path.resolve()


def hosts_file(inventory: Path) -> Path:
    found = next((inventory / n for n in HOSTS_FILES if (inventory / n).exists() or (inventory / n).is_symlink()),
                 None)
    if found is None:
        raise BadInput(
            "no hosts file", where=str(inventory / HOSTS_FILES[0]),
            hint="list your server under all.hosts as in inventories/example/hosts.yml, "
            "or run `aidevops sandbox up` for the local sandbox",
        )
    return found


def _kind(value: Any) -> str:
    return {"dict": "a mapping", "list": "a list", "str": "text"}.get(type(value).__name__, type(value).__name__)


def _variables(value: Any, path: str, fail, inventory: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(path, f"expected a mapping of variables, got {_kind(value)}", "write `name: value` lines under it")
    for name in value:
        if not isinstance(name, str) or not _VAR_NAME.match(name):
            raise fail(f"{path}.{str(name)[:40]}", f"{excerpt(name)} is not a variable name",
                       "letters, digits and _, not starting with a digit")
    # Checked where it is written, so that a mistake names that key path; null opts a host out of its group's node.
    if value.get(NODE_VARIABLE) is not None:
        parse_node(value[NODE_VARIABLE], f"{path}.{NODE_VARIABLE}", inventory, fail)
    return value


def load_hosts(inventory: Path) -> tuple[Host, ...]:
    """Hosts of a YAML inventory (hosts.yml), with the vars set on them or their groups in that file."""
    path = hosts_file(inventory)
    data = load_yaml(path)

    def fail(key: str, message: str, hint: str | None = None) -> BadInput:
        return BadInput(f"{key}: {message}" if key else message, where=str(path), hint=hint)

    if data is None:
        raise fail("", "the file is empty", "list your server under all.hosts as in inventories/example/hosts.yml")
    if not isinstance(data, dict):
        raise fail("", f"expected a mapping with an 'all' group, got {_kind(data)}",
                   "see inventories/example/hosts.yml")
    found: dict[str, dict[str, Any]] = {}
    own_vars: dict[str, dict[str, Any]] = {}  # set on the host itself, not through a group
    groups: dict[str, list[str]] = {}  # host -> the groups it is in, in the order the file names them

    def walk(group: Any, inherited: dict[str, Any], key: str, depth: int = 0,
             names: tuple[str, ...] = ()) -> None:
        if group is None:
            return
        if not isinstance(group, dict):
            raise fail(key, f"expected a group (a mapping of hosts, vars, children), got {_kind(group)}")
        if depth > 20:
            raise fail(key, "groups nested too deeply")
        for name in group:
            if name not in GROUP_KEYS:
                raise fail(f"{key}.{str(name)[:40]}", "unknown key", f"a group holds {', '.join(GROUP_KEYS)}")
        gvars = {**inherited, **_variables(group.get("vars"), f"{key}.vars", fail, inventory)}
        hosts = group.get("hosts")
        if hosts is not None and not isinstance(hosts, dict):
            raise fail(f"{key}.hosts", f"expected a mapping of host names, got {_kind(hosts)}",
                       "write each host as `name:` with its variables indented below it")
        for name, hvars in (hosts or {}).items():
            if not isinstance(name, str) or not _HOST_NAME.match(name):
                raise fail(f"{key}.hosts", f"{excerpt(name)} is not a host name",
                           "letters, digits, '.', '-', '_' (ranges like web[1:3] are not expanded)")
            own = _variables(hvars, f"{key}.hosts.{name}", fail, inventory)
            found[name] = {**found.get(name, {}), **gvars, **own}
            own_vars[name] = {**own_vars.get(name, {}), **own}
            held = groups.setdefault(name, [])
            held += [g for g in names if g not in held]
        children = group.get("children")
        if children is not None and not isinstance(children, dict):
            raise fail(f"{key}.children", f"expected a mapping of groups, got {_kind(children)}",
                       "write each child group as `name:` with its hosts indented below it")
        for child, body in (children or {}).items():
            walk(body, gvars, f"{key}.children.{str(child)[:40]}", depth + 1, (*names, str(child)))

    for top, body in data.items():
        walk(body, {}, str(top)[:40], names=() if top == "all" else (str(top),))
    if not found:
        raise fail("", "the inventory lists no host", "add one under all.hosts")
    nodes = {name: parse_node(hvars[NODE_VARIABLE], NODE_VARIABLE, inventory, fail)  # checked in _variables
             for name, hvars in found.items() if hvars.get(NODE_VARIABLE) is not None}
    hosts = tuple(Host(name, hvars, tuple(groups.get(name, ())), nodes.get(name), own_vars.get(name, {}))
                  for name, hvars in found.items())
    for host in hosts:
        key = host.vars.get("ansible_ssh_private_key_file") or host.vars.get("ansible_private_key_file")
        if key and "{{" not in str(key):
            key_path = Path(str(key)).expanduser()
            if not key_path.is_absolute():
                key_path = inventory / key_path
            if not key_path.exists():
                raise fail("", f"host '{host.name}': ansible_ssh_private_key_file {str(key)[:80]} does not exist",
                           "point it at the SSH private key for this server")
    return hosts


def matching_hosts(inventory: Path, pattern: str, hosts: tuple[Host, ...]) -> tuple[str, ...]:
    """The hosts an Ansible host pattern (`--limit`) matches, resolved by Ansible's own inventory code so that
    every form works as Ansible users expect (names, groups, `web*`, `a:b`, `all:!db-1`, `n8n:&prod`).
    One clear error when it matches none."""
    from ansible.inventory.manager import InventoryManager  # slow to import: only a --limit needs it
    from ansible.parsing.dataloader import DataLoader

    manager = InventoryManager(loader=DataLoader(), sources=[str(hosts_file(inventory))])
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # Ansible's own "could not match" warning: said below
            manager.subset(pattern)
            found = {h.name for h in manager.get_hosts()}
    except Exception as exc:  # noqa: BLE001 - AnsibleError and its kin: any unreadable pattern is the user's input
        raise BadInput(f"--limit {excerpt(pattern)}: {str(exc).splitlines()[0][:200]}",
                       hint="an Ansible host pattern: host or group names, web*, a:b, all:!db-1") from None
    names = tuple(h.name for h in hosts if h.name in found)
    if not names:
        raise BadInput(f"--limit {excerpt(pattern)} matches no host of the inventory", where=str(hosts_file(inventory)),
                       hint=f"hosts: {', '.join(h.name for h in hosts)[:200]}")
    return names
