"""Faults on the sandbox host during a run (issue 12, item 4): each test injects one fault into the real
host of the e2e stack, runs `aidevops run` as a user would, checks what the user sees and what the run
recorded, and puts the host back (the other e2e modules share it).

Faults: the apt/dpkg lock held by another process, port 80 taken by another process, Docker's daemon
stopped, the disk full where n8n writes. The helpers here serve test_faults_acme and test_faults_reboot too.
"""

import json
import re
import subprocess
import time

import pytest

from tests.e2e.conftest import DOMAIN, aidevops, on_host, transient_unit

pytestmark = pytest.mark.integration
N8N = f"n8n.{DOMAIN}"


def run(inv, *args) -> tuple[subprocess.CompletedProcess, dict, float]:
    """`aidevops run` of the inventory, and `runs show --json` of that run."""
    t0 = time.monotonic()
    r = aidevops("run", "--inventory", str(inv), "--plain", *args, timeout=1800)
    elapsed = time.monotonic() - t0
    found = re.search(r"^Run (\S+): ", r.stdout, re.MULTILINE)
    assert found, r.stdout[-3000:] + r.stderr[-3000:]
    shown = json.loads(aidevops("runs", "show", found.group(1), "--inventory", str(inv), "--json").stdout)
    return r, shown, elapsed


def phases(shown: dict) -> dict[str, dict]:
    return {p["phase"]: p for p in shown["phases"]}


def test_the_stack_is_up_before_the_faults(stack, first_run):
    assert first_run.returncode == 0, first_run.stdout[-6000:]


# The dpkg frontend lock is an fcntl lock (flock(1) would not block apt), held as unattended-upgrades holds
# it; the holder notes when it lets go.
RELEASED = "/run/aidevops-fault-apt-lock.released"
HOLD_APT_LOCK = ("python3 -c \"import fcntl,time; f=open('/var/lib/dpkg/lock-frontend','w'); "
                 "fcntl.lockf(f,fcntl.LOCK_EX); time.sleep({seconds}); "
                 "open('" + RELEASED + "','w').write(str(time.time()))\"")
APT_LOCK_HELD = ("! python3 -c \"import fcntl; f=open('/var/lib/dpkg/lock-frontend','w'); "
                 "fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\" 2>/dev/null")


def test_a_held_apt_lock_is_waited_for_then_the_phase_goes_on(stack, first_run):
    """Something must need the lock on a re-run: certbot is removed first, nginx_proxy installs it back. (Both
    roles wait for the lock the same way, `lock_timeout`; nginx_proxy's phase is the shorter run.)"""
    inv, _, host = stack
    hold = 45
    on_host(host, f"rm -f {RELEASED}; DEBIAN_FRONTEND=noninteractive apt-get remove -y -q certbot")
    with transient_unit(host, "aidevops-fault-apt-lock", HOLD_APT_LOCK.format(seconds=hold), APT_LOCK_HELD):
        r, shown, _ = run(inv, "--only", "nginx_proxy")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    proxy = phases(shown)["nginx_proxy"]
    assert proxy["status"] == "succeeded" and "recover" not in (proxy["reason"] or ""), proxy
    assert "changed: Install nginx, certbot and openssl." in r.stdout
    assert shown["host_stats"][0]["failures"] == 0
    # apt waited for the holder to let go, then installed certbot (dpkg's own log, on the host's clock).
    released = float(on_host(host, f"cat {RELEASED}").stdout)
    installed = on_host(host, "grep ' status installed certbot:' /var/log/dpkg.log | tail -1 | cut -c1-19").stdout.strip()
    when = float(on_host(host, f"date -d '{installed}' +%s").stdout)
    assert when >= int(released), f"certbot installed at {installed}, the lock was released at {released}"
    assert on_host(host, "certbot --version 2>&1").stdout.startswith("certbot ")


