"""Adding a service is adding a role and its declaration, nothing in orchestrator/.

A throw-away role (`metabase`, in a temporary project home beside copies of the real roles) declares its
service in meta/aidevops.yml; it then shows up in the request's choices, the plan, the validator's targets,
and the report's URLs, login and maintenance guide.
"""

import shutil

import pytest

from orchestrator import vault
from orchestrator.plan import build_plan
from orchestrator.redact import Redactor
from orchestrator.report import write_report
from orchestrator.request import load_request
from orchestrator.store import RunStore
from orchestrator.validation.targets import suite_config
from tests.conftest import ROOT, write
from tests.unit.test_vault import encrypt

DECLARATION = """\
---
agent:
  title: Metabase deployment
  after: [base_server]
  service:
    name: metabase
    app_ports: [3300]
    vault_file: vault_metabase.yml
    secrets: [metabase_admin_password]
    sites:
      - name: metabase
        title: Metabase
        subdomain: bi
        upstream_port: 3300
        health_path: /api/health
        login: {user_variable: metabase_admin_email, password_secret: metabase_admin_password}
  maintenance:
    - section: backups
      text: "Metabase keeps its questions in {{ metabase_data_dir }}: back that folder up."
      commands: ["tar czf metabase.tgz {{ metabase_data_dir }}"]
"""
ADMIN_PASSWORD = "Mb-admin-S3cret-991"


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    shutil.copytree(ROOT / "roles", h / "roles")
    shutil.copytree(ROOT / "playbooks", h / "playbooks")
    write(h / "roles/metabase/meta/aidevops.yml", DECLARATION)
    write(h / "roles/metabase/defaults/main.yml", "metabase_data_dir: /srv/metabase\nmetabase_admin_email: bi@x.example\n")
    write(h / "playbooks/metabase.yml", "- hosts: all\n  roles: [metabase]\n")
    monkeypatch.setenv("AIDEVOPS_HOME", str(h))
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    return h


@pytest.fixture
def inv(tmp_path, home):
    inv = tmp_path / "inv"
    write(inv / "hosts.yml", "all:\n  hosts:\n    web1: {ansible_host: 203.0.113.10}\n    web2: {ansible_host: 203.0.113.11}\n")
    write(inv / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: client.example\n  admin_email: ops@client.example\n  services: [n8n, metabase]\n"
          "  dns: {provider: none}\n")
    encrypt(write(inv / "group_vars/all/vault_metabase.yml", f"metabase_admin_password: {ADMIN_PASSWORD}\n"),
            vault.ensure_password_file(inv))
    return inv


def test_the_request_accepts_the_new_service_and_names_its_host(inv):
    request = load_request(inv)
    assert request.services == ("n8n", "metabase")
    assert request.hostnames["metabase"] == "bi.client.example"


def test_the_plan_runs_it_after_the_server_and_before_the_proxy(inv):
    plan = build_plan(load_request(inv))
    ids = [p.id for p in plan.phases]
    assert "metabase" in ids and plan.phase("metabase").available
    assert plan.phase("metabase").depends_on == ("base_server",)
    assert "metabase" in plan.phase("nginx_proxy").depends_on
    assert "metabase" in plan.phase("nginx_proxy").agent.tolerates  # the proxy still serves n8n if it fails
    assert ids.index("metabase") < ids.index("nginx_proxy") < ids.index("validator") < ids.index("report")


def test_the_validator_checks_its_name_health_and_port_on_every_host(inv):
    cfg = suite_config(load_request(inv), ["n8n", "metabase"])
    bi = [e for e in cfg["endpoints"] if e["service"] == "metabase"]
    assert [(e["host"], e["hostname"], e["health"]) for e in bi] == [
        ("web1", "bi.client.example", "/api/health"), ("web2", "bi.client.example", "/api/health")]
    assert 3300 in cfg["app_ports"] and 5678 in cfg["app_ports"]
    assert 3300 in cfg["scan_ports"]


def test_the_report_shows_its_url_login_and_maintenance(inv):
    request = load_request(inv)
    store = RunStore(inv / ".aidevops/aidevops.db")
    run_dir = inv / ".aidevops/runs/r1"
    store.start_run("r1", str(inv), "run", request.as_dict(), str(run_dir))
    for phase in ("base_server", "n8n", "metabase", "nginx_proxy", "validator"):
        store.record_phase("r1", phase, "succeeded", "", None, None, 1.0, 0, str(run_dir / phase))
    store.finish_run("r1", "succeeded", 0, 5.0)
    files = write_report(store, "r1", inv, Redactor(vault.secret_values(inv)))
    md = files.markdown.read_text()
    store.close()
    assert "https://bi.client.example/" in md
    assert "| Metabase | https://bi.client.example/ | bi@x.example |" in md
    assert ADMIN_PASSWORD not in md  # masked in the report, delivered in the encrypted credentials file
    guide = md[md.index("## Maintenance guide"):]
    assert "Metabase keeps its questions in /srv/metabase" in guide and "tar czf metabase.tgz /srv/metabase" in guide


def _plugin(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_proxy_and_the_dns_records_serve_it(home):
    """The roles read the same declarations: nginx_proxy's sites and the dns role's names include it."""
    proxy = _plugin(home / "roles/nginx_proxy/filter_plugins/declared_sites.py")
    declared = proxy.declared_sites(home / "roles")
    names = proxy.site_hostnames(declared, "client.example", {"n8n": "flows.client.example"})
    sites = proxy.service_sites(declared, ["n8n", "metabase"], names, proxy.site_upstreams(declared))
    assert [(s["name"], s["server_name"], s["upstream"]) for s in sites] == [
        ("metabase", "bi.client.example", "http://127.0.0.1:3300"),
        ("n8n", "flows.client.example", "http://127.0.0.1:5678")]
    assert sites[1]["websocket"] is True  # n8n's declared proxy settings travel with its site
    dns = _plugin(home / "roles/dns/filter_plugins/dns_records.py")
    assert dns.dns_service_hostnames(["n8n", "metabase"], "client.example", roles_dir=home / "roles") == [
        "n8n.client.example", "bi.client.example"]
