"""Fault: the host rebooted between two runs (issue 12, item 4).

`docker restart` of the sandbox host is its reboot: systemd boots again, Docker starts the containers whose
restart policy says so, nginx and fail2ban come back. The next `aidevops run` of the whole request must change
nothing (changed=0 on every phase) and find every service up (the validator phase passes), and n8n must answer
over HTTPS as a user reaches it.

The sandbox keeps its published ports across a restart (fixed ports, orchestrator/sandbox/ports.py): the run
goes straight after the reboot, with no `sandbox up`, and hosts.yml is the same file.
"""

import subprocess

import pytest

from tests.e2e.conftest import DOMAIN, on_host
from tests.e2e.test_faults_host import phases, run

pytestmark = pytest.mark.integration
N8N = f"n8n.{DOMAIN}"


def test_a_rerun_after_a_reboot_changes_nothing_and_every_service_is_up(stack, first_run):
    inv, _box, host = stack
    assert first_run.returncode == 0, first_run.stdout[-6000:]
    booted = on_host(host, "cat /proc/1/stat | cut -d' ' -f22").stdout
    hosts_file = (inv / "hosts.yml").read_bytes()
    subprocess.run(["docker", "restart", host.container], check=True, capture_output=True, timeout=300)
    assert on_host(host, "cat /proc/1/stat | cut -d' ' -f22").stdout != booted  # a new PID 1: it rebooted
    assert (inv / "hosts.yml").read_bytes() == hosts_file

    r, shown, _ = run(inv)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert {p: s["status"] for p, s in phases(shown).items()} == {
        "base_server": "succeeded", "dns": "succeeded", "n8n": "succeeded", "nginx_proxy": "succeeded",
        "validator": "succeeded", "report": "succeeded"}
    changed = {s["phase"]: s["changed"] for s in shown["host_stats"] if s["changed"]}
    assert changed == {}, f"a re-run after the reboot changed something: {changed}"
    assert not [f for f in shown["findings"] if f["status"] in ("failed", "error")]
    for unit in ("docker", "nginx", "fail2ban", "ssh"):
        assert on_host(host, f"systemctl is-active {unit}").stdout.strip() == "active", unit
    # n8n over HTTPS on the same published port, trusting only the sandbox CA.
    root = inv / ".aidevops/sandbox/pebble-root.pem"
    code = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(root),
                           "--resolve", f"{N8N}:{host.https_port}:127.0.0.1", f"https://{N8N}:{host.https_port}/healthz"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert code.stdout == "200", code.stderr
