"""Phases through an execution node, without Docker: the node is this machine.

`ssh` on PATH is tests/fakes/ssh_here.py, which runs the remote command locally, so `aidevops run` goes the
whole way of a remote phase: transmit over ssh's stdin, ansible-runner's worker in a temporary folder,
ansible-playbook against `ansible_connection: local` hosts, events and artifacts streamed back and processed
here. A local run of the same playbook is the reference a remote one must look like.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, interrupt_at, write
from tests.unit.test_run_local import _environ_mentions

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Say hello.
      ansible.builtin.debug: {msg: "hello from {{ inventory_hostname }} ({{ greeting | default('') }})"}
    - name: Change something.
      ansible.builtin.command: "true"
    - name: Wait a while.
      ansible.builtin.command: sleep {{ sleep_s | default(0) }}
      changed_when: false
    - name: Print a secret by mistake.
      ansible.builtin.debug: {msg: "the key is {{ vault_demo_key }}"}
      when: vault_demo_key is defined
    - name: Show the keys in the SSH agent.
      ansible.builtin.command: ssh-add -L
      changed_when: false
      when: show_agent | default(false)
    - name: Generate a secret and save it in the inventory on the controller, as container_service does.
      when: save_secret | default(false) and vault_generated is not defined
      delegate_to: localhost
      run_once: true
      block:
        - name: Encrypt a new secret with the vault password.
          ansible.builtin.command:
            argv: ["{{ ansible_playbook_python }}", -m, ansible.cli.vault, encrypt, --output, "-", "-"]
            stdin: "vault_generated: {{ lookup('ansible.builtin.password', '/dev/null', length=24) }}\\n"
          register: encrypted
          changed_when: false
          no_log: true
        - name: Save it.
          ansible.builtin.copy:
            dest: "{{ inventory_dir }}/group_vars/all/vault_generated.yml"
            content: "{{ encrypted.stdout }}\\n"
            mode: "0600"
            decrypt: false
          no_log: true
"""
LOCAL = f"ansible_connection: local, ansible_python_interpreter: {sys.executable}"


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    write(h / "playbooks/base_server.yml", PLAYBOOK)
    return h


@pytest.fixture
def fake_ssh(tmp_path):
    """A bin/ with `ssh` that runs the remote command here, and the file where it logs its calls."""
    bin_dir = tmp_path / "bin"
    ssh = write(bin_dir / "ssh", f"#!/bin/sh\nexec {sys.executable} {ROOT}/tests/fakes/ssh_here.py \"$@\"\n")
    ssh.chmod(0o755)
    return bin_dir, tmp_path / "ssh-calls.jsonl"


