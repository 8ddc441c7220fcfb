"""`aidevops run` provisions a fresh sandbox host with base_server; the re-run changes nothing.

The tests in this module run in order on one host: first run, re-run, review, failures, Ctrl-C.
"""

import json
import signal
import subprocess
import sys
import time

import pytest
import testinfra

from orchestrator.validation import hardening
from tests.conftest import ROOT, write
from tests.integration.conftest import TEST_OS, aidevops, ssh

pytestmark = pytest.mark.integration
TIMINGS: dict[str, float] = {}


def show(inv, run_id=None):
    args = ["runs", "show", "--inventory", str(inv), "--json"] + ([run_id] if run_id else [])
    return json.loads(aidevops(*args).stdout)


def test_first_run_provisions_the_host(sandbox_inventory, capsys):
    inv, box, host = sandbox_inventory
    t0 = time.monotonic()
    r = aidevops("run", "--inventory", str(inv), "--only", "base_server", "--plain")
    TIMINGS["first run"] = time.monotonic() - t0
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    shown = show(inv)
    assert shown["run"]["status"] == "succeeded"
    stats = shown["host_stats"][0]
    assert stats["host"] == "sandbox-1" and stats["changed"] > 0 and stats["failures"] == 0


def test_the_server_is_what_a_user_expects(sandbox_inventory):
    inv, box, host = sandbox_inventory
    # The operator can still log in, as root (key only) and as the admin user with sudo.
    assert ssh(box, host, "true").returncode == 0
    admin = ssh(box, host, "sudo -n true && id -nG", user="deploy")
    assert admin.returncode == 0, admin.stderr
    for check, expect in [
        ("ufw status verbose", "Status: active"),
        ("ufw status verbose", "deny (incoming)"),
        ("fail2ban-client status sshd", "Currently banned"),
        ("sshd -T | grep -i '^passwordauthentication'", "passwordauthentication no"),
        ("systemctl is-active docker", "active"),
    ]:
        out = ssh(box, host, check)
        assert expect in out.stdout, f"{check}: {out.stdout}{out.stderr}"
    compose = ssh(box, host, "docker compose version")
    if TEST_OS == "debian12":  # its archive has no compose v2: the role installs Docker without it and says so
        assert compose.returncode != 0, compose.stdout
    else:
        assert "Docker Compose version" in compose.stdout, compose.stdout + compose.stderr


@pytest.mark.parametrize("name", list(hardening.CONTROLS))
def test_each_control_of_the_default_level_holds(sandbox_inventory, name):
    """The validator's (and Molecule's) hardening checks on this host (Debian 12 unless AIDEVOPS_TEST_OS says
    otherwise), over SSH: what a container cannot do is skipped with the role's reason. So `make test` needs no
    Molecule base_server run of its own."""
    _inv, box, host = sandbox_inventory
    target = testinfra.get_host(f"ssh://root@127.0.0.1:{host.ssh_port}", ssh_extra_args=" ".join(box.ssh_options()))
    why_not = hardening.verify(target, name)
    if why_not is not None:
        pytest.skip(why_not)


def test_second_run_changes_nothing(sandbox_inventory, capsys):
    inv, box, host = sandbox_inventory
    t0 = time.monotonic()
    r = aidevops("run", "--inventory", str(inv), "--only", "base_server", "--plain")
    TIMINGS["re-run"] = time.monotonic() - t0
    assert r.returncode == 0, r.stdout[-4000:]
    stats = show(inv)["host_stats"][0]
    assert stats["changed"] == 0 and stats["failures"] == 0 and stats["ok"] > 10
    with capsys.disabled():
        print("\nwall times: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMINGS.items()))


def test_runs_list_and_show_review_the_runs(sandbox_inventory):
    inv, box, host = sandbox_inventory
    listed = aidevops("runs", "list", "--inventory", str(inv))
    assert listed.returncode == 0 and listed.stdout.count("succeeded") >= 2
    text = aidevops("runs", "show", "--inventory", str(inv)).stdout
    assert "base_server" in text and "sandbox-1" in text and "succeeded" in text


def test_invalid_request_is_refused_before_anything_runs(sandbox_inventory, tmp_path):
    inv, box, host = sandbox_inventory
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "hosts.yml").write_text((inv / "hosts.yml").read_text())
    write(bad / "group_vars/all/aidevops.yml", "aidevops:\n  domain: sandbox..test\n  admin_email: a@b.test\n"
                                               "  dns: {provider: none}\n")
    r = aidevops("run", "--inventory", str(bad))
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "aidevops.domain" in r.stderr and len(r.stderr.splitlines()) == 1
    assert not (bad / ".aidevops").exists()


def test_an_unreachable_host_fails_the_phase_and_is_reviewable(sandbox_inventory, tmp_path):
    inv, box, host = sandbox_inventory
    # Same request, but the host's SSH port points at a closed port.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "group_vars").symlink_to(inv / "group_vars")
    (broken / "hosts.yml").write_text((inv / "hosts.yml").read_text().replace(
        f"ansible_port: {host.ssh_port}", "ansible_port: 1"))
    r = aidevops("run", "--inventory", str(broken), "--only", "base_server", "--plain")
    assert r.returncode == 1
    failed = aidevops("runs", "events", "--inventory", str(broken), "--failed")
    assert "runner_on_unreachable" in failed.stdout and "sandbox-1" in failed.stdout
    assert "port 1: Connection refused" in failed.stdout  # ssh's own words for the closed port


def test_ctrl_c_mid_run_records_a_cancelled_run(sandbox_inventory):
    inv, box, host = sandbox_inventory
    before = set((inv / ".aidevops/runs").glob("*/run.log.jsonl"))
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv),
                             "--only", "base_server", "--plain"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Wait for the first task result on the host, then interrupt as a user would.
        deadline = time.monotonic() + 120
        seen = False
        while time.monotonic() < deadline and not seen:
            logs = set((inv / ".aidevops/runs").glob("*/run.log.jsonl")) - before
            seen = bool(logs) and '"task_start"' in logs.pop().read_text() and proc.poll() is None
            time.sleep(0.3)
        assert seen, "the run did not start a task"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, out[-3000:]
    shown = show(inv)
    assert shown["run"]["status"] == "cancelled"
    assert shown["phases"][0]["status"] == "cancelled"
    # The host is still reachable and a later run completes normally.
    assert ssh(box, host, "true").returncode == 0
