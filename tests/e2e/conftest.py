"""One sandbox stack for the whole e2e session: a fresh host, then one `aidevops run` of the sandbox request.

Every e2e module checks that same deployment (tests that break something put it back), so the slow
part, deploying n8n behind nginx with a real certificate, happens once per CI run.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from orchestrator.sandbox.hosts import Sandbox
from tests.conftest import ROOT


def pytest_collection_modifyitems(items):
    """The secrets search runs last, so that it searches what every other module's runs wrote (backups,
    restores, upgrades, checks), not only the runs before it in alphabetical order."""
    last = [i for i in items if i.module.__name__.endswith("test_secrets_never_in_clear")]
    items[:] = [i for i in items if i not in last] + last


# Another prefix (AIDEVOPS_E2E_PREFIX) lets one module run beside a session that uses the default one.
PREFIX = os.environ.get("AIDEVOPS_E2E_PREFIX", "aidevops-e2e")
DOMAIN = "sandbox.test"


def aidevops(*args, timeout=3000):
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, check=False)


def on_host(host, command: str, check: bool = True, stdin: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`command` in bash on the sandbox host (as root); asserts it worked unless check=False."""
    r = subprocess.run(["docker", "exec", "-i", host.container, "bash", "-c", command], check=False, input=stdin,
                       capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, f"{command}: {r.stderr or r.stdout}"
    return r


@contextmanager
def transient_unit(host, unit: str, command: str, ready: str):
    """`command` as a transient systemd unit on the host (as unattended-upgrades or a stray server would run),
    once `ready` (a shell test) holds; stopped afterwards whatever happened."""
    on_host(host, f"systemd-run --unit={unit} --collect {command}")
    on_host(host, f"for i in $(seq 100); do {ready} && exit 0; sleep 0.1; done; exit 1")
    try:
        yield
    finally:
        on_host(host, f"systemctl stop {unit}", check=False)


@dataclass
class FirstRun:
    returncode: int
    stdout: str
    stderr: str
    duration: float
    run_id: str | None  # other e2e modules run more; they must look at this one by id


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """(inventory, Sandbox, SandboxHost): a fresh sandbox host with its DNS server and ACME CA."""
    inv = tmp_path_factory.mktemp("e2e") / "inventory"
    shutil.copytree(ROOT / "inventories/sandbox/group_vars", inv / "group_vars",
                    ignore=shutil.ignore_patterns("vault_*.yml"))
    box = Sandbox(inv, prefix=PREFIX)
    box.down(log=lambda m: None)
    # The app images start in the host's Docker (a copy of a cached volume, orchestrator/sandbox/docker_seed.py):
    # loading their archives would add 2-3 minutes to every session; the n8n role loading them is tested in
    # Molecule (the n8n and supabase scenarios converge from archives).
    host = box.up(hosts=1, services=True, preload_images=True, log=print)[0]
    yield inv, box, host
    box.down(log=lambda m: None)


@pytest.fixture(scope="session")
def first_run(stack) -> FirstRun:
    """The first `aidevops run` of the sandbox request on the fresh host."""
    inv, _, _ = stack
    t0 = time.monotonic()
    r = aidevops("run", "--inventory", str(inv), "--plain")
    found = re.search(r"^Run (\S+): ", r.stdout, re.MULTILINE)
    return FirstRun(r.returncode, r.stdout, r.stderr, time.monotonic() - t0, found.group(1) if found else None)
