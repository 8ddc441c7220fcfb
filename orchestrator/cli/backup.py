"""`aidevops backup`."""

from __future__ import annotations

import sys
import threading

import click

from orchestrator.cli.common import inventory_option, resolve_inventory
from orchestrator.cli.hold import cancel_on_signals, hold_inventory, wait_options


@click.command()
@inventory_option
@click.option("--service", metavar="NAME", help="Back up only this service (default: every deployed one).")
@wait_options
def backup(inventory, service, wait, wait_timeout):
    """Take a backup of the deployed services now (restic, on each host), as a recorded run.

    Prints each new snapshot's id and size. Exit 0 when every backup was taken, 1 when one failed (and the
    backup_failed alert is raised), 2 for an unknown or undeployed --service, 75 when another run holds the
    inventory (see --wait)."""
    from orchestrator.request import check_inventory
    from orchestrator.run.backup import services_to_back_up, take_backups

    request = check_inventory(resolve_inventory(inventory))
    services = services_to_back_up(request, service)  # bad input: before anything is held or recorded
    hold_inventory(request.inventory, wait, wait_timeout)  # until the command ends, however it ends
    cancel = threading.Event()
    with cancel_on_signals(cancel):
        outcome = take_backups(request, services, note=lambda m: click.echo(f"[backup] {m}", err=True),
                               cancel=cancel)
    for s in outcome.snapshots:
        size = f"{s.size / 1e6:.1f} MB" if s.size is not None else "size unknown"
        click.echo(f"{s.host}  {s.service}  snapshot {s.id}  {size}")
    click.echo(f"Run {outcome.run_id}: backup {outcome.status} in {outcome.duration:.0f}s"
               + (f": {outcome.reason}" if outcome.reason else ""))
    sys.exit(outcome.exit_code)
