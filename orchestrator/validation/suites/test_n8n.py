"""n8n: its containers healthy, and the app answering through the proxy, websockets included."""

from __future__ import annotations

import base64
import json
import os

import pytest

from orchestrator.validation import probes
from orchestrator.validation.suites.conftest import settled_containers

SERVICE = "n8n"
PROJECT = "n8n"  # the n8n role's compose project (n8n_compose_project)
# Right after a restart n8n answers /healthz before its database and REST API are there: its other routes answer
# an HTML "n8n is starting up" page (200), then 404, before the REST API answers JSON. The checks below wait
# this long for it to become usable before they judge.
READY_WAIT_SECONDS = 120


@pytest.mark.severity("high")
def test_containers_healthy(host):
    """n8n and its PostgreSQL containers are up and report healthy (waited for while their health is starting)."""
    containers = settled_containers(host, PROJECT, READY_WAIT_SECONDS)
    assert containers, f"no container of compose project {PROJECT}"
    bad = [f"{n} ({s})" for n, s in sorted(containers.items()) if "(healthy)" not in s]
    assert not bad, f"not healthy: {', '.join(bad)}"


@pytest.mark.severity("high")
def test_ready_through_proxy(target, ca_file):
    """n8n's readiness (/healthz/readiness: database connected and migrated) answers 200 through the proxy."""
    r = probes.request_until(target, "/healthz/readiness", ca_file=ca_file, settled=lambda r: r.status == 200,
                             wait_seconds=READY_WAIT_SECONDS)
    assert r.status == 200, (f"GET https://{target['hostname']}/healthz/readiness answered {r.status} "
                             f"for {READY_WAIT_SECONDS}s")


@pytest.mark.severity("medium")
def test_websocket_push_upgrade(target, ca_file, validation_config, n8n_owner_password):
    """The editor's push websocket (/rest/push) is upgraded through the proxy (101), logged in as the owner."""
    # The owner is the admin email of the host that serves this name (a fleet's host has its own).
    login = json.dumps({"emailOrLdapLoginId": target.get("admin_email") or validation_config["admin_email"],
                        "password": n8n_owner_password}).encode()
    # Retried only while n8n is starting: a refused password is an answer, and n8n limits logins.
    r = probes.request_until(target, "/rest/login", ca_file=ca_file, method="POST", body=login,
                             headers={"Content-Type": "application/json"}, settled=probes.answered_json,
                             wait_seconds=READY_WAIT_SECONDS)
    assert r.status == 200, f"owner login answered {r.status}"
    cookie = next((c.split(";")[0] for c in r.set_cookies if c.startswith("n8n-auth=")), None)
    assert cookie, "owner login set no n8n-auth cookie"
    key = base64.b64encode(os.urandom(16)).decode()
    r = probes.request(target, "/rest/push?pushRef=aidevops-validator", ca_file=ca_file, read_body=False, headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13",
        "Origin": f"https://{target['hostname']}", "Cookie": cookie})
    assert r.status == 101, f"websocket upgrade on /rest/push answered {r.status}, not 101"


@pytest.fixture
def n8n_owner_password(validation_secrets) -> str:
    password = validation_secrets.get("n8n_owner_password")
    if not password:
        pytest.skip("the n8n owner password is not in the inventory's vault (group_vars/all/vault_n8n.yml)")
    return password
