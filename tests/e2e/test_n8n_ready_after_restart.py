"""Ready means usable: right after n8n restarts (the host's Docker engine restarted), `aidevops validate` and the
n8n phase pass with nobody waiting by hand. While n8n starts, /healthz answers 200 and its other routes answer
a "starting up" page, then 404: the checks wait for its readiness and for its login's JSON answer."""

import json

import pytest

from tests.e2e.conftest import aidevops
from tests.e2e.test_validate_faults import failed, on_host

pytestmark = pytest.mark.integration


def test_validate_and_the_n8n_phase_pass_right_after_a_restart(stack, first_run):
    inv, _, host = stack
    assert first_run.returncode == 0, first_run.stdout[-3000:]

    on_host(host, "systemctl restart docker")
    r = aidevops("validate", "--inventory", str(inv), "--no-audit", "--no-drill", "--json", timeout=900)
    assert r.returncode == 0, json.dumps(failed(json.loads(r.stdout)) if r.stdout.startswith("{") else r.stderr)

    on_host(host, "systemctl restart docker")
    r = aidevops("run", "--inventory", str(inv), "--only", "n8n", "--plain", timeout=900)
    assert r.returncode == 0, r.stdout[-3000:]
    # The phase ended once n8n's REST API answered: its login works at once.
    login = on_host(host, "curl -s -o /dev/null -w '%{http_code} %{content_type}' -X POST "
                          "-H 'Content-Type: application/json' -d '{}' http://127.0.0.1:5678/rest/login").stdout
    assert "json" in login and not login.startswith(("404", "200")), login
