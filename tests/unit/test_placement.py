"""Which hosts each phase runs on: inventory groups named after services, everything else where it is needed."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.errors import BadInput
from orchestrator.plan import build_plan
from orchestrator.request import load_request
from tests.conftest import ROOT, write


def hosts_yml(inventory, text: str) -> None:
    write(inventory / "hosts.yml", text)


def test_one_host_runs_every_phase(inventory):
    placement = build_plan(load_request(inventory)).placement
    assert placement.hosts == {p: ("local-1",) for p in
                               ("base_server", "dns", "n8n", "supabase", "nginx_proxy", "validator", "report")}
    assert placement.reasons["n8n"] == "every host"


def test_hosts_without_service_groups_all_run_everything(inventory):
    hosts_yml(inventory, "all:\n  hosts:\n    a:\n    b:\n  children:\n    web:\n      hosts:\n        b:\n")
    placement = build_plan(load_request(inventory)).placement
    assert set(placement.hosts.values()) == {("a", "b")}


def test_a_group_per_service_splits_the_services_and_what_follows_them(inventory):
    hosts_yml(inventory, "all:\n  hosts:\n    app-1:\n    db-1:\n"
                         "  children:\n    n8n:\n      hosts:\n        app-1:\n"
                         "    supabase:\n      hosts:\n        db-1:\n")
    request = load_request(inventory)
    assert [h.groups for h in request.hosts] == [("n8n",), ("supabase",)]
    placement = build_plan(request).placement
    assert placement.hosts["n8n"] == ("app-1",) and placement.hosts["supabase"] == ("db-1",)
    assert placement.reasons["supabase"] == "the hosts of inventory group 'supabase'"
    # Each host that serves a site gets its own proxy, certificates and DNS records; every host its base setup.
    assert placement.hosts["nginx_proxy"] == placement.hosts["dns"] == ("app-1", "db-1")
    assert placement.hosts["base_server"] == placement.hosts["validator"] == ("app-1", "db-1")
    assert placement.phases_on("db-1") == ["base_server", "dns", "supabase", "nginx_proxy", "validator", "report"]
    assert placement.services(request) == {"n8n": ["app-1"], "supabase": ["db-1"]}


def test_a_service_without_a_group_goes_to_the_hosts_outside_the_service_groups(inventory):
    hosts_yml(inventory, "all:\n  hosts:\n    big:\n    small:\n    spare:\n"
                         "  children:\n    apps:\n      children:\n        supabase:\n          hosts:\n            big:\n")
    request = load_request(inventory)
    assert request.hosts[0].groups == ("apps", "supabase")  # a nested group counts
    placement = build_plan(request).placement
    assert placement.hosts["supabase"] == ("big",)
    assert placement.hosts["n8n"] == ("small", "spare")
    assert "no group named 'n8n'" in placement.reasons["n8n"]
    assert placement.hosts["base_server"] == ("big", "small", "spare")


def test_a_group_of_a_service_not_asked_for_places_nothing(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
          "  dns: {provider: none}\n")
    hosts_yml(inventory, "all:\n  hosts:\n    a:\n    b:\n  children:\n    supabase:\n      hosts:\n        b:\n")
    placement = build_plan(load_request(inventory)).placement
    assert placement.hosts["n8n"] == ("a", "b")
    assert "supabase" not in placement.hosts


def test_a_service_left_without_a_host_is_one_clear_error(inventory):
    hosts_yml(inventory, "all:\n  children:\n    n8n:\n      hosts:\n        a:\n")
    with pytest.raises(BadInput) as caught:
        build_plan(load_request(inventory))
    message = str(caught.value)
    assert "service supabase has no host: every host is in another service's group (n8n)" in message
    assert "hosts.yml" in caught.value.where and "group named 'supabase'" in caught.value.hint


def test_plan_shows_what_runs_on_each_host(inventory):
    hosts_yml(inventory, "all:\n  hosts:\n    app-1:\n    db-1:\n"
                         "  children:\n    supabase:\n      hosts:\n        db-1:\n")
    r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "plan", "--inventory", str(inventory)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "  app-1  base_server, dns, n8n, nginx_proxy" in lines
    assert "  db-1   base_server, dns, supabase, nginx_proxy" in lines
    assert "  supabase: the hosts of inventory group 'supabase'" in lines
    assert "  n8n: the hosts in no service group (no group named 'n8n')" in lines


STUB = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Say where this runs and what is placed where.
      ansible.builtin.debug:
        msg: "{{ inventory_hostname }} {{ aidevops_placement | to_json }}"
"""


@pytest.fixture
def two_local_hosts(inventory, tmp_path):
    """A project home whose base_server and n8n playbooks say where they run, two local hosts with n8n's group
    on local-2, and the CLI on that inventory."""
    home = tmp_path / "home"
    write(home / "playbooks/base_server.yml", STUB)
    write(home / "playbooks/n8n.yml", STUB)
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
          "  dns: {provider: none}\n")
    local = f"ansible_connection: local, ansible_python_interpreter: {sys.executable}"
    hosts_yml(inventory, f"all:\n  hosts:\n    local-1: {{{local}}}\n    local-2: {{{local}}}\n"
                         "  children:\n    n8n:\n      hosts:\n        local-2:\n")
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args, "--inventory", str(inventory)],
                              capture_output=True, text=True, env=env, timeout=120, cwd=ROOT, check=False)

    return cli


