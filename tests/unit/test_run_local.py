"""`aidevops run` end to end through real ansible-runner, against this machine over the local connection.

The project home is a temporary one holding a small base_server playbook, so these tests exercise the
orchestrator (plan, scheduler, runner, events, store, CLI) quickly and without Docker.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import interrupt_at, write

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Say hello.
      ansible.builtin.debug: {msg: hello}
    - name: Change something.
      ansible.builtin.command: "true"
    - name: Wait a while.
      ansible.builtin.command: sleep {{ sleep_s | default(0) }}
      changed_when: false
    - name: Print a secret by mistake.
      ansible.builtin.debug: {msg: "the key is {{ vault_demo_key }}"}
      when: vault_demo_key is defined
    - name: Fall back, as a role does when it serves a self-signed certificate.
      ansible.builtin.set_fact:
        demo_degraded: true
        demo_degraded_reasons: ["example.com: self-signed certificate (ACME failed)"]
      when: degrade_me | default(false)
    - name: Fail on purpose.
      ansible.builtin.command: sh -c 'echo disk is on fire {{ vault_demo_key | default("") }} >&2; exit 3'
      when: fail_me | default(false)
"""


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    write(h / "playbooks/base_server.yml", PLAYBOOK)
    return h


@pytest.fixture
def inv(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: []\n"
          "  dns: {provider: none}\n")
    return inventory


def aidevops(home, *args, **kw):
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120, **kw)


def test_a_successful_run_is_recorded_and_reviewable(home, inv):
    r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[base_server] succeeded" in r.stdout
    assert "local-1: changed: Change something." in r.stdout

    shown = json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)
    assert shown["run"]["status"] == "succeeded" and shown["run"]["exit_code"] == 0
    phase = {p["phase"]: p for p in shown["phases"]}["base_server"]
    assert phase["status"] == "succeeded" and phase["rc"] == 0 and phase["duration"] > 0
    assert Path(phase["artifact_dir"], "job_events").is_dir()
    stats = shown["host_stats"][0]
    assert (stats["host"], stats["ok"], stats["changed"], stats["failures"]) == ("local-1", 3, 1, 0)

    log = Path(shown["run"]["state_dir"], "run.log.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in log]
    assert all(set(r) == {"timestamp", "agent_id", "level", "message", "context", "trace_id"} for r in records)
    assert {r["trace_id"] for r in records} == {shown["run"]["id"]}

    events = aidevops(home, "runs", "events", "--inventory", str(inv), "--json")
    names = [json.loads(line)["event"] for line in events.stdout.splitlines()]
    assert names[0] == "playbook_on_start" and names[-1] == "playbook_on_stats"
    assert "no matching events" in aidevops(home, "runs", "events", "--inventory", str(inv), "--failed").stdout


def test_unbuilt_agents_make_the_run_degraded_not_successful(home, inv):
    # n8n has no playbook in this project home. The validator is left out: it would check this machine.
    write(inv / "group_vars/all/aidevops.yml", "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n"
                                               "  services: [n8n]\n  dns: {provider: none}\n")
    r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server,n8n,report")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "n8n          not available" in r.stdout


def test_a_failed_task_is_shown_with_its_message(home, inv):
    write(inv / "group_vars/all/test.yml", "fail_me: true\n")
    r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server")
    assert r.returncode == 1
    assert "first on local-1: Fail on purpose." in r.stdout and "disk is on fire" in r.stdout

    shown = aidevops(home, "runs", "show", "--inventory", str(inv))
    assert "Failed tasks" in shown.stdout and "disk is on fire" in shown.stdout
    line = PLAYBOOK.splitlines().index("    - name: Fail on purpose.") + 1
    assert f"base_server.yml:{line}" in shown.stdout  # where the task is

    failed = aidevops(home, "runs", "events", "--inventory", str(inv), "--failed")
    assert "runner_on_failed" in failed.stdout and "disk is on fire" in failed.stdout
    other_host = aidevops(home, "runs", "events", "--inventory", str(inv), "--host", "nope")
    assert "no matching events" in other_host.stdout


def test_invalid_request_is_one_clear_line_and_nothing_runs(home, inv):
    write(inv / "group_vars/all/aidevops.yml", "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n"
                                               "  services: [wordpress]\n  dns: {provider: none}\n")
    r = aidevops(home, "run", "--inventory", str(inv))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "aidevops.services[0]: unknown service 'wordpress'" in r.stderr
    assert not (inv / ".aidevops").exists()


def test_unknown_run_id(home, inv):
    aidevops(home, "run", "--inventory", str(inv), "--only", "base_server")
    r = aidevops(home, "runs", "show", "nope", "--inventory", str(inv))
    assert r.returncode == 2 and "no run with id 'nope'" in r.stderr


def test_ctrl_c_cancels_cleanly_and_records_a_cancelled_run(home, inv):
    write(inv / "group_vars/all/test.yml", "sleep_s: 60\n")
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv),
                             "--only", "base_server", "--plain"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out, took = interrupt_at(proc, inv, "Wait a while.", wait=60, grace=30)
    assert proc.returncode == 130, out
    assert took < 20
    shown = json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)
    assert shown["run"]["status"] == "cancelled" and shown["run"]["exit_code"] == 130
    assert shown["phases"][0]["status"] == "cancelled"
    # Nothing of the phase is left running: not ansible-playbook, not its workers, not the task's command.
    leftovers = [p for p in Path("/proc").glob("[0-9]*") if _environ_mentions(p, str(inv))]
    assert leftovers == []


def test_check_mode_changes_nothing_and_is_recorded_as_such(home, inv):
    r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    shown = json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)
    assert shown["run"]["command"] == "run --only base_server --check"
    stats = shown["host_stats"][0]
    assert stats["changed"] == 0 and stats["skipped"] >= 1  # the command task does not run in check mode


def test_vault_secrets_never_reach_the_log_or_the_artifacts(home, inv, monkeypatch):
    from orchestrator import vault
    from tests.unit.test_vault import encrypt

    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    pw = vault.ensure_password_file(inv)
    encrypt(write(inv / "group_vars/all/vault.yml", "vault_demo_key: Sup3rSecretKey-0042\n"), pw)
    write(inv / "group_vars/all/test.yml", "fail_me: true\n")  # and the failing task prints it to stderr
    r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "disk is on fire ********" in r.stdout and "Sup3rSecretKey" not in r.stdout + r.stderr
    state = inv / ".aidevops"
    leaks = [p for p in state.rglob("*") if p.is_file() and b"Sup3rSecretKey-0042" in p.read_bytes()]
    assert leaks == []
    events = aidevops(home, "runs", "events", "--inventory", str(inv), "--json").stdout
    assert "the key is ********" in events and "Sup3rSecretKey" not in events


def test_a_role_that_falls_back_makes_the_run_degraded(home, inv):
    write(inv / "group_vars/all/test.yml", "degrade_me: true\n")
    r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server")
    assert r.returncode == 3, r.stdout + r.stderr
    phase = json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)["phases"][0]
    assert phase["status"] == "degraded"
    assert phase["reason"] == "local-1: example.com: self-signed certificate (ACME failed)"


def _environ_mentions(proc: Path, text: str) -> bool:
    try:
        return text.encode() in (proc / "environ").read_bytes()
    except OSError:
        return False
