"""A fresh sandbox host for the integration tests, removed afterwards."""

import os
import shutil
import subprocess
import sys

import pytest

from orchestrator.sandbox.hosts import Sandbox
from tests.conftest import ROOT

PREFIX = os.environ.get("AIDEVOPS_IT_PREFIX", "aidevops-it")  # another prefix keeps a second session apart
# The e2e stack and Molecule's scenarios run Debian 13; this host runs Debian 12, so that `make test` deploys
# base_server on both releases the role supports (AIDEVOPS_TEST_OS=debian13 for the other).
TEST_OS = os.environ.get("AIDEVOPS_TEST_OS", "debian12")


def pytest_collection_modifyitems(items):
    """The security-levels module leaves the session's host at `strict`: it runs after every other module."""
    last = [i for i in items if i.module.__name__.endswith("test_security_levels")]
    items[:] = [i for i in items if i not in last] + last


@pytest.fixture(scope="session")
def sandbox_inventory(tmp_path_factory):
    """inventories/sandbox's request and role settings, with hosts.yml for a new host of our own."""
    inv = tmp_path_factory.mktemp("sandbox") / "inventory"
    shutil.copytree(ROOT / "inventories/sandbox/group_vars", inv / "group_vars")
    if TEST_OS == "debian12":  # its archive has Docker without compose v2, which base_server alone does not need
        with open(inv / "group_vars/all/base_server.yml", "a") as settings:
            settings.write("base_server_docker_require_compose_v2: false\n")
    box = Sandbox(inv, prefix=PREFIX)
    box.down(log=lambda m: None)  # leftovers of an interrupted session
    # No ACME CA or DNS server: base_server needs neither (the e2e tests start them).
    hosts = box.up(hosts=1, os_name=TEST_OS, services=False,
                   images=False, log=print)
    yield inv, box, hosts[0]
    box.down(log=lambda m: None)


@pytest.fixture(scope="module")
def own_inventory(sandbox_inventory, tmp_path_factory):
    """An inventory folder of this module's own (its state folder, runs and lock) for the session's sandbox host:
    the same request, role settings and hosts.yml, so a module can break runs without deploying a host."""
    shared, box, host = sandbox_inventory
    inv = tmp_path_factory.mktemp("own") / "inventory"
    shutil.copytree(shared / "group_vars", inv / "group_vars", ignore=shutil.ignore_patterns("vault_*.yml"))
    shutil.copy2(shared / "hosts.yml", inv / "hosts.yml")
    # These modules test the run's mechanics (signals, resume, notifications), which no security level changes;
    # `baseline`'s shorter runs save CI minutes. test_security_levels sets its own level.
    set_security_level(inv, "baseline")
    yield inv, box, host


def set_security_level(inv, level: str) -> None:
    """base_server_security_level in the inventory's base_server settings (replaced, never repeated)."""
    settings = inv / "group_vars" / "all" / "base_server.yml"
    kept = [line for line in settings.read_text().splitlines()
            if not line.startswith("base_server_security_level:")]
    settings.write_text("\n".join([*kept, f"base_server_security_level: {level}", ""]))


def aidevops(*args, timeout=1200, **kw):
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)


def ssh(box, host, command, user="root"):
    return subprocess.run(["ssh", *box.ssh_options(), "-p", str(host.ssh_port), f"{user}@127.0.0.1", command],
                          capture_output=True, text=True, timeout=60)
