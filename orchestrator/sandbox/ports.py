"""Fixed local ports for the sandbox's containers: chosen once, kept in the state folder, re-used on recreate.

Docker gives a `-p 127.0.0.1::22` binding a new random port at every start of the container (`docker
restart`, a restart of the engine or of the machine), and hosts.yml, the printed curl and ssh lines and the
tests would then point at dead ports. A fixed binding (`-p 127.0.0.1:PORT:22`) survives all of them.

First choice: a block of ports derived from the prefix, below Linux's ephemeral range (where Docker's random
ports and outgoing connections live), so the same sandbox gets the same ports again after `down` and `up`.
A port another process holds when it is first chosen is replaced by one the OS hands out; the choice is kept
in <state>/sandbox/ports.json. A kept port taken by another process later is one clear error naming it.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
from pathlib import Path

from orchestrator.errors import EnvironmentProblem

FIRST_PORT = 10000
BLOCK = 40  # 9 hosts x 3 ports (slots 0-26), the services' 4 (slots 27-30), room to spare
BLOCKS = (32768 - FIRST_PORT) // BLOCK  # the blocks end below the ephemeral range (32768-60999)
SERVICE_SLOTS = {"dns": 27, "acme": 29}


class PortTaken(EnvironmentProblem):
    pass


def preferred_port(prefix: str, slot: int) -> int:
    """The port a prefix's slot gets when nothing else holds it (the same on every machine)."""
    digest = int(hashlib.sha256(prefix.encode()).hexdigest(), 16)
    return FIRST_PORT + (digest % BLOCKS) * BLOCK + slot


def host_slot(index: int) -> int:
    """The first slot of sandbox host `index` (1-9): its 22, 80 and 443 take three in a row."""
    return 3 * (index - 1)


def is_free(port: int, proto: str = "tcp") -> bool:
    """Whether 127.0.0.1:port can be bound (with SO_REUSEADDR, as Docker's proxy binds)."""
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def os_free_port(proto: str = "tcp") -> int:
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def holder(port: int, proto: str = "tcp") -> str:
    """Who listens on the port, as `ss` tells it ('nginx (pid 123)'), or 'another process'."""
    flag = "-Hlunp" if proto == "udp" else "-Hltnp"
    try:
        out = subprocess.run(["ss", flag, f"sport = :{port}"], capture_output=True, text=True, timeout=5,
                             check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "another process"
    found = re.search(r'users:\(\("([^"]+)",pid=(\d+)', out)
    return f"{found.group(1)} (pid {found.group(2)})" if found else "another process"


class PortBook:
    """container -> {'22/tcp': 10022, ...}: the local ports each container publishes, in a JSON file."""

    def __init__(self, file: Path, prefix: str):
        self.file = file
        self.prefix = prefix

    def _read(self) -> dict[str, dict[str, int]]:
        try:
            data = json.loads(self.file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def ports(self, container: str, first_slot: int, targets: list[str], log=print,
              bound: dict[str, int] | None = None) -> dict[str, int]:
        """The local port of each target ('22/tcp', '53/udp') of the container: the kept one, else those it is
        bound to already (`bound`: a container made before this file was lost), else chosen now."""
        book = self._read()
        kept = book.get(container) or {}
        if all(isinstance(kept.get(t), int) for t in targets):
            return {t: kept[t] for t in targets}
        taken_here = {p for c, ports in book.items() if c != container for p in ports.values()}
        chosen = {}
        if bound and all(bound.get(t) for t in targets):
            chosen = {t: bound[t] for t in targets}
        for offset, target in enumerate(targets):
            if target in chosen:
                continue
            proto = target.split("/")[1]
            port = preferred_port(self.prefix, first_slot + offset)
            if port in taken_here or not is_free(port, proto):
                free = os_free_port(proto)
                log(f"127.0.0.1:{port} is taken by {holder(port, proto)}; {container} publishes {target} on {free}")
                port = free
            chosen[target] = port
        book[container] = chosen
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(book, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.file)
        return chosen


def check_free(container: str, ports: dict[str, int]) -> None:
    """Before the container is started: every port it publishes is free, else one line naming the holder."""
    for target, port in ports.items():
        proto = target.split("/")[1]
        if not is_free(port, proto):
            raise PortTaken(
                f"127.0.0.1:{port}, where {container} publishes its {target}, is taken by {holder(port, proto)}",
                hint="stop that process, or remove the port from .aidevops/sandbox/ports.json and run "
                     "`aidevops sandbox up` again to choose another",
            )


def publish_args(ports: dict[str, int]) -> list[str]:
    """docker's -p flags: each target on its fixed port of 127.0.0.1."""
    return [a for target, port in ports.items() for a in ("-p", f"127.0.0.1:{port}:{target}")]


def fixed_bindings(info: dict) -> dict[str, int]:
    """target -> local port of a container (docker inspect) that publishes on fixed ports."""
    bindings = (info.get("HostConfig") or {}).get("PortBindings") or {}
    return {t: int(lst[0]["HostPort"]) for t, lst in bindings.items() if lst and lst[0].get("HostPort")}


def random_bindings(info: dict) -> bool:
    """Whether a container (docker inspect) publishes a port without a fixed local port (an older sandbox)."""
    bindings = (info.get("HostConfig") or {}).get("PortBindings") or {}
    return any(not b.get("HostPort") for lst in bindings.values() for b in lst or [])
