"""`aidevops validate`."""

from __future__ import annotations

import json
import sys
import threading

import click

from orchestrator.cli.common import inventory_option, limit_option, resolve_inventory, with_limit
from orchestrator.cli.hold import cancel_on_signals, hold_inventory, wait_options


@click.command()
@inventory_option
@click.option("--audit/--no-audit", default=None,
              help="Run or skip the slow security audits: Lynis, ssh-audit, TLS scan (default: the request's "
                   "validation.audit, else on).")
@click.option("--drill/--no-drill", default=None,
              help="Run or skip the restore drill of the services with backups (default: the request's "
                   "validation.drill, else on).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@limit_option
@wait_options
def validate(inventory, audit, drill, as_json, limit, wait, wait_timeout):
    """Check the deployed hosts and services now (testinfra suites and security audits), as a recorded run.

    Exit 0 when every check passed, 1 when a critical/high one failed, 3 when only medium/low ones did, 75 when
    another run holds the inventory (see --wait)."""
    from orchestrator.cli.render import print_validation
    from orchestrator.request import check_inventory
    from orchestrator.validation.standalone import validate as run_validation

    request = with_limit(check_inventory(resolve_inventory(inventory)), limit)
    hold_inventory(request.inventory, wait, wait_timeout)  # until the command ends, however it ends
    note = (lambda m: None) if as_json else (lambda m: click.echo(f"[validator] {m}", err=True))
    cancel = threading.Event()
    with cancel_on_signals(cancel):
        outcome = run_validation(request, audit=audit, drill=drill, note=note, cancel=cancel)
    if as_json:
        click.echo(json.dumps(outcome.__dict__, indent=2, default=str))
    else:
        print_validation(outcome, request)
    sys.exit(outcome.exit_code)


