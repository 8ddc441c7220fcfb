"""The final report of a run, from a run store filled the way a run fills it, and its inventory's vault.

What a client checks: the URLs, the findings and figures, the timeline, a guide for what is deployed only,
and credentials that never appear in clear text unless asked for (and then only in the revealed copy).
"""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator import vault
from orchestrator.redact import Redactor
from orchestrator.report import write_report
from orchestrator.report.credentials import MASK
from orchestrator.store import RunStore
from orchestrator.vault import vault_lib
from tests.conftest import write
from tests.unit.test_vault import encrypt

SECRETS = {"n8n_encryption_key": "EncKey-9f8e7d6c5b4a3210", "n8n_db_password": "DbPass-1234abcdWXYZ",
           "n8n_owner_password": "OwnerPw-77xyZq0K"}
T0 = datetime(2026, 11, 25, 21, 0, 0, tzinfo=UTC)
# (phase, status, start second, end second): dns beside base_server, as the hybrid strategy runs them.
PHASES = [("base_server", "succeeded", 0, 40), ("dns", "succeeded", 0, 5), ("n8n", "succeeded", 40, 100),
          ("nginx_proxy", "degraded", 100, 130), ("validator", "succeeded", 130, 150)]


def at(second: float) -> str:
    return (T0 + timedelta(seconds=second)).isoformat(timespec="milliseconds")


@pytest.fixture
def inv(tmp_path, monkeypatch):
    """An n8n-only inventory with DNS through RFC 2136 and n8n's generated secrets in its vault."""
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    inv = tmp_path / "inv"
    write(inv / "hosts.yml", "all:\n  hosts:\n    web1:\n      ansible_host: 203.0.113.10\n")
    write(inv / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: client.example\n  admin_email: ops@client.example\n  services: [n8n]\n"
          "  dns: {provider: rfc2136}\n  hostnames: {n8n: flows.client.example}\n")
    write(inv / "group_vars/all/n8n.yml", 'n8n_owner_email: "{{ aidevops.admin_email }}"\nn8n_version: "2.40.7"\n')
    pw = vault.ensure_password_file(inv)
    encrypt(write(inv / "group_vars/all/vault_n8n.yml", "".join(f"{k}: {v}\n" for k, v in SECRETS.items())), pw)
    return inv


def fill(store: RunStore, inv: Path, run_id: str = "20261125-210000-abcd", validated: bool = True) -> str:
    request = {"inventory": str(inv), "domain": "client.example", "admin_email": "ops@client.example",
               "services": ["n8n"], "dns_provider": "rfc2136",
               "hostnames": {"n8n": "flows.client.example", "supabase": "supabase.client.example",
                             "studio": "studio.client.example"},
               "hosts": ["web1"], "strategy": None, "max_parallel": 2}
    run_dir = inv / ".aidevops/runs" / run_id
    store.start_run(run_id, str(inv), "run", request, str(run_dir))
    store.set_strategy(run_id, "hybrid", "hybrid (default): independent phases side by side")
    for phase, status, start, end in PHASES:
        store.record_phase(run_id, phase, status,
                           "web1: flows.client.example: self-signed certificate (ACME failed)"
                           if status == "degraded" else "", at(start), at(end), float(end - start), 0,
                           str(run_dir / phase))
        store.record_host_stats(run_id, phase, {"web1": {"ok": 10, "changed": 2}})
    store.record_phase(run_id, "supabase", "not_available", "agent not built yet")
    if not validated:  # as while the validator is not built
        store.record_phase(run_id, "validator", "not_available", "agent not built yet (no module "
                           "orchestrator.validation.agent)")
    if validated:
        store.record_finding(run_id, "validator", "n8n.healthz", "web1", "passed", "info", "n8n answers /healthz",
                             "HTTP 200")
        # A check that printed a secret: the report must not repeat it.
        store.record_finding(run_id, "validator", "nginx.tls_chain", "web1", "failed", "high",
                             "Certificate chain not trusted",
                             f"unable to get local issuer certificate; env N8N_ENCRYPTION_KEY={SECRETS['n8n_encryption_key']}")
        store.record_metric(run_id, "validator", "tls.cert_days_left", "flows.client.example", 89, "days",
                            threshold=14, passed=True,
                            detail=json.dumps({"issuer": "CN=R11, O=Let's Encrypt", "not_after": "2027-02-22T20:00:00Z",
                                               "names": ["flows.client.example"]}))
        store.record_metric(run_id, "validator", "lynis.hardening_index", "web1", 78, "", threshold=70, passed=True)
        store.record_metric(run_id, "validator", "ssh_audit.fail", "web1", 0, "", threshold=0, passed=True)
        store.record_metric(run_id, "validator", "ssh_audit.warn", "web1", 3, "", threshold=5, passed=True)
        store.record_metric(run_id, "validator", "tls.mozilla_intermediate", "flows.client.example", None,
                            text_value="compliant", passed=True)
        store.record_metric(run_id, "validator", "http.response_ms", "flows.client.example", 184.0, "ms",
                            threshold=1500, passed=True)
        store.record_metric(run_id, "validator", "host.mem_available_mb", "web1", 2950, "MB", threshold=512,
                            passed=True)
        store.record_metric(run_id, "validator", "host.disk_free_pct", "web1", 71.5, "%", threshold=15, passed=True)
        store.record_metric(run_id, "validator", "host.load_per_core", "web1", 0.42)
        store.record_decision(run_id, decision_type="strategic", agent_id="orchestrator", provider="anthropic",
                              model="claude-sonnet-4-5", decision={"strategy": "hybrid", "max_parallel": 2},
                              tokens_in=1840, tokens_out=212, cache_read=1500, cache_write=0, latency=2.31)
        store.record_decision(run_id, decision_type="recovery", agent_id="nginx_proxy", provider="anthropic",
                              model="claude-sonnet-4-5", decision={"action": "degrade"},
                              fallback_reason="timeout after 30s", tokens_in=900, tokens_out=0, latency=30.0)
    store.finish_run(run_id, "degraded", 3, 151.2)
    return run_id


