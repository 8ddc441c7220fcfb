"""Sandbox hosts: systemd containers on a Docker network of their own, reached over real SSH on 127.0.0.1.

Each host publishes 22, 80 and 443 on fixed 127.0.0.1 ports (ports.py: chosen once, kept, so hosts.yml stays
true across restarts of the container, the engine or the machine), restarts with the engine unless stopped,
gets a generated ed25519 key for root (as a fresh VPS would), and a named volume for /var/lib/docker so
Docker inside it uses overlay2.
`up` is idempotent: it keeps what already runs and adds what is missing; `down` removes all it made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestrator import vault
from orchestrator.errors import BadInput
from orchestrator.project import declared_roles_dir
from orchestrator.sandbox import app_images, docker_seed
from orchestrator.sandbox import docker as d
from orchestrator.sandbox import ports as fixed_ports
from orchestrator.sandbox.base_image import ensure_image, release
from orchestrator.sandbox.hosts_file import write_hosts_file
from orchestrator.sandbox.services import SandboxServices
from orchestrator.sandbox.ssh_access import SandboxKey
from orchestrator.state import StateDir

LABEL = "org.aidevops.sandbox"

# The flags measured in FACTS.md: systemd as PID 1 without --privileged, plus SYS_PTRACE for inner
# `docker exec` (healthchecks) and SIGRTMIN+3 so `docker stop` does not wait for its timeout.
SYSTEMD_FLAGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_PTRACE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--stop-signal", "SIGRTMIN+3",
]


def net_sysctl_flags(roles: Path | None = None) -> list[str]:
    """`--sysctl` flags for the `net.*` values base_server's defaults hold (its sysctl file cannot set them:
    /proc/sys is read-only in a container, and Lynis reads live values). Read from the role's defaults so
    they cannot drift; only `net.*` is per network namespace, which Docker allows a container to set."""
    defaults = (roles or declared_roles_dir()) / "base_server/defaults/main.yml"
    settings = (yaml.safe_load(defaults.read_text()) or {}).get("base_server_sysctl_settings") or {}
    return [flag for key, value in sorted(settings.items()) if str(key).startswith("net.")
            for flag in ("--sysctl", f"{key}={value}")]


# Back after a restart of the engine or of the machine, as a VPS comes back after a reboot.
RESTART_POLICY = ["--restart", "unless-stopped"]
HOST_PORTS = ["22/tcp", "80/tcp", "443/tcp"]


@dataclass
class SandboxHost:
    name: str  # inventory hostname: sandbox-1
    container: str
    state: str
    ssh_port: int | None
    http_port: int | None
    https_port: int | None
    address: str | None  # on the sandbox network


class Sandbox:
    """The sandbox that belongs to one inventory folder (default: inventories/sandbox)."""

    def __init__(self, inventory: Path, prefix: str = "aidevops-sandbox"):
        self.inventory = inventory.resolve()
        self.prefix = prefix
        self.network = prefix
        self.key_file = self.inventory / ".ssh" / "id_ed25519"
        self.ssh_key = SandboxKey(self.key_file, f"aidevops-sandbox@{prefix}")
        self.hosts_file = self.inventory / "hosts.yml"
        self.state = StateDir(self.inventory)
        self.ports = fixed_ports.PortBook(self.state.sandbox / "ports.json", prefix)

    # -- public commands -------------------------------------------------------------------------

    def services(self) -> SandboxServices:
        return SandboxServices(self.network, self.prefix, self.domain(), self.state.sandbox, self.ports)

    def _request(self) -> dict:
        """The inventory's deployment request, loosely read (`aidevops run` validates it properly)."""
        path = self.inventory / "group_vars/all/aidevops.yml"
        try:
            data = yaml.safe_load(path.read_text()) if path.exists() else None
            return data["aidevops"] if isinstance(data["aidevops"], dict) else {}
        except (yaml.YAMLError, KeyError, TypeError):
            return {}

    def domain(self) -> str:
        """The request's domain, for which the sandbox DNS server is authoritative."""
        return str(self._request().get("domain") or "sandbox.test").lower()

    def up(self, hosts: int = 1, os_name: str = "debian13", services: bool = True, images: bool = True,
           preload_images: bool = False, log=print) -> list[SandboxHost]:
        """Start what is missing. preload_images: new hosts start with the app images already in their Docker
        (docker_seed.py), as hosts made from a provider image with them pre-pulled would."""
        if not 1 <= hosts <= 9:
            raise BadInput(f"--hosts {hosts} is out of range", hint="use 1 to 9")
        release(os_name)
        d.ensure_engine(self.state.dockerd_log)
        image = ensure_image(os_name, log=log)
        self.ssh_key.ensure()
        # Roles save the secrets they generate in the inventory's vault, encrypted with this password.
        vault.ensure_password_file(self.inventory)
        self._ensure_network()
        seed = self._docker_seed(image, log) if preload_images else None
        for i in range(1, hosts + 1):
            self._ensure_container(i, image, os_name, log, seed=seed)
        # Hosts beyond the requested count are removed, so `up --hosts 1` after `--hosts 3` shrinks.
        for host in self.status():
            if int(host.name.rsplit("-", 1)[1]) > hosts:
                self._remove_container(host.container)
        current = self.status()
        for host in current:
            self.ssh_key.install(host.container)
        for host in current:
            self.ssh_key.wait_for_ssh(host.container, host.ssh_port)
        extra = {}
        if services:
            # An ACME CA (pebble) and an authoritative DNS server (BIND) beside the hosts, so that
            # certificates are really issued and records really made; their settings go to hosts.yml.
            services = self.services()
            answer = services.up(log=log)
            extra = {**services.inventory_vars(answer),
                     "aidevops_sandbox_dns_published_port": answer["ports"]["dns_tcp"]}

        # The local images' names and archives, for the n8n role's archive source (group_vars/all/n8n.yml).
        # n8n_repository, n8n_tag_suffix and archive_dir let the image follow n8n_version (`aidevops upgrade --to`).
        extra["aidevops_sandbox_images"] = {
            "n8n": app_images.n8n_image_name(), "n8n_archive": str(app_images.archive_path(app_images.n8n_image_name())),
            "n8n_repository": app_images.N8N_REPOSITORY, "n8n_tag_suffix": app_images.n8n_tag_suffix(),
            "archive_dir": str(app_images.cache_dir()),
            "postgres": app_images.postgres_image_name(),
            "postgres_archive": str(app_images.archive_path(app_images.postgres_image_name())),
        }
        if images and "n8n" in (self._request().get("services") or []):
            # No registry here: the n8n role loads these archives onto the hosts, as on an air-gapped server.
            app_images.ensure_all(log=log)
        write_hosts_file(self.hosts_file, current, self.key_file, self.gateway(), extra)
        return current

    def status(self) -> list[SandboxHost]:
        if not d.engine_running():
            return []
        names = d.docker("ps", "-a", "--filter", f"label={LABEL}={self.prefix}", "--format", "{{.Names}}")
        hosts = [self._describe(n) for n in sorted(names.split())]
        return [h for h in hosts if h is not None]

    def down(self, log=print) -> None:
        if d.engine_running():
            self.services().down(log=log)
            for host in self.status():
                log(f"removing {host.container}")
                self._remove_container(host.container)
            if d.inspect("network", self.network):
                d.docker("network", "rm", self.network)
        self.hosts_file.unlink(missing_ok=True)
        # The secrets generated for these hosts go with them; a new sandbox gets new ones.
        for f in self.inventory.glob("group_vars/all/vault_*.yml"):
            f.unlink()
        (self.inventory / vault.PASSWORD_FILE).unlink(missing_ok=True)
        for f in (self.key_file, self.key_file.with_suffix(".pub")):
            f.unlink(missing_ok=True)
        if self.key_file.parent.is_dir() and not any(self.key_file.parent.iterdir()):
            self.key_file.parent.rmdir()

    def gateway(self) -> str | None:
        """The address every SSH client appears to come from inside the sandbox (trust it in fail2ban)."""
        net = d.inspect("network", self.network)
        if not net:
            return None
        configs = (net.get("IPAM") or {}).get("Config") or []
        return next((c.get("Gateway") for c in configs if c.get("Gateway")), None)

    # -- pieces ----------------------------------------------------------------------------------

    def _container_name(self, i: int) -> str:
        return f"{self.prefix}-{i}"

    def ssh_options(self) -> list[str]:
        """ssh's options to reach the hosts as root with the sandbox's key."""
        return self.ssh_key.options()

    def _ensure_network(self) -> None:
        if not d.inspect("network", self.network):
            d.docker("network", "create", "--label", f"{LABEL}={self.prefix}", self.network)

    def _docker_seed(self, image: str, log) -> str | None:
        if "n8n" not in (self._request().get("services") or []):
            return None
        app_images.ensure_all(log=log)
        archives = {name: str(app_images.archive_path(name))
                    for name in (app_images.n8n_image_name(), app_images.postgres_image_name())}
        return docker_seed.ensure_seed(image, archives, SYSTEMD_FLAGS, log=log)

    def _ensure_container(self, i: int, image: str, os_name: str, log, seed: str | None = None) -> None:
        name = self._container_name(i)
        info = d.inspect("container", name)
        if info and info["Config"]["Image"] != image:
            log(f"{name} runs another image ({info['Config']['Image']}); replacing it")
            self._remove_container(name)
            info = None
        if info and fixed_ports.random_bindings(info):
            log(f"{name} publishes random ports, which change at every restart; replacing it")
            self._remove_container(name)
            info = None
        ports = self.ports.ports(name, fixed_ports.host_slot(i), HOST_PORTS, log=log,
                                 bound=fixed_ports.fixed_bindings(info) if info else None)
        if info is None:
            fixed_ports.check_free(name, ports)
            if seed:
                d.docker("volume", "rm", "-f", f"{name}-docker", check=False)  # a leftover of no container
                d.docker("volume", "create", f"{name}-docker")
                docker_seed.copy_seed(seed, f"{name}-docker", image)
            log(f"starting {name} ({os_name})")
            d.docker(
                "run", "-d", "--name", name, "--hostname", f"sandbox-{i}", "--network", self.network,
                "--label", f"{LABEL}={self.prefix}", *SYSTEMD_FLAGS, *net_sysctl_flags(), *RESTART_POLICY,
                "-v", f"{name}-docker:/var/lib/docker", *fixed_ports.publish_args(ports),
                image,
            )
        elif not info["State"]["Running"]:
            fixed_ports.check_free(name, ports)
            log(f"starting stopped {name}")
            d.docker("start", name)

    def _remove_container(self, name: str) -> None:
        d.docker("rm", "-f", "-v", name, check=False)
        d.docker("volume", "rm", "-f", f"{name}-docker", check=False)

    def _describe(self, container: str) -> SandboxHost | None:
        info = d.inspect("container", container)
        if info is None:
            return None
        # The fixed bindings it was made with (known while it is stopped too), else what Docker published.
        bound = (info.get("HostConfig") or {}).get("PortBindings") or {}
        live = info["NetworkSettings"].get("Ports") or {}

        def published(port: int) -> int | None:
            for bindings in (bound.get(f"{port}/tcp"), live.get(f"{port}/tcp")):
                if bindings and bindings[0].get("HostPort"):
                    return int(bindings[0]["HostPort"])
            return None

        nets = info["NetworkSettings"].get("Networks") or {}
        address = (nets.get(self.network) or {}).get("IPAddress") or None
        return SandboxHost(
            name=f"sandbox-{container.rsplit('-', 1)[1]}", container=container,
            state=info["State"]["Status"], ssh_port=published(22), http_port=published(80),
            https_port=published(443), address=address,
        )
