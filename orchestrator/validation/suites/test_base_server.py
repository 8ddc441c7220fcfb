"""base_server: SSH, firewall, fail2ban and Docker up and configured; nothing but 22/80/443 reachable from outside."""

from __future__ import annotations

import json
import re

import pytest

from orchestrator.validation.hardening import MANIFEST, read_manifest, skipped_controls
from orchestrator.validation.probes import open_ports


def _listeners(host) -> list[tuple[str, int, str]]:
    """(address, port, process) of every listening TCP socket."""
    out = host.run("ss -Hltnp").stdout
    found = []
    for line in out.splitlines():
        cols = line.split()
        if len(cols) < 4:
            continue
        addr, _, port = cols[3].rpartition(":")
        proc = re.search(r'\("([^"]+)"', line)
        found.append((addr.strip("[]").split("%")[0], int(port), proc.group(1) if proc else "?"))
    return found


def _public(addr: str) -> bool:
    return not (addr.startswith("127.") or addr == "::1")


@pytest.mark.severity("high")
def test_key_packages_installed(host):
    """openssh-server, ufw, fail2ban and unattended-upgrades are installed."""
    missing = [p for p in ("openssh-server", "ufw", "fail2ban", "unattended-upgrades")
               if not host.package(p).is_installed]
    assert not missing, f"not installed: {', '.join(missing)}"


@pytest.mark.severity("critical")
def test_sshd_running(host):
    """sshd is running and enabled."""
    ssh = host.service("ssh")
    assert ssh.is_running, "ssh.service is not running"
    assert ssh.is_enabled, "ssh.service is not enabled at boot"


@pytest.mark.severity("critical")
def test_sshd_no_root_password_login(host):
    """root cannot log in with a password (sshd -T permitrootlogin)."""
    value = host.check_output("sshd -T | awk '$1 == \"permitrootlogin\" {print $2}'")
    assert value in ("no", "prohibit-password", "without-password", "forced-commands-only"), \
        f"sshd permitrootlogin is {value!r}"


@pytest.mark.severity("critical")
def test_sshd_no_password_auth(host):
    """Password authentication is off (sshd -T passwordauthentication, kbdinteractiveauthentication)."""
    settings = dict(line.split(" ", 1) for line in host.check_output("sshd -T").splitlines() if " " in line)
    assert settings.get("passwordauthentication") == "no", \
        f"sshd passwordauthentication is {settings.get('passwordauthentication')!r}"
    assert settings.get("kbdinteractiveauthentication", "no") == "no", "sshd kbdinteractiveauthentication is yes"


@pytest.mark.severity("critical")
def test_ufw_active(host):
    """ufw is active and denies incoming traffic by default."""
    out = host.run("ufw status verbose").stdout
    assert "Status: active" in out, "ufw is not active"
    assert re.search(r"Default: (deny|reject) \(incoming\)", out), "ufw does not deny incoming by default"


@pytest.mark.severity("high")
def test_ufw_allows_only_public_ports(host, validation_config):
    """ufw allows incoming traffic only to 22, 80 and 443."""
    allowed = set()
    for line in host.check_output("ufw status").splitlines():
        m = re.match(r"^([\d,:]+)(?:/\w+)?(?: \(v6\))?\s+(ALLOW|LIMIT)", line)
        for part in (m[1].split(",") if m else []):  # 22, 80,443 or 8000:8100
            low, _, high = part.partition(":")
            allowed |= set(range(int(low), int(high or low) + 1))
    extra = sorted(allowed - set(validation_config["public_ports"]))
    assert not extra, f"ufw allows port(s) {', '.join(map(str, extra))}"


@pytest.mark.severity("high")
def test_fail2ban_sshd_jail(host):
    """fail2ban is running with its sshd jail."""
    assert host.service("fail2ban").is_running, "fail2ban is not running"
    jail = host.run("fail2ban-client status sshd")
    assert jail.rc == 0, f"fail2ban has no sshd jail: {(jail.stderr or jail.stdout).strip()[:200]}"


