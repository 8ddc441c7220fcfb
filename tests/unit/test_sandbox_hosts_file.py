"""The sandbox's hosts.yml: rewritten by every `sandbox up`, except the groups a user adds to place services."""

import yaml

from orchestrator.request import load_request
from orchestrator.sandbox.hosts import SandboxHost
from orchestrator.sandbox.hosts_file import write_hosts_file
from tests.conftest import write


def hosts(*ports: int) -> list[SandboxHost]:
    return [SandboxHost(f"sandbox-{i}", f"aidevops-sandbox-{i}", "running", port, port + 1, port + 2, f"172.20.0.{i + 1}")
            for i, port in enumerate(ports, start=1)]


def test_the_groups_a_user_adds_survive_the_next_sandbox_up(inventory):
    path, key = inventory / "hosts.yml", inventory / ".ssh/id_ed25519"
    write(key, "key\n")
    write_hosts_file(path, hosts(24000, 24003), key, "172.20.0.1")
    data = yaml.safe_load(path.read_text())
    data["all"]["children"] = {"supabase": {"hosts": {"sandbox-2": None}}}
    path.write_text(yaml.safe_dump(data))
    write_hosts_file(path, hosts(25000, 25003), key, "172.20.0.1")  # new ports: the hosts' part is rewritten
    data = yaml.safe_load(path.read_text())
    assert data["all"]["hosts"]["sandbox-1"]["ansible_port"] == 25000
    assert data["all"]["children"] == {"supabase": {"hosts": {"sandbox-2": None}}}
    assert [h.groups for h in load_request(inventory).hosts] == [(), ("supabase",)]


def test_a_broken_file_is_replaced_whole(inventory):
    path, key = inventory / "hosts.yml", inventory / ".ssh/id_ed25519"
    write(key, "key\n")
    path.write_text("all: [not, a, mapping\n")
    write_hosts_file(path, hosts(24000), key, None)
    assert "children" not in yaml.safe_load(path.read_text())["all"]
