"""The sandbox survives restarts: after `docker restart` of its host and its services, hosts.yml still tells the truth.

Docker republished a `-p 127.0.0.1::22` binding on a new random port at every start; the sandbox's ports are
fixed now, so the same commands work through the same inventory without `sandbox up`.
"""

import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import dns.message
import dns.query
import pytest
import yaml

from orchestrator.sandbox import docker as d
from orchestrator.sandbox.hosts import Sandbox
from tests.conftest import ROOT
from tests.integration.conftest import aidevops

pytestmark = pytest.mark.integration

PREFIX = "aidevops-ports-it"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """(inventory, Sandbox): one host with its DNS server and ACME CA, all removed afterwards."""
    inv = tmp_path_factory.mktemp("restart") / "inventory"
    shutil.copytree(ROOT / "inventories/sandbox/group_vars", inv / "group_vars",
                    ignore=shutil.ignore_patterns("vault_*.yml"))
    box = Sandbox(inv, prefix=PREFIX)
    box.down(log=lambda m: None)  # leftovers of an interrupted session
    box.up(hosts=1, services=True, images=False, log=print)
    yield inv, box
    box.down(log=lambda m: None)
    assert not d.docker("ps", "-aq", "--filter", f"name={PREFIX}").strip()


def ansible_ping(inv: Path) -> subprocess.CompletedProcess:
    """ansible's ping module over SSH, at the address and port hosts.yml gives."""
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1")
    return subprocess.run([str(Path(sys.executable).parent / "ansible"), "-i", str(inv / "hosts.yml"), "all",
                           "-m", "ansible.builtin.ping"], capture_output=True, text=True, timeout=120, env=env,
                          check=False)


def soa_over_published_port(inv: Path) -> str:
    """The sandbox zone's SOA, asked of BIND at the port hosts.yml gives (as the dns role's nsupdate goes)."""
    all_vars = yaml.safe_load((inv / "hosts.yml").read_text())["all"]["vars"]
    zone = all_vars["aidevops_sandbox_dns_zone"]
    answer = dns.query.tcp(dns.message.make_query(zone, "SOA"), "127.0.0.1",
                           port=all_vars["aidevops_sandbox_dns_published_port"], timeout=10)
    return answer.answer[0].to_text() if answer.answer else ""


def pebble_directory(box: Sandbox) -> str:
    """pebble's ACME directory at the local port the sandbox gives it, trusted with its listener certificate."""
    svc = box.services()
    acme = svc.containers.describe(svc.acme_name)
    port = acme.ports["14000/tcp"]
    context = ssl.create_default_context(cafile=str(svc.listener_cert))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(f"https://127.0.0.1:{port}/dir", timeout=10) as resp:
        return resp.read().decode()


def test_commands_work_through_the_same_inventory_after_restarts(sandbox):
    inv, box = sandbox
    hosts_yml = (inv / "hosts.yml").read_text()
    host = box.status()[0]

    before = ansible_ping(inv)
    assert before.returncode == 0 and '"ping": "pong"' in before.stdout, before.stdout + before.stderr
    assert "SOA" in soa_over_published_port(inv)
    assert "newAccount" in pebble_directory(box)

    svc = box.services()
    for name in (host.container, svc.dns_name, svc.acme_name):
        d.docker("restart", name)
        # They also come back after a restart of the engine or of the machine.
        assert d.inspect("container", name)["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    box.ssh_key.wait_for_ssh(host.container, host.ssh_port)

    # The same commands, without `sandbox up`: hosts.yml unchanged, and still true.
    assert (inv / "hosts.yml").read_text() == hosts_yml
    after = box.status()[0]
    assert (after.ssh_port, after.http_port, after.https_port, after.address) == (
        host.ssh_port, host.http_port, host.https_port, host.address)
    again = ansible_ping(inv)
    assert again.returncode == 0 and '"ping": "pong"' in again.stdout, again.stdout + again.stderr
    assert "SOA" in soa_over_published_port(inv)
    assert "newAccount" in pebble_directory(box)
    # A command of the tool itself: the dns role's records through BIND's published port.
    r = aidevops("run", "--inventory", str(inv), "--only", "dns", "--plain", timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_up_again_keeps_the_ports_and_recreates_on_them(sandbox):
    inv, box = sandbox
    hosts_yml = (inv / "hosts.yml").read_text()
    box.up(hosts=1, services=True, images=False, log=print)
    # Another `up` changes nothing but pebble's root bundle (pebble was restarted above: a new root is added).
    assert yaml.safe_load((inv / "hosts.yml").read_text())["all"]["hosts"] == yaml.safe_load(hosts_yml)["all"]["hosts"]
    host = box.status()[0]
    box._remove_container(host.container)  # a host lost: `up` makes it again on the same ports
    box.up(hosts=1, services=False, images=False, log=print)
    again = box.status()[0]
    assert (again.ssh_port, again.http_port, again.https_port) == (host.ssh_port, host.http_port, host.https_port)