def node_inventory(inv: Path, hosts: str, far_vars: str = "") -> Path:
    """hosts.yml with `hosts` (YAML lines under all.hosts) outside the node, and local-1 behind the node
    (group `far`, with far_vars: more lines of its vars)."""
    write(inv / ".ssh/node_key", "not a real key: ssh_here never reads it\n")
    write(inv / "hosts.yml", f"all:\n  hosts:\n{hosts}  children:\n    far:\n      hosts:\n"
                             f"        local-1: {{{LOCAL}}}\n      vars:\n"
                             f"        aidevops_execution_node: {{host: node.test, python: {sys.executable}, "
                             f"private_key_file: .ssh/node_key, host_key_checking: false}}\n{far_vars}")
    write(inv / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: []\n  dns: {provider: none}\n")
    write(inv / "group_vars/all/greeting.yml", "greeting: group_vars reached the node\n")
    return inv


def aidevops(home, fake_ssh, tmp, *args, **kw):
    bin_dir, log = fake_ssh
    env = {**os.environ, "AIDEVOPS_HOME": str(home), "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "SSH_HERE_LOG": str(log), "TMPDIR": str(tmp), **kw.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          env=env, timeout=180, check=False, **kw)


def shown(home, fake_ssh, tmp, inv) -> dict:
    return json.loads(aidevops(home, fake_ssh, tmp, "runs", "show", "--inventory", str(inv), "--json").stdout)


def event_names(home, fake_ssh, tmp, inv) -> list[tuple[str, str | None]]:
    out = aidevops(home, fake_ssh, tmp, "runs", "events", "--inventory", str(inv), "--json").stdout
    return [(e["event"], (e.get("event_data") or {}).get("host")) for e in map(json.loads, out.splitlines())]


def leftovers(tmp: Path) -> list[str]:
    """What a phase through a node may leave in the temporary folder: the worker's and the staging folder."""
    return sorted(p.name for p in tmp.glob("aidevops-*") if not p.name.startswith("aidevops-cp-"))


def test_a_phase_through_a_node_is_recorded_like_a_local_one(home, fake_ssh, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    inv = node_inventory(tmp_path / "inv", "")
    r = aidevops(home, fake_ssh, tmp, "run", "--inventory", str(inv), "--only", "base_server")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[base_server] succeeded" in r.stdout
    assert "local-1: changed: Change something." in r.stdout  # the progress saw the node's events live

    # It went through ssh to the node, as the inventory says.
    [call] = [json.loads(line) for line in fake_ssh[1].read_text().splitlines()]
    options = " ".join(call[:-2])
    assert call[-2] == "node.test" and "-l root" in options and "-p 22" in options
    assert f"-i {inv / '.ssh/node_key'}" in options and "BatchMode=yes" in options
    assert "StrictHostKeyChecking=no" in options  # host_key_checking: false
    assert call[-1].startswith(f"{sys.executable} -c ")

    remote = shown(home, fake_ssh, tmp, inv)
    phase = remote["phases"][0]
    assert (phase["phase"], phase["status"], phase["rc"]) == ("base_server", "succeeded", 0)
    artifacts = Path(phase["artifact_dir"])
    assert {p.name for p in artifacts.iterdir()} >= {"command", "job_events", "rc", "status", "stdout"}
    assert "hello from local-1 (group_vars reached the node)" in (artifacts / "stdout").read_text()
    assert "aidevops worker removed" in (artifacts.parent.parent / "node.log").read_text()
    assert leftovers(tmp) == []  # the worker's folder on the node, and the staging folder here

    # The same playbook from this machine: the same events and the same counts.
    remote_events = event_names(home, fake_ssh, tmp, inv)
    write(inv / "hosts.yml", f"all:\n  hosts:\n    local-1: {{{LOCAL}}}\n")
    assert aidevops(home, fake_ssh, tmp, "run", "--inventory", str(inv), "--only", "base_server").returncode == 0
    local = shown(home, fake_ssh, tmp, inv)
    assert local["run"]["id"] != remote["run"]["id"]
    assert remote_events == event_names(home, fake_ssh, tmp, inv)
    assert remote_events[0][0] == "playbook_on_start" and remote_events[-1][0] == "playbook_on_stats"
    def counts(run):
        return [{k: v for k, v in s.items() if k != "run_id"} for s in run["host_stats"]]

    assert counts(remote) == counts(local)
    assert (remote["host_stats"][0]["ok"], remote["host_stats"][0]["changed"]) == (3, 1)


def test_secrets_reach_the_node_but_never_the_artifacts(home, fake_ssh, tmp_path, monkeypatch):
    """The vault password opens the vault on the node; the hosts' SSH key is in the node's ssh-agent; neither,
    nor the vault's values, is left in clear text in the run's folder."""
    from orchestrator import vault
    from tests.unit.test_vault import encrypt

    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    key = tmp_path / "keys/hosts_key"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hosts-key", "-f", str(key)], check=True)
    inv = node_inventory(tmp_path / "inv", "", f"        ansible_ssh_private_key_file: {key}\n"
                                                "        show_agent: true\n")
    pw = vault.ensure_password_file(inv)
    encrypt(write(inv / "group_vars/all/vault.yml", "vault_demo_key: Sup3rSecretKey-0042\n"), pw)

    r = aidevops(home, fake_ssh, tmp, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
    assert r.returncode == 0, r.stdout + r.stderr
    events = aidevops(home, fake_ssh, tmp, "runs", "events", "--inventory", str(inv), "--json").stdout
    assert "the key is ********" in events  # decrypted on the node, masked here
    public = key.with_suffix(".pub").read_text().split()[1]
    assert public in events  # `ssh-add -L` on the node lists the hosts' key
    private = key.read_text().strip().splitlines()[1]
    password = pw.read_text().strip()
    for path in (inv / ".aidevops").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"Sup3rSecretKey-0042" not in data and private.encode() not in data, path
            assert password.encode() not in data, path
    assert leftovers(tmp) == []


def test_hosts_behind_a_node_and_hosts_reached_from_here_share_one_phase(home, fake_ssh, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    inv = node_inventory(tmp_path / "inv", f"    local-2: {{{LOCAL}}}\n")
    r = aidevops(home, fake_ssh, tmp, "run", "--inventory", str(inv), "--only", "base_server")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "local-1: changed: Change something." in r.stdout and "local-2: changed: Change something." in r.stdout
    assert len(fake_ssh[1].read_text().splitlines()) == 1  # only local-1 went through the node

    run = shown(home, fake_ssh, tmp, inv)
    phase = run["phases"][0]
    assert phase["status"] == "succeeded"
    assert sorted(s["host"] for s in run["host_stats"]) == ["local-1", "local-2"]
    # One private data dir per route, side by side in the phase's folder.
    folder = Path(phase["artifact_dir"])
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["01-local", "02-node.test-22"]
    events = event_names(home, fake_ssh, tmp, inv)
    assert [e for e in events if e[0] == "playbook_on_stats"] == [("playbook_on_stats", None)] * 2
    assert {h for e, h in events if e == "runner_on_ok"} == {"local-1", "local-2"}


def test_a_node_that_cannot_be_reached_fails_the_phase_with_ssh_s_words(home, fake_ssh, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    inv = node_inventory(tmp_path / "inv", "")
    refused = "ssh: connect to host node.test port 22: Connection refused"
    r = aidevops(home, fake_ssh, tmp, "run", "--inventory", str(inv), "--only", "base_server",
                 env={"SSH_HERE_FAIL": refused})
    assert r.returncode == 1, r.stdout + r.stderr
    phase = shown(home, fake_ssh, tmp, inv)["phases"][0]
    assert phase["status"] == "failed"
    assert phase["reason"].startswith(f"execution node root@node.test:22: {refused}")
    assert leftovers(tmp) == []


def test_ctrl_c_stops_the_playbook_on_the_node_and_records_a_cancelled_run(home, fake_ssh, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    inv = node_inventory(tmp_path / "inv", "")
    write(inv / "group_vars/all/test.yml", "sleep_s: 60\n")
    bin_dir, log = fake_ssh
    env = {**os.environ, "AIDEVOPS_HOME": str(home), "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "SSH_HERE_LOG": str(log), "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv),
                             "--only", "base_server", "--plain"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out, took = interrupt_at(proc, inv, "Wait a while.", wait=90, grace=60)
    assert proc.returncode == 130, out
    assert took < 30
    run = shown(home, fake_ssh, tmp, inv)
    assert run["run"]["status"] == "cancelled" and run["phases"][0]["status"] == "cancelled"
    # The node sent its artifacts back after it stopped the playbook.
    assert (Path(run["phases"][0]["artifact_dir"]) / "status").read_text() == "canceled"
    assert [p for p in Path("/proc").glob("[0-9]*") if _environ_mentions(p, str(tmp))] == []
    assert leftovers(tmp) == []


def test_the_plan_names_the_node_and_a_phase_without_generated_secrets_may_use_it(tmp_path):
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventories/example", inv)
    hosts = (inv / "hosts.yml").read_text().replace("  vars:\n", "  vars:\n    aidevops_execution_node: "
                                                                  "{host: 10.0.0.5, user: deploy}\n")
    (inv / "hosts.yml").write_text(hosts)
    r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "plan", "--inventory", str(inv), "--only",
                        "base_server"], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "execution node deploy@10.0.0.5:22 runs the phases of vps-1" in r.stdout


def test_secrets_a_role_saves_on_the_controller_come_back_into_the_inventory(home, fake_ssh, tmp_path,
                                                                             monkeypatch):
    """A role that generates a secret saves it "on the controller", which on a node is the node's copy of the
    inventory: it comes back with the artifacts into the real inventory, still encrypted, and the next run
    reads it instead of making a new one."""
    from orchestrator import vault

    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    inv = node_inventory(tmp_path / "inv", "", "        save_secret: true\n")
    vault.ensure_password_file(inv)
    saved = inv / "group_vars/all/vault_generated.yml"

    r = aidevops(home, fake_ssh, tmp, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "saved in the inventory from the execution node: group_vars/all/vault_generated.yml" in r.stdout
    assert saved.read_text().startswith("$ANSIBLE_VAULT") and saved.stat().st_mode & 0o777 == 0o600
    secret = vault.read_vars(saved, inv)["vault_generated"]
    assert len(secret) == 24
    artifacts = Path(shown(home, fake_ssh, tmp, inv)["phases"][0]["artifact_dir"])
    assert not (artifacts / "inventory").exists()  # the inventory's copy does not stay in the artifacts

    again = aidevops(home, fake_ssh, tmp, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "saved in the inventory" not in again.stdout
    assert vault.read_vars(saved, inv)["vault_generated"] == secret
    assert secret not in again.stdout + "".join(p.read_text(errors="replace") for p in
                                                (inv / ".aidevops").rglob("*") if p.is_file())


def test_ssh_checks_the_node_s_host_key_unless_told_not_to():
    from orchestrator.request.execution_node import ExecutionNode
    from orchestrator.run.remote import over_ssh

    argv = over_ssh(ExecutionNode("bastion.example.com", 2222, "deploy"), ["/opt/n/bin/python", "-c", "print('a b')"])
    assert argv[0] == "ssh" and argv[-2] == "bastion.example.com"
    assert argv[-1] == "/opt/n/bin/python -c 'print('\"'\"'a b'\"'\"')'"  # one word per argument on the node
    options = " ".join(argv[1:-2])
    assert "-p 2222 -l deploy" in options and "BatchMode=yes" in options and "ControlPath=none" in options
    assert "StrictHostKeyChecking" not in options and "UserKnownHostsFile" not in options and "-i " not in options


def test_placement_auto_asks_the_hosts_behind_a_node_through_it(home, fake_ssh, tmp_path):
    """The facts `placement: auto` places by come from where the hosts are reached: local-1 through the node,
    local-2 from here; both answer, and the plan places by them."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    shutil.copy2(ROOT / "playbooks/facts.yml", home / "playbooks/facts.yml")
    inv = node_inventory(tmp_path / "inv", f"    local-2: {{{LOCAL}}}\n")
    request = inv / "group_vars/all/aidevops.yml"
    request.write_text(request.read_text().replace("services: []", "services: [n8n]") + "  placement: auto\n")
    r = aidevops(home, fake_ssh, tmp, "plan", "--inventory", str(inv))
    assert r.returncode == 0, r.stdout + r.stderr
    said = " ".join(r.stdout.split())
    assert "n8n: auto: local-2 has " in said and "n8n needs 1024 MB memory" in said  # ties: the first listed
    [call] = [json.loads(line) for line in fake_ssh[1].read_text().splitlines()]
    assert call[-2] == "node.test"  # local-1's facts came through its node
    assert leftovers(tmp) == []
