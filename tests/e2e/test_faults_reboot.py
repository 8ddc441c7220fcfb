"""Fault: the host rebooted between two runs (issue 12, item 4); the stack's idempotent re-run (issue 14); and
the phases a plain re-run keeps (issue 16).

`docker restart` of the sandbox host is its reboot: systemd boots again, Docker starts the containers whose
restart policy says so, nginx and fail2ban come back. The next `aidevops run --full` of the whole request goes
straight on, with no `sandbox up` (the sandbox keeps its published ports across a restart,
orchestrator/sandbox/ports.py, so hosts.yml is the same file): it must change nothing on any phase
(changed=0), rotate no secret, find every service up (the validator phase passes), and n8n must answer over
HTTPS as a user reaches it. One whole-stack re-run proves both the reboot and idempotence: each costs 3-9
minutes of CI. That run recorded its inputs and the hosts' state, so a plain run right after it keeps every
phase that declares its state (dns does not) and still validates the stack.
"""

import subprocess

import pytest

from tests.e2e.conftest import DOMAIN, on_host
from tests.e2e.test_faults_host import phases, run

pytestmark = pytest.mark.integration
N8N = f"n8n.{DOMAIN}"


def test_a_rerun_after_a_reboot_changes_nothing_keeps_the_secrets_and_every_service_is_up(stack, first_run,
                                                                                          capsys):
    inv, _box, host = stack
    assert first_run.returncode == 0, first_run.stdout[-6000:]
    vault_file = inv / "group_vars/all/vault_n8n.yml"
    secrets, hosts_file = vault_file.read_bytes(), (inv / "hosts.yml").read_bytes()
    booted = on_host(host, "cat /proc/1/stat | cut -d' ' -f22").stdout
    subprocess.run(["docker", "restart", host.container], check=True, capture_output=True, timeout=300)
    assert on_host(host, "cat /proc/1/stat | cut -d' ' -f22").stdout != booted  # a new PID 1: it rebooted
    assert (inv / "hosts.yml").read_bytes() == hosts_file

    r, shown, elapsed = run(inv, "--full")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert {p: s["status"] for p, s in phases(shown).items()} == {
        "base_server": "succeeded", "dns": "succeeded", "n8n": "succeeded", "nginx_proxy": "succeeded",
        "validator": "succeeded", "report": "succeeded"}
    changed = {s["phase"]: s["changed"] for s in shown["host_stats"] if s["changed"]}
    assert changed == {}, f"a re-run after the reboot changed something: {changed}"
    assert {s["phase"] for s in shown["host_stats"]} >= {"base_server", "dns", "n8n", "nginx_proxy"}
    assert not [f for f in shown["findings"] if f["status"] in ("failed", "error")]
    assert vault_file.read_bytes() == secrets  # no secret rotated
    for unit in ("docker", "nginx", "fail2ban", "ssh"):
        assert on_host(host, f"systemctl is-active {unit}").stdout.strip() == "active", unit
    # Nothing changed since that run, which recorded its inputs and the hosts' state: a plain run keeps every
    # phase that declares its state (dns does not: its records are at the DNS server) and still validates.
    kept, kept_shown, kept_s = run(inv)
    assert kept.returncode == 0, kept.stdout[-6000:] + kept.stderr[-2000:]
    assert {p: s["status"] for p, s in phases(kept_shown).items()} == {
        "base_server": "kept", "dns": "succeeded", "n8n": "kept", "nginx_proxy": "kept",
        "validator": "succeeded", "report": "succeeded"}
    assert phases(kept_shown)["n8n"]["reason"] == f"unchanged since {shown['run']['id']} (inputs and host state)"
    assert f"  n8n: unchanged since {shown['run']['id']}" in kept.stdout  # the plan says so
    assert not [f for f in kept_shown["findings"] if f["status"] in ("failed", "error")]
    # n8n over HTTPS on the same published port, trusting only the sandbox CA.
    root = inv / ".aidevops/sandbox/pebble-root.pem"
    code = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(root),
                           "--resolve", f"{N8N}:{host.https_port}:127.0.0.1", f"https://{N8N}:{host.https_port}/healthz"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert code.stdout == "200", code.stderr
    with capsys.disabled():
        print(f"\ne2e wall times: first run {first_run.duration:.1f}s, after a reboot: --full {elapsed:.1f}s, "
              f"then a plain re-run (phases kept) {kept_s:.1f}s")