@pytest.fixture
def store(inv):
    s = RunStore(inv / ".aidevops/aidevops.db")
    yield s
    s.close()


def render(store, inv, run_id, **kw):
    return write_report(store, run_id, inv, Redactor(vault.secret_values(inv)), **kw)


def test_the_report_holds_what_the_client_needs(store, inv):
    files = render(store, inv, fill(store, inv))
    assert files.folder == inv / ".aidevops/runs/20261125-210000-abcd/report"
    for text in (files.markdown.read_text(), files.html.read_text()):
        assert "https://flows.client.example/" in text
        assert "studio.client.example" not in text and "Supabase Studio" not in text  # not requested
        assert "degraded" in text and "hybrid" in text and "web1" in text
        assert "flows.client.example" in text and "203.0.113.10" in text  # its DNS record
        assert "Certificate chain not trusted" in text and "nginx.tls_chain" in text
        assert "2027-02-22T20:00:00Z" in text
        assert "Let&#39;s Encrypt" in text or "Let's Encrypt" in text
        assert "Lynis hardening index" in text and "78" in text and "ssh-audit warnings" in text
        assert "HTTP response time" in text and "184" in text and "2950" in text and "0.42" in text
        assert "claude-sonnet-4-5" in text and "timeout after 30s" in text and "1840 / 212" in text
        assert "1500 / 0" in text and "2.31s" in text  # cache read/write and latency of the first decision
        assert "ops@client.example" in text  # the n8n owner, not a secret
        assert "Validation did not run" not in text


def test_text_from_the_run_is_escaped_in_the_html(store, inv):
    run_id = fill(store, inv)
    store.record_finding(run_id, "validator", "n8n.title", "web1", "failed", "low", "Page <b>title</b>",
                         "<script>alert(1)</script> | piped")
    files = render(store, inv, run_id)
    html, md = files.html.read_text(), files.markdown.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Page &lt;b&gt;title&lt;/b&gt;" in html
    assert "\\| piped" in md  # a pipe does not split the markdown table row


def test_the_maintenance_guide_covers_only_what_was_deployed(store, inv):
    md = render(store, inv, fill(store, inv)).markdown.read_text()
    guide = md[md.index("## Maintenance guide"):]
    assert "aidevops-backup-n8n.timer" in guide and "/var/backups/aidevops/restic" in guide and "pg_restore" in guide
    assert "A backup of n8n holds its database (pg_dump, with row counts), its data folder and its encryption key." in guide
    assert "restic snapshots --tag service:n8n" in guide and "restic restore latest --tag service:n8n" in guide
    assert "n8n_version = 2.40.7" in guide
    assert "certbot renew --dry-run" in guide and "aidevops-nginx-reload" in guide
    assert "N8N_ENCRYPTION_KEY" in guide and "group_vars/all/vault_n8n.yml" in guide
    assert "/var/log/nginx/n8n.access.log" in guide and "docker compose logs" in guide
    assert "run.log.jsonl" in guide and "aidevops validate" in guide and "aidevops runs show" in guide
    assert "supabase" not in guide.lower()


