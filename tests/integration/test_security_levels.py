"""`strict` never locks the operator out: after base_server applies it over SSH, new connections still log in.

Runs last in the integration session (conftest orders it so): it leaves the session's host at `strict`, which
no other module expects. Its runs use an inventory folder of their own with the session's host.
"""

import json
import time

import pytest

from tests.integration.conftest import aidevops, ssh

pytestmark = pytest.mark.integration


def _set_level(inv, level):
    settings = inv / "group_vars/all/base_server.yml"
    kept = [line for line in settings.read_text().splitlines() if not line.startswith("base_server_security_level:")]
    settings.write_text("\n".join([*kept, f"base_server_security_level: {level}", ""]))


def _run(inv):
    r = aidevops("run", "--inventory", str(inv), "--only", "base_server", "--plain")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    shown = json.loads(aidevops("runs", "show", "--inventory", str(inv), "--json").stdout)
    return shown["host_stats"][0]


def test_strict_is_applied_and_a_new_connection_still_logs_in(own_inventory):
    inv, box, host = own_inventory
    _set_level(inv, "strict")
    stats = _run(inv)
    assert stats["failures"] == 0 and stats["changed"] > 0
    manifest = json.loads(ssh(box, host, "cat /etc/ansible/facts.d/base_server.fact").stdout)
    assert manifest["security_level"] == "strict"

    # New connections, as the operator makes them: root with its key, the admin user with its key and sudo.
    assert ssh(box, host, "true").returncode == 0
    admin = ssh(box, host, "sudo -n true && id -un", user="deploy")
    assert admin.returncode == 0 and admin.stdout.strip() == "deploy", admin.stderr
    # Every sandbox client arrives from the network's gateway: a burst of connections (more than `ufw limit`,
    # fail2ban and sshd's penalties allow an untrusted address) still gets in, because that address is trusted.
    started = time.monotonic()
    results = [ssh(box, host, "true").returncode for _ in range(10)]
    assert results == [0] * 10, f"{results.count(0)} of 10 quick connections logged in"
    assert time.monotonic() - started < 60

    # What strict is for: the operator still gets in, and an attacker's password or agent tricks do not.
    settings = dict(line.split(" ", 1) for line in ssh(box, host, "sshd -T").stdout.splitlines() if " " in line)
    assert settings["passwordauthentication"] == "no"
    assert settings["allowtcpforwarding"] == "no" and settings["allowagentforwarding"] == "no"


def test_strict_rerun_changes_nothing(own_inventory):
    inv, box, host = own_inventory
    stats = _run(inv)
    assert stats["changed"] == 0 and stats["failures"] == 0
