"""Notifications of real runs on the session's sandbox host (real SSH, real ansible-runner), through real Apprise to
a loopback JSON webhook and a loopback SMTP server, both on 127.0.0.1 and stopped by the test. The phase is a
tiny playbook (a project home of its own) so the test is about the notifications, not about a role.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

from orchestrator import vault
from tests.conftest import ROOT, write
from tests.fakes.notify_receivers import Mailbox, Webhook, free_port
from tests.unit.test_vault import encrypt

pytestmark = pytest.mark.integration

SECRET = "it-Notify-Secret-7f3e21"
PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Look at the host.
      ansible.builtin.command: hostname
      changed_when: false
    - name: Fail on purpose, printing a vault value by mistake.
      ansible.builtin.shell: echo "cannot reach the mirror with {{ vault_it_notify_key }}" >&2; exit 4
      when: fail_me | default(false)
"""


@pytest.fixture(scope="module")
def notify_inventory(own_inventory, tmp_path_factory):
    inv, _, host = own_inventory
    home = tmp_path_factory.mktemp("notify-home")
    write(home / "playbooks/base_server.yml", PLAYBOOK)
    return inv, home, host


def aidevops(home, *args):
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env, check=False)


def put_vault(inv, urls):
    pw = vault.ensure_password_file(inv)
    path = inv / "group_vars/all/vault.yml"
    write(path, yaml.safe_dump({"vault_it_notify_key": SECRET, "aidevops_notify_urls": urls}))
    encrypt(path, pw)


def run_record(home, inv):
    return json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)["run"]


def test_real_runs_on_a_sandbox_host_are_notified_by_webhook_and_mail(notify_inventory):
    inv, home, host = notify_inventory
    down = f"json://127.0.0.1:{free_port()}/down"
    with Webhook() as hook, Mailbox() as mail:
        put_vault(inv, [hook.url(), mail.url(), down])
        ok = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
        assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr
        first = run_record(home, inv)
        write(inv / "group_vars/all/test.yml", "fail_me: true\n")
        try:
            bad = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
        finally:
            (inv / "group_vars/all/test.yml").unlink()
        assert bad.returncode == 1, bad.stdout[-3000:] + bad.stderr
        second = run_record(home, inv)
        assert (first["status"], second["status"]) == ("succeeded", "failed")

        for texts in (hook.texts(), mail.texts()):
            assert len(texts) == 2, texts
            assert texts[0].startswith("aidevops run: succeeded on inventory\n")
            assert f"Run: {first['id']} (aidevops run --only base_server), succeeded, exit 0" in texts[0]
            assert texts[1].startswith("aidevops run: failed on inventory\n")
            assert f"{host.name}: Fail on purpose, printing a vault value by mistake." in texts[1]
            assert "cannot reach the mirror with ********" in texts[1]
            assert f"aidevops runs show {second['id']} --inventory {inv}" in texts[1]
        delivered = "\n".join(hook.texts() + [m.as_string() for m in mail.messages])
        assert SECRET not in delivered and mail.password not in delivered

    # The channel nobody listens on: one warning per run, and neither run's outcome changed by it.
    for run in (first, second):
        log = [json.loads(line) for line in (inv / ".aidevops/runs" / run["id"] / "run.log.jsonl").open()]
        warnings = [r["message"] for r in log if r["agent_id"] == "notify"]
        assert len(warnings) == 1 and "/down failed: " in warnings[0], warnings