def test_port_80_taken_by_another_process_is_one_failure_naming_it(stack, first_run):
    inv, _, host = stack
    on_host(host, "systemctl stop nginx")
    try:
        with transient_unit(host, "aidevops-fault-port80", "python3 -m http.server --bind 0.0.0.0 80",
                            "ss -Hltnp 'sport = :80' | grep -q python3"):
            pid = on_host(host, "systemctl show -p MainPID --value aidevops-fault-port80").stdout.strip()
            r, shown, _ = run(inv, "--only", "nginx_proxy")
    finally:
        on_host(host, "systemctl start nginx", check=False)
    assert r.returncode == 1, r.stdout[-4000:] + r.stderr[-2000:]
    proxy = phases(shown)["nginx_proxy"]
    assert proxy["status"] == "failed"
    expected = f"port 80 is taken by python3 (pid {pid})"
    assert expected in proxy["reason"], proxy["reason"]
    # One failure, not retried (the offline analyser knows a taken port does not free itself).
    failed_tasks = [f for f in shown["failures"] if f["phase"] == "nginx_proxy"]
    assert len(failed_tasks) == 1, failed_tasks
    assert "recovery 1/" in r.stdout and "port_in_use" in r.stdout and "retry" not in proxy["reason"]
    # What the user saw: the line that names the process.
    assert any(expected in line for line in (r.stdout + r.stderr).splitlines())
    assert on_host(host, "systemctl is-active nginx").stdout.strip() == "active"  # put back


def test_a_stopped_docker_daemon_is_started_again_and_the_phase_succeeds(stack, first_run):
    inv, _, host = stack
    on_host(host, "systemctl stop docker.socket docker")
    assert on_host(host, "systemctl is-active docker", check=False).stdout.strip() != "active"
    try:
        r, shown, _ = run(inv, "--only", "n8n")
    finally:
        on_host(host, "systemctl start docker", check=False)  # whatever happened, for the other modules
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert phases(shown)["n8n"]["status"] == "succeeded"
    assert "Start Docker's daemon, which was stopped." in r.stdout
    assert on_host(host, "systemctl is-active docker").stdout.strip() == "active"
    health = on_host(host, "docker inspect -f '{{.State.Health.Status}}' $(docker ps -q --filter name=n8n)")
    assert set(health.stdout.split()) == {"healthy"}, health.stdout
    # n8n answers through the proxy, as a user reaches it.
    https = on_host(host, f"curl -sk -o /dev/null -w '%{{http_code}}' --resolve {N8N}:443:127.0.0.1 "
                          f"https://{N8N}/healthz")
    assert https.stdout == "200"


def test_a_full_disk_stops_the_phase_naming_the_path_and_writes_nothing_half(stack, first_run):
    """A 64 KiB tmpfs, filled, over n8n's project folder is the host's full disk where the role writes."""
    inv, _, host = stack
    project = "/opt/aidevops/n8n"
    controller = {p: p.read_bytes() for p in sorted((inv / "group_vars").rglob("*")) if p.is_file()}
    on_host(host, f"mount -t tmpfs -o size=64k tmpfs {project} && dd if=/dev/zero of={project}/.fill bs=4k count=15")
    try:
        r, shown, _ = run(inv, "--only", "n8n")
        on_full_disk = on_host(host, f"ls -A {project}").stdout.split()
    finally:
        on_host(host, f"umount {project}", check=False)
    assert r.returncode == 1, r.stdout[-4000:] + r.stderr[-2000:]
    n8n = phases(shown)["n8n"]
    assert n8n["status"] == "failed" and shown["run"]["status"] == "failed"
    assert f"the disk is full where it writes: {project} has 4 KiB free" in n8n["reason"], n8n["reason"]
    assert "recovery 1/2 by offline: abort - offline: disk_full" in r.stdout  # not retried: it would not help
    # Nothing half-written on the host (the role stopped before writing) or on the controller (same files,
    # no temp files left beside them).
    assert on_full_disk == [".fill"]
    assert {p: p.read_bytes() for p in sorted((inv / "group_vars").rglob("*")) if p.is_file()} == controller
    # Put back: the real folder is whole again and n8n still runs.
    assert {"docker-compose.yml", "n8n.env", "postgres.env"} <= set(on_host(host, f"ls {project}").stdout.split())
    health = on_host(host, "docker inspect -f '{{.State.Health.Status}}' $(docker ps -q --filter name=n8n)")
    assert set(health.stdout.split()) == {"healthy"}, health.stdout
