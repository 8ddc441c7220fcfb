"""The report is the last phase of a real `aidevops run` (over the local connection, as in test_run_local.py).

The temporary project home holds only a playbook, no templates/: the report falls back to the source
checkout's templates (a home's own templates/ would be preferred, so a user can restyle the report).
"""

import json
import re
from pathlib import Path

from orchestrator import vault
from tests.conftest import write
from tests.unit.test_run_local import aidevops, home  # noqa: F401  (fixture)
from tests.unit.test_vault import encrypt

OWNER_PASSWORD = "OwnerPw-Run-4242xyz"


def test_the_report_phase_ends_the_run_and_writes_the_report(home, inventory, monkeypatch):  # noqa: F811
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    inv = inventory
    write(inv / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
          "  dns: {provider: none}\n")
    write(inv / "group_vars/all/n8n.yml", 'n8n_owner_email: "{{ aidevops.admin_email }}"\n')
    pw = vault.ensure_password_file(inv)
    encrypt(write(inv / "group_vars/all/vault_n8n.yml", f"n8n_owner_password: {OWNER_PASSWORD}\n"), pw)
    assert not (home / "templates").exists()

    # The validator is left out: over the local connection it would check (and audit) this machine itself.
    r = aidevops(home, "run", "--inventory", str(inv), "--plain", "--only", "base_server,n8n,nginx_proxy,report")
    assert r.returncode == 3, r.stdout + r.stderr  # n8n and the proxy have no playbook in this home
    run_dir = next((inv / ".aidevops/runs").iterdir())
    report = run_dir / "report"
    assert re.search(r"report\s+succeeded", r.stdout), r.stdout
    assert f"Report: {report / 'report.html'}" in r.stdout

    html = (report / "report.html").read_text()
    md = (report / "report.md").read_text()
    # The run's phases as they were when the report ran: base_server ran, the others did not.
    bars = re.findall(r'<rect class="bar" data-phase="([^"]+)"', html)
    assert "base_server" in bars and "report" not in bars
    assert "| n8n | not available |" in md
    assert "https://n8n.example.com/" in md and "not available" in md  # requested, not deployed
    assert "## Maintenance guide" in md and "n8n-backup" not in md  # n8n was not deployed
    assert "(as of the report phase)" in md and "**degraded**" in md
    assert "| optimization | offline |" in md  # the suggestions for next time are made before the report
    assert (report / "credentials.vault.yml").read_text().startswith("$ANSIBLE_VAULT")
    leaks = [p for p in (inv / ".aidevops").rglob("*") if p.is_file() and OWNER_PASSWORD.encode() in p.read_bytes()]
    assert leaks == []

    shown = aidevops(home, "runs", "show", "--inventory", str(inv), "--json")
    phases = {p["phase"]: p for p in json.loads(shown.stdout)["phases"]}
    assert phases["report"]["status"] == "succeeded"
    assert phases["report"]["reason"] == f"report: {report / 'report.html'}"
    assert Path(phases["report"]["artifact_dir"]) == report
    # Last, even though the validator (left out here) settled before base_server was done.
    assert phases["report"]["started_at"] >= phases["base_server"]["ended_at"]
