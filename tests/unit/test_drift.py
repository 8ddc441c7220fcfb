"""`aidevops check` end to end through real ansible-runner against this machine (a small playbook in a temporary
project home manages a config file holding a vault secret), and the drift read from runner events."""

import json

import pytest

from orchestrator.redact import Redactor
from orchestrator.run.drift import drift_from_events
from tests.conftest import write
from tests.unit.test_run_local import aidevops

SECRET = "Sup3rSecretKey-0042"

# A config file with a secret in it, as a role's env file; a "service" whose stop is drift; and a task that
# fails in check mode when told to (a phase the check cannot do).
PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Ensure the app's environment file is in place.
      ansible.builtin.copy:
        dest: "{{ demo_dir }}/app.env"
        content: "APP_URL=https://example.com\\nAPP_KEY={{ vault_demo_key }}\\nWORKERS=2\\n"
        mode: "0600"
    - name: Ensure the marker of a running service is there.
      ansible.builtin.file:
        path: "{{ demo_dir }}/running"
        state: touch
        modification_time: preserve
        access_time: preserve
    - name: Fail when the host cannot be checked.
      ansible.builtin.command: "test ! -e {{ demo_dir }}/broken"
      changed_when: false
      check_mode: false
"""


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    write(h / "playbooks/base_server.yml", PLAYBOOK)
    return h


@pytest.fixture
def inv(inventory, tmp_path, monkeypatch):
    from orchestrator import vault
    from tests.unit.test_vault import encrypt

    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: []\n"
          "  dns: {provider: none}\n")
    write(inventory / "group_vars/all/demo.yml", f"demo_dir: {tmp_path / 'host'}\n")
    (tmp_path / "host").mkdir()
    encrypt(write(inventory / "group_vars/all/vault.yml", f"vault_demo_key: {SECRET}\n"), vault.ensure_password_file(inventory))
    return inventory


def check(home, inv, *args):
    return aidevops(home, "check", "--inventory", str(inv), "--plain", *args)


def test_check_before_any_deployment_cannot_be_done(home, inv):
    r = check(home, inv)
    assert r.returncode == 4, r.stdout + r.stderr
    assert r.stderr.startswith("error: ") and "no deployment recorded" in r.stderr
    assert not (inv / ".aidevops" / "runs").exists()  # nothing was run or recorded


def test_a_clean_host_has_no_drift_and_a_hand_edit_is_reported_with_the_secret_masked(home, inv, tmp_path):
    host = tmp_path / "host"
    assert aidevops(home, "run", "--inventory", str(inv), "--only", "base_server").returncode == 0
    before = (host / "app.env").read_text()

    clean = check(home, inv, "--json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    report = json.loads(clean.stdout)
    assert report["drift"] == [] and report["checked"] == ["base_server"] and report["status"] == "succeeded"

    (host / "app.env").write_text(before.replace("WORKERS=2", "WORKERS=8"))  # edited by hand
    (host / "running").unlink()  # "stopped"
    r = check(home, inv)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "drifted" in r.stdout and "2 task(s) would change on local-1" in r.stdout
    assert "Ensure the app's environment file is in place." in r.stdout
    assert "-WORKERS=8" in r.stdout and "+WORKERS=2" in r.stdout
    assert "APP_KEY=********" in r.stdout and SECRET not in r.stdout + r.stderr
    assert (host / "app.env").read_text() == before.replace("WORKERS=2", "WORKERS=8")  # nothing was changed
    assert not (host / "running").exists()

    shown = json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)
    assert shown["run"]["command"] == "check" and shown["run"]["exit_code"] == 1
    assert shown["run"]["status"] == "drifted"
    tasks = {d["task"]: d for d in shown["drift"]}
    assert "+WORKERS=2" in tasks["Ensure the app's environment file is in place."]["diff"]
    assert SECRET not in json.dumps(shown)
    text = aidevops(home, "runs", "show", "--inventory", str(inv)).stdout
    assert "-WORKERS=8" in text and SECRET not in text

    log = [json.loads(line) for line in (inv / ".aidevops/runs" / shown["run"]["id"] / "run.log.jsonl")
           .read_text().splitlines()]
    alerts = [rec for rec in log if "drift on local-1" in rec["message"]]
    assert alerts and alerts[0]["level"] == "warning" and alerts[0]["context"]["tasks"] == 2
    leaks = [p for p in (inv / ".aidevops").rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == []

    # A real run puts the host back; the check is clean again.
    assert aidevops(home, "run", "--inventory", str(inv), "--only", "base_server").returncode == 0
    assert check(home, inv).returncode == 0


def test_a_phase_that_fails_in_check_mode_is_not_a_clean_check(home, inv, tmp_path):
    assert aidevops(home, "run", "--inventory", str(inv), "--only", "base_server").returncode == 0
    (tmp_path / "host" / "broken").touch()
    r = check(home, inv)
    assert r.returncode == 4, r.stdout + r.stderr
    assert "not checked base_server" in r.stdout
    shown = json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)
    assert shown["run"]["status"] == "failed" and shown["run"]["exit_code"] == 4


def _ok(task, res, action="ansible.builtin.template", host="web1"):
    return {"event": "runner_on_ok", "event_data": {"host": host, "task": task, "resolved_action": action, "res": res}}


def test_drift_is_read_from_runner_events_and_masked():
    events = [
        _ok("Ensure n8n's environment file is in place.", {"changed": True, "diff": [{
            "before": f"N8N_ENCRYPTION_KEY={SECRET}\nN8N_PORT=5678\n",
            "after": f"N8N_ENCRYPTION_KEY={SECRET}\nN8N_PORT=5679\n",
            "before_header": "/opt/n8n/.env", "after_header": "dynamically generated"}]}),
        _ok("Ensure nginx is started.", {"changed": True, "name": "nginx", "state": "started"},
            action="ansible.builtin.service"),
        _ok("Reload nginx.", {"changed": True, "name": "nginx", "state": "started",
                              "invocation": {"module_args": {"name": "nginx", "state": "reloaded"}}},
            action="ansible.builtin.systemd_service"),
        _ok("Ensure no firewall rule was added by hand.", {"changed": True, "results": [
            {"item": "allow 8080/tcp", "changed": True}, {"item": "allow 22/tcp", "changed": False}]},
            action="ansible.builtin.command"),
        _ok("Ensure the packages are installed.", {"changed": True, "diff": {"prepared": "The following NEW packages "
                                                                           "will be installed:\n  jq"}},
            action="ansible.builtin.apt"),
        _ok("Ensure the mode is right.", {"changed": True, "diff": {"before": {"path": "/x", "mode": "0644"},
                                                                   "after": {"path": "/x", "mode": "0600"}}},
            action="ansible.builtin.file"),
        _ok("Save a secret.", {"changed": True, "censored": "the output has been hidden"}),
        _ok("Unchanged.", {"changed": False, "diff": {"before": "a", "after": "b"}}),
        {"event": "runner_on_failed", "event_data": {"host": "web1", "task": "Broken.", "res": {"changed": True}}},
    ]
    drift = {d.task: d for d in drift_from_events("n8n", events, Redactor([SECRET]))}
    assert list(drift) == ["Ensure n8n's environment file is in place.", "Ensure nginx is started.", "Reload nginx.",
                           "Ensure no firewall rule was added by hand.", "Ensure the packages are installed.",
                           "Ensure the mode is right.", "Save a secret."]
    env = drift["Ensure n8n's environment file is in place."]
    assert "--- /opt/n8n/.env" in env.diff and "-N8N_PORT=5678" in env.diff and "+N8N_PORT=5679" in env.diff
    assert "N8N_ENCRYPTION_KEY=********" in env.diff and SECRET not in env.diff
    assert drift["Ensure nginx is started."].changes == ("nginx would be started",)
    assert drift["Reload nginx."].changes == ("nginx would be reloaded",)
    assert drift["Ensure no firewall rule was added by hand."].changes == ("allow 8080/tcp",)
    assert "jq" in drift["Ensure the packages are installed."].diff
    assert drift["Ensure the mode is right."].diff == "mode: '0644' -> '0600'"
    assert drift["Save a secret."].changes == ("would change (output hidden: no_log)",)
