"""Supabase: its containers healthy and the API gateway answering through the proxy."""

from __future__ import annotations

import pytest

from orchestrator.validation import probes
from orchestrator.validation.suites.test_n8n import compose_containers

SERVICE = "supabase"
PROJECT = "supabase"


@pytest.mark.severity("high")
def test_containers_healthy(host):
    """Every Supabase container is up, and healthy where it has a healthcheck."""
    containers = compose_containers(host, PROJECT)
    assert containers, f"no container of compose project {PROJECT}"
    bad = [f"{n} ({s})" for n, s in sorted(containers.items())
           if not s.startswith("Up") or "(unhealthy)" in s or "(health: starting)" in s]
    assert not bad, f"not healthy: {', '.join(bad)}"


@pytest.mark.severity("high")
def test_gateway_health_through_proxy(target, ca_file):
    """The API gateway (Kong) answers its auth health endpoint through the proxy."""
    r = probes.request(target, target["health"], ca_file=ca_file)
    assert r.status < 500, f"GET https://{target['hostname']}{target['health']} answered {r.status}"