def test_a_run_runs_each_phase_on_its_hosts_only(two_local_hosts):
    """Real ansible-runner on this machine (two local hosts): base_server on both, n8n on its group's host."""
    cli = two_local_hosts
    r = cli("run", "--only", "base_server,n8n", "--plain")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    shown = json.loads(cli("runs", "show", "--json").stdout)
    ran = sorted((s["phase"], s["host"]) for s in shown["host_stats"])
    assert ran == [("base_server", "local-1"), ("base_server", "local-2"), ("n8n", "local-2")]
    # The role sees where each service is (what nginx_proxy and dns serve and publish per host).
    n8n_dir = next(p["artifact_dir"] for p in shown["phases"] if p["phase"] == "n8n")
    said = [json.loads(f.read_text())["event_data"]["res"]["msg"]
            for f in Path(n8n_dir).rglob("job_events/*.json") if '"runner_on_ok"' in f.read_text()]
    assert said == ['local-2 {"n8n": ["local-2"]}']


@pytest.mark.parametrize("plugin", ["roles/nginx_proxy/filter_plugins/declared_sites.py",
                                    "roles/dns/filter_plugins/dns_records.py"])
def test_the_proxy_and_dns_roles_keep_the_services_placed_on_their_host(plugin):
    spec = importlib.util.spec_from_file_location(Path(plugin).stem + "_placement", ROOT / plugin)
    filters = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(filters)
    placed_on = filters.FilterModule().filters()["aidevops_placed_on"]
    placement = {"n8n": ["app-1"], "supabase": ["db-1"]}
    assert placed_on(["n8n", "supabase"], placement, "app-1") == ["n8n"]
    assert placed_on(["n8n", "supabase"], placement, "db-1") == ["supabase"]
    assert placed_on(["n8n", "supabase"], placement, "spare") == []
    assert placed_on(["n8n", "supabase"], {}, "app-1") == ["n8n", "supabase"]  # plain ansible-playbook: all


def test_the_validator_checks_a_service_only_on_its_hosts(tmp_path):
    """The suites' conftest leaves out the host checks of an agent on hosts it is not placed on (real testinfra,
    two local hosts)."""
    shutil.copy(ROOT / "orchestrator/validation/suites/conftest.py", tmp_path / "conftest.py")
    write(tmp_path / "test_supabase.py", 'SERVICE = "supabase"\n\n\ndef test_containers_healthy(host):\n'
                                         '    assert host.run("true").rc == 0\n')
    write(tmp_path / "test_base_server.py", 'def test_sshd_running(host):\n    assert host.run("true").rc == 0\n')
    local = f"ansible_connection: local, ansible_python_interpreter: {sys.executable}"
    write(tmp_path / "hosts.yml", f"all:\n  hosts:\n    app-1: {{{local}}}\n    db-1: {{{local}}}\n")
    write(tmp_path / "config.json", json.dumps({"placement": {"supabase": ["db-1"], "base_server": ["app-1", "db-1"]}}))
    out = tmp_path / "out.json"
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "orchestrator.validation.plugin", "-p", "no:cacheprovider",
                        "-q", "--hosts=ansible://all", "--ansible-inventory=hosts.yml", "--aidevops-config=config.json",
                        f"--aidevops-out={out}"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       check=False, env={**os.environ, "PYTHONPATH": str(ROOT),
                                          "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    assert r.returncode == 0, r.stdout + r.stderr
    findings = json.loads(out.read_text())["findings"]
    assert sorted((f["check_id"], f["host"]) for f in findings) == [
        ("base_server.sshd_running", "app-1"), ("base_server.sshd_running", "db-1"),
        ("supabase.containers_healthy", "db-1")]


def limited(inventory, pattern):
    from orchestrator.cli.common import with_limit

    return with_limit(load_request(inventory), pattern)


FLEET = ("all:\n  hosts:\n    app-1:\n    app-2:\n    db-1:\n"
         "  children:\n    supabase:\n      hosts:\n        db-1:\n    prod:\n      hosts:\n        app-1:\n        db-1:\n")


@pytest.mark.parametrize("pattern,hosts", [
    ("app-1", ("app-1",)), ("supabase", ("db-1",)), ("app-*", ("app-1", "app-2")), ("all:!db-1", ("app-1", "app-2")),
    ("prod:&supabase", ("db-1",)), ("app-2,db-1", ("app-2", "db-1"))])
def test_limit_takes_ansible_host_patterns(inventory, pattern, hosts):
    hosts_yml(inventory, FLEET)
    assert limited(inventory, pattern).limit == (pattern, hosts)


def test_a_limit_that_matches_no_host_is_one_clear_error(inventory):
    hosts_yml(inventory, FLEET)
    with pytest.raises(BadInput) as caught:
        limited(inventory, "web*")
    assert caught.value.message == "--limit 'web*' matches no host of the inventory"
    assert caught.value.hint.startswith("hosts: app-1, app-2, db-1")


def test_limit_narrows_each_phase_to_its_hosts_in_the_limit(inventory):
    hosts_yml(inventory, FLEET)
    plan = build_plan(limited(inventory, "db-1"))
    phases = {p.id: p for p in plan.phases}
    assert phases["supabase"].hosts == ("db-1",) and phases["supabase"].selected
    assert phases["base_server"].hosts == ("db-1",)
    n8n = phases["n8n"]
    assert not n8n.selected and n8n.left_out == "left out by --limit (none of its hosts: app-1, app-2)"
    # The placement itself is the inventory's: n8n did not move to db-1.
    assert plan.placement.unlimited["n8n"] == ("app-1", "app-2")


def test_run_with_limit_runs_on_those_hosts_only_and_says_so(two_local_hosts):
    cli = two_local_hosts
    r = cli("run", "--only", "base_server,n8n", "--limit", "local-1", "--plain")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "left out by --limit (none of its hosts: local-2)" in r.stdout
    shown = json.loads(cli("runs", "show", "--json").stdout)
    assert sorted((s["phase"], s["host"]) for s in shown["host_stats"]) == [("base_server", "local-1")]
    assert shown["run"]["command"] == "run --only base_server,n8n --limit local-1"
    assert {p["phase"]: p["status"] for p in shown["phases"]}["n8n"] == "not_selected"
    refused = cli("run", "--resume", "--limit", "local-2")
    assert refused.returncode == 2 and "--limit cannot be changed" in refused.stderr


def test_plan_with_a_limit_that_matches_nothing_says_one_line(inventory):
    hosts_yml(inventory, FLEET)
    r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "plan", "--limit", "web*", "--inventory",
                        str(inventory)], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [(f"error: {inventory}/hosts.yml: --limit 'web*' matches no host of the "
                                      "inventory (hosts: app-1, app-2, db-1)")]


