"""The validator agent: run the testinfra suites of the agents that ran, store their findings and figures.

Suites run in a `python -m pytest` subprocess with testinfra's ansible backend over the run's inventory and
our plugin (orchestrator.validation.plugin), which writes one finding per test and the measured figures to
JSON. Here they are redacted, kept in the phase folder, stored, and summed up into the phase's status:
failed when a critical/high check failed, degraded when only medium/low ones did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from orchestrator import atomic, vault
from orchestrator.agents import registry
from orchestrator.agents import services as declared_services
from orchestrator.plan.placement import hosts_of
from orchestrator.run.context import AgentResult, PhaseContext
from orchestrator.validation import certificates, drill
from orchestrator.validation.findings import Finding, Outcome, verdict
from orchestrator.validation.plugin import load_outcome
from orchestrator.validation.targets import health_auth, rendered, suite_config

SUITES_DIR = Path(__file__).parent / "suites"
# A phase that ran, even if it failed, is checked: the findings say what works and what does not.
RAN = ("succeeded", "degraded", "failed", "not_selected", "kept")
HARDENING_SUITE = "test_hardening.py"
SUITE_TIMEOUT = 1800  # seconds; Lynis alone takes a few minutes on a slow host


def planned_suites(ctx: PhaseContext) -> tuple[list[str], list[str], dict[str, str]]:
    """(suites to run, services deployed, suites left out -> why): each host-side agent of the request that
    has a suite (suites/test_<agent>.py)."""
    services = list(ctx.request.services)
    agents = [a for a in registry().values() if a.entry is None and (a.service is None or a.service in services)
              and (SUITES_DIR / f"test_{a.id}.py").exists()]
    run, left_out = [], {}
    for agent in agents:
        result = ctx.results.get(agent.id)
        if ctx.results and result is None:
            left_out[agent.id] = "not part of this run's plan"
        elif result is not None and result.status not in RAN:
            left_out[agent.id] = f"its phase was {result.status.replace('_', ' ')}"
        else:
            run.append(agent.id)
    deployed = [a.service for a in agents if a.service and a.id in run]
    for agent in agents:  # an agent that serves the services (the proxy) has nothing to show without one
        if agent.tolerates and agent.id in run and not deployed:
            run.remove(agent.id)
            left_out[agent.id] = "no service was deployed behind it"
    return run, deployed, left_out


def suite_files(suites: list[str], audit: bool) -> list[str]:
    """The suite files to run: each agent's, base_server's hardening controls (a suite of their own: one test
    per control, skipped with why) beside base_server's, and the security audits when asked for."""
    files = [str(SUITES_DIR / f"test_{s}.py") for s in suites]
    if "base_server" in suites and (SUITES_DIR / HARDENING_SUITE).exists():
        files.append(str(SUITES_DIR / HARDENING_SUITE))
    if audit and suites:
        files.append(str(SUITES_DIR / "test_audit.py"))
    return files


def run(ctx: PhaseContext) -> AgentResult:
    suites, services, left_out = planned_suites(ctx)
    settings = ctx.request.validation
    # A dry run (--check) changes nothing on the host, and the Lynis audit would install a package.
    audit = settings.audit and not ctx.check
    files = suite_files(suites, audit)
    outcome = Outcome()
    for agent_id, why in left_out.items():
        outcome.findings.append(Finding(f"{agent_id}.suite", None, "skipped", "info",
                                        f"{agent_id} checks", f"not checked: {why}", agent_id))
    if files:
        ctx.note(f"checking {', '.join(suites)}" + (" with security audits" if audit else ""))
        try:
            ran = run_suites(ctx, files, suite_config(ctx.request, services))
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable vault file: a finding, never a crash
            ran = Outcome([Finding("validator.suites", None, "error", "high", "validation suites ran",
                                   ctx.redactor.text(f"{type(exc).__name__}: {exc}")[:500], "validator")])
        outcome.findings += ran.findings
        outcome.metrics += ran.metrics
    # A dry run changes nothing on the host: the drill starts containers, so it is left to real runs.
    if files and not ctx.check and ctx.request.validation.drill:
        only_rendered = rendered(ctx.request, services)
        for service in drill.drilled_services(ctx.request):
            if service not in services or ctx.cancel.is_set():
                continue
            rendered_on = set(only_rendered.get(service, ()))
            if rendered_on and rendered_on >= set(hosts_of(ctx.request, service)):
                outcome.findings.append(Finding(f"{service}.restore_drill", None, "skipped", "info",
                                                f"{service} restore drill",
                                                f"not drilled: {service} is only rendered, nothing of it runs",
                                                service))
                continue
            _, found, figures = drill.drill_and_judge(ctx, service)
            outcome.findings += found
            outcome.metrics += figures
    record(ctx, outcome)
    for cert in certificates.expiring(outcome.metrics, settings.cert_alert_days, settings.cert_min_days):
        ctx.alert(certificates.KIND, cert.message, cert.severity, hostname=cert.hostname,
                  days_left=round(cert.days_left, 1))
    status, reason = verdict(outcome.findings)
    if not files:
        status, reason = "failed", "nothing to check: " + "; ".join(f"{k} {v}" for k, v in left_out.items())
    ctx.log.log("info" if status == "succeeded" else "warning", ctx.phase, f"validation {status}: {reason}")
    return AgentResult(status, reason)


