"""`strict` over the session's sandbox host (made `hardened` by test_base_server_run; the mechanics modules then
ran `baseline` over it, which switches no control off): the run succeeds, every control is in place or skipped with
a reason, and nobody is locked out: brand-new SSH connections (as root and as the admin user) still log in, many
in a row (ufw limit, fail2ban and sshd's PerSourcePenalties exempt the trusted sandbox gateway), and a re-run
changes nothing.

Runs last in the integration session (conftest orders it so): it leaves the host at `strict`, which no other
module expects. Its runs use an inventory folder of their own (own_inventory) with the session's host."""

import json

import pytest

from orchestrator.validation import hardening
from tests.integration.conftest import aidevops, set_security_level, ssh

pytestmark = pytest.mark.integration


def _run(inv):
    r = aidevops("run", "--inventory", str(inv), "--only", "base_server", "--plain")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    shown = json.loads(aidevops("runs", "show", "--inventory", str(inv), "--json").stdout)
    return shown["host_stats"][0]


@pytest.fixture(scope="module")
def strict_host(own_inventory):
    inv, box, host = own_inventory
    set_security_level(inv, "strict")
    stats = _run(inv)
    assert stats["failures"] == 0
    return inv, box, host


def test_strict_keeps_new_logins_working(strict_host):
    _inv, box, host = strict_host
    # More new connections than `ufw limit` allows (6 in 30 s) from one address: the trusted gateway is exempt.
    for user in ["root"] * 4 + ["deploy"] * 4:
        r = ssh(box, host, "sudo -n true && id -un", user=user)
        assert r.returncode == 0 and r.stdout.strip() == user, f"{user} cannot log in after strict: {r.stderr}"
    ufw = ssh(box, host, "ufw status").stdout
    assert "LIMIT" in ufw, ufw


def test_strict_values_and_manifest(strict_host):
    _inv, box, host = strict_host
    sshd = dict(line.split(" ", 1) for line in ssh(box, host, "sshd -T").stdout.splitlines() if " " in line)
    assert (sshd["maxauthtries"], sshd["allowtcpforwarding"], sshd["tcpkeepalive"]) == ("2", "no", "no")
    assert set(sshd["kexalgorithms"].split(",")) <= set(hardening.PQ_KEX)
    manifest = json.loads(ssh(box, host, f"cat {hardening.MANIFEST}").stdout)
    assert manifest["security_level"] == "strict"
    assert sorted(manifest["controls"]) == sorted(hardening.CONTROLS)
    for name, entry in manifest["controls"].items():
        assert entry["state"] in ("applied", "skipped", "off"), name
        assert entry["state"] == "applied" or entry.get("reason"), f"{name} is {entry['state']} without a reason"
    readonly = ssh(box, host, "bash -lc 'readonly -p'").stdout
    assert 'TMOUT="600"' in readonly or "TMOUT=600" in readonly, readonly


def test_strict_rerun_changes_nothing(strict_host):
    inv = strict_host[0]
    stats = _run(inv)
    assert stats["changed"] == 0 and stats["failures"] == 0, stats
