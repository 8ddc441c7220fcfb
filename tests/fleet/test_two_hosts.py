"""More than one server, on three sandbox hosts.

1. One deployment over two of them, placed by inventory groups: n8n on sandbox-1, Supabase on sandbox-2
   (rendered: its images cannot be had here), each host with its own proxy, certificates from the sandbox ACME
   CA and DNS records in the sandbox's BIND pointing at it; the validator checks each host for what it runs.
   One `aidevops run` (base_server at `baseline`: the hardening controls are tested on the session's own host),
   then what a user checks from outside.
2. A fleet of all three, each host with its own domain, rolled out in waves of one: the second host's apt is
   broken, so its wave fails and the third host is never touched.

`make test-fleet` (not `make test`: README, Tests).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import ssl
import subprocess

import dns.message
import dns.query
import pytest
import yaml

from orchestrator.sandbox.hosts import Sandbox
from tests.conftest import ROOT
from tests.integration.conftest import aidevops, set_security_level

pytestmark = pytest.mark.integration

PREFIX = os.environ.get("AIDEVOPS_TWO_PREFIX", "aidevops-two")  # apart from the session's host
DOMAIN = "sandbox.test"
PLACED = {"n8n": "sandbox-1", "supabase": "sandbox-2"}
NAMES = {f"n8n.{DOMAIN}": "sandbox-1", f"supabase.{DOMAIN}": "sandbox-2", f"studio.{DOMAIN}": "sandbox-2"}


def place(inv, written: dict, groups: dict[str, dict]) -> None:
    """Inventory groups named after the services, as a user adds them to the hosts.yml `sandbox up` wrote."""
    data = copy.deepcopy(written)
    data["all"]["children"] = groups
    (inv / "hosts.yml").write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """(inventory, Sandbox, {name: SandboxHost}, hosts.yml as `sandbox up` wrote it for all three)."""
    inv = tmp_path_factory.mktemp("two") / "inventory"
    shutil.copytree(ROOT / "inventories/sandbox/group_vars", inv / "group_vars",
                    ignore=shutil.ignore_patterns("vault_*.yml"))
    request = inv / "group_vars/all/aidevops.yml"
    request.write_text(request.read_text().replace("services: [n8n]", "services: [n8n, supabase]"))
    set_security_level(inv, "baseline")
    box = Sandbox(inv, prefix=PREFIX)
    box.down(log=lambda m: None)
    try:
        hosts = {h.name: h for h in box.up(hosts=3, services=True, preload_images=True, log=print)}
        yield inv, box, hosts, yaml.safe_load((inv / "hosts.yml").read_text())
    finally:
        box.down(log=lambda m: None)


@pytest.fixture(scope="module")
def two_hosts(sandbox):
    """(inventory, Sandbox, {name: SandboxHost}, the run's result): the deployment on sandbox-1 and -2."""
    inv, box, hosts, all_three = sandbox
    first_two = copy.deepcopy(all_three)
    del first_two["all"]["hosts"]["sandbox-3"]  # the fleet's: this inventory is the first two
    place(inv, first_two, {"n8n": {"hosts": {PLACED["n8n"]: None}},
                           "supabase": {"hosts": {PLACED["supabase"]: None}, "vars": {"supabase_state": "rendered"}}})
    run = aidevops("run", "--inventory", str(inv), "--plain", timeout=1800)
    return inv, box, hosts, run


def on_host(host, command: str) -> str:
    r = subprocess.run(["docker", "exec", host.container, "bash", "-c", command], capture_output=True, text=True,
                       timeout=120, check=False)
    return r.stdout + r.stderr


def shown(inv) -> dict:
    return json.loads(aidevops("runs", "show", "--inventory", str(inv), "--json").stdout)


def tls_get(port: int, name: str, path: str, cafile) -> tuple[int, dict]:
    """GET https://NAME/PATH through 127.0.0.1:PORT (the host's published 443), verified against CAFILE."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw, \
            ctx.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        head = tls.recv(65536)
        return int(head.split(b" ", 2)[1]), tls.getpeercert()


def test_the_plan_shows_what_runs_on_each_host(two_hosts):
    *_, run = two_hosts
    assert "sandbox-1  base_server, dns, n8n, nginx_proxy" in run.stdout
    assert "sandbox-2  base_server, dns, supabase, nginx_proxy" in run.stdout


def test_the_run_deploys_both_hosts_and_validates_each(two_hosts):
    inv, _, _, run = two_hosts
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    phases = {p["phase"]: p["status"] for p in shown(inv)["phases"]}
    assert set(phases.values()) == {"succeeded"}, phases


def test_each_service_runs_only_on_its_host(two_hosts):
    _, _, hosts, _ = two_hosts
    n8n, supabase = hosts[PLACED["n8n"]], hosts[PLACED["supabase"]]
    projects = on_host(n8n, "docker ps --format '{{.Label \"com.docker.compose.project\"}}'").split()
    assert projects and set(projects) == {"n8n"}, projects  # n8n and its database, nothing of Supabase
    assert on_host(supabase, "docker ps -q").strip() == ""  # nothing of n8n there, and Supabase is only rendered
    assert "ok" in on_host(supabase, "cd /opt/aidevops/supabase && docker compose config --quiet && echo ok")
    assert "missing" in on_host(n8n, "test -e /opt/aidevops/supabase || echo missing")


def test_each_name_points_at_its_host_in_dns(two_hosts):
    inv, _, hosts, _ = two_hosts
    port = yaml.safe_load((inv / "hosts.yml").read_text())["all"]["vars"]["aidevops_sandbox_dns_published_port"]
    for name, host in NAMES.items():
        answer = dns.query.tcp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=10)
        assert [item.address for rrset in answer.answer for item in rrset] == [hosts[host].address], name


def test_each_host_serves_its_names_with_its_own_certificate(two_hosts):
    inv, _, hosts, _ = two_hosts
    root = inv / ".aidevops/sandbox/pebble-root.pem"
    for name, host in NAMES.items():
        status, cert = tls_get(hosts[host].https_port, name, "/", root)
        assert name in [v for kind, v in cert["subjectAltName"] if kind == "DNS"]
        assert "Pebble" in dict(x[0] for x in cert["issuer"])["commonName"]
        # n8n answers; Supabase is only rendered, so its gateway behind the proxy is not there (502).
        assert status == (502 if host == PLACED["supabase"] else 200), (name, status)
    live = {h: on_host(hosts[h], "ls /etc/letsencrypt/live") for h in hosts}
    assert f"n8n.{DOMAIN}" in live["sandbox-1"] and f"supabase.{DOMAIN}" not in live["sandbox-1"]
    assert f"supabase.{DOMAIN}" in live["sandbox-2"] and f"n8n.{DOMAIN}" not in live["sandbox-2"]


def test_the_validator_checked_each_host_for_what_it_runs(two_hosts):
    inv, *_ = two_hosts
    findings = {(f["check_id"], f["host"]): f for f in shown(inv)["findings"]}
    assert findings[("n8n.containers_healthy", "sandbox-1")]["status"] == "passed"
    assert ("n8n.containers_healthy", "sandbox-2") not in findings  # not placed there: not checked there
    assert findings[("supabase.rendered_stack_is_valid", "sandbox-2")]["status"] == "passed"
    assert findings[("supabase.containers_healthy", "sandbox-2")]["status"] == "skipped"
    for host in hosts_checked(findings, "base_server.outside_port_scan"):
        assert findings[("base_server.outside_port_scan", host)]["status"] == "passed"
    assert hosts_checked(findings, "base_server.outside_port_scan") == {"sandbox-1", "sandbox-2"}


def hosts_checked(findings: dict, check: str) -> set[str]:
    return {host for check_id, host in findings if check_id == check}


def test_the_report_says_what_runs_where(two_hosts):
    inv, *_ = two_hosts
    text = next(inv.glob(".aidevops/runs/*/report/report.md")).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| Hosts |"))
    assert "sandbox-1 (" in row and "): base_server, dns, n8n, nginx_proxy;" in row, row
    assert row.rstrip(" |").endswith("base_server, dns, supabase, nginx_proxy"), row


FLEET_REQUEST = """\
aidevops:
  domain: fleet.test
  admin_email: ops@fleet.test
  services: [n8n]
  dns: {provider: none}
  options: {strategy: sequential, serial: 1, max_fail_percentage: 0}
  validation: {audit: false, load_max_per_core: 8, disk_min_free_pct: 5}
"""


def test_a_fleet_in_waves_of_one_stops_after_the_failed_wave(sandbox, two_hosts, tmp_path):
    """Three hosts, each its own client (domain, services): waves of one host. sandbox-2's apt is broken (a
    malformed source list, as a hand edit leaves it), so its wave fails: sandbox-1 went through, sandbox-3 is
    never touched, and the run fails saying where."""
    inv, _, hosts, all_three = sandbox
    fleet = tmp_path / "fleet"
    shutil.copytree(inv / "group_vars", fleet / "group_vars", ignore=shutil.ignore_patterns("vault_*.yml"))
    (fleet / "group_vars/all/aidevops.yml").write_text(FLEET_REQUEST)
    written = copy.deepcopy(all_three)
    for i, (name, host_vars) in enumerate(written["all"]["hosts"].items(), start=1):
        host_vars["aidevops_host"] = {"domain": f"client-{i}.test", "admin_email": f"ops@client-{i}.test"}
    (fleet / "hosts.yml").write_text(yaml.safe_dump(written, sort_keys=False))
    plan = aidevops("plan", "--inventory", str(fleet))
    assert plan.returncode == 0, plan.stderr
    broken = "/etc/apt/sources.list.d/aidevops-test-broken.list"
    on_host(hosts["sandbox-2"], f"echo 'this is not a source line' > {broken}")
    try:
        run = aidevops("run", "--inventory", str(fleet), "--plain", timeout=1200)
    finally:
        on_host(hosts["sandbox-2"], f"rm -f {broken}")
    assert run.returncode == 1, run.stdout[-4000:] + run.stderr[-2000:]
    shown_run = json.loads(aidevops("runs", "show", "--inventory", str(fleet), "--json").stdout)
    stats = {s["host"]: s for s in shown_run["host_stats"] if s["phase"] == "base_server"}
    assert set(stats) == {"sandbox-1", "sandbox-2"}, stats  # sandbox-3: no wave after the failed one
    assert stats["sandbox-1"]["failures"] == 0 and stats["sandbox-2"]["failures"] >= 1
    phases = {p["phase"]: p for p in shown_run["phases"]}
    assert phases["base_server"]["status"] == "failed" and "sandbox-2" in phases["base_server"]["reason"]
    assert phases["n8n"]["status"] != "succeeded"  # nothing after a failed phase
    assert "missing" in on_host(hosts["sandbox-3"], "command -v ufw || echo missing")  # never touched
