"""`aidevops runs ...`, `aidevops decisions` and `aidevops report`: looking back at recorded runs."""

from __future__ import annotations

import json
import sys

import click

from orchestrator.cli.common import inventory_option, open_store, resolve_inventory
from orchestrator.errors import EXIT_FAILED, BadInput


@click.group()
def runs() -> None:
    """Review recorded runs and their ansible-runner artifacts."""


@runs.command("list")
@inventory_option
@click.option("--limit", default=20, show_default=True)
def runs_list(inventory, limit):
    """List recent runs, newest first."""
    from orchestrator.cli.render import print_runs

    print_runs(open_store(inventory).runs(limit))


@runs.command("show")
@click.argument("run_id", required=False)
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_show(run_id, inventory, as_json):
    """Show one run (default: the latest): phases, hosts, failed tasks, timings."""
    from orchestrator.cli.render import (
        ai_metrics,
        print_accesses,
        print_ai_metrics,
        print_drift,
        print_run,
        print_security_audit,
    )
    from orchestrator.redact import Redactor
    from orchestrator.report.build import security_audit

    store = open_store(inventory)
    record = store.run(run_id or store.latest_run_id() or "")
    phases, stats, failures = store.phases(record.id), store.host_stats(record.id), store.failures(record.id)
    findings, metrics = store.findings(record.id), store.metrics(record.id)
    ai = ai_metrics(store.decisions(record.id))
    resumed_by = store.resumed_by(record.id)  # `run --resume` chain: resumed_from is on the record
    drift = _drift(store, record)
    accesses = store.credential_accesses(record.id)
    audit = security_audit(metrics, findings, Redactor([]))  # the store holds it redacted already
    if as_json:
        click.echo(json.dumps({"run": {**record.__dict__, "resumed_by": resumed_by}, "phases": phases,
                               "host_stats": stats, "failures": failures, "findings": findings, "metrics": metrics,
                               "ai": ai, "credential_access": accesses, "security_audit": audit,
                               **({"drift": [d.as_dict() for d in drift]} if drift is not None else {})},
                              indent=2, default=str))
    else:
        print_run(record, phases, stats, failures, findings, resumed_by)
        print_security_audit(audit)
        print_ai_metrics(ai)
        print_accesses(accesses)
        if drift is not None:
            print_drift(record.id, record.status, record.exit_code, drift, [], record.duration)


def _drift(store, record):
    """A check's drift, read again from its artifacts and masked with the inventory's secrets; None for other
    runs."""
    from pathlib import Path

    from orchestrator import vault
    from orchestrator.redact import Redactor
    from orchestrator.run.drift import COMMAND, run_drift

    if record.command != COMMAND:
        return None
    try:
        redactor = Redactor(vault.secret_values(Path(record.inventory)))
    except BadInput:  # the vault cannot be opened here: the artifacts were scrubbed when the check ran
        redactor = Redactor()
    return run_drift(store, record.id, redactor)


@runs.command("prune")
@inventory_option
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_prune(inventory, dry_run, as_json):
    """Apply the request's retention policy (`retention:`): remove old runs with their folders and records, blank
    old raw AI answers, remove old AI cache entries and revealed reports. Never a running run."""
    from orchestrator.cli.render import print_prune
    from orchestrator.request import inventory_dir, load_request
    from orchestrator.run.retention import prune
    from orchestrator.state import StateDir

    inv = inventory_dir(resolve_inventory(inventory))
    policy = load_request(inv).retention  # a bad policy is one line naming the key and the file (exit 2)
    store = open_store(inventory)
    state = StateDir(inv)
    done = prune(store, state, policy, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(done.as_dict(), indent=2))
    else:
        print_prune(done, state.root)
    if done.failed:
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("run_id", required=False)
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Every field, as JSON (a file for --ai replay:FILE).")
def decisions(run_id, inventory, as_json):
    """List the AI decisions of a run (default: the latest) or of an `aidevops plan --ai`."""
    from orchestrator.cli.render import print_decisions

    store = open_store(inventory)
    if run_id and run_id.startswith("plan-"):
        rows = store.decisions(run_id)
        if not rows:
            raise BadInput(f"no decisions recorded for '{run_id}'", hint="`aidevops plan --ai PROVIDER` prints the id")
    else:
        run_id = store.run(run_id or store.latest_run_id() or "").id
        rows = store.decisions(run_id)
    if as_json:
        click.echo(json.dumps({"run_id": run_id, "decisions": rows}, indent=2, default=str))
    else:
        print_decisions(run_id, rows)


@runs.command("events")
@click.argument("run_id", required=False)
@inventory_option
@click.option("--failed", is_flag=True, help="Only failed and unreachable results.")
@click.option("--host", help="Only events of this host.")
@click.option("--phase", help="Only events of this phase.")
@click.option("--json", "as_json", is_flag=True, help="One ansible-runner event per line, as JSON.")
def runs_events(run_id, inventory, failed, host, phase, as_json):
    """Read a run's ansible-runner job_events (default: the latest run)."""
    from orchestrator.cli.render import print_events
    from orchestrator.run.artifacts import read_events

    store = open_store(inventory)
    record = store.run(run_id or store.latest_run_id())
    events = read_events(store.phases(record.id), failed=failed, host=host, phase=phase)
    if as_json:
        for raw in events:
            click.echo(json.dumps(raw, default=str))
    else:
        print_events(events)


@click.command()
@click.argument("run_id", required=False)
@inventory_option
@click.option("--reveal", is_flag=True,
              help="Show the credentials in clear text (written as report.revealed.html/.md beside the masked ones).")
@click.option("--open-path-only", is_flag=True, help="Print only the HTML report's path (for scripts).")
def report(run_id, inventory, reveal, open_path_only):
    """Render the report of a recorded run again (default: the latest) and print where it is."""
    from orchestrator import vault
    from orchestrator.redact import Redactor
    from orchestrator.report import write_report
    from orchestrator.request import inventory_dir, load_request

    store = open_store(inventory)
    run_id = run_id or store.latest_run_id()
    if run_id is None:
        raise BadInput("no runs recorded for this inventory yet", where=str(store.path),
                       hint="run `aidevops run` first")
    record = store.run(run_id)
    inv = inventory_dir(resolve_inventory(inventory))
    files = write_report(store, record.id, inv, Redactor(vault.secret_values(inv)), reveal=reveal)
    if reveal:  # secrets in clear: who, from where, when, which and where to (`aidevops runs show` lists it)
        store.record_access(record.id, "report --reveal", files.revealed, [files.html, files.markdown])
    if open_path_only:
        click.echo(files.html)
        return
    click.echo(f"report:      {files.html}")
    click.echo(f"markdown:    {files.markdown}")
    if reveal:  # clear text is kept for hours only (retention: see `aidevops runs prune`)
        hours = load_request(inv).retention.revealed_hours
        click.echo(f"clear text:  deleted by the first prune after {hours} hours (retention.revealed_hours)")
    if files.credentials:
        click.echo(f"credentials: {files.credentials} (ansible-vault, the inventory's vault password)")


