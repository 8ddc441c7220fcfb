"""The sandbox services' containers on the sandbox network: made from their configuration (and replaced when it
changes), on fixed local ports and restarting with the engine, described (address, published ports) and their
last log lines for an error message."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestrator.sandbox import docker as d
from orchestrator.sandbox import ports as fixed_ports

LABEL = "org.aidevops.sandbox.services"  # value: the prefix
CONFIG_LABEL = "org.aidevops.sandbox.services.config"  # value: hash of what the container was made from


@dataclass
class ServiceContainer:
    name: str
    state: str
    address: str | None
    ports: dict[str, int]


class ServiceContainers:
    def __init__(self, network: str, prefix: str):
        self.network, self.prefix = network, prefix

    def ensure(self, name: str, image: str, hash_: str, files: dict[str, str], command: list[str],
               ports: dict[str, int], log) -> None:
        """ports: '53/udp' -> its fixed local port (part of hash_, so a change replaces the container)."""
        info = d.inspect("container", name)
        if info and (info["Config"].get("Labels") or {}).get(CONFIG_LABEL) != hash_:
            log(f"{name} was made from another configuration; replacing it")
            d.docker("rm", "-f", "-v", name, check=False)
            info = None
        if info and info["State"]["Running"]:
            return
        if info:  # stopped: its configuration is the right one
            fixed_ports.check_free(name, ports)
            log(f"starting stopped {name}")
            d.docker("start", name)
            return
        fixed_ports.check_free(name, ports)
        log(f"starting {name}")
        d.docker(
            "create", "--name", name, "--hostname", name, "--network", self.network,
            "--label", f"{LABEL}={self.prefix}", "--label", f"{CONFIG_LABEL}={hash_}",
            "--restart", "unless-stopped", *fixed_ports.publish_args(ports), image, *command,
        )
        with tempfile.TemporaryDirectory(prefix="aidevops-services-") as tmp:
            conf = Path(tmp) / "config"
            conf.mkdir()
            for fname, text in files.items():
                (conf / fname).write_text(text)
            d.docker("cp", str(conf), f"{name}:/config")
        d.docker("start", name)

    def describe(self, name: str) -> ServiceContainer | None:
        info = d.inspect("container", name)
        if info is None:
            return None
        ports = {}
        for port, bindings in (info["NetworkSettings"].get("Ports") or {}).items():
            if bindings:
                ports[port] = int(bindings[0]["HostPort"])
        nets = info["NetworkSettings"].get("Networks") or {}
        address = (nets.get(self.network) or {}).get("IPAddress") or None
        return ServiceContainer(name=name, state=info["State"]["Status"], address=address, ports=ports)

    def logs(self, name: str) -> str:
        proc = subprocess.run(["docker", "logs", "--tail", "5", name], capture_output=True, text=True, check=False)
        return " / ".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
