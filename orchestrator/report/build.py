"""Gathers a run's report from the run store and the inventory: what was asked, what ran, what was found.

Nothing here is invented: a section whose data is not in the store (validation did not run, no AI decision)
says so. Every text that comes from the run (reasons, evidence, decisions) is passed through the redactor;
credentials appear only masked unless `reveal` is asked for.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from orchestrator.agents import registry
from orchestrator.agents import services as declared_services
from orchestrator.errors import AidevopsError
from orchestrator.outcome import DONE, RUNNING, outcome_status
from orchestrator.redact import Redactor
from orchestrator.report import credentials as creds_mod
from orchestrator.report import maintenance, timeline
from orchestrator.request.role_vars import RoleVars
from orchestrator.request import load_hosts
from orchestrator.state import StateDir
from orchestrator.store import RunStore
from orchestrator.validation.audits import LEFT_REASONS, UNEXPLAINED

SECURITY = {"lynis.hardening_index": "Lynis hardening index", "ssh_audit.fail": "ssh-audit failures",
            "ssh_audit.warn": "ssh-audit warnings", "tls.mozilla_intermediate": "TLS: Mozilla intermediate profile"}
PERFORMANCE = {"http.response_ms": "HTTP response time", "host.mem_available_mb": "Available memory",
               "host.disk_free_pct": "Free disk space", "host.load_per_core": "Load per CPU core"}
CERT_METRIC = "tls.cert_days_left"
SEVERITIES = ("critical", "high", "medium", "low", "info")
# The validator's hardening suite: one test per base_server control (test_hardening_control[<control>]).
LEVEL_METRIC = "base_server.security_level"
HARDENING_CHECK = re.compile(r"^hardening\.[\w]+\[(?P<control>[^\],]+)")


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def _status_of(phases: list[dict[str, Any]]) -> str:
    """The run's status from its phases while it is still running (the report is its last phase)."""
    return outcome_status(p["status"] for p in phases if p["status"] != RUNNING)[0]


def _site_names(request: dict[str, Any], service: str, site: str) -> list[str]:
    """The host names a site has in a recorded request: one, or one per fleet host (each under its domain) that
    serves the service."""
    per_host = request.get("per_host") or {}
    placed = (request.get("placement") or {}).get(service)
    names = []
    for host in request.get("hosts", []):
        if placed is not None and host not in placed:
            continue
        own = (per_host.get(host) or {}).get("hostnames") or request.get("hostnames", {})
        if site in own and own[site] not in names:
            names.append(own[site])
    if not names and site in request.get("hostnames", {}) and placed is None:
        names.append(request["hostnames"][site])
    return names


CONTROLLER_SIDE = ("validator", "report")  # they run on this machine, for every host