def test_the_guide_follows_the_inventorys_settings(store, inv):
    """Steps of the roles' declarations hold only when their condition does, with the inventory's values."""
    write(inv / "group_vars/all/n8n.yml", 'n8n_version: "2.40.7"\nn8n_backup_enabled: false\n'
          "n8n_project_dir: /srv/n8n\nnginx_proxy_acme_email: certs@client.example\n")
    md = render(store, inv, fill(store, inv)).markdown.read_text()
    guide = md[md.index("## Maintenance guide"):]
    assert "backups are switched off (n8n_backup_enabled: false)" in guide and "aidevops-backup-n8n.timer" not in guide
    assert "cd /srv/n8n && docker compose stop n8n" in guide  # the restore step, with this inventory's folder
    assert "Expiry notices from the CA go to certs@client.example." in guide


def test_the_timeline_has_one_bar_per_phase_as_long_as_the_phase(store, inv):
    html = render(store, inv, fill(store, inv)).html.read_text()
    svg = html[html.index("<svg"):html.index("</svg>")]
    bars = {m.group(1): (float(m.group(3)), float(m.group(4)), m.group(2)) for m in re.finditer(
        r'<rect class="bar" data-phase="([^"]+)" data-status="([^"]+)" data-seconds="[^"]+" x="([\d.]+)" y="[\d.]+" '
        r'width="([\d.]+)"', svg)}
    assert set(bars) == {p for p, *_ in PHASES}  # supabase did not run: a row, no bar
    assert "not available" in svg
    per_second = bars["base_server"][1] / 40
    for phase, status, start, end in PHASES:
        x, width, shown_status = bars[phase]
        assert width == pytest.approx((end - start) * per_second, rel=0.01)
        assert x - bars["base_server"][0] == pytest.approx(start * per_second, abs=0.1)
        assert shown_status == status
    assert bars["nginx_proxy"] != bars["n8n"]


def test_no_secret_in_clear_text_and_the_vault_file_holds_them(store, inv):
    files = render(store, inv, fill(store, inv))
    leaks = [(p.name, s) for p in files.folder.rglob("*") if p.is_file()
             for s in SECRETS.values() if s.encode() in p.read_bytes()]
    assert leaks == []
    md = files.markdown.read_text()
    assert MASK in md and "N8N_ENCRYPTION_KEY=********" in md  # the finding's evidence, redacted
    assert files.credentials == files.folder / "credentials.vault.yml"
    raw = files.credentials.read_text()
    assert raw.startswith("$ANSIBLE_VAULT;1.1;AES256")
    plain = vault_lib(inv / ".vault-pass").decrypt(raw).decode()
    import yaml

    data = yaml.safe_load(plain)
    assert data["vault_files"]["group_vars/all/vault_n8n.yml"] == SECRETS
    assert data["logins"] == [{"service": "n8n", "url": "https://flows.client.example/", "user": "ops@client.example",
                               "password": SECRETS["n8n_owner_password"]}]
    assert oct(files.credentials.stat().st_mode & 0o777) == "0o600"


def test_a_run_without_validation_or_ai_says_so(store, inv):
    run_id = fill(store, inv, validated=False)
    md = render(store, inv, run_id).markdown.read_text()
    why = "Validation did not run (validator not available: agent not built yet (no module orchestrator.validation.agent))"
    assert f"{why}, so certificate expiry was not checked." in md
    assert f"{why}: there are no findings for this run." in md
    assert f"{why}: no security figures for this run." in md
    assert "No AI decision was recorded for this run" in md
    assert "Lynis" not in md and "| Host name | Days left" not in md


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], check=False, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_the_report_command_renders_the_latest_run_again_and_reveals_on_request(store, inv):
    run_id = fill(store, inv)
    r = cli("report", "--inventory", str(inv))
    assert r.returncode == 0, r.stderr
    folder = inv / ".aidevops/runs" / run_id / "report"
    assert f"report:      {folder / 'report.html'}" in r.stdout
    assert "credentials.vault.yml" in r.stdout
    assert not any(s in r.stdout + (folder / "report.html").read_text() for s in SECRETS.values())

    only = cli("report", run_id[:12], "--inventory", str(inv), "--open-path-only")
    assert only.stdout.strip() == str(folder / "report.html")

    shown = cli("report", "--inventory", str(inv), "--reveal")
    assert shown.returncode == 0, shown.stderr
    revealed = (folder / "report.revealed.html").read_text()
    assert SECRETS["n8n_owner_password"] in revealed and SECRETS["n8n_encryption_key"] in revealed
    assert "report.revealed.html" in shown.stdout
    # The masked report stays the one to hand on.
    assert not any(s in (folder / "report.html").read_text() for s in SECRETS.values())