def _testinfra_hosts(request) -> str:
    """testinfra's --hosts: every host, or those `--limit` kept."""
    if request.limit is None:
        return "ansible://all"
    return ",".join(f"ansible://{name}" for name in request.limit[1])


def run_suites(ctx: PhaseContext, files: list[str], config: dict) -> Outcome:
    inventory = ctx.request.inventory
    hosts_file = next((inventory / n for n in ("hosts.yml", "hosts.yaml") if (inventory / n).exists()),
                      inventory / "hosts.yml")
    config_file, out_file = ctx.phase_dir / "suite-config.json", ctx.phase_dir / "pytest-results.json"
    atomic.write_text(config_file, json.dumps(config, indent=2))
    out_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "-p", "orchestrator.validation.plugin", "-p", "no:cacheprovider",
           "-q", "-rN", "--no-header", "--tb=no", f"--hosts={_testinfra_hosts(ctx.request)}",
           f"--ansible-inventory={hosts_file}",
           f"--aidevops-config={config_file}", f"--aidevops-out={out_file}", *files]
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)  # ansible-inventory, ssh-audit, sslyze beside this Python
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    password = vault.password_file(inventory)
    if password:
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(password)
    # Secrets a check needs travel in the environment, never in a file of the run.
    env["AIDEVOPS_VALIDATION_SECRETS"] = json.dumps(_secrets(ctx.request))
    log_file = ctx.phase_dir / "pytest.log"
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ctx.phase_dir))
        deadline = time.monotonic() + SUITE_TIMEOUT
        while proc.poll() is None:
            if ctx.cancel.is_set() or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                break
            time.sleep(0.5)
    log_file.write_text(ctx.redactor.text(log_file.read_text(errors="replace")))
    if not out_file.exists():
        tail = log_file.read_text().strip().splitlines()[-3:]
        why = "cancelled" if ctx.cancel.is_set() else f"pytest exited {proc.returncode}: {' / '.join(tail)}"
        return Outcome([Finding("validator.suites", None, "error", "high", "validation suites ran",
                                ctx.redactor.text(why)[:500], "validator")])
    return load_outcome(out_file)


def record(ctx: PhaseContext, outcome: Outcome) -> None:
    """Redact, keep as JSON in the phase folder, store."""
    red = ctx.redactor
    for f in outcome.findings:
        f.title, f.evidence = red.text(f.title or ""), red.text(f.evidence or "")
        ctx.store.record_finding(ctx.run_id, ctx.phase, f.check_id, f.host, f.status, f.severity, f.title,
                                 f.evidence, agent=f.agent)
    for m in outcome.metrics:
        m.detail = red.text(m.detail or "")
        ctx.store.record_metric(ctx.run_id, ctx.phase, **asdict(m))
    (ctx.phase_dir / "pytest-results.json").write_text(json.dumps(outcome.as_dict(), indent=2))


def _health_secrets(site) -> set[str]:
    """The names of the secrets a site's health route is opened with, as the suites will read them."""
    auth = health_auth(site) or {}
    return {name for key, name in auth.items() if key.endswith("secret") and name}


def _secrets(request) -> dict[str, str]:
    """The passwords of the deployed services' logins (a check signs in, e.g. to open n8n's editor websocket)
    and the keys their health routes want, from the vault files their roles declare."""
    declared = declared_services()
    found: dict[str, str] = {}
    for name in request.services:
        service = declared.get(name)
        if service is None or not service.vault_file:
            continue
        wanted = {s.login.password_secret for s in service.sites if s.login and s.login.password_secret}
        wanted |= {name for s in service.sites for name in _health_secrets(s)}
        if not wanted:
            continue
        values = vault.read_vars(request.inventory / "group_vars" / "all" / service.vault_file, request.inventory)
        found.update({k: str(v) for k, v in values.items() if k in wanted and v})
    return found
