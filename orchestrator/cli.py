"""The `aidevops` command line."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import click

from orchestrator import errors
from orchestrator.errors import AidevopsError, BadInput

DEFAULT_INVENTORY = "inventories/sandbox"


def resolve_inventory(value: str | None) -> Path:
    """A path, or a name under inventories/ (so `--inventory prod` works from the project root)."""
    value = value or os.environ.get("AIDEVOPS_INVENTORY") or DEFAULT_INVENTORY
    path = Path(value)
    if not path.exists() and not path.is_absolute() and Path("inventories", value).exists():
        path = Path("inventories", value)
    return path


inventory_option = click.option(
    "--inventory", "-i", "inventory", metavar="PATH",
    help=f"Inventory folder or name under inventories/ (default: $AIDEVOPS_INVENTORY or {DEFAULT_INVENTORY}).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aidevops")
def cli() -> None:
    """Provision hardened n8n + Supabase servers with Ansible, planned and recorded by aidevops."""


# -- plan and run ---------------------------------------------------------------------------------

def _load(inventory: str | None, strategy: str | None, only: str | None):
    from orchestrator.plan import build_plan
    from orchestrator.request import load_request

    request = load_request(resolve_inventory(inventory))
    only_list = [o.strip() for o in only.split(",") if o.strip()] if only else None
    return request, build_plan(request, strategy, only_list)


strategy_option = click.option(
    "--strategy", type=click.Choice(["sequential", "parallel", "hybrid", "adaptive"]),
    help="How phases are scheduled (default: the request's options.strategy, else hybrid).",
)
only_option = click.option("--only", metavar="PHASE[,PHASE]", help="Run only these phases (others are taken as done).")
ai_option = click.option(
    "--ai", "ai", metavar="PROVIDER",
    help="Who makes the decisions: anthropic, openai, offline or replay:FILE (default: the request's ai.provider, "
         "$AIDEVOPS_AI, anthropic if ANTHROPIC_API_KEY is set, else offline).",
)
yes_option = click.option("--yes", "-y", is_flag=True,
                          help="Allow AI decisions to set critical variables (firewall, SSH, data) without asking.")


def _confirm(yes: bool):
    """Critical variables: --yes, else a question when someone is at the terminal, else never."""
    if yes:
        return lambda phase, name, value: True
    if sys.stdin.isatty():
        return lambda phase, name, value: click.confirm(
            f"The AI wants to set the critical variable {phase}.{name} = {value!r}. Allow?", default=False)
    return None


def _deployment(request, the_plan, strategy, ai, yes, **kw):
    from orchestrator.ai.planning import strategy_fixed
    from orchestrator.ai.settings import resolve
    from orchestrator.deploy import Deployment

    settings = resolve(ai, request.ai, request.inventory)
    return Deployment(request, the_plan, ai=settings, confirm=_confirm(yes),
                      strategy_fixed=strategy_fixed(request, strategy), **kw)


@cli.command()
@inventory_option
@strategy_option
@only_option
@ai_option
@yes_option
def plan(inventory, strategy, only, ai, yes):
    """Print the plan for an inventory without running anything; with --ai, the decisions it would use."""
    from orchestrator.render import print_decisions_made, print_plan

    request, the_plan = _load(inventory, strategy, only)
    if ai:
        from orchestrator import paths, vault
        from orchestrator.ai.planning import decide_plan, make_maker, strategy_fixed
        from orchestrator.ai.settings import resolve
        from orchestrator.deploy import new_run_id, store_for
        from orchestrator.redact import Redactor

        settings = resolve(ai, request.ai, request.inventory)
        plan_id = "plan-" + new_run_id()  # recorded apart from runs: `aidevops decisions PLAN_ID`
        maker = make_maker(settings, request, the_plan, store=store_for(request.inventory), run_id=plan_id,
                           redactor=Redactor(vault.secret_values(request.inventory)),
                           state_dir=paths.state_dir(request.inventory), confirm=_confirm(yes))
        made = decide_plan(maker, request, the_plan, strategy_fixed(request, strategy))
        print_plan(request, the_plan)
        print_decisions_made(settings, made.all, plan_id, request.inventory)
    else:
        print_plan(request, the_plan)


@cli.command()
@inventory_option
@strategy_option
@only_option
@click.option("--check", is_flag=True, help="Dry run: Ansible check mode with diffs; nothing is changed.")
@click.option("--plain", is_flag=True, help="Plain progress lines even in a terminal.")
@ai_option
@yes_option
def run(inventory, strategy, only, check, plain, ai, yes):
    """Provision the inventory's hosts: plan, run each phase through ansible-runner, record the run."""
    from orchestrator.render import print_decisions_made, print_outcome, print_plan

    request, the_plan = _load(inventory, strategy, only)
    command = "run" + (f" --only {only}" if only else "") + (f" --strategy {strategy}" if strategy else "") + \
        (f" --ai {ai}" if ai else "")
    deployment = _deployment(request, the_plan, strategy, ai, yes, live=False if plain else None, check=check,
                             command=command)
    made = deployment.decide()
    print_plan(request, the_plan)
    print_decisions_made(deployment.ai, made.all, None, request.inventory)
    outcome = deployment.run()
    print_outcome(outcome, request, the_plan)
    sys.exit(outcome.exit_code)