def _hosts(inventory: Path, names: list[str], placement: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """Each host of the run with the address its DNS records point at (as the dns role picks it), and the
    host-side phases placed on it (recorded with the run's request)."""
    try:
        hosts = {h.name: h.vars for h in load_hosts(inventory)}
    except AidevopsError:  # the inventory changed since: the names are still worth showing
        hosts = {}
    out = []
    for name in names or list(hosts):
        hv = hosts.get(name, {})
        address = next((str(hv[k]) for k in ("dns_target_ipv4", "aidevops_sandbox_address", "ansible_host")
                        if hv.get(k) and "{{" not in str(hv[k])), None)
        runs = [phase for phase, on in (placement or {}).items() if name in on and phase not in CONTROLLER_SIDE]
        out.append({"name": name, "address": address, "os": hv.get("aidevops_sandbox_os"), "runs": runs})
    return out


def _metric_row(m: dict[str, Any], titles: dict[str, str], redactor: Redactor) -> dict[str, Any]:
    value = m["text_value"] if m["value"] is None else m["value"]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    threshold = m["threshold"]
    if isinstance(threshold, float) and threshold.is_integer():
        threshold = int(threshold)
    return {"name": m["name"], "title": titles.get(m["name"], m["name"]), "target": m["target"] or "",
            "value": "-" if value is None else value, "unit": m["unit"] or "",
            "threshold": "" if threshold is None else threshold,
            "passed": m["passed"], "detail": redactor.text(m["detail"] or "")}


def _certificates(metrics: list[dict[str, Any]], redactor: Redactor) -> list[dict[str, Any]]:
    certs = []
    for m in metrics:
        if m["name"] != CERT_METRIC:
            continue
        try:
            detail = json.loads(m["detail"]) if m["detail"] else {}
        except json.JSONDecodeError:
            detail = {}
        days = m["value"]
        certs.append({"hostname": m["target"] or "", "days_left": None if days is None else int(days),
                      "issuer": redactor.text(str(detail.get("issuer", ""))),
                      "not_after": str(detail.get("not_after", "")),
                      "names": [str(n) for n in detail.get("names", [])],
                      "threshold": m["threshold"], "passed": m["passed"]})
    return certs


def _detail(m: dict[str, Any]) -> dict[str, Any]:
    try:
        detail = json.loads(m["detail"]) if m["detail"] else {}
    except json.JSONDecodeError:
        return {}
    return detail if isinstance(detail, dict) else {}


def security_audit(metrics: list[dict[str, Any]], findings: list[dict[str, Any]],
                    redactor: Redactor) -> dict[str, Any]:
    """Per host: the security level applied, Lynis's index against its threshold, its warnings, every suggestion
    left with why (lynis_left.yml) and the hardening controls skipped with why (the validator's skipped
    hardening checks, else the role's manifest as the Lynis check read it); ssh-audit's fail/warn per SSH port."""
    hosts: dict[str, dict[str, Any]] = {}
    ssh: dict[str, dict[str, Any]] = {}

    def host(name: str | None) -> dict[str, Any]:
        return hosts.setdefault(name or "", {"host": name or "", "level": None, "lynis": None, "warnings": [],
                                             "suggestions": [], "skipped": {}})

    def text(value: Any) -> str:
        return redactor.text(str(value or ""))

    for m in metrics:
        if m["name"] == "lynis.hardening_index":
            h, detail, row = host(m["target"]), _detail(m), _metric_row(m, SECURITY, redactor)
            h["lynis"] = {"value": row["value"], "threshold": row["threshold"], "passed": m["passed"]}
            h["level"] = detail.get("security_level") or h["level"]
            h["warnings"] = [{"test": text(w.get("test")), "text": text(w.get("text"))}
                             for w in detail.get("warnings") or [] if isinstance(w, dict)]
            h["suggestions"] = [{"test": text(s.get("test")), "text": text(s.get("text")),
                                 "reason": s.get("reason") if s.get("reason") in LEFT_REASONS else UNEXPLAINED,
                                 "left_because": LEFT_REASONS.get(s.get("reason"), UNEXPLAINED),
                                 "why": text(s.get("why"))}
                                for s in detail.get("suggestions") or [] if isinstance(s, dict)]
            for control, why in (detail.get("controls_skipped") or {}).items():
                h["skipped"].setdefault(control, text(why))
        elif m["name"] == LEVEL_METRIC:  # the base_server suite's, recorded with the audits off too
            h = host(m["target"])
            h["level"] = h["level"] or m["text_value"]
            for control, why in _detail(m).items():
                h["skipped"].setdefault(control, text(why))
        elif m["name"] in ("ssh_audit.fail", "ssh_audit.warn"):
            row = _metric_row(m, SECURITY, redactor)
            ssh.setdefault(row["target"], {"target": row["target"]})[m["name"].split(".")[1]] = {
                "value": row["value"], "threshold": row["threshold"], "passed": m["passed"]}
    for f in findings:
        match = HARDENING_CHECK.match(f["check_id"])
        if match and f["status"] == "skipped":
            host(f["host"])["skipped"][match["control"]] = text(f["evidence"])
    return {"hosts": [h for _, h in sorted(hosts.items())], "ssh_audit": [v for _, v in sorted(ssh.items())]}


def _decisions(rows: list[dict[str, Any]], redactor: Redactor) -> dict[str, Any]:
    items = []
    for d in rows:
        decision = d["decision"]
        text = json.dumps(decision, sort_keys=True) if isinstance(decision, (dict, list)) else (decision or "")
        items.append({"seq": d["seq"], "type": d["decision_type"], "agent": d["agent_id"] or "",
                      "provider": d["provider"] or "", "model": d["model"] or "",
                      "decision": redactor.text(text), "fallback_reason": redactor.text(d["fallback_reason"] or ""),
                      "tokens_in": d["tokens_in"] or 0, "tokens_out": d["tokens_out"] or 0,
                      "cache_read": d["cache_read"] or 0, "cache_write": d["cache_write"] or 0,
                      "latency": d["latency"], "cached": d["cached"]})
    totals = {k: sum(i[k] for i in items) for k in ("tokens_in", "tokens_out", "cache_read", "cache_write")}
    latencies = [i["latency"] for i in items if i["latency"] is not None]
    totals["latency"] = sum(latencies) if latencies else None
    totals["fallbacks"] = sum(1 for i in items if i["fallback_reason"])
    return {"items": items, "totals": totals}


def _logins(request: dict[str, Any], services: list[dict[str, Any]], creds: creds_mod.Credentials,
            settings: RoleVars, reveal: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The accounts to sign in with: (as shown in the report, as written to the encrypted file)."""
    shown, full = [], []
    urls = {s["key"]: s["url"] for s in services if s["up"]}  # no login to offer for a service that is not up

    def add(service: str, url_key: str, user: str | None, secret_key: str) -> None:
        secret = creds.get(secret_key)
        if url_key not in urls or (user is None and secret is None):
            return
        shown.append({"service": service, "url": urls[url_key], "user": user or "-",
                      "password": secret.shown(reveal) if secret else "(not generated: set by you)",
                      "secret_key": secret_key})
        full.append({"service": service, "url": urls[url_key], "user": user,
                     "password": secret.value if secret else None})

    declared = declared_services()
    for svc in request.get("services", []):
        for site in declared[svc].sites if svc in declared else ():
            login = site.login
            if login is None or login.password_secret is None:
                continue
            user_secret = creds.get(login.user_secret) if login.user_secret else None
            user = (settings.get(login.user_variable) if login.user_variable else None) or \
                (user_secret.value if user_secret else None)
            add(site.title, site.name, user or None, login.password_secret)
    return shown, full


def build(store: RunStore, run_id: str, inventory: Path, redactor: Redactor, *, reveal: bool = False,
          report_dir: Path | None = None) -> dict[str, Any]:
    """Everything the templates show, plus `_logins_full` (clear values) for the encrypted credentials file."""
    run = store.run(run_id)
    request = run.request or {}
    phases = store.phases(run.id)
    by_phase = {p["phase"]: p for p in phases}
    findings = store.findings(run.id)
    metrics = store.metrics(run.id)
    settings = RoleVars(inventory, request)
    creds = creds_mod.read(inventory)
    for value in creds.values():
        redactor.add(value)  # the generated values are masked wherever else they might show up

    running = run.status == "running"
    status = _status_of(phases) if running else run.status
    if running:
        started = _parse_time(run.started_at)
        duration = (datetime.now(UTC) - started).total_seconds() if started else None
    else:
        duration = run.duration

    deployed = {p for p, row in by_phase.items() if row["status"] in DONE}
    services = []
    agents = registry()
    proxy_id = next((a.id for a in agents.values() if a.tolerates), None)  # the agent that serves the services
    proxy = by_phase.get(proxy_id, {}) if proxy_id else {}
    for svc in request.get("services", []):
        agent = next((a for a in agents.values() if a.service == svc), None)
        if agent is None or agent.declaration is None or agent.declaration.service is None:
            continue  # a service whose role is gone since the run: nothing known to show
        phase = by_phase.get(agent.id, {})
        up = phase.get("status") in DONE and proxy.get("status") in DONE
        for site in agent.declaration.service.sites:
            for name in _site_names(request, svc, site.name):
                services.append({"key": site.name, "service": svc, "title": site.title, "hostname": name,
                                 "url": f"https://{name}/", "up": up,
                                 "state": "deployed" if up else _why_not(phase, proxy)})
    served = {s["key"]: s["hostname"] for s in services}
    up = {s["key"]: s["hostname"] for s in services if s["up"]}  # the proxy has a site for these only

    hosts = _hosts(inventory, request.get("hosts", []), request.get("placement"))
    dns_records = []
    if request.get("dns_provider") not in (None, "none") and "dns" in by_phase:
        # As the dns role picks them, on each host that serves the names: dns_target_ipv4 if set, else that
        # host's address; a CAA record per name when dns_caa_issuer is set.
        fixed = settings.get("dns_target_ipv4")
        placement = request.get("placement") or {}
        caa = settings.get("dns_caa_issuer")
        for s in services:
            serving = [h for h in hosts if h["name"] in placement.get(s["service"], [h["name"]])]
            targets = [fixed] if fixed else list(dict.fromkeys(h["address"] or "the host's public address"
                                                               for h in serving))
            for target in targets or ["the host's public address"]:
                dns_records.append({"name": s["hostname"], "type": "A", "value": target})
            if caa:
                dns_records.append({"name": s["hostname"], "type": "CAA", "value": f'0 issue "{caa}"'})

    counts = {sev: 0 for sev in SEVERITIES}
    status_counts = {st: 0 for st in ("passed", "failed", "error", "skipped")}
    finding_rows = []
    for f in findings:
        status_counts[f["status"]] = status_counts.get(f["status"], 0) + 1
        if f["status"] in ("failed", "error"):
            counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        finding_rows.append({"check_id": f["check_id"], "host": f["host"] or "", "status": f["status"],
                             "severity": f["severity"], "title": redactor.text(f["title"] or ""),
                             "evidence": redactor.text(f["evidence"] or "")})
    # Problems first (worst severity first), then what passed.
    rank = {"failed": 0, "error": 1, "skipped": 2, "passed": 3}
    finding_rows.sort(key=lambda f: (rank.get(f["status"], 4),
                                     SEVERITIES.index(f["severity"]) if f["severity"] in SEVERITIES else 9))

    security = [_metric_row(m, SECURITY, redactor) for m in metrics if m["name"] in SECURITY]
    performance = [_metric_row(m, PERFORMANCE, redactor) for m in metrics if m["name"] in PERFORMANCE]
    other = [_metric_row(m, {}, redactor) for m in metrics
             if m["name"] not in SECURITY and m["name"] not in PERFORMANCE and m["name"] not in (CERT_METRIC, LEVEL_METRIC)]

    logins, logins_full = _logins(request, services, creds, settings, reveal)
    vault_files = sorted({s.source for s in creds.secrets})
    phase_rows = [{**{k: p[k] for k in ("phase", "status", "started_at", "ended_at", "rc")},
                   "duration": duration_text(p["duration"]) if p["duration"] is not None else "",
                   "reason": redactor.text(p["reason"] or "")} for p in phases]
    report_dir = report_dir or Path(run.state_dir or StateDir(inventory).run_dir(run.id)) / "report"
    inv = str(inventory)
    return {
        "run": {"id": run.id, "status": status, "exit_code": run.exit_code, "command": run.command,
                "started_at": run.started_at, "ended_at": run.ended_at, "duration": duration_text(duration),
                "strategy": run.strategy or "-", "strategy_reason": run.strategy_reason or "",
                "in_progress": running, "check": "--check" in (run.command or "")},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inventory": inv,
        "domain": request.get("domain", ""),
        "admin_email": request.get("admin_email", ""),
        "dns_provider": request.get("dns_provider", "none"),
        "hosts": hosts,
        "services": services,
        "dns_records": dns_records,
        "dns_phase": by_phase.get("dns"),
        "phases": phase_rows,
        "timeline_svg": timeline.svg([p for p in phases if p["status"] != "running"]),
        "failures": [{**{k: f[k] for k in ("phase", "host", "task")}, "message": redactor.text(f["message"] or "")}
                     for f in store.failures(run.id)],
        "validation_ran": bool(findings or metrics),
        "no_validation": "" if findings or metrics else _no_validation(by_phase.get("validator")),
        "findings": finding_rows,
        "drills": _drills(store, run.id, redactor),
        "finding_counts": counts,
        "finding_status_counts": status_counts,
        "certificates": _certificates(metrics, redactor),
        "security": security,
        "security_audit": security_audit(metrics, findings, redactor),
        "performance": performance,
        "other_metrics": other,
        "decisions": _decisions(store.decisions(run.id), redactor),
        "logins": logins,
        "secrets": [{"key": s.key, "source": s.source, "value": s.shown(reveal)} for s in creds.secrets],
        "reveal": reveal,
        "vault_files": vault_files,
        "credentials_file": str(report_dir / "credentials.vault.yml") if creds.secrets and creds.password_file else None,
        "vault_password_file": str(creds.password_file) if creds.password_file else None,
        "maintenance": maintenance.guide(deployed, settings, inv, run.id, str(run.state_dir or ""), vault_files,
                                         up, str(creds.password_file) if creds.password_file else None),
        "request_yaml": _request_yaml(request, served),
        "_logins_full": logins_full,
        "_credentials": creds,
    }


def _why_not(phase: dict[str, Any], proxy: dict[str, Any]) -> str:
    if not phase:
        return "not deployed"
    if phase.get("status") not in DONE:
        return f"{phase['status'].replace('_', ' ')}"
    return f"proxy {proxy.get('status', 'not run').replace('_', ' ')}"


def _request_yaml(request: dict[str, Any], served: dict[str, str]) -> str:
    """The request as recorded, with the host names of the requested services only (the others are defaults).
    Not passed through the redactor: it holds no secret (request.py allows none), and a vault value that
    happens to be a word of it (a user named "supabase") would mask host names."""
    shown = {k: v for k, v in request.items() if k != "inventory"}
    shown["hostnames"] = dict(served)
    return yaml.safe_dump(shown, sort_keys=False).strip()


def _drills(store: RunStore, run_id: str, redactor: Redactor) -> list[dict[str, Any]]:
    """The restore drills of the run (validation/drill.py): result, snapshot, backup age, counts."""
    rows = []
    for d in store.drills(run_id):
        names = sorted(set(d["counts_expected"]) | set(d["counts_found"]))
        rows.append({**d, "error": redactor.text(d["error"] or ""),
                     "age": "-" if d["backup_age_hours"] is None else f"{d['backup_age_hours']:.1f} h",
                     "counts": ", ".join(f"{n} {d['counts_expected'].get(n, '-')}/{d['counts_found'].get(n, '-')}"
                                         for n in names),
                     "decrypted": {True: "yes", False: "no", None: "-"}[d["decrypt_ok"]]})
    return rows


def _no_validation(phase: dict[str, Any] | None) -> str:
    """Why the store holds no validation results for the run, in one sentence without a full stop."""
    if phase is None:
        return "Validation did not run"
    status, reason = phase["status"], phase.get("reason") or ""
    if status in ("succeeded", "degraded"):
        return "The validator recorded no results"
    why = status.replace("_", " ") + (f": {reason}" if reason else "")
    if status == "failed":
        return f"Validation failed before recording results ({why})"
    return f"Validation did not run (validator {why})"
