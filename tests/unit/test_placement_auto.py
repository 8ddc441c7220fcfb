"""`placement: auto`: services placed by the hosts' facts against their declared needs, kept for later runs."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from orchestrator.agents import services
from orchestrator.agents.declaration import Needs
from orchestrator.errors import BadInput
from orchestrator.plan.auto import HostFacts, auto_place
from orchestrator.request import load_request
from tests.conftest import ROOT, write

NEEDS = {"n8n": Needs(1024, 1, 10), "supabase": Needs(4096, 2, 50)}


def test_the_roles_declare_what_they_need():
    assert services()["supabase"].needs == Needs(4096, 2, 50)  # Supabase's self-hosting guide
    assert services()["n8n"].needs == Needs(1024, 1, 10)


def test_two_hosts_that_fit_get_one_service_each_the_largest_on_the_roomiest():
    facts = [HostFacts("small", 2048, 2, 40.0), HostFacts("big", 8192, 4, 120.0)]
    placed, why = auto_place(NEEDS, facts)
    assert placed == {"n8n": ("small",), "supabase": ("big",)}
    assert why["supabase"] == ("auto: big has 8192 MB, 4 core(s), 120 GB left; supabase needs 4096 MB memory, "
                               "2 core(s), 50 GB disk")


def test_one_big_host_takes_both_and_ties_go_to_the_first_host():
    placed, _ = auto_place(NEEDS, [HostFacts("a", 16000, 8, 200.0)])
    assert placed == {"n8n": ("a",), "supabase": ("a",)}
    placed, _ = auto_place({"n8n": NEEDS["n8n"]}, [HostFacts("a", 4000, 2, 50.0), HostFacts("b", 4000, 2, 50.0)])
    assert placed == {"n8n": ("a",)}


def test_a_service_that_fits_nowhere_is_one_clear_line():
    with pytest.raises(BadInput) as caught:
        auto_place(NEEDS, [HostFacts("vps-1", 3900, 2, 80.0)])
    assert caught.value.message == ("placement auto: supabase needs 4096 MB memory, 2 core(s), 50 GB disk and no "
                                    "host has that left (vps-1: 3900 MB, 2 core(s), 80 GB left)")
    assert "placement: groups" in caught.value.hint


def test_an_earlier_runs_placement_is_kept_and_counted():
    facts = [HostFacts("a", 8192, 4, 100.0), HostFacts("b", 8192, 4, 100.0)]
    placed, why = auto_place(NEEDS, facts, kept={"supabase": ("b",), "gone": ("x",)})
    assert placed == {"n8n": ("a",), "supabase": ("b",)}
    assert why["supabase"] == "auto: kept from an earlier run"
    # a kept host that no longer exists: placed again
    placed, _ = auto_place(NEEDS, facts, kept={"supabase": ("c",)})
    assert placed["supabase"] == ("a",)


REQUEST = ("aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
           "  dns: {provider: none}\n  placement: auto\n")


def test_plan_places_by_the_real_facts_and_a_run_keeps_it(inventory, tmp_path):
    """Two local hosts (this machine's facts, gathered by Ansible's setup module): n8n fits, goes to the first;
    a run keeps the placement, and later commands read it without asking the hosts."""
    local = f"ansible_connection: local, ansible_python_interpreter: {sys.executable}"
    write(inventory / "hosts.yml", f"all:\n  hosts:\n    local-1: {{{local}}}\n    local-2: {{{local}}}\n")
    write(inventory / "group_vars/all/aidevops.yml", REQUEST)
    home = tmp_path / "home"
    shutil.copy2(ROOT / "playbooks/facts.yml", write(home / "playbooks/facts.yml", ""))
    write(home / "playbooks/n8n.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n"
                                      "    - ansible.builtin.debug: {msg: here}\n")
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args, "--inventory", str(inventory)],
                              capture_output=True, text=True, env=env, timeout=180, cwd=ROOT, check=False)

    plan = cli("plan")
    assert plan.returncode == 0, plan.stderr
    assert "  local-1  base_server, n8n" in plan.stdout and "  local-2  base_server\n" in plan.stdout
    assert "  n8n: auto: local-1 has " in plan.stdout and "n8n needs 1024 MB memory, 1 core(s), 10 GB disk" in plan.stdout
    assert not (inventory / ".aidevops/placement.json").exists()  # a plan decides nothing for good

    r = cli("run", "--only", "n8n", "--plain")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    kept = json.loads((inventory / ".aidevops/placement.json").read_text())
    assert kept["services"] == {"n8n": ["local-1"]}
    shown = json.loads(cli("runs", "show", "--json").stdout)
    assert [(s["phase"], s["host"]) for s in shown["host_stats"]] == [("n8n", "local-1")]
    assert load_request(inventory).auto_placement == {"n8n": ("local-1",)}
    assert "  n8n: auto: kept since " in cli("plan").stdout


def test_a_host_that_cannot_be_asked_is_one_clear_line(inventory):
    write(inventory / "hosts.yml", "all:\n  hosts:\n    gone-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n"
                                   "      ansible_ssh_common_args: -o ConnectTimeout=3\n")
    write(inventory / "group_vars/all/aidevops.yml", REQUEST)
    r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "plan", "--inventory", str(inventory)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: placement auto needs every host's facts, and these did not answer: gone-1: "), r.stderr
