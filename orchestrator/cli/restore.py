"""`aidevops restore`: the restore drill (--drill), or a real restore of one snapshot, as a recorded run."""

from __future__ import annotations

import json
import sys
import threading

import click

from orchestrator import errors
from orchestrator.cli.common import inventory_option, resolve_inventory
from orchestrator.cli.hold import cancel_on_signals, hold_inventory, wait_options


def _services(request, service: str | None) -> list[str]:
    from orchestrator.validation.drill import drilled_services

    backed_up = drilled_services(request)
    if service is None:
        return backed_up
    if service not in backed_up:
        raise errors.BadInput(f"'{service}' is not a deployed service with backups", where="--service",
                              hint=f"choose one of: {', '.join(backed_up) or 'none in this request'}")
    return [service]


def confirm_restore(yes: bool, service: str, snapshot: str) -> None:
    """A real restore replaces the service's data: --yes, else a question at a terminal, else a refusal."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise errors.BadInput(f"restoring {service} replaces its database and files and needs a confirmation",
                              where="--yes", hint="add --yes to restore without a terminal to ask at")
    if not click.confirm(f"Restore {service} from snapshot {snapshot}? Its current database and files are "
                         "replaced (a backup is taken first).", default=False):
        raise errors.AidevopsError("restore not confirmed: nothing was changed")


@click.command()
@inventory_option
@click.option("--service", metavar="NAME", help="The service (default with --drill: every one with backups).")
@click.option("--drill", is_flag=True, help="Only drill: restore the latest snapshot into scratch containers, "
                                            "check it, remove them. Changes nothing of the service.")
@click.option("--snapshot", metavar="ID", help="The restic snapshot to restore (a real restore).")
@click.option("--yes", "-y", is_flag=True, help="Restore without asking (needed without a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@wait_options
def restore(inventory, service, drill, snapshot, yes, as_json, wait, wait_timeout):
    """Restore a service from its restic backup, or (--drill) prove that its latest backup restores.

    A real restore (--service S --snapshot ID) asks first, takes a backup, stops the service, restores its
    database and files, starts it and waits for it. Exit 0 done / drill passed, 1 failed, 2 bad input."""
    from orchestrator.request import check_inventory

    if drill and snapshot:
        raise errors.BadInput("--drill takes the latest snapshot; --snapshot is for a real restore",
                              where="--snapshot", hint="leave out one of them")
    if not drill and not (service and snapshot):
        raise errors.BadInput("a real restore needs --service and --snapshot", where="aidevops restore",
                              hint="add --service S --snapshot ID, or --drill to only check the backups")
    if snapshot:
        from orchestrator.run.restore import check_snapshot_id
        check_snapshot_id(snapshot)
    request = check_inventory(resolve_inventory(inventory))
    services = _services(request, service)
    if not services:
        raise errors.BadInput("no deployed service of this request has backups", where=str(request.inventory),
                              hint="a service's role declares its backup (meta/aidevops.yml)")
    if not drill:
        confirm_restore(yes, service, snapshot)
    hold_inventory(request.inventory, wait, wait_timeout)
    note = (lambda m: None) if as_json else (lambda m: click.echo(f"[restore] {m}", err=True))
    cancel = threading.Event()
    with cancel_on_signals(cancel):
        if drill:
            from orchestrator.validation.drill import drill_run
            outcome = drill_run(request, services, cancel=cancel, note=note)
        else:
            from orchestrator.run.restore import restore as run_restore
            outcome = run_restore(request, service, snapshot, cancel=cancel, note=note)
    if as_json:
        click.echo(json.dumps(outcome.__dict__, indent=2, default=str))
    else:
        _print(outcome, request, drill)
    sys.exit(outcome.exit_code)


def _print(outcome, request, drill: bool) -> None:
    what = "Restore drill" if drill else "Restore"
    click.echo(f"{what} {outcome.run_id}: {outcome.status} in {outcome.duration:.1f}s (exit {outcome.exit_code})")
    for d in getattr(outcome, "drills", []):
        age = "-" if d["backup_age_hours"] is None else f"{d['backup_age_hours']:.1f} h"
        click.echo(f"  {d['service']} on {d['host']}: {d['status']}; snapshot {d['snapshot_id'] or '-'} "
                   f"taken {d['snapshot_time'] or '-'} ({age} ago); drill {d['duration'] or 0:.0f}s")
        for table in sorted(set(d["counts_expected"]) | set(d["counts_found"])):
            click.echo(f"    {table}: {d['counts_expected'].get(table, '-')} expected, "
                       f"{d['counts_found'].get(table, '-')} found")
        if d["decrypt_ok"] is not None:
            click.echo(f"    credential decrypted with the snapshot's key: {'yes' if d['decrypt_ok'] else 'NO'}")
        if d["error"]:
            click.echo(f"    {d['error']}")
    for f in getattr(outcome, "findings", []):
        if f["status"] in ("failed", "error"):
            click.echo(f"  {f['status'].upper()} {f['severity']} {f['check_id']} on {f['host'] or '-'}: "
                       f"{f['evidence']}")
    if outcome.reason and (not drill or outcome.status != "succeeded"):
        click.echo(f"  {outcome.reason}")
    click.echo(f"Review: aidevops runs show {outcome.run_id} --inventory {request.inventory}")
