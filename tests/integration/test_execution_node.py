"""One real phase through an execution node: `aidevops run` on this machine, ansible-runner's worker on a
sandbox host (the node) over SSH, and the playbook run from there against a second sandbox host (the target),
reached by the node on the sandbox network at its own address, port 22.

The node gets ansible-core and ansible-runner (the versions this machine runs) in a venv from PyPI; the venv is
cached as an archive by those versions and the base image, so a second session does not install them again.
A temporary project home holds a small playbook that changes one file on the target, with a vault value.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from orchestrator import vault
from orchestrator.sandbox import app_images
from orchestrator.sandbox import docker as d
from orchestrator.sandbox.base_image import ensure_image
from orchestrator.sandbox.hosts import Sandbox
from tests.conftest import ROOT, write
from tests.integration.conftest import ssh
from tests.unit.test_vault import encrypt

pytestmark = pytest.mark.integration

PREFIX = os.environ.get("AIDEVOPS_NODE_PREFIX", "aidevops-node")  # apart from the other integration modules
OS_NAME = "debian13"
NODE_VENV = "/opt/aidevops-node"
MARK = "/root/aidevops-node-test"
SECRET = "n0de-Vault-Value-7731"

PLAYBOOK = f"""\
- hosts: all
  gather_facts: false
  tasks:
    - name: Note where this connection comes from.
      ansible.builtin.shell: echo "$SSH_CLIENT" | cut -d' ' -f1
      register: source
      changed_when: false
    - name: Leave a mark on the target.
      ansible.builtin.copy:
        dest: {MARK}
        content: "run {{{{ aidevops_run_id }}}} from {{{{ source.stdout }}}} sha {{{{ vault_node_test | hash('sha256') }}}}\\n"
        mode: "0600"
"""


def node_venv(container: str, image: str) -> None:
    """ansible-core and ansible-runner in a venv on the node: from the cache, else from PyPI (then cached)."""
    core, runner = version("ansible-core"), version("ansible-runner")
    image_id = d.docker("image", "inspect", "--format", "{{.Id}}", image).strip().split(":")[-1][:12]
    cache = app_images.cache_dir() / f"node-venv-{image_id}-core{core}-runner{runner}.tar.gz"
    if not cache.exists():
        d.docker("exec", container, "sh", "-c",
                 "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv "
                 f">/dev/null && python3 -m venv {NODE_VENV} && {NODE_VENV}/bin/pip install -q "
                 # The system's CA bundle: it holds a TLS-intercepting proxy's CA where there is one.
                 f"--cert /etc/ssl/certs/ca-certificates.crt ansible-core=={core} ansible-runner=={runner}",
                 timeout=900)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial")
        with open(partial, "wb") as out:
            subprocess.run(["docker", "exec", container, "tar", "-C", "/", "-czf", "-", NODE_VENV.lstrip("/")],
                           stdout=out, check=True, timeout=300)
        partial.rename(cache)  # whole or absent
    else:
        d.docker("exec", "-i", container, "tar", "-C", "/", "-xzf", "-", input=cache.read_bytes())


@pytest.fixture(scope="module")
def node_and_target(tmp_path_factory):
    """Two sandbox hosts: the node (ssh from here on 127.0.0.1) and the target (its sandbox address)."""
    box_inv = tmp_path_factory.mktemp("node-sandbox") / "inventory"
    box_inv.mkdir()
    box = Sandbox(box_inv, prefix=PREFIX)
    box.down(log=lambda m: None)  # leftovers of an interrupted session
    try:
        node, target = box.up(hosts=2, os_name=OS_NAME, services=False, images=False, log=print)
        started = time.monotonic()
        node_venv(node.container, ensure_image(OS_NAME, log=print))
        print(f"node prepared in {time.monotonic() - started:.1f}s")
        yield box, node, target
    finally:
        box.down(log=lambda m: None)


@pytest.fixture
def project(tmp_path, node_and_target):
    """A project home with the playbook, and an inventory whose one host is the target, behind the node."""
    box, node, target = node_and_target
    home = tmp_path / "home"
    write(home / "playbooks/base_server.yml", PLAYBOOK)
    inv = tmp_path / "inventory"
    write(inv / "hosts.yml", f"""\
all:
  children:
    behind_node:
      hosts:
        target:
          ansible_host: {target.address}
          ansible_port: 22
      vars:
        ansible_user: root
        # A path on this machine: the key goes to the node's ssh-agent.
        ansible_ssh_private_key_file: {box.key_file}
        ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
        aidevops_execution_node:
          host: 127.0.0.1
          port: {node.ssh_port}
          user: root
          private_key_file: {box.key_file}
          python: {NODE_VENV}/bin/python
          host_key_checking: false
""")
    write(inv / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: node.test\n  admin_email: ops@node.test\n  services: []\n  dns: {provider: none}\n")
    password = vault.ensure_password_file(inv)
    encrypt(write(inv / "group_vars/all/vault.yml", f"vault_node_test: {SECRET}\n"), password)
    return home, inv


def aidevops(home, *args, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_VAULT_PASSWORD_FILE"}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env={**env, "AIDEVOPS_HOME": str(home)}, check=False)


def test_one_phase_runs_on_the_node_against_the_target(project, node_and_target):
    home, inv = project
    box, node, target = node_and_target
    plan = aidevops(home, "plan", "--inventory", str(inv), "--only", "base_server")
    assert f"execution node root@127.0.0.1:{node.ssh_port} runs the phases of target" in plan.stdout, plan.stderr

    started = time.monotonic()
    r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
    print(f"phase through the node: {time.monotonic() - started:.1f}s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[base_server] succeeded" in r.stdout
    assert "target: changed: Leave a mark on the target." in r.stdout  # the node's events, live

    # The store has the node's events as for a local phase.
    shown = json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)
    run_id = shown["run"]["id"]
    stats = {s["host"]: s for s in shown["host_stats"]}
    assert (stats["target"]["ok"], stats["target"]["changed"], stats["target"]["failures"]) == (2, 1, 0)
    phase = shown["phases"][0]
    assert (phase["phase"], phase["status"], phase["rc"]) == ("base_server", "succeeded", 0)
    artifacts = Path(phase["artifact_dir"])
    assert {"job_events", "stdout", "rc", "status"} <= {p.name for p in artifacts.iterdir()}
    assert (artifacts / "status").read_text() == "successful"
    events = aidevops(home, "runs", "events", "--inventory", str(inv), "--json").stdout.splitlines()
    assert json.loads(events[-1])["event"] == "playbook_on_stats"

    # The change is on the target, made over a connection from the node's address (not from this machine).
    mark = ssh(box, target, f"cat {MARK}")
    sha = hashlib.sha256(SECRET.encode()).hexdigest()
    assert mark.stdout.strip() == f"run {run_id} from {node.address} sha {sha}", mark.stdout + mark.stderr

    # Nothing is left on the node: no worker folder, no process of the job.
    worker = (artifacts.parent.parent / "node.log").read_text()
    assert "aidevops worker removed /tmp/aidevops-worker-" in worker
    left = ssh(box, node, "ls -d /tmp/aidevops-worker-* 2>/dev/null; pgrep -af '[a]nsible|[s]sh-agent' || true")
    assert left.returncode == 0 and left.stdout.strip() == "", left.stdout
    # No secret in clear in the run's folder: not the vault value, not the hosts' key.
    private = box.key_file.read_text().strip().splitlines()[1]
    for path in (inv / ".aidevops").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes() and private.encode() not in path.read_bytes(), path
