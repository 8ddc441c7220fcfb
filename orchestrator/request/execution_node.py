"""Execution nodes: a host's `aidevops_execution_node` setting, which names the machine its phases run on.

A node is reached over SSH and runs ansible-runner's worker (orchestrator/run/remote.py); the hosts behind it
are reached from there. The setting is a mapping, usually in a group's `vars` in hosts.yml:

    aidevops_execution_node: {host: 10.0.0.5, port: 22, user: root, private_key_file: keys/node,
                              python: /opt/aidevops-node/bin/python, host_key_checking: true}

Checked by hand rather than with the request's pydantic schema: its error wording is built around the
`aidevops.` key paths of the request file, and these six keys need only a few lines. Each mistake is one
line naming the key path in hosts.yml (`all.children.far.vars.aidevops_execution_node.port`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.request.fields import excerpt

VARIABLE = "aidevops_execution_node"
KEYS = ("host", "port", "user", "private_key_file", "python", "host_key_checking")
# What ssh takes as a host: a name, an IPv4 or IPv6 address; no spaces, options or user@ parts.
_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}$")
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
# A command name or a path: it is placed in a remote shell command line, quoted, but a space or a quote
# there is a mistake in any case.
_PYTHON = re.compile(r"^[A-Za-z0-9_./+-]{1,4096}$")


@dataclass(frozen=True)
class ExecutionNode:
    host: str
    port: int = 22
    user: str = "root"
    private_key_file: Path | None = None  # resolved: absolute
    python: str = "python3"
    host_key_checking: bool = True

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


Fail = Callable[[str, str, "str | None"], BadInput]


def parse_node(value: Any, key: str, inventory: Path, fail: Fail) -> ExecutionNode:
    """The node a mapping describes, or `fail(key path, message, hint)` raised for its first mistake."""
    if not isinstance(value, dict):
        raise fail(key, f"expected a mapping with host (and port, user, private_key_file, python), got "
                        f"{_kind(value)}", "e.g. {host: 10.0.0.5, user: root}")
    for name in value:
        if name not in KEYS:
            raise fail(f"{key}.{str(name)[:40]}", "unknown key", f"expected one of {', '.join(KEYS)}")
    host = value.get("host")
    if host is None:
        raise fail(f"{key}.host", "missing", "the node's address or host name, as ssh reaches it")
    if not isinstance(host, str) or not _HOST.match(host):
        raise fail(f"{key}.host", f"expected an address or host name, got {excerpt(host)}", None)
    port = value.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise fail(f"{key}.port", f"expected a whole number from 1 to 65535, got {excerpt(port)}", None)
    user = value.get("user", "root")
    if not isinstance(user, str) or not _USER.match(user):
        raise fail(f"{key}.user", f"expected a user name, got {excerpt(user)}", None)
    python = value.get("python", "python3")
    if not isinstance(python, str) or not _PYTHON.match(python):
        raise fail(f"{key}.python", f"expected a command or a path without spaces, got {excerpt(python)}",
                   "a Python on the node that has ansible-runner and ansible-core")
    checking = value.get("host_key_checking", True)
    if not isinstance(checking, bool):
        raise fail(f"{key}.host_key_checking", f"expected true or false, got {excerpt(checking)}", None)
    key_file = value.get("private_key_file")
    resolved = None
    if key_file is not None:
        if not isinstance(key_file, str) or not key_file.strip() or "{{" in key_file:
            raise fail(f"{key}.private_key_file", f"expected a path, got {excerpt(key_file)}",
                       "relative to the inventory folder or absolute (templates are not expanded here)")
        resolved = Path(key_file).expanduser()
        resolved = resolved if resolved.is_absolute() else inventory / resolved
        if not resolved.is_file():
            raise fail(f"{key}.private_key_file", f"{excerpt(key_file)} does not exist",
                       "the SSH private key that logs in to the node")
    return ExecutionNode(host, port, user, resolved, python, checking)


def target_key(host_vars: dict[str, Any], inventory: Path) -> Path | None:
    """The SSH key file a host's own vars name for Ansible (resolved as load_hosts checks it), when it is a
    plain path: the key that goes to the host's node, which has no copy of it."""
    key = host_vars.get("ansible_ssh_private_key_file") or host_vars.get("ansible_private_key_file")
    if not key or "{{" in str(key):
        return None
    path = Path(str(key)).expanduser()
    return path if path.is_absolute() else inventory / path


@dataclass(frozen=True)
class Route:
    """How a phase reaches some of its hosts: through `node`, whose agent holds `key` (the hosts' own SSH key,
    when their vars name one). ansible-runner loads one key into the node's agent, so hosts behind one node
    with different keys are separate routes."""
    node: ExecutionNode
    key: Path | None = None


def routes(hosts: Iterable[Any], inventory: Path) -> dict[Route | None, list[str]]:
    """Host names grouped by route (None: straight from this machine), in inventory order.
    hosts: Host records (name, vars, node)."""
    groups: dict[Route | None, list[str]] = {}
    for host in hosts:
        route = Route(host.node, target_key(host.vars, inventory)) if host.node is not None else None
        groups.setdefault(route, []).append(host.name)
    return groups


def route_folder(route: Route | None, index: int) -> str:
    """The folder of one route's private data dir in a phase split over several routes."""
    return f"{index + 1:02d}-local" if route is None else f"{index + 1:02d}-{route.node.host}-{route.node.port}"


def _kind(value: Any) -> str:
    return {"dict": "a mapping", "list": "a list", "str": "text"}.get(type(value).__name__, type(value).__name__)
