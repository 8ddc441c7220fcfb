"""`aidevops check`: drift since the last run, found by running the deployed phases in check+diff mode."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from orchestrator.cli.common import inventory_option, limit_option, resolve_inventory, with_limit
from orchestrator.cli.hold import cancel_on_signals, hold_inventory, wait_options


@click.command()
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: the drift per host and task.")
@click.option("--plain", is_flag=True, help="Plain progress lines even in a terminal.")
@limit_option
@wait_options
def check(inventory, as_json, plain, limit, wait, wait_timeout):
    """Report what changed on the hosts since the last run, without changing anything.

    Every phase the last runs deployed runs again in Ansible check mode with diffs, with the same decisions;
    each task that would change is drift: a file edited by hand (its diff, secrets masked), a service stopped,
    a package removed, a firewall rule added by hand. Recorded as a run (`aidevops runs show` lists the drift).
    Exit 0 no drift, 1 drift found, 4 the check could not be done (a host unreachable, a phase failed in check
    mode, nothing deployed yet), 75 another run holds the inventory (see --wait)."""
    from orchestrator.ai.choice import resolve
    from orchestrator.cli.progress import Progress
    from orchestrator.cli.render import print_drift
    from orchestrator.errors import CheckNotPossible
    from orchestrator.plan import build_plan
    from orchestrator.request import check_inventory
    from orchestrator.run.drift import DriftCheck, deployed_phases
    from orchestrator.state import StateDir
    from orchestrator.store import RunStore

    request = with_limit(check_inventory(resolve_inventory(inventory), validates=False), limit)
    plan = build_plan(request)
    db = StateDir(request.inventory).db
    if not db.exists():
        raise CheckNotPossible("no deployment recorded for this inventory yet: nothing to compare the hosts with",
                               where=str(request.inventory), hint="deploy with `aidevops run` first")
    store = RunStore(db)
    try:
        deployed, latest = deployed_phases(store, plan)
    finally:
        store.close()
    if not deployed or latest is None:
        raise CheckNotPossible("no host phase of this plan was deployed by a recorded `aidevops run`",
                               where=str(request.inventory), hint="deploy with `aidevops run` first")
    # Only what is deployed is checked; the validator and the report are not part of a check. Check mode changes
    # nothing, so no phase waits for another: one that cannot be checked leaves the others checked.
    plan.phases = [dataclasses.replace(p, selected=p.id in deployed and not p.left_out, depends_on=())
                   for p in plan.phases]
    hold_inventory(request.inventory, wait, wait_timeout)
    drift_check = DriftCheck(request, plan, controller_agents={}, decisions_from=latest.id,
                             ai=resolve(None, request.ai, request.inventory))
    if not as_json:
        click.echo(f"Checking {', '.join(sorted(deployed))} against run {latest.id} (check mode: nothing changes)")
        progress = Progress(plan, live=False if plain else None)
        drift_check.bus.subscribe(progress.on_message)
    else:
        progress = None
    with cancel_on_signals(drift_check.cancel):
        if progress is not None:
            with progress:
                outcome = drift_check.run()
        else:
            outcome = drift_check.run()
    if as_json:
        click.echo(json.dumps({"run_id": outcome.run_id, "status": outcome.status, "exit_code": outcome.exit_code,
                               "duration": outcome.duration, "checked": sorted(deployed), "compared_with": latest.id,
                               "drift": [d.as_dict() for d in drift_check.drift],
                               "problems": drift_check.problems}, indent=2))
    else:
        print_drift(outcome.run_id, outcome.status, outcome.exit_code, drift_check.drift, drift_check.problems,
                    outcome.duration, request.inventory)
    sys.exit(outcome.exit_code)
