"""Drift on the shared e2e host (issue 13, item 4): `aidevops check` finds what was changed by hand (an nginx
site file and n8n's env file edited, fail2ban stopped, a port opened in ufw) with the diffs masked, changes none
of it, and finds nothing once `aidevops run` has put the host back.

The last check, clean on the deployed host, is also the test that a check finds no drift where there is none (a
check before the changes would repeat it: each whole-stack check costs 2-5 minutes of CI)."""

import json
import time

import pytest

from tests.e2e.conftest import aidevops, on_host

pytestmark = pytest.mark.integration

SITE = "/etc/nginx/sites-available/aidevops-proxy-n8n.conf"
N8N_ENV = "/opt/aidevops/n8n/n8n.env"


def check(inv, *args):
    t0 = time.monotonic()
    r = aidevops("check", "--inventory", str(inv), "--plain", *args, timeout=1200)
    print(f"aidevops check {' '.join(args)}: exit {r.returncode} in {time.monotonic() - t0:.1f}s")
    return r


def vault_values(inv) -> list[str]:
    from orchestrator import vault

    return [v for v in vault.secret_values(inv) if len(v) >= 6]


def test_drift_is_found_masked_and_gone_after_a_run(stack, first_run):
    inv, _, host = stack
    assert first_run.returncode == 0, first_run.stdout[-6000:]

    on_host(host, f"test -f {SITE} && echo '# added by hand' >> {SITE}")
    on_host(host, f"sed -i 's/^N8N_LOG_LEVEL=.*/N8N_LOG_LEVEL=debug/' {N8N_ENV} && grep -q N8N_LOG_LEVEL=debug {N8N_ENV}")
    on_host(host, "systemctl stop fail2ban")
    on_host(host, "ufw allow 8080/tcp")
    try:
        r = check(inv)
        print(r.stdout)  # the drift report, as a user reads it
        assert r.returncode == 1, r.stdout[-6000:] + r.stderr[-3000:]
        assert "+# added by hand" not in r.stdout and "-# added by hand" in r.stdout  # the run would remove it
        assert "fail2ban would be started" in r.stdout
        assert "allow 8080/tcp" in r.stdout
        assert "-N8N_LOG_LEVEL=debug" in r.stdout
        assert "********" in r.stdout  # the env file's secrets, masked in its diff
        assert not any(v in r.stdout + r.stderr for v in vault_values(inv))
        # Nothing was changed on the host.
        on_host(host, f"grep -q '# added by hand' {SITE} && ! systemctl is-active -q fail2ban"
                      " && ufw show added | grep -q '^ufw allow 8080/tcp$'")

        shown = json.loads(aidevops("runs", "show", "--inventory", str(inv), "--json").stdout)
        assert shown["run"]["command"] == "check" and shown["run"]["status"] == "drifted"
        hosts = {d["host"] for d in shown["drift"]}
        assert hosts == {host.name}
        assert not any(v in json.dumps(shown) for v in vault_values(inv))
    finally:  # put the host back as a user would: a run of what drifted
        back = aidevops("run", "--inventory", str(inv), "--plain", "--only", "base_server,n8n,nginx_proxy",
                        timeout=1800)
    assert back.returncode == 0, back.stdout[-6000:] + back.stderr[-3000:]
    on_host(host, "systemctl is-active -q fail2ban && ! ufw show added | grep -q 8080")
    again = check(inv, "--json")
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-3000:]
    assert json.loads(again.stdout)["drift"] == []
