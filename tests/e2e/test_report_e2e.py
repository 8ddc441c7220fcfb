"""The client report of the sandbox's first run: written at the end of the run, true to what was deployed,
and without a secret in clear text."""

import re

import yaml

from orchestrator import vault
from orchestrator.report import credentials
from tests.e2e.conftest import DOMAIN, aidevops

N8N = f"n8n.{DOMAIN}"


def test_the_first_run_ends_with_its_report(stack, first_run):
    inv, _box, host = stack
    assert first_run.returncode == 0, first_run.stdout[-6000:] + first_run.stderr[-2000:]
    run_id = re.search(r"^Run (\S+): ", first_run.stdout, re.MULTILINE).group(1)
    folder = inv / ".aidevops/runs" / run_id / "report"
    assert f"Report: {folder / 'report.html'}" in first_run.stdout

    md = (folder / "report.md").read_text()
    assert f"| n8n | https://{N8N}/ | deployed |" in md
    assert f"| {N8N} | A | {host.address} |" in md  # the record the dns agent wrote into the sandbox BIND
    assert "aidevops-backup-n8n.timer" in md and "certbot renew --dry-run" in md
    assert "Supabase" not in md  # the sandbox request is n8n only

    creds = credentials.read(inv)
    owner = creds.get("n8n_owner_password")
    assert owner is not None
    assert f"| n8n | https://{N8N}/ | admin@{DOMAIN} | {credentials.MASK} |" in md
    plain = vault.vault_lib(creds.password_file).decrypt((folder / "credentials.vault.yml").read_text())
    assert yaml.safe_load(plain)["logins"][0]["password"] == owner.value

    secrets = [s for s in vault.secret_values(inv) if len(s) >= 6]
    leaks = [(p.name, s[:3]) for p in folder.rglob("*") if p.is_file() for s in secrets if s.encode() in p.read_bytes()]
    assert leaks == []

    again = aidevops("report", run_id, "--inventory", str(inv), "--open-path-only", timeout=120)
    assert again.returncode == 0 and again.stdout.strip() == str(folder / "report.html"), again.stderr