@cli.command()
@inventory_option
@click.option("--audit/--no-audit", default=None,
              help="Run or skip the slow security audits: Lynis, ssh-audit, TLS scan (default: the request's "
                   "validation.audit, else on).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate(inventory, audit, as_json):
    """Check the deployed hosts and services now (testinfra suites and security audits), as a recorded run.

    Exit 0 when every check passed, 1 when a critical/high one failed, 3 when only medium/low ones did."""
    from orchestrator.render import print_validation
    from orchestrator.request import load_request
    from orchestrator.validation.command import validate as run_validation

    request = load_request(resolve_inventory(inventory))
    note = (lambda m: None) if as_json else (lambda m: click.echo(f"[validator] {m}", err=True))
    outcome = run_validation(request, audit=audit, note=note)
    if as_json:
        click.echo(json.dumps(outcome.__dict__, indent=2, default=str))
    else:
        print_validation(outcome, request)
    sys.exit(outcome.exit_code)


# -- runs -----------------------------------------------------------------------------------------

@cli.group()
def runs() -> None:
    """Review recorded runs and their ansible-runner artifacts."""


def _store(inventory):
    from orchestrator.deploy import store_for
    from orchestrator.request import inventory_dir

    inv = inventory_dir(resolve_inventory(inventory))
    db = inv / ".aidevops" / "aidevops.db"
    if not db.exists():
        raise BadInput("no runs recorded for this inventory yet", where=str(inv), hint="run `aidevops run` first")
    return store_for(inv)


@runs.command("list")
@inventory_option
@click.option("--limit", default=20, show_default=True)
def runs_list(inventory, limit):
    """List recent runs, newest first."""
    from orchestrator.render import print_runs

    print_runs(_store(inventory).runs(limit))


@runs.command("show")
@click.argument("run_id", required=False)
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_show(run_id, inventory, as_json):
    """Show one run (default: the latest): phases, hosts, failed tasks, timings."""
    from orchestrator.render import ai_metrics, print_ai_metrics, print_run

    store = _store(inventory)
    record = store.run(run_id or store.latest_run_id() or "")
    phases, stats, failures = store.phases(record.id), store.host_stats(record.id), store.failures(record.id)
    findings, metrics = store.findings(record.id), store.metrics(record.id)
    ai = ai_metrics(store.decisions(record.id))
    if as_json:
        click.echo(json.dumps({"run": record.__dict__, "phases": phases, "host_stats": stats,
                               "failures": failures, "findings": findings, "metrics": metrics, "ai": ai},
                              indent=2, default=str))
    else:
        print_run(record, phases, stats, failures, findings)
        print_ai_metrics(ai)


@cli.command()
@click.argument("run_id", required=False)
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Every field, as JSON (a file for --ai replay:FILE).")
def decisions(run_id, inventory, as_json):
    """List the AI decisions of a run (default: the latest) or of an `aidevops plan --ai`."""
    from orchestrator.render import print_decisions

    store = _store(inventory)
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
    from orchestrator.artifacts import read_events
    from orchestrator.render import print_events

    store = _store(inventory)
    record = store.run(run_id or store.latest_run_id())
    events = read_events(store.phases(record.id), failed=failed, host=host, phase=phase)
    if as_json:
        for raw in events:
            click.echo(json.dumps(raw, default=str))
    else:
        print_events(events)


@cli.command()
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
    from orchestrator.request import inventory_dir

    store = _store(inventory)
    run_id = run_id or store.latest_run_id()
    if run_id is None:
        raise BadInput("no runs recorded for this inventory yet", where=str(store.path),
                       hint="run `aidevops run` first")
    record = store.run(run_id)
    inv = inventory_dir(resolve_inventory(inventory))
    files = write_report(store, record.id, inv, Redactor(vault.secret_values(inv)), reveal=reveal)
    if open_path_only:
        click.echo(files.html)
        return
    click.echo(f"report:      {files.html}")
    click.echo(f"markdown:    {files.markdown}")
    if files.credentials:
        click.echo(f"credentials: {files.credentials} (ansible-vault, the inventory's vault password)")


# -- sandbox --------------------------------------------------------------------------------------

@cli.group()
def sandbox() -> None:
    """Local test hosts: systemd containers reached over SSH on 127.0.0.1."""


sandbox_inventory = click.option(
    "--inventory", "-i", "inventory", default=DEFAULT_INVENTORY, show_default=True,
    help="Inventory folder the sandbox writes hosts.yml into.",
)
prefix_option = click.option("--prefix", default="aidevops-sandbox", show_default=True,
                             help="Name prefix of the containers, network and volumes.")


@sandbox.command("up")
@click.option("--hosts", default=1, show_default=True, help="Number of hosts.")
@click.option("--os", "os_name", default="debian13", show_default=True,
              type=click.Choice(["debian13", "debian12"]), help="Operating system of the hosts.")
@click.option("--no-services", is_flag=True, help="Hosts only: no ACME CA (pebble) and DNS server (BIND).")
@sandbox_inventory
@prefix_option
def sandbox_up(hosts, os_name, no_services, inventory, prefix):
    """Start (or keep) the sandbox hosts, its ACME CA and DNS server, and write their inventory.

    When the request asks for n8n, its images are built locally once (no registry here) and archived."""
    from orchestrator.render import print_sandbox
    from orchestrator.sandbox import Sandbox

    box = Sandbox(Path(inventory), prefix=prefix)
    hosts = box.up(hosts=hosts, os_name=os_name, services=not no_services, log=lambda m: click.echo(m, err=True))
    print_sandbox(hosts, box)


@sandbox.command("image")
@click.option("--os", "os_name", default="debian13", show_default=True,
              type=click.Choice(["debian13", "debian12"]), help="Operating system of the image.")
def sandbox_image(os_name):
    """Build the sandbox base image if it is missing (Molecule uses it too) and print its name."""
    from orchestrator.sandbox import docker as d
    from orchestrator.sandbox.image import ensure_image

    d.ensure_engine(Path(DEFAULT_INVENTORY) / ".aidevops" / "dockerd.log")
    click.echo(ensure_image(os_name, log=lambda m: click.echo(m, err=True)))


@sandbox.command("status")
@sandbox_inventory
@prefix_option
def sandbox_status(inventory, prefix):
    """Show the sandbox hosts and their published ports."""
    from orchestrator.render import print_sandbox
    from orchestrator.sandbox import Sandbox

    box = Sandbox(Path(inventory), prefix=prefix)
    print_sandbox(box.status(), box)


@sandbox.command("down")
@sandbox_inventory
@prefix_option
def sandbox_down(inventory, prefix):
    """Remove the sandbox hosts, their volumes, network, key and inventory."""
    from orchestrator.sandbox import Sandbox

    Sandbox(Path(inventory), prefix=prefix).down(log=lambda m: click.echo(m, err=True))
    click.echo("sandbox removed")


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("cancelled", err=True)
        sys.exit(errors.EXIT_CANCELLED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(errors.EXIT_BAD_INPUT)
    except AidevopsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("cancelled", err=True)
        sys.exit(errors.EXIT_CANCELLED)


if __name__ == "__main__":
    main()