@pytest.mark.severity("high")
def test_docker_running(host):
    """The Docker engine is running."""
    assert host.service("docker").is_running, "docker.service is not running"
    assert host.run("docker info --format '{{.ServerVersion}}'").rc == 0, "docker info fails"


@pytest.mark.severity("critical")
def test_apps_listen_on_loopback_only(host, validation_config):
    """The apps' ports (n8n 5678, PostgreSQL 5432, Kong 8000...) listen on 127.0.0.1 only."""
    apps = set(validation_config["app_ports"])
    exposed = [f"{a}:{p} ({proc})" for a, p, proc in _listeners(host) if p in apps and _public(a)]
    assert not exposed, f"app port(s) on a public address: {', '.join(exposed)}"


@pytest.mark.severity("high")
def test_only_public_ports_listen_publicly(host, validation_config):
    """Nothing but 22, 80 and 443 listens on a public address."""
    public = set(validation_config["public_ports"])
    extra = sorted({f"{a or '*'}:{p} ({proc})" for a, p, proc in _listeners(host) if _public(a) and p not in public})
    assert not extra, f"listening publicly: {', '.join(extra)}"


@pytest.mark.severity("critical")
def test_outside_port_scan(host_info, validation_config):
    """From outside, only 22, 80 and 443 accept connections (Docker-published ports bypass ufw)."""
    found = open_ports(host_info["address"], validation_config["scan_ports"])
    extra = [p for p in found if p not in validation_config["public_ports"]]
    assert not extra, f"open from outside at {host_info['address']}: {', '.join(map(str, extra))}"


# -- host figures ----------------------------------------------------------------------------------

@pytest.mark.severity("medium")
def test_memory_available(host, settings, metric):
    """Enough memory is available."""
    kb = int(host.check_output("awk '/^MemAvailable:/ {print $2}' /proc/meminfo"))
    mb, floor = round(kb / 1024), settings["mem_min_available_mb"]
    metric("host.mem_available_mb", host.backend.host, mb, unit="MB", threshold=floor, passed=mb >= floor)
    assert mb >= floor, f"{mb} MB available, below {floor} MB"


@pytest.mark.severity("medium")
def test_disk_free(host, settings, metric):
    """The root filesystem has enough free space."""
    cols = host.check_output("df -P / | tail -1").split()
    free = round(100 * int(cols[3]) / int(cols[1]), 1)
    floor = settings["disk_min_free_pct"]
    metric("host.disk_free_pct", host.backend.host, free, unit="%", threshold=floor, passed=free >= floor,
           detail=f"{int(cols[3]) // 1024} MB free of {int(cols[1]) // 1024} MB")
    assert free >= floor, f"{free}% free on /, below {floor}%"


@pytest.mark.severity("medium")
def test_load_per_core(host, settings, metric):
    """The 5-minute load per core is below the threshold."""
    load5 = float(host.check_output("cut -d' ' -f2 /proc/loadavg"))
    cores = int(host.check_output("nproc"))
    per_core, ceiling = round(load5 / cores, 2), settings["load_max_per_core"]
    metric("host.load_per_core", host.backend.host, per_core, threshold=ceiling, passed=per_core <= ceiling,
           detail=f"load {load5} on {cores} core(s)")
    assert per_core <= ceiling, f"load per core {per_core}, above {ceiling}"


@pytest.mark.severity("info")
def test_security_level(host, metric):
    """The role's manifest names the security level applied (recorded for the report, audits on or off)."""
    manifest = read_manifest(host)
    level = manifest.get("security_level")
    if not level:
        pytest.skip(f"no security level: the base_server role wrote no manifest ({MANIFEST})")
    metric("base_server.security_level", host.backend.host, None, text_value=str(level),
           detail=json.dumps(skipped_controls(manifest)))