def test_waves_of_one_stop_after_a_failed_wave(inventory, tmp_path):
    """options.serial 1 and max_fail_percentage 0 through the real playbook's keywords: local-1 goes through,
    local-2 fails, local-3 is never touched, and the run fails."""
    play = yaml.safe_load((ROOT / "playbooks/base_server.yml").read_text())[0]
    stub = {**{k: v for k, v in play.items() if k not in ("roles", "become", "gather_facts")},
            "gather_facts": False,
            "tasks": [{"name": "Fail on the second host.", "ansible.builtin.fail": {"msg": "broken on purpose"},
                       "when": "inventory_hostname == 'local-2'"}]}
    assert stub["serial"] and stub["max_fail_percentage"]  # the real playbook takes the request's waves
    home = tmp_path / "home"
    write(home / "playbooks/base_server.yml", yaml.safe_dump([stub], sort_keys=False))
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: []\n"
          "  dns: {provider: none}\n  options: {serial: 1, max_fail_percentage: 0}\n")
    local = f"ansible_connection: local, ansible_python_interpreter: {sys.executable}"
    hosts_yml(inventory, "all:\n  hosts:\n" + "".join(f"    local-{i}: {{{local}}}\n" for i in (1, 2, 3)))
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}
    r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "--only", "base_server", "--plain",
                        "--inventory", str(inventory)], capture_output=True, text=True, env=env, timeout=120,
                       cwd=ROOT, check=False)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    shown = json.loads(subprocess.run([sys.executable, "-m", "orchestrator.cli", "runs", "show", "--json",
                                       "--inventory", str(inventory)], capture_output=True, text=True, env=env,
                                      timeout=120, cwd=ROOT, check=True).stdout)
    stats = {s["host"]: s for s in shown["host_stats"]}
    assert set(stats) == {"local-1", "local-2"}  # local-3: no wave after the failed one
    assert stats["local-2"]["failures"] == 1 and stats["local-1"]["failures"] == 0
    base = next(p for p in shown["phases"] if p["phase"] == "base_server")
    assert base["status"] == "failed" and "local-2: Fail on the second host.: broken on purpose" in base["reason"]


def test_serial_takes_a_count_or_a_percentage_and_nothing_else(inventory):
    for good in ("1", "'30%'"):
        write(inventory / "group_vars/all/aidevops.yml", REQUEST_WITH_OPTIONS.format(options=f"{{serial: {good}}}"))
        assert load_request(inventory).options["serial"] in (1, "30%")
    for bad in ("0", "'3'", "'0%'", "true"):
        write(inventory / "group_vars/all/aidevops.yml", REQUEST_WITH_OPTIONS.format(options=f"{{serial: {bad}}}"))
        with pytest.raises(BadInput, match=r"aidevops.options.serial: expected a host count \(1 or more\) or a "
                                           r"percentage such as '30%'"):
            load_request(inventory)


REQUEST_WITH_OPTIONS = ("aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
                        "  dns: {{provider: none}}\n  options: {options}\n")
