"""What the CLI prints: plans, run outcomes, recorded runs, events, sandbox hosts."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator.agents import registry
from orchestrator.outcome import DEGRADED, DONE, SUCCEEDED
from orchestrator.run.events import failure_message
from orchestrator.state import StateDir

# Wide enough for plan tables in CI logs, where rich would assume 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)

_STYLE = {"succeeded": "green", "failed": "bold red", "skipped": "yellow", "not_available": "dim yellow",
          "not_selected": "dim", "kept": "dim green", "cancelled": "magenta", "running": "cyan", "degraded": "yellow",
          "interrupted": "magenta", "drifted": "yellow"}


def _status(status: str) -> str:
    return f"[{_STYLE.get(status, '')}]{status.replace('_', ' ')}[/]"


def print_plan(request, plan, resume=None) -> None:
    """The plan; for `run --resume`, each phase says whether it is kept or re-run and why."""
    console.print(f"[bold]Plan[/] for {request.domain} on {', '.join(h.name for h in request.hosts)} "
                  f"({request.inventory})")
    if resume is not None:
        console.print(f"resuming run {resume.source.id} ({resume.source.status}, {resume.source.command})")
    console.print(f"strategy: {plan.strategy_reason}; up to {plan.concurrency()} phase(s) at once")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("#", "phase", "agent", "after", "state"):
        table.add_column(col)
    for n, wave in enumerate(plan.waves(), 1):
        for pid in wave:
            p = plan.phase(pid)
            if resume is not None:
                why = resume.verdicts[pid].why
                state = f"[cyan]{why}[/]" if why.startswith("re-run") else f"[dim]{why}[/]"
            elif not p.selected:
                state = f"[dim]{escape(p.left_out or 'left out by --only')}[/]"
            elif p.unchanged is not None:
                state = "[dim green]unchanged[/] (see below)"
            elif p.available:
                how = f"playbooks/{p.agent.playbook}" if p.agent.playbook else "on this machine"
                state = f"[green]ready[/] ({how})"
            else:
                state = f"[yellow]not available[/]: {p.reason}"
            table.add_row(str(n), pid, p.agent.title, ", ".join(p.depends_on) or "-", state)
    console.print(table)
    console.print("phases with the same # can run side by side", style="dim")
    unchanged = [p for p in plan.phases if p.unchanged is not None]
    if unchanged:
        console.print("kept when their turn comes, unless a phase before them changes something (--full runs "
                      "every phase):")
        for p in unchanged:
            console.print(f"  {p.id}: {escape(p.unchanged.reason)}", style="dim green")
    print_placement(request, plan)
    print_nodes(request)


def print_nodes(request) -> None:
    """The hosts whose phases run on an execution node (aidevops_execution_node), by node."""
    nodes: dict[Any, list[str]] = {}
    for host in request.hosts:
        if host.node is not None:
            nodes.setdefault(host.node, []).append(host.name)
    for node, hosts in nodes.items():
        console.print(f"execution node {node.label} runs the phases of {', '.join(hosts)} "
                      f"(ansible-runner worker over ssh)")


def print_placement(request, plan) -> None:
    """With more than one host: what runs on each, and why each service is where it is."""
    if len(request.hosts) < 2:
        return
    placement = plan.placement
    host_side = [p.id for p in plan.phases if not p.agent.entry]
    how = ("placement: auto (each service on a host that has room for it, by its declared needs)"
           if request.placement == "auto" else "inventory groups named after a service put it on their hosts")
    console.print(f"[bold]placement[/] ({how}):")
    width = max(len(h.name) for h in request.hosts)
    for host in request.hosts:
        here = [p for p in placement.phases_on(host.name) if p in host_side]
        console.print(f"  {host.name:<{width}}  {', '.join(here) or '-'}")
    for phase in plan.phases:
        if phase.agent.service:
            console.print(f"  {phase.id}: {placement.reasons[phase.id]}", style="dim")
    console.print("  validator and report: every host, from this machine", style="dim")


def print_outcome(outcome, request, plan) -> None:
    order = {p.id: i for i, p in enumerate(plan.phases)}
    console.print()
    console.print(f"[bold]Run {outcome.run_id}[/]: {_status(outcome.status)} in {outcome.duration:.1f}s "
                  f"(exit {outcome.exit_code})")
    for r in sorted(outcome.results.values(), key=lambda r: order.get(r.phase, 99)):
        took = f" {r.duration:.1f}s" if r.duration is not None else ""
        why = f" - {r.reason}" if r.reason else ""
        console.print(f"  {r.phase:<12} {_status(r.status)}{took}{why}")
    print_urls(outcome, request, plan)
    inv = request.inventory
    report = outcome.results.get("report")
    html = StateDir(inv).run_dir(outcome.run_id) / "report" / "report.html"
    if report is not None and report.status == "succeeded" and html.exists():
        console.print(f"[bold]Report[/]: {escape(str(html))}", soft_wrap=True)  # a path to open: never wrapped
    console.print(f"Review: aidevops runs show {outcome.run_id} --inventory {inv}", style="dim")


def print_urls(outcome, request, plan=None) -> None:
    """The services that are up behind the proxy, and how to reach them from here on a sandbox (each host
    serves the names of the services placed on it)."""
    done = {SUCCEEDED, DEGRADED}
    agents = registry()
    proxy = next((a.id for a in agents.values() if a.tolerates), None)  # the agent that serves the services
    if proxy is None or outcome.results.get(proxy) is None or outcome.results[proxy].status not in done:
        return
    placed = plan.placement.hosts if plan is not None else {}
    by_host: dict[str, list[str]] = {}  # host -> the names it serves
    for agent in agents.values():
        result = outcome.results.get(agent.id)
        # A service left out by --only counts as deployed earlier.
        if agent.service in request.services and result is not None and result.status in DONE:
            for host in request.hosts:
                if placed and host.name not in placed.get(agent.id, ()):
                    continue
                names = request.for_host(host.name).hostnames
                by_host.setdefault(host.name, []).extend(names[site.name] for site in agent.declaration.service.sites)
    if not by_host:
        return
    console.print("[bold]Services[/]")
    for name in dict.fromkeys(n for names in by_host.values() for n in names):
        console.print(f"  https://{name}/", markup=False)
    root = StateDir(request.inventory).sandbox / "pebble-root.pem"
    for host in request.hosts:  # each sandbox host serves its names on its own published port
        port = (host.vars.get("aidevops_published_ports") or {}).get("https")
        if not port or not by_host.get(host.name):
            continue
        console.print(f"  from this machine ({host.name}, published port {port}):", style="dim")
        for name in by_host[host.name]:
            console.print(f"    curl --cacert {root} --resolve {name}:{port}:127.0.0.1 https://{name}:{port}/",
                          markup=False, soft_wrap=True)  # a command to copy: never wrapped


def print_runs(records) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("run", "started", "command", "strategy", "status", "exit", "time"):
        table.add_column(col)
    for r in records:
        # A resumed run's command says so: `run --resume FIRST`.
        table.add_row(r.id, r.started_at[:19].replace("T", " "), r.command, r.strategy or "-", _status(r.status),
                      "" if r.exit_code is None else str(r.exit_code),
                      f"{r.duration:.1f}s" if r.duration is not None else "")
    console.print(table if records else "no runs recorded yet")


def print_run(record, phases: list[dict[str, Any]], stats: list[dict[str, Any]], failures: list[dict],
              findings: list[dict] | None = None, resumed_by: list[str] | None = None) -> None:
    took = f" in {record.duration:.1f}s" if record.duration is not None else ""
    console.print(f"[bold]Run {record.id}[/]: {_status(record.status)}{took}, exit {record.exit_code}")
    chain = []
    if record.resumed_from:
        chain.append(f"resumed from {record.resumed_from}")
    if resumed_by:
        chain.append(f"resumed by {', '.join(resumed_by)}")
    if chain:
        console.print(f"chain:     {'; '.join(chain)}", markup=False)
    console.print(f"inventory: {record.inventory}\nstarted:   {record.started_at}\nended:     {record.ended_at or '-'}"
                  f"\nstrategy:  {record.strategy_reason or record.strategy}\nstate:     {record.state_dir}")
    table = Table(title="Phases", title_justify="left", box=None, pad_edge=False, header_style="bold")
    for col in ("phase", "status", "time", "rc", "reason"):
        table.add_column(col)
    for p in phases:
        table.add_row(p["phase"], _status(p["status"]), f"{p['duration']:.1f}s" if p["duration"] else "",
                      "" if p["rc"] is None else str(p["rc"]), p["reason"] or "")
    console.print(table)
    if stats:
        table = Table(title="Hosts", title_justify="left", box=None, pad_edge=False, header_style="bold")
        cols = ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored")
        for col in ("phase", "host", *cols):
            table.add_column(col)
        for s in stats:
            table.add_row(s["phase"], s["host"], *(str(s[c]) for c in cols))
        console.print(table)
    if findings:
        counts = {k: sum(f["status"] == k for f in findings) for k in ("passed", "failed", "error", "skipped")}
        console.print(f"[bold]Findings[/]: {len(findings)} checks: " + ", ".join(f"{v} {k}" for k, v in counts.items()
                                                                             if v))
        for f in findings:
            if f["status"] in ("failed", "error"):
                console.print(f"  {f['severity']:<8} {f['check_id']} on {f['host'] or '-'}: {f['evidence']}",
                              markup=False)
    if failures:
        console.print("[bold]Failed tasks[/]")
        for f in failures:
            console.print(f"  [{f['phase']}] {f['host']}: {f['task']} ({f['action']})", markup=False)
            console.print(f"      {f['message']}", markup=False)
            if f.get("task_path"):
                console.print(f"      at {f['task_path']}", style="dim", markup=False)


def print_validation(outcome, request) -> None:
    """Failed checks one line each with their evidence, then the figures against their thresholds."""
    counts = {k: sum(f["status"] == k for f in outcome.findings) for k in ("passed", "failed", "error", "skipped")}
    console.print()
    console.print(f"[bold]Validation {outcome.run_id}[/]: {_status(outcome.status)} in {outcome.duration:.1f}s "
                  f"(exit {outcome.exit_code}): " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    bad = sorted((f for f in outcome.findings if f["status"] in ("failed", "error")),
                 key=lambda f: order.get(f["severity"], 9))
    for f in bad:
        console.print(f"  [bold red]{f['status'].upper():<6}[/] {f['severity']:<8} {f['check_id']} "
                      f"on {f['host'] or '-'}: {escape(f['evidence'] or f['title'] or '')}")
    if outcome.metrics:
        table = Table(title="Figures", title_justify="left", box=None, pad_edge=False, header_style="bold")
        for col in ("figure", "target", "value", "threshold", "ok"):
            table.add_column(col)
        for m in outcome.metrics:
            value = m["text_value"] or ("" if m["value"] is None else f"{m['value']:g}")
            unit = f" {m['unit']}" if m["unit"] else ""
            ok = {True: "[green]yes[/]", False: "[bold red]no[/]", None: "-"}[m["passed"]]
            table.add_row(m["name"], escape(m["target"] or "-"), value + unit,
                          "" if m["threshold"] is None else f"{m['threshold']:g}", ok)
        console.print(table)
    if outcome.status not in ("succeeded",) and outcome.reason:
        console.print(f"reason: {outcome.reason}", markup=False)
    console.print(f"Review: aidevops runs show {outcome.run_id} --inventory {request.inventory}", style="dim")


def print_events(events: list[dict[str, Any]]) -> None:
    if not events:
        console.print("no matching events")
        return
    for ev in events:
        data = ev.get("event_data") or {}
        name = ev.get("event", "")
        line = f"{ev.get('counter', ''):>5} {ev['phase']:<12} {name:<24} {data.get('host') or '-':<12} {data.get('task') or data.get('play') or ''}"
        console.print(line, markup=False)
        if name in ("runner_on_failed", "runner_on_unreachable", "runner_item_on_failed"):
            console.print(f"      {failure_message(data.get('res') or {})}", markup=False)


def print_sandbox(hosts, box) -> None:
    if not hosts:
        console.print(f"no sandbox hosts (prefix {box.prefix})")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("host", "container", "state", "ssh", "http", "https", "address"):
        table.add_column(col)
    for h in hosts:
        table.add_row(h.name, h.container, h.state, f"127.0.0.1:{h.ssh_port}", f"127.0.0.1:{h.http_port}",
                      f"127.0.0.1:{h.https_port}", h.address or "-")
    console.print(table)
    for svc in box.services().status():
        ports = ", ".join(f"{k}->127.0.0.1:{v}" for k, v in sorted(svc.ports.items()) if v)
        console.print(f"{svc.name}: {svc.state}, {svc.address or '-'} on {box.network}; {ports}", markup=False)
    console.print(f"inventory: {box.hosts_file}", style="dim")
    for h in hosts:
        console.print(f"ssh {h.name}: ssh -i {box.key_file} -p {h.ssh_port} root@127.0.0.1", style="dim", markup=False)


# -- AI decisions ---------------------------------------------------------------------------------

def _decision_text(d: dict[str, Any] | None, decision_type: str) -> str:
    if not isinstance(d, dict):
        return str(d)
    if decision_type == "strategic":
        return f"strategy {d.get('strategy')}, up to {d.get('max_parallel')} at once"
    if decision_type == "tactical":
        variables = d.get("variables") or {}
        return ", ".join(f"{p}.{k}={v!r}" for p, vs in variables.items() for k, v in vs.items()) or "no changes"
    if decision_type == "recovery":
        extra = f" {d['variables']}" if d.get("variables") else ""
        wait = f" after {d['backoff_seconds']}s" if d.get("backoff_seconds") else ""
        return f"{d.get('action')}{extra}{wait}"
    if decision_type == "optimization":
        return "; ".join(s.get("suggestion", "") for s in d.get("suggestions") or []) or "no suggestions"
    return str(d)


def print_decisions_made(settings, decisions, record_id, inventory) -> None:
    """The decisions before a run (plan --ai, run): what was decided, by whom, and any fallback with its reason."""
    console.print(f"[bold]AI decisions[/] by {settings.label} ({settings.source})")
    for d in decisions:
        by = "cache" if d.cached else d.source
        console.print(f"  {d.decision_type:<10} {_decision_text(d.data, d.decision_type)} [dim]({by})[/]")
        if d.reason:
            console.print(f"             why: {d.reason}", markup=False)
        if d.fallback_reason:
            console.print(f"             fell back to the offline choice: {d.fallback_reason}", style="yellow",
                          markup=False)
        for drop in d.dropped:
            console.print(f"             not applied: {drop}", style="yellow", markup=False)
    if record_id:
        console.print(f"Recorded: aidevops decisions {record_id} --inventory {inventory}", style="dim")


def print_decisions(run_id: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"no AI decisions recorded for {run_id}")
        return
    console.print(f"[bold]Decisions of {run_id}[/]")
    for r in rows:
        cost = f"{r['tokens_in'] or 0}+{r['tokens_out'] or 0} tokens, {r['latency'] or 0:.2f}s"
        if r["cached"]:
            cost = "cached"
        who = r["provider"] + (f"/{r['model']}" if r.get("model") else "")
        console.print(f"{r['seq']:>3} {r['decision_type']:<12} {r['agent_id'] or '-':<12} {who:<28} {cost}",
                      markup=False)
        console.print(f"      decision: {_decision_text(r['decision'], r['decision_type'])}", markup=False)
        reason = r["decision"].get("reason") if isinstance(r["decision"], dict) else None
        if reason:
            console.print(f"      why: {reason}", markup=False)
        if r["fallback_reason"]:
            console.print(f"      fell back to offline: {r['fallback_reason']}", style="yellow", markup=False)
        validation = r["validation"] if isinstance(r["validation"], dict) else {}
        for drop in validation.get("dropped") or []:
            console.print(f"      not applied: {drop}", style="yellow", markup=False)
        if r.get("request_id"):
            console.print(f"      request id: {r['request_id']}", style="dim", markup=False)


def ai_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """decisions, tokens, average latency, fallbacks, cache hits (answers from the decision cache, and prompt
    tokens read from the provider's cache)."""
    asked = [r for r in rows if r["latency"] and not r["cached"]]
    return {
        "decisions": len(rows),
        "by_provider": {p: sum(1 for r in rows if r["provider"] == p) for p in sorted({r["provider"] for r in rows})},
        "tokens_in": sum(r["tokens_in"] or 0 for r in rows),
        "tokens_out": sum(r["tokens_out"] or 0 for r in rows),
        "cache_read_tokens": sum(r["cache_read"] or 0 for r in rows),
        "cache_write_tokens": sum(r["cache_write"] or 0 for r in rows),
        "average_latency": round(sum(r["latency"] for r in asked) / len(asked), 3) if asked else None,
        "fallbacks": sum(1 for r in rows if r["fallback_reason"]),
        "cache_hits": sum(1 for r in rows if r["cached"]),
    }


def print_ai_metrics(m: dict[str, Any]) -> None:
    if not m["decisions"]:
        return
    providers = ", ".join(f"{p} {n}" for p, n in m["by_provider"].items())
    latency = f"{m['average_latency']:.2f}s" if m["average_latency"] is not None else "-"
    console.print(f"[bold]AI[/]: {m['decisions']} decision(s) ({providers}); tokens {m['tokens_in']} in, "
                  f"{m['tokens_out']} out (cache read {m['cache_read_tokens']}, write {m['cache_write_tokens']}); "
                  f"average latency {latency}; {m['fallbacks']} fallback(s); {m['cache_hits']} cache hit(s)")


def print_drift(run_id: str, status: str, exit_code: int, drift: list, problems: list[str],
                duration: float | None, inventory=None) -> None:
    """A check's drift: per host and phase, each task that would change, its items and diff (masked)."""
    took = f" in {duration:.1f}s" if duration is not None else ""
    hosts = sorted({d.host for d in drift})
    summary = (f"{len(drift)} task(s) would change on {', '.join(hosts)}" if drift else "no drift")
    console.print()
    console.print(f"[bold]Check {run_id}[/]: {_status(status)}{took} (exit {exit_code}): {summary}")
    for d in sorted(drift, key=lambda d: (d.host, d.phase)):
        console.print(f"  [{d.phase}] {d.host}: {d.task} ({d.action})", markup=False)
        for line in d.changes:
            console.print(f"      {line}", markup=False)
        for line in d.diff.splitlines():
            console.print(f"        {line}", markup=False, style=_diff_style(line))
    for line in problems:
        console.print(f"  [bold red]not checked[/] {escape(line)}")
    if inventory is not None:
        console.print(f"Review: aidevops runs show {run_id} --inventory {inventory}", style="dim")


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    return {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")


def print_accesses(accesses: list[dict[str, Any]]) -> None:
    """Who was shown the run's secrets in clear (`report --reveal`), when, and which."""
    if not accesses:
        return
    console.print("[bold]Secrets shown in clear[/]")
    for a in accesses:
        names = ", ".join(a["secrets"]) or "(none)"
        console.print(f"  {a['at'][:19].replace('T', ' ')} {a['os_user']}@{a['controller']} ({a['command']}): "
                      f"{names}", markup=False)
        for f in a["files"]:
            console.print(f"      wrote {f}", style="dim", markup=False)


def print_security_audit(audit: dict[str, Any]) -> None:
    """The run's security audit (report.build.security_audit): per host the level, Lynis's index, warnings,
    each suggestion left with why, the hardening controls skipped; ssh-audit per SSH port."""
    if not audit["hosts"] and not audit["ssh_audit"]:
        return
    console.print("[bold]Security audit[/]")
    for h in audit["hosts"]:
        lynis = h["lynis"] or {}
        index = f"Lynis {lynis.get('value', '-')} (threshold {lynis.get('threshold', '-')})" if lynis else "no Lynis"
        console.print(f"  {h['host']}: level {h['level'] or 'not recorded'}, {index}, {len(h['warnings'])} "
                      f"warning(s), {len(h['suggestions'])} suggestion(s) left", markup=False)
        for w in h["warnings"]:
            console.print(f"    warning {w['test']}: {w['text']}", markup=False)
        for s in h["suggestions"]:
            console.print(f"    {s['test']:<10} {s['left_because']:<29} {s['text']}", markup=False)
            if s["why"]:
                console.print(f"               {s['why']}", style="dim", markup=False)
        for control, why in sorted(h["skipped"].items()):
            console.print(f"    control {control} skipped: {why}", markup=False)
    for a in audit["ssh_audit"]:
        counts = ", ".join(f"{a[k]['value']} {k} (at most {a[k]['threshold']})" for k in ("fail", "warn") if k in a)
        console.print(f"  ssh-audit {a['target']}: {counts}", markup=False)


def _seconds(value: float | None) -> str:
    return f"{value:.1f}s" if value is not None else "-"


def _percent(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"


def print_metrics(inventories, priced: bool = False) -> None:
    """`aidevops metrics`: deployments per inventory, then per agent, then per AI provider and model."""

    def table(title: str, *columns: str) -> Table:
        t = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
        for col in columns:
            left = col in ("inventory", "agent", "provider", "model")
            t.add_column(col, justify="left" if left else "right")
        return t

    deployments = table("Deployments", "inventory", "deployments", "successful", "failed", "success",
                        "mean time", "last started")
    for inv in inventories:
        d = inv.deployments
        deployments.add_row(inv.inventory, str(d.deployments), str(d.successful),
                            str(d.by_status.get("failed", 0)), _percent(d.success_rate),
                            _seconds(d.mean_seconds), (d.last_started_at or "-")[:19].replace("T", " "))
    console.print(deployments)
    agents = table("Agents", "inventory", "agent", "runs", "success", "mean", "p95", "recoveries (worked)")
    for inv in inventories:
        for a in inv.agents:
            recoveries = f"{a.recoveries} ({a.recoveries_worked})" if a.recoveries else "0"
            agents.add_row(inv.inventory, a.agent, str(a.runs), _percent(a.success_rate),
                           _seconds(a.mean_seconds), _seconds(a.p95_seconds), recoveries)
    console.print(agents if any(inv.agents for inv in inventories) else "[bold]Agents[/]: no phase ran yet")
    ai = [(inv.inventory, a) for inv in inventories for a in inv.ai]
    if not ai:
        console.print("[bold]AI[/]: no decisions recorded")
        return
    decisions = table("AI decisions", "inventory", "provider", "model", "decisions", "cached", "tokens in",
                      "out", "cache read", "cache write", "latency", *(("cost",) if priced else ()),
                      "fallbacks")
    for name, a in ai:
        cost = f"${a.cost_usd:.4f}" if a.cost_usd is not None else "no price" if a.model else "-"
        decisions.add_row(name, a.provider, a.model or "-", str(a.decisions), str(a.cached), str(a.tokens_in),
                          str(a.tokens_out), str(a.cache_read_tokens), str(a.cache_write_tokens),
                          _seconds(a.mean_latency_seconds), *((cost,) if priced else ()), str(a.fallbacks))
    console.print(decisions)
    fell = [(name, a, kind, f) for name, a in ai for kind, f in a.fallback_reasons.items()]
    if fell:
        console.print("[bold]Why decisions fell back[/] (count by kind, and the latest reason of each)")
        for name, a, kind, f in fell:
            console.print(f"  {name} {a.provider}/{a.model or '-'} {kind} x{f.count}: {f.last}", markup=False)


def print_prune(prune, state_root) -> None:
    """What `aidevops runs prune` removed (or, with --dry-run, would remove), by kind with counts and bytes,
    each item named; then the old runs kept and why, and what could not be removed."""
    from orchestrator.run.retention import human_bytes

    verb = "Removed" if prune.applied else "Would remove (dry run: nothing removed)"
    console.print(f"[bold]{verb}[/] from {state_root}", markup=True)
    console.print(f"policy: {prune.policy.summary()}", style="dim", markup=False)
    for kind, (count, size) in prune.totals().items():
        console.print(f"  {kind + ':':<28}{count:>5}  {human_bytes(size):>9}", markup=False)
        for item in (i for i in prune.items if i.kind == kind):
            console.print(f"      {item.name}  {human_bytes(item.size)}", style="dim", markup=False)
    count, size = len(prune.items), sum(i.size for i in prune.items)
    console.print(f"  {'total:':<28}{count:>5}  {human_bytes(size):>9}", markup=False)
    if prune.kept:
        console.print(f"kept though older than {prune.policy.runs_days} days:", markup=False)
        for run_id, why in prune.kept.items():
            console.print(f"  {run_id}: {why}", style="dim", markup=False)
    for problem in prune.failed:
        console.print(f"could not remove {problem}", style="yellow", markup=False)
