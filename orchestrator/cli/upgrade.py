"""`aidevops upgrade`."""

from __future__ import annotations

import sys
import time

import click

from orchestrator.cli.common import inventory_option, resolve_inventory
from orchestrator.cli.hold import cancel_on_signals, hold_inventory, wait_options


@click.command()
@inventory_option
@click.option("--service", required=True, metavar="NAME", help="The service to upgrade (n8n).")
@click.option("--to", "version", required=True, metavar="VERSION", help="The version to upgrade to (an image tag).")
@wait_options
def upgrade(inventory, service, version, wait, wait_timeout):
    """Upgrade a deployed service: back up, switch the image, pass the health gate, else roll back by itself.

    The health gate: n8n's /healthz/readiness and sign-in page through the proxy, the owner's login, a workflow run,
    within n8n_upgrade_health_timeout. On success the inventory records the new version (n8n_version in
    group_vars/all/n8n.yml). Exit 0 upgraded (or already on it); 1 failed (rolled back, or not: the output says
    what state the host is in); 2 bad input or refused before anything changed (not deployed, no image for the
    version); 75 when another run holds the inventory (see --wait)."""
    from orchestrator.inventory_yaml import set_setting, with_setting
    from orchestrator.request import check_inventory
    from orchestrator.run import upgrade as up

    up.check_version(version)
    request = check_inventory(resolve_inventory(inventory), validates=False)
    up.check_service(service, request)
    settings = request.inventory / "group_vars" / "all" / f"{service}.yml"
    with_setting(settings, f"{service}_version", version)  # the inventory can take the new version: checked first
    hold_inventory(request.inventory, wait, wait_timeout)  # until the command ends, however it ends
    job = up.Upgrade(request, service, version)
    click.echo(f"Upgrade {job.run_id}: {service} to {version} on {', '.join(h.name for h in request.hosts)}")
    t0 = time.monotonic()

    def progress(m) -> None:
        from orchestrator.run.bus import Topic
        from orchestrator.run.events import Kind

        if m.topic == Topic.TASK and m.content.kind in (Kind.TASK_START, Kind.FAILED, Kind.UNREACHABLE):
            ev = m.content
            what = ev.task if ev.kind is Kind.TASK_START else f"{ev.host}: {ev.kind.value}: {ev.message or ''}"
            click.echo(f"  [{time.monotonic() - t0:6.1f}s] {what}"[:300], err=True)
        elif m.topic == Topic.ALERT:
            click.echo(f"ALERT ({m.content['severity']}): {m.content['message']}", err=True)

    job.session.bus.subscribe(progress)
    with cancel_on_signals(job.cancel):
        outcome = job.run()
    for h in outcome.hosts:
        click.echo(f"{h.host}: {h.outcome}: {h.summary()}")
    if outcome.exit_code == 0:
        set_setting(settings, f"{service}_version", version)
        click.echo(f"{settings}: {service}_version is now {version}")
    else:
        click.echo(f"{settings}: unchanged")
    verdict = {"succeeded": "upgraded", "refused": "refused, nothing changed"}.get(outcome.status, outcome.status)
    if outcome.rolled_back:
        verdict = ("failed, ROLLBACK FAILED" if any(h.outcome == up.ROLLBACK_FAILED for h in outcome.hosts)
                   else "failed, rolled back")
    click.echo(f"Upgrade {outcome.run_id} {verdict} in {outcome.duration:.0f}s (exit {outcome.exit_code}); "
               f"details: aidevops runs show {outcome.run_id}")
    sys.exit(outcome.exit_code)