def test_the_report_command_with_a_bad_run_id_is_one_line(store, inv):
    fill(store, inv)
    r = cli("report", "nope", "--inventory", str(inv))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "no run with id 'nope'" in r.stderr


def test_a_project_home_may_restyle_the_report(store, inv, tmp_path, monkeypatch):
    home = tmp_path / "home"
    write(home / "templates/report.md.j2", "Our own report of {{ run.id }} for {{ domain }}\n")
    monkeypatch.setenv("AIDEVOPS_HOME", str(home))
    files = render(store, inv, fill(store, inv))
    assert files.markdown.read_text() == "Our own report of 20261125-210000-abcd for client.example\n"
    assert "Maintenance guide" in files.html.read_text()  # the home has no HTML template: the checkout's


def test_supabase_deployed_and_n8n_failed(store, inv):
    """Studio gets its URL and login; the failed n8n is shown as such and left out of the guide."""
    write(inv / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: client.example\n  admin_email: ops@client.example\n  services: [n8n, supabase]\n"
          "  dns: {provider: none}\n")
    supabase = {"supabase_dashboard_username": "supabase", "supabase_dashboard_password": "StudioPw-5150abc",
                "supabase_jwt_secret": "JwtSecret-0123456789abcdef0123"}
    encrypt(write(inv / "group_vars/all/vault_supabase.yml", "".join(f"{k}: {v}\n" for k, v in supabase.items())),
            inv / ".vault-pass")
    request = {"domain": "client.example", "admin_email": "ops@client.example", "services": ["n8n", "supabase"],
               "dns_provider": "none", "hosts": ["web1"],
               "hostnames": {"n8n": "n8n.client.example", "supabase": "supabase.client.example",
                             "studio": "studio.client.example"}}
    store.start_run("r2", str(inv), "run", request, str(inv / ".aidevops/runs/r2"))
    for phase, status, start, end in [("base_server", "succeeded", 0, 40), ("n8n", "failed", 40, 50),
                                      ("supabase", "succeeded", 40, 160), ("nginx_proxy", "succeeded", 160, 170)]:
        store.record_phase("r2", phase, status, "1 task(s) failed" if status == "failed" else "", at(start), at(end),
                           float(end - start))
    store.record_failure("r2", "n8n", "web1", "Start n8n.", "command", "roles/n8n/tasks/compose.yml:3",
                         "container n8n is unhealthy")
    store.finish_run("r2", "failed", 1, 171.0)
    files = render(store, inv, "r2")
    md = files.markdown.read_text()
    assert "| Supabase Studio | https://studio.client.example/ | deployed |" in md
    assert "| Supabase API | https://supabase.client.example/ | deployed |" in md
    assert "| n8n | https://n8n.client.example/ | failed |" in md
    assert "| Supabase Studio | https://studio.client.example/ | supabase | •••••••• |" in md
    assert "| `supabase_dashboard_username` | supabase |" in md  # names an account: not masked
    assert "| n8n | https://n8n.client.example/ | ops" not in md  # no login offered for a service that is down
    assert "supabase: supabase.client.example" in md  # the request, with its host names intact
    assert "[n8n] web1: Start n8n.: container n8n is unhealthy" in md
    guide = md[md.index("## Maintenance guide"):]
    assert "aidevops-backup-supabase.timer" in guide and "JWT secret" in guide and "/var/log/nginx/studio.access.log" in guide
    assert "n8n-backup" not in guide and "N8N_ENCRYPTION_KEY" not in guide and "n8n.access.log" not in guide
    assert "DNS is not managed by aidevops" in md
    every = b"".join(p.read_bytes() for p in files.folder.rglob("*") if p.is_file())
    assert not any(v.encode() in every for v in [*supabase.values(), *SECRETS.values()] if v != "supabase")


