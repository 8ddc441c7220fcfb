"""The request's validation section (defaults, errors), what findings mean for the run, which suites run."""

import threading
from types import SimpleNamespace

import pytest

from orchestrator.errors import BadInput
from orchestrator.request import load_request
from orchestrator.state import StateDir
from orchestrator.store import RunStore
from orchestrator.validation.agent import planned_suites
from orchestrator.validation.findings import Finding, verdict
from orchestrator.validation.standalone import exit_code
from tests.conftest import REQUEST, ROOT, write


def _with_validation(inventory, body: str):
    write(inventory / "group_vars/all/aidevops.yml", REQUEST + "  validation:\n" + body)
    return inventory


def _error(inventory) -> str:
    with pytest.raises(BadInput) as exc:
        load_request(inventory)
    return str(exc.value)


def test_defaults_when_the_section_is_absent(inventory):
    v = load_request(inventory).validation
    assert v.audit is True and v.ca_file is None
    assert (v.lynis_min_index, v.ssh_audit_max_fail, v.cert_min_days, v.response_ms_max) == (75, 0, 14, 1500)


def test_values_are_read_and_ca_file_is_relative_to_the_inventory(inventory):
    v = load_request(_with_validation(inventory, "    audit: false\n    lynis_min_index: 60\n"
                                                 "    load_max_per_core: 8\n    ca_file: ca/root.pem\n")).validation
    assert (v.audit, v.lynis_min_index, v.load_max_per_core) == (False, 60, 8.0)
    assert v.ca_path(inventory.resolve()) == inventory.resolve() / "ca/root.pem"
    assert load_request(inventory).as_dict()["validation"]["lynis_min_index"] == 60


@pytest.mark.parametrize("body,message", [
    ("    lynis_min: 60\n", "aidevops.validation.lynis_min: unknown key"),
    ("    lynis_min_index: 101\n", "aidevops.validation.lynis_min_index: expected a whole number from 0 to 100, got 101"),
    ("    cert_min_days: '14'\n", "aidevops.validation.cert_min_days: expected a whole number from 0 to 3650, got '14'"),
    ("    audit: yes please\n", "aidevops.validation.audit: expected true or false, got 'yes please'"),
    ("    tls_profile: strict\n", "aidevops.validation.tls_profile: unknown profile 'strict'"),
    ("    load_max_per_core: 0\n", "aidevops.validation.load_max_per_core: expected a positive number, got 0"),
    ("    ca_file: ''\n", "aidevops.validation.ca_file: expected the path of a PEM file"),
    ("    - audit\n", "aidevops.validation: expected a mapping, got list"),
])
def test_bad_values_are_one_clear_line(inventory, body, message):
    msg = _error(_with_validation(inventory, body))
    assert message in msg and "group_vars/all/aidevops.yml" in msg and "\n" not in msg


def test_the_sandbox_and_example_requests_are_valid():
    sandbox = load_request_from(ROOT / "inventories/sandbox/group_vars/all/aidevops.yml")
    assert sandbox["validation"]["ca_file"] == ".aidevops/sandbox/pebble-root.pem"
    assert load_request(ROOT / "inventories/example").validation.audit is True


def load_request_from(path):
    import yaml

    from orchestrator.request import parse_request
    return parse_request(yaml.safe_load(path.read_text()), ROOT, (), str(path)).as_dict()


def F(status, severity, check="x.y"):
    return Finding(check, "h1", status, severity, evidence=f"{check} is wrong")


def test_verdict_and_exit_codes():
    passed = [F("passed", "critical"), F("skipped", "high")]
    assert verdict(passed)[0] == "succeeded"
    low = passed + [F("failed", "low", "base_server.load_per_core")]
    status, reason = verdict(low)
    assert status == "degraded" and "1 medium/low" in reason and "base_server.load_per_core on h1" in reason
    high = low + [F("error", "high", "n8n.containers_healthy")]
    status, reason = verdict(high)
    assert status == "failed" and "first: n8n.containers_healthy on h1: n8n.containers_healthy is wrong" in reason
    rows = lambda fs: [{"status": f.status, "severity": f.severity} for f in fs]
    assert [exit_code(rows(x)) for x in (passed, low, high)] == [0, 3, 1]
    worst = high + [F("failed", "critical", "base_server.outside_port_scan")]
    assert "first: base_server.outside_port_scan" in verdict(worst)[1]


def _ctx(services, results):
    request = SimpleNamespace(services=tuple(services))
    return SimpleNamespace(request=request, results={k: SimpleNamespace(status=v) for k, v in results.items()},
                           cancel=threading.Event())


def test_suites_of_the_phases_that_ran():
    run, deployed, left = planned_suites(_ctx(["n8n", "supabase"], {
        "base_server": "succeeded", "n8n": "failed", "supabase": "not_available", "nginx_proxy": "degraded"}))
    assert run == ["base_server", "n8n", "nginx_proxy"] and deployed == ["n8n"]
    assert left == {"supabase": "its phase was not available"}


def test_validate_alone_checks_everything_requested_and_no_proxy_without_a_service():
    assert planned_suites(_ctx(["n8n"], {}))[0] == ["base_server", "n8n", "nginx_proxy"]
    run, _, left = planned_suites(_ctx(["n8n"], {"base_server": "succeeded", "n8n": "skipped",
                                                 "nginx_proxy": "skipped"}))
    assert run == ["base_server"] and set(left) == {"n8n", "nginx_proxy"}


