"""Fixtures the suites share: the agent's configuration (targets, thresholds, CA) and the endpoint parameter.

A suite that serves one service sets SERVICE = "<service>" and gets only that service's endpoints. A suite of
one agent (SERVICE, or AGENT for the others) checks only the hosts that agent is placed on.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import pytest


def _config(config: pytest.Config) -> dict[str, Any]:
    path = config.getoption("aidevops_config", None)
    if not path or not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "endpoint" in metafunc.fixturenames:
        service = getattr(metafunc.module, "SERVICE", None)
        names = [e["hostname"] for e in _config(metafunc.config).get("endpoints", [])
                 if service is None or e["service"] == service]
        metafunc.parametrize("endpoint", names)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Host checks of an agent placed on some hosts only (inventory groups) leave the other hosts out."""
    placement = _config(config).get("placement") or {}
    kept, left_out = [], []
    for item in items:
        module = getattr(item, "module", None)
        agent = getattr(module, "AGENT", None) or getattr(module, "SERVICE", None)
        host = getattr(getattr(item, "callspec", None), "params", {}).get("_testinfra_host")
        name = getattr(getattr(host, "backend", None), "host", None)
        if agent in placement and name is not None and name not in placement[agent]:
            left_out.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session")
def settings(validation_config) -> dict[str, Any]:
    return validation_config.get("settings", {})


@pytest.fixture
def target(validation_config, endpoint) -> dict[str, Any]:
    """The endpoint's connection details (hostname, connect address, ports, health path)."""
    return next(e for e in validation_config["endpoints"] if e["hostname"] == endpoint)


@pytest.fixture
def host_info(validation_config, host) -> dict[str, Any]:
    """This host's outside address, SSH port and sandbox container."""
    return validation_config["hosts"][host.backend.host]


@pytest.fixture(scope="session")
def ca_file(validation_config) -> str | None:
    path = validation_config.get("ca_file")
    if path and not os.path.exists(path):
        pytest.fail(f"validation.ca_file {path} does not exist", pytrace=False)
    return path


@pytest.fixture(scope="session")
def validation_secrets() -> dict[str, str]:
    """The secrets a check signs in with, handed over by the validator in the environment (never a file)."""
    return json.loads(os.environ.get("AIDEVOPS_VALIDATION_SECRETS") or "{}")


def auth_headers(auth: dict[str, str] | None, secrets: dict[str, str]) -> dict[str, str]:
    """The request headers that open a site's health route, as its declaration says (none when it declares
    nothing); a secret missing from the vault fails the check with its name."""
    if not auth:
        return {}
    if auth["scheme"] == "apikey":
        return {auth["header"]: _secret(secrets, auth["secret"])}
    user, password = _secret(secrets, auth["user_secret"]), _secret(secrets, auth["password_secret"])
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _secret(secrets: dict[str, str], name: str) -> str:
    if not secrets.get(name):
        pytest.fail(f"{name} is not in the inventory's vault: the check cannot sign in", pytrace=False)
    return secrets[name]


def rendered_folder(config: dict[str, Any], service: str, host_name: str) -> str | None:
    """The service's project folder when it is only rendered on this host (its state variable, e.g.
    supabase_state: rendered), else None: it should be running."""
    return (config.get("rendered") or {}).get(service, {}).get(host_name)


def skip_where_rendered(config: dict[str, Any], service: str, host_name: str | None) -> None:
    """A check of the running service says why it has nothing to look at on a host where it is only rendered."""
    if host_name in (config.get("rendered") or {}).get(service, {}):
        pytest.skip(f"{service} is only rendered on {host_name} (its state variable says rendered): "
                    "nothing of it runs there to check")


def compose_containers(host, project: str) -> dict[str, str]:
    """name -> status text (`Up 5 minutes (healthy)`) of the compose project's containers."""
    ps = host.run(f"docker ps -a --filter label=com.docker.compose.project={project} "
                  "--format '{{.Names}}\t{{.Status}}'")
    assert ps.rc == 0, f"docker ps failed: {ps.stderr.strip()[:200]}"
    return dict(line.split("\t", 1) for line in ps.stdout.splitlines() if "\t" in line)


def starting(status: str) -> bool:
    """Whether `docker ps` says the container is (re)starting: its healthcheck has not decided yet."""
    return "health: starting" in status or status.startswith("Restarting")


def settled_containers(host, project: str, wait_seconds: float) -> dict[str, str]:
    """The compose project's containers once none is starting any more, or as they are after wait_seconds."""
    deadline = time.monotonic() + wait_seconds
    containers = compose_containers(host, project)
    while any(starting(s) for s in containers.values()) and time.monotonic() < deadline:
        time.sleep(3)
        containers = compose_containers(host, project)
    return containers
