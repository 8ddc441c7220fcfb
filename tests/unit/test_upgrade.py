"""`aidevops upgrade`: its refusals (exit 2, nothing created), the inventory's version update, and how a host's
outcome becomes the exit code, the run's two phases (upgrade, rollback) and the alert.

The outcome tests run the real command through real ansible-runner on this machine (local connection) with a
stand-in playbooks/n8n_upgrade.yml that writes the outcome the n8n role would write; the role itself is exercised
on a sandbox host by tests/e2e/test_upgrade_rollback.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import set_setting, with_setting
from tests.conftest import write

N8N_SETTINGS = """\
---
# n8n settings (a comment that must survive)
n8n_image_source: archive   # archives here
n8n_version: "2.40.7"  # pinned
n8n_backup_keep_daily: 3
"""

# Writes the outcome the role's upgrade_outcome.yml would write, chosen by the test (fake_outcome).
PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Write the host's outcome.
      ansible.builtin.copy:
        dest: "{{ n8n_upgrade_outcome_dir }}/{{ inventory_hostname }}.json"
        content: "{{ fake_outcome | combine({'version': n8n_version, 'image': 'n8n:' ~ n8n_version}) | to_json }}"
    - name: Fail as the role does when it rolled back.
      ansible.builtin.fail: {msg: rolled back}
      when: fake_outcome.outcome != 'upgraded'
"""


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    write(h / "playbooks/n8n_upgrade.yml", PLAYBOOK)
    return h


@pytest.fixture
def inv(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
          "  dns: {provider: none}\n")
    write(inventory / "group_vars/all/n8n.yml", N8N_SETTINGS)
    return inventory


def outcome(inv, **fields):
    write(inv / "group_vars/all/zz_fake.yml", "fake_outcome: " + json.dumps(fields) + "\n")


def aidevops(home, *args):
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def show(home, inv):
    return json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)