def test_an_interrupted_run_keeps_its_open_phase_in_the_timeline():
    from orchestrator.report.timeline import svg

    drawn = svg([{"phase": "base_server", "status": "succeeded", "started_at": at(0), "ended_at": at(10)},
                 {"phase": "n8n", "status": "running", "started_at": at(10), "ended_at": None},
                 {"phase": "validator", "status": "skipped", "started_at": None, "ended_at": None}])
    assert drawn.count('<rect class="bar"') == 1
    assert "running (no end recorded)" in drawn and "skipped (did not run)" in drawn


def test_the_report_shows_the_restore_drills_and_the_backup_age(store, inv):
    run_id = fill(store, inv)
    store.record_drill(run_id, "validator", {
        "host": "web1", "service": "n8n", "status": "failed", "snapshot_id": "1a2b3c4d",
        "snapshot_time": "2026-11-25T03:15:00Z", "backup_age_hours": 27.5,
        "counts_expected": {"workflow_entity": 7}, "counts_found": {"workflow_entity": 2}, "decrypt_ok": True,
        "duration": 41.0, "error": "row counts differ from the snapshot's counts.json"})
    files = render(store, inv, run_id)
    md, html = files.markdown.read_text(), files.html.read_text()
    assert ("| n8n | web1 | failed | 1a2b3c4d | 2026-11-25T03:15:00Z | 27.5 h | workflow_entity 7/2 | yes | 41s | "
            "row counts differ from the snapshot's counts.json |") in md
    assert "Backups and restore drills" in html and "27.5 h" in html
    assert "No restore drill ran" in render(store, inv, fill(store, inv, "r9")).markdown.read_text()


def test_the_security_audit_section_gives_the_level_lynis_suggestions_left_and_skipped_controls(store, inv):
    """As the validator stores them: the Lynis check's detail (audits.lynis_detail), the hardening suite's
    skipped tests and ssh-audit's figures."""
    from orchestrator.validation import audits

    run_id = fill(store, inv)
    report = audits.parse_lynis_report((Path(__file__).parent / "data/lynis-report.dat").read_text())
    manifest = {"security_level": "hardened",
                "controls": {"accounting": {"state": "skipped", "reason": "acct: the kernel refuses (EPERM)"}}}
    detail = audits.lynis_detail(report, {"BOOT-5122": {"reason": "operator", "why": "The provider's console."}},
                                 manifest)
    store.record_metric(run_id, "validator", "lynis.hardening_index", "web2", 88, "", threshold=85, passed=True,
                        detail=json.dumps(detail))
    store.record_finding(run_id, "validator", "hardening.hardening_control[proc_hidepid]", "web2", "skipped",
                         "medium", "/proc is mounted hidepid", "a container cannot remount /proc", agent="hardening")
    store.record_finding(run_id, "validator", "hardening.hardening_control[core_dumps]", "web2", "passed",
                         "medium", "Core dumps are off", "", agent="hardening")
    files = render(store, inv, run_id)
    md, html = files.markdown.read_text(), files.html.read_text()
    section = md.split("## Security audit")[1].split("\n## ")[0]
    assert "### web2" in section and "- Security level: hardened" in section
    assert "- Lynis hardening index: 88 (threshold 85): passed" in section
    assert "- Lynis warnings: 2: NETW-2705 Couldn't find 2 responsive nameservers; FIRE-4512" in section
    assert "| BOOT-5122 | Set a password on GRUB boot loader to prevent altering boot configuration | " \
           "operator's choice | The provider's console. |" in section
    assert "| KRNL-5820 | If not required, consider explicit disabling of core dump in /etc/security/limits.conf " \
           "file | unexplained |  |" in section
    assert "| proc_hidepid | a container cannot remount /proc |" in section
    assert "| accounting | acct: the kernel refuses (EPERM) |" in section  # from the manifest
    assert "core_dumps" not in section  # applied and passed: not a control left out
    # web1's older-style figure (no detail): its index, and that the level is not known.
    assert "### web1" in section and "not recorded (the base_server role wrote no manifest)" in section
    # The base_server suite records the level with the audits off too (no Lynis figure for web3).
    store.record_metric(run_id, "validator", "base_server.security_level", "web3", None, text_value="strict",
                        detail=json.dumps({"tmp_noexec": "n8n's image runs binaries from /tmp"}))
    section = render(store, inv, run_id).markdown.read_text().split("## Security audit")[1].split("\n## ")[0]
    web3 = section.split("### web3")[1]
    assert "- Security level: strict" in web3 and "Lynis" not in web3
    assert "| tmp_noexec | n8n's image runs binaries from /tmp |" in web3
    assert "- ssh-audit of web1: 0 fail (at most 0), 3 warn (at most 5)" in section
    html_section = html.split('id="security-audit"')[1].split("</section>")[0]
    for text in ("hardened", "88", "BOOT-5122", "operator&#39;s choice", "proc_hidepid", "a container cannot remount"):
        assert text in html_section, text