def test_validate_with_a_bad_section_is_one_line_and_records_nothing(inventory):
    import subprocess
    import sys
    _with_validation(inventory, "    cert_min_days: -1\n")
    r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "validate", "--inventory", str(inventory)],
                       check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0
    assert "aidevops.validation.cert_min_days: expected a whole number from 0 to 3650, got -1" in r.stderr
    assert not (inventory / ".aidevops").exists()


def test_targets_in_production_and_in_the_sandbox(inventory):
    from orchestrator.request import Host
    from orchestrator.validation.targets import suite_config
    req = load_request(inventory)
    prod = replace_hosts(req, Host("vps-1", {"ansible_host": "203.0.113.7", "ansible_port": 2222}))
    cfg = suite_config(prod, ["n8n", "supabase"])
    assert cfg["hosts"] == {"vps-1": {"address": "203.0.113.7", "ssh_port": 2222, "container": None}}
    assert [(e["hostname"], e["connect"], e["https_port"], e["http_port"]) for e in cfg["endpoints"]] == [
        ("n8n.example.com", "n8n.example.com", 443, 80), ("supabase.example.com", "supabase.example.com", 443, 80),
        ("studio.example.com", "studio.example.com", 443, 80)]
    assert {5678, 5432, 8000, 6543} <= set(cfg["app_ports"]) and {1, 1024, 2375, 8089} <= set(cfg["scan_ports"])
    sandbox = replace_hosts(req, Host("sandbox-1", {"ansible_host": "127.0.0.1", "ansible_port": 32770,
                                                    "aidevops_sandbox_address": "172.18.0.2",
                                                    "aidevops_sandbox_container": "x-1",
                                                    "aidevops_published_ports": {"http": 32769, "https": 32768}}))
    cfg = suite_config(sandbox, ["n8n"])
    # Never 127.0.0.1 for the scan and ssh-audit: that is this machine, not the host.
    assert cfg["hosts"]["sandbox-1"] == {"address": "172.18.0.2", "ssh_port": 22, "container": "x-1"}
    assert [(e["connect"], e["https_port"], e["http_port"]) for e in cfg["endpoints"]] == [("127.0.0.1", 32768, 32769)]
    assert cfg["app_ports"] == [5432, 5678]


def replace_hosts(req, *hosts):
    import dataclasses
    return dataclasses.replace(req, hosts=hosts)


def test_an_audit_asked_for_but_skipped_degrades_the_run_and_says_which_and_why():
    skipped = F("skipped", "medium", "audit.tls_mozilla_profile[n8n.example.com]")
    skipped.evidence = "sslyze is not installed on the controller"
    status, reason = verdict([F("passed", "critical"), skipped])
    assert status == "degraded"
    assert "audit.tls_mozilla_profile[n8n.example.com] on h1: sslyze is not installed" in reason
    assert verdict([F("passed", "critical"), F("skipped", "high", "n8n.not_applicable")])[0] == "succeeded"
    rows = [{"status": "passed", "severity": "high", "check_id": "n8n.x"},
            {"status": "skipped", "severity": "medium", "check_id": "audit.ssh_audit"}]
    assert exit_code(rows) == 3
    failed = verdict([F("failed", "high", "n8n.healthz"), skipped])
    assert failed[0] == "failed" and "1 asked for were skipped (audit.tls_mozilla_profile" in failed[1]


def test_validate_no_audit_overrides_the_request(monkeypatch, inventory):
    """`aidevops validate --no-audit`: the request's settings with audit off, the rest kept (a frozen model)."""
    from orchestrator.validation import standalone

    seen = {}

    def fake_run(ctx):  # the validator agent itself needs hosts; here only what it is given matters
        seen["validation"] = ctx.request.validation
        from orchestrator.run.context import AgentResult
        return AgentResult("succeeded", "nothing to check here")

    monkeypatch.setattr(standalone.agent, "run", fake_run)
    request = load_request(inventory)
    outcome = standalone.validate(request, audit=False)
    assert seen["validation"].audit is False and request.validation.audit is True
    assert seen["validation"].drill is True  # not given: the request's
    assert seen["validation"].lynis_min_index == request.validation.lynis_min_index
    assert outcome.status == "succeeded"
    outcome = standalone.validate(request, drill=False)  # `--no-drill`: the restore drill left out
    assert seen["validation"].drill is False and seen["validation"].audit is True and request.validation.drill
    assert RunStore(StateDir(request.inventory).db).run(outcome.run_id).command == "validate --no-drill"


def test_base_servers_hardening_suite_runs_beside_it_when_it_exists(tmp_path, monkeypatch):
    from orchestrator.validation import agent

    monkeypatch.setattr(agent, "SUITES_DIR", tmp_path)
    names = lambda files: [f.rsplit("/", 1)[1] for f in files]
    assert names(agent.suite_files(["base_server", "n8n"], True)) == [
        "test_base_server.py", "test_n8n.py", "test_audit.py"]
    (tmp_path / "test_hardening.py").write_text("")
    assert names(agent.suite_files(["base_server", "n8n"], False)) == [
        "test_base_server.py", "test_n8n.py", "test_hardening.py"]
    assert names(agent.suite_files(["n8n"], True)) == ["test_n8n.py", "test_audit.py"]  # base_server not checked
    assert agent.suite_files([], True) == []
