"""A fleet: hosts with request fields of their own (`aidevops_host`), each with its domain and services."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.errors import BadInput
from orchestrator.plan import build_plan
from orchestrator.request import load_request
from orchestrator.validation.targets import endpoints
from tests.conftest import ROOT, write

FLEET = """\
all:
  hosts:
    shared-1:
    client-b:
      aidevops_host: {domain: client-b.example, services: [n8n]}
    client-c:
      aidevops_host: {hostnames: {n8n: flows.example.com}, admin_email: c@example.com}
"""


@pytest.fixture
def fleet(inventory):
    write(inventory / "hosts.yml", FLEET)
    return load_request(inventory)


def test_each_host_has_its_domain_services_and_names(fleet):
    assert fleet.services == ("n8n", "supabase") and fleet.deployment_services == ("n8n", "supabase")
    b, c, shared = fleet.for_host("client-b"), fleet.for_host("client-c"), fleet.for_host("shared-1")
    assert (b.domain, b.services, b.hostnames["n8n"]) == ("client-b.example", ("n8n",), "n8n.client-b.example")
    assert (c.domain, c.admin_email, c.hostnames["n8n"], c.hostnames["supabase"]) == (
        "example.com", "c@example.com", "flows.example.com", "supabase.example.com")
    assert shared.hostnames == fleet.hostnames and shared.services == ("n8n", "supabase")
    assert fleet.as_dict()["per_host"]["client-b"]["domain"] == "client-b.example"


def test_the_fleets_hosts_run_their_own_services(fleet):
    placement = build_plan(fleet).placement.hosts
    assert placement["n8n"] == ("shared-1", "client-b", "client-c")
    assert placement["supabase"] == ("shared-1", "client-c")
    # the validator reaches each host's names under its own domain
    names = {(e["host"], e["hostname"]) for e in endpoints(fleet, ["n8n"])}
    assert names == {("shared-1", "n8n.example.com"), ("client-b", "n8n.client-b.example"),
                     ("client-c", "flows.example.com")}


def test_the_validator_signs_in_to_each_hosts_n8n_as_that_hosts_owner(fleet):
    # n8n's owner is the admin email the host deploys with (n8n_owner_email: "{{ aidevops.admin_email }}",
    # taken per host by the playbooks): the validator's owner login must use the same one, not the deployment's.
    emails = {e["host"]: e["admin_email"] for e in endpoints(fleet, ["n8n"])}
    assert emails == {"shared-1": fleet.admin_email, "client-b": fleet.admin_email, "client-c": "c@example.com"}
    assert fleet.admin_email != "c@example.com"


def test_a_fleet_host_may_run_a_service_the_deployment_does_not(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
          "  dns: {provider: none}\n")
    write(inventory / "hosts.yml", "all:\n  hosts:\n    a:\n    b:\n      aidevops_host: {services: [supabase]}\n")
    request = load_request(inventory)
    assert request.services == ("n8n", "supabase") and request.deployment_services == ("n8n",)
    placement = build_plan(request).placement.hosts
    assert placement["n8n"] == ("a",) and placement["supabase"] == ("b",)


@pytest.mark.parametrize("fields,expected", [
    ("{domian: b.example}", ("client-b: aidevops_host.domian: unknown key (expected one of domain, admin_email, "
                             "services, hostnames)")),
    ("{services: [n9n]}", "client-b: aidevops_host.services[0]: unknown service 'n9n'"),
    ("{domain: 'not a domain'}", "client-b: aidevops_host.domain: 'not a domain' is not a valid domain name"),
    ("[n8n]", "client-b: aidevops_host: expected a mapping, got a list"),
])
def test_a_bad_host_field_is_one_clear_line(inventory, fields, expected):
    write(inventory / "hosts.yml", f"all:\n  hosts:\n    client-b:\n      aidevops_host: {fields}\n")
    with pytest.raises(BadInput) as caught:
        load_request(inventory)
    assert expected in str(caught.value) and str(inventory / "hosts.yml") in str(caught.value)


def test_a_hosts_fields_may_live_in_its_host_vars_file_which_wins_as_in_ansible(inventory):
    write(inventory / "hosts.yml", "all:\n  hosts:\n    client-b:\n      aidevops_host: {domain: old.example}\n"
                                   "    client-c:\n")
    write(inventory / "host_vars/client-b.yml", "aidevops_host:\n  domain: client-b.example\n  services: [n8n]\n")
    write(inventory / "host_vars/client-c/main.yml", "aidevops_host: {domain: client-c.example}\n")
    request = load_request(inventory)
    assert request.for_host("client-b").domain == "client-b.example"
    assert request.for_host("client-b").services == ("n8n",)
    assert request.for_host("client-c").hostnames["n8n"] == "n8n.client-c.example"
    # A mistake there names that file.
    write(inventory / "host_vars/client-c/main.yml", "aidevops_host: {domian: client-c.example}\n")
    with pytest.raises(BadInput) as caught:
        load_request(inventory)
    assert "client-c: aidevops_host.domian: unknown key" in str(caught.value)
    assert str(inventory / "host_vars/client-c/main.yml") in str(caught.value)


def test_the_playbooks_give_each_host_its_own_fields(inventory, tmp_path):
    """The pre-task every deploying playbook starts with (taken from playbooks/n8n.yml), on three local hosts:
    each host's `aidevops` is its own, as the roles read it."""
    play = yaml.safe_load((ROOT / "playbooks/n8n.yml").read_text())[0]
    stub = {"hosts": "all", "gather_facts": False, "pre_tasks": play["pre_tasks"],
            "tasks": [{"name": "Say what this host deploys.",
                       "ansible.builtin.debug": {"msg": "{{ inventory_hostname }} {{ aidevops | to_json }}"}}]}
    write(tmp_path / "stub.yml", yaml.safe_dump([stub], sort_keys=False))
    hosts = yaml.safe_load(FLEET)
    for name in hosts["all"]["hosts"]:
        hosts["all"]["hosts"][name] = host_vars = hosts["all"]["hosts"][name] or {}
        host_vars.update({"ansible_connection": "local", "ansible_python_interpreter": sys.executable})
    write(inventory / "hosts.yml", yaml.safe_dump(hosts))
    r = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                        str(tmp_path / "stub.yml")],
                       capture_output=True, text=True, timeout=120, check=False,
                       env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    said = {}
    for play_out in json.loads(r.stdout)["plays"]:
        for task in play_out["tasks"]:
            for host, res in task["hosts"].items():
                if "msg" in res and res["msg"].startswith(host):
                    said[host] = json.loads(res["msg"].split(" ", 1)[1])
    assert said["client-b"]["domain"] == "client-b.example" and said["client-b"]["services"] == ["n8n"]
    assert said["client-b"]["hostnames"] == {}  # its own domain: the deployment's names are not its
    assert said["client-c"]["hostnames"] == {"n8n": "flows.example.com"} and said["client-c"]["admin_email"] == "c@example.com"
    assert said["shared-1"]["domain"] == "example.com"
