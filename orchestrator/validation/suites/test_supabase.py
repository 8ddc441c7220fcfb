"""Supabase: its containers healthy, and the API gateway (Kong) through the proxy both enforcing its key and
password checks and answering for the services behind it."""

from __future__ import annotations

import json

import pytest

from orchestrator.validation import probes
from orchestrator.validation.suites.conftest import (
    auth_headers,
    rendered_folder,
    settled_containers,
    skip_where_rendered,
)

SERVICE = "supabase"
PROJECT = "supabase"
HEALTH_WAIT_SECONDS = 120  # its containers' healthchecks decide within a minute or two of a (re)start


@pytest.mark.severity("high")
def test_containers_healthy(host, validation_config):
    """Every Supabase container is up, and healthy where it has a healthcheck (waited for while starting)."""
    skip_where_rendered(validation_config, SERVICE, host.backend.host)
    containers = settled_containers(host, PROJECT, HEALTH_WAIT_SECONDS)
    assert containers, f"no container of compose project {PROJECT}"
    bad = [f"{n} ({s})" for n, s in sorted(containers.items())
           if not s.startswith("Up") or "(unhealthy)" in s or "(health: starting)" in s]
    assert not bad, f"not healthy: {', '.join(bad)}"


@pytest.mark.severity("high")
def test_gateway_refuses_without_credentials(target, ca_file, validation_config):
    """Without the declared key or password the gateway answers 401: its key-auth or basic-auth is in force
    (200 would be an open API, 404 a route missing from kong.yml, 502 the service behind it down)."""
    skip_where_rendered(validation_config, SERVICE, target.get("host"))
    if not target.get("health_auth"):
        return  # nothing declared to refuse: the healthy check below covers the site
    r = probes.request(target, target["health"], ca_file=ca_file)
    assert r.status == 401, (f"GET https://{target['hostname']}{target['health']} without credentials "
                             f"answered {r.status}, not 401")


@pytest.mark.severity("high")
def test_healthy_through_gateway(target, ca_file, validation_secrets, validation_config):
    """With the declared credentials the service behind the gateway answers 200 with JSON (GoTrue's health
    for the API, Studio's profile for the dashboard)."""
    skip_where_rendered(validation_config, SERVICE, target.get("host"))
    headers = auth_headers(target.get("health_auth"), validation_secrets)
    r = probes.request(target, target["health"], ca_file=ca_file, headers=headers)
    assert r.status == 200, f"GET https://{target['hostname']}{target['health']} answered {r.status}"
    try:
        json.loads(r.body)
    except ValueError:
        pytest.fail(f"GET https://{target['hostname']}{target['health']} answered 200 without JSON: "
                    f"{r.body[:80]!r}", pytrace=False)


@pytest.mark.severity("high")
def test_rendered_stack_is_valid(host, validation_config):
    """Where Supabase is only rendered (supabase_state: rendered), its compose project is in place and
    `docker compose config` accepts it, so that starting it needs only the images."""
    folder = rendered_folder(validation_config, SERVICE, host.backend.host)
    if folder is None:
        pytest.skip("Supabase runs here: its containers and gateway are checked instead")
    check = host.run(f"cd {folder} && docker compose config --quiet")
    assert check.rc == 0, f"docker compose config in {folder} failed: {(check.stderr or check.stdout).strip()[:300]}"