def test_runs_show_lists_the_security_audit(store, inv):
    from orchestrator.validation import audits

    run_id = fill(store, inv)
    report = audits.parse_lynis_report((Path(__file__).parent / "data/lynis-report.dat").read_text())
    detail = audits.lynis_detail(report, {"BOOT-5122": {"reason": "operator", "why": "The provider's console."}},
                                 {"security_level": "strict"})
    store.record_metric(run_id, "validator", "lynis.hardening_index", "web2", 88, "", threshold=85, passed=True,
                        detail=json.dumps(detail))
    r = cli("runs", "show", run_id, "--inventory", str(inv), env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    shown = r.stdout.split("Security audit")[1]
    assert "web2: level strict, Lynis 88 (threshold 85), 2 warning(s), 3 suggestion(s) left" in shown
    assert "BOOT-5122  operator's choice" in shown and "The provider's console." in shown
    assert "KRNL-5820  unexplained" in shown and "warning NETW-2705: Couldn't find 2 responsive nameservers" in shown
    as_json = cli("runs", "show", run_id, "--inventory", str(inv), "--json")
    audit = json.loads(as_json.stdout)["security_audit"]
    web2 = next(h for h in audit["hosts"] if h["host"] == "web2")
    assert web2["level"] == "strict" and web2["lynis"]["value"] == 88
    assert [(s["test"], s["reason"]) for s in web2["suggestions"]] == [
        ("BOOT-5122", "operator"), ("KRNL-5820", "unexplained"), ("AUTH-9230", "unexplained")]


def test_a_report_of_two_hosts_says_what_runs_where(store, inv):
    write(inv / "hosts.yml", "all:\n  hosts:\n    web1:\n      ansible_host: 203.0.113.10\n"
                             "    db1:\n      ansible_host: 203.0.113.20\n")
    run_id = "20261125-220000-abcd"
    placement = {"base_server": ["web1", "db1"], "dns": ["web1", "db1"], "n8n": ["web1"], "supabase": ["db1"],
                 "nginx_proxy": ["web1", "db1"], "validator": ["web1", "db1"], "report": ["web1", "db1"]}
    store.start_run(run_id, str(inv), "run", {"inventory": str(inv), "domain": "client.example",
                                              "admin_email": "ops@client.example", "services": ["n8n", "supabase"],
                                              "dns_provider": "rfc2136", "hosts": ["web1", "db1"],
                                              "hostnames": {"n8n": "flows.client.example",
                                                            "supabase": "db.client.example",
                                                            "studio": "studio.client.example"},
                                              "placement": placement},
                    str(inv / ".aidevops/runs" / run_id))
    for phase in ("base_server", "dns", "n8n", "supabase", "nginx_proxy"):
        store.record_phase(run_id, phase, "succeeded", "", at(0), at(10), 10.0, 0, str(inv / phase))
    store.finish_run(run_id, "succeeded", 0, 10.0)
    files = render(store, inv, run_id)
    markdown = files.markdown.read_text()
    # Each name points at the host that serves it.
    assert "| flows.client.example | A | 203.0.113.10 |" in markdown
    assert "| db.client.example | A | 203.0.113.20 |" in markdown and "| studio.client.example | A | 203.0.113.20 |" in markdown
    assert "| flows.client.example | A | 203.0.113.20 |" not in markdown
    for text in (markdown, files.html.read_text()):
        assert "web1 (203.0.113.10): base_server, dns, n8n, nginx_proxy; " in text.replace(
            '<span class="muted">', "").replace("</span>", "")
        assert "db1 (203.0.113.20): base_server, dns, supabase, nginx_proxy" in text.replace(
            '<span class="muted">', "").replace("</span>", "")