@pytest.mark.parametrize("args, says", [
    (["--service", "n8n", "--to", "latest"], "'latest' is not a version"),
    (["--service", "n8n", "--to", "2.40"], "'2.40' is not a version"),
    (["--service", "n8n", "--to", "2.40.7;rm -rf /"], "is not a version"),
    (["--service", "postgres", "--to", "2.40.8"], "cannot upgrade 'postgres': upgrades are supported for n8n"),
    (["--service", "n8n"], "Missing option '--to'"),
])
def test_bad_input_is_one_error_line_and_nothing_is_created(home, inv, args, says):
    r = aidevops(home, "upgrade", "--inventory", str(inv), *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert says in r.stderr and "Traceback" not in r.stderr
    assert not (inv / ".aidevops").exists()
    assert (inv / "group_vars/all/n8n.yml").read_text() == N8N_SETTINGS


def test_a_service_the_inventory_does_not_deploy_is_refused(home, inv):
    write(inv / "group_vars/all/aidevops.yml", "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n"
                                               "  services: []\n  dns: {provider: none}\n")
    r = aidevops(home, "upgrade", "--inventory", str(inv), "--service", "n8n", "--to", "2.40.8")
    assert r.returncode == 2 and "error: " in r.stderr and "n8n is not deployed by this inventory" in r.stderr
    assert not (inv / ".aidevops").exists()


def test_an_inventory_that_cannot_take_the_new_version_is_refused_before_anything(home, inv):
    write(inv / "group_vars/all/n8n.yml", 'n8n_version: "2.40.7"\nn8n_version: "2.40.6"\n')
    r = aidevops(home, "upgrade", "--inventory", str(inv), "--service", "n8n", "--to", "2.40.8")
    assert r.returncode == 2 and "error: " in r.stderr and "Traceback" not in r.stderr
    assert not (inv / ".aidevops").exists()


def test_an_upgrade_that_passed_is_recorded_and_the_inventory_takes_the_version(home, inv):
    outcome(inv, outcome="upgraded", reason="gate passed", previous_image="n8n:2.40.7",
            switch_at=1000.0, gate_passed_at=1042.5)
    r = aidevops(home, "upgrade", "--inventory", str(inv), "--service", "n8n", "--to", "2.40.8")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "local-1: upgraded: upgraded to n8n:2.40.8 (from n8n:2.40.7; switch and gate 42.5s)" in r.stdout
    text = (inv / "group_vars/all/n8n.yml").read_text()
    assert text == N8N_SETTINGS.replace('n8n_version: "2.40.7"  # pinned', 'n8n_version: "2.40.8"')
    shown = show(home, inv)
    assert shown["run"]["command"] == "upgrade" and shown["run"]["exit_code"] == 0
    assert [(p["phase"], p["status"]) for p in shown["phases"]] == [("upgrade", "succeeded")]


def test_a_rolled_back_upgrade_exits_1_says_both_outcomes_and_leaves_the_inventory(home, inv):
    outcome(inv, outcome="rolled_back", reason="Health gate: a workflow runs.: non-zero return code",
            previous_image="n8n:2.40.7", snapshot="/var/backups/aidevops/upgrade/n8n-x.dump",
            failed_at=2000.0, rolled_back_at=2051.2)
    r = aidevops(home, "upgrade", "--inventory", str(inv), "--service", "n8n", "--to", "2.40.8")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "rolled back to n8n:2.40.7 and the pre-upgrade database in 51.2s" in r.stdout
    assert "failed, rolled back" in r.stdout
    assert "ALERT (high): upgrade of n8n to 2.40.8 failed the health gate on local-1: rolled back" in r.stderr
    assert (inv / "group_vars/all/n8n.yml").read_text() == N8N_SETTINGS
    shown = show(home, inv)
    phases = {p["phase"]: p for p in shown["phases"]}
    assert shown["run"]["status"] == "failed" and shown["run"]["exit_code"] == 1
    assert phases["upgrade"]["status"] == "failed" and "Health gate: a workflow runs." in phases["upgrade"]["reason"]
    assert phases["rollback"]["status"] == "succeeded" and "back on n8n:2.40.7" in phases["rollback"]["reason"]


def test_a_failed_rollback_says_what_state_the_host_is_in(home, inv):
    outcome(inv, outcome="rollback_failed", reason="Health gate: n8n is ready through the proxy.: attempts",
            previous_image="n8n:2.40.7", snapshot="/var/backups/aidevops/upgrade/n8n-x.dump",
            rollback_reason="Rollback: start the previous n8n.: timeout", failed_at=1.0, rollback_failed_at=90.0)
    r = aidevops(home, "upgrade", "--inventory", str(inv), "--service", "n8n", "--to", "2.40.8")
    assert r.returncode == 1
    assert "ROLLBACK FAILED (Rollback: start the previous n8n.: timeout)" in r.stdout
    assert "the pre-upgrade dump /var/backups/aidevops/upgrade/n8n-x.dump" in r.stdout
    phases = {p["phase"]: p["status"] for p in show(home, inv)["phases"]}
    assert phases == {"upgrade": "failed", "rollback": "failed"}


def test_a_refusal_on_the_host_exits_2_and_changes_nothing(home, inv):
    outcome(inv, outcome="refused", reason="no image for n8n 2.40.8")
    r = aidevops(home, "upgrade", "--inventory", str(inv), "--service", "n8n", "--to", "2.40.8")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "refused, nothing changed: no image for n8n 2.40.8" in r.stdout
    assert (inv / "group_vars/all/n8n.yml").read_text() == N8N_SETTINGS


def test_setting_replaces_the_line_and_keeps_the_comments(tmp_path):
    path = write(tmp_path / "n8n.yml", N8N_SETTINGS)
    path.chmod(0o640)
    set_setting(path, "n8n_version", "2.41.0-rc.1")
    assert path.read_text() == N8N_SETTINGS.replace('"2.40.7"  # pinned', '"2.41.0-rc.1"')
    assert path.stat().st_mode & 0o777 == 0o640


def test_setting_is_appended_when_absent_and_a_missing_file_is_made(tmp_path):
    path = write(tmp_path / "n8n.yml", "# only a comment\nn8n_port: 5678")
    set_setting(path, "n8n_version", "2.40.8")
    assert path.read_text() == "# only a comment\nn8n_port: 5678\n# set by `aidevops upgrade`\nn8n_version: \"2.40.8\"\n"
    made = set_setting(tmp_path / "new.yml", "n8n_version", "2.40.8")
    assert made.read_text() == "---\n# set by `aidevops upgrade`\nn8n_version: \"2.40.8\"\n"


@pytest.mark.parametrize("text", ['n8n_version: >\n  2.40.7\n', 'n8n_version: "1"\nn8n_version: "2"\n', "- a list\n"])
def test_setting_refuses_what_it_cannot_change_safely(tmp_path, text):
    path = write(tmp_path / "n8n.yml", text)
    with pytest.raises(BadInput):
        with_setting(path, "n8n_version", "2.40.8")
    assert path.read_text() == text


def test_the_sandbox_image_follows_n8n_version():
    text = Path("inventories/sandbox/group_vars/all/n8n.yml").read_text()
    assert 'n8n_image: "{{ aidevops_sandbox_images.n8n_repository }}:{{ n8n_version }}' in text
