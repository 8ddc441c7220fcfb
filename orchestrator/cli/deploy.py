"""`aidevops plan` and `aidevops run`."""

from __future__ import annotations

import sys

import click

from orchestrator.cli.common import (
    ai_option,
    confirm_critical,
    controller_agents,
    inventory_option,
    limit_option,
    load_plan,
    only_option,
    strategy_option,
    yes_option,
)
from orchestrator.cli.hold import cancel_on_signals, hold_inventory, wait_options
from orchestrator.errors import AidevopsError


@click.command()
@inventory_option
@strategy_option
@only_option
@limit_option
@ai_option
@yes_option
def plan(inventory, strategy, only, limit, ai, yes):
    """Print the plan for an inventory without running anything; with --ai, the decisions it would use."""
    from orchestrator.cli.render import print_decisions_made, print_plan

    request, the_plan = load_plan(inventory, strategy, only, limit, ai, decide=bool(ai))
    if ai:
        from orchestrator.ai.choice import resolve
        from orchestrator.ai.planning import decide_plan, make_maker, strategy_fixed
        from orchestrator.run.session import RunSession

        settings = resolve(ai, request.ai, request.inventory)
        # Its decisions are recorded under their own id (`aidevops decisions PLAN_ID`), never as a run.
        session = RunSession(request.inventory, "plan", id_prefix="plan-")
        maker = make_maker(settings, request, the_plan, store=session.store, run_id=session.run_id,
                           redactor=session.redactor, confirm=confirm_critical(yes))
        made = decide_plan(maker, request, the_plan, strategy_fixed(request, strategy))
        print_plan(request, the_plan)
        print_decisions_made(settings, made.all, session.run_id, request.inventory)
    else:
        print_plan(request, the_plan)


@click.command()
@inventory_option
@strategy_option
@only_option
@limit_option
@click.option("--check", is_flag=True, help="Dry run: Ansible check mode with diffs; nothing is changed.")
@click.option("--plain", is_flag=True, help="Plain progress lines even in a terminal.")
@click.option("--resume", "resume", is_flag=False, flag_value="", default=None, metavar="[RUN_ID]",
              help="Continue a run (default: the inventory's latest): re-run what failed or did not run, "
                   "keep what was done unless the request or its role changed, with the same decisions.")
@click.option("--full", is_flag=True,
              help="Run every phase, even those whose inputs and host state are as the last successful run "
                   "left them (kept otherwise).")
@ai_option
@yes_option
@wait_options
def run(inventory, strategy, only, limit, check, plain, resume, full, ai, yes, wait, wait_timeout):
    """Provision the inventory's hosts: plan, run each phase through ansible-runner, record the run.

    One run per inventory at a time: while another holds it, this one is refused (exit 75) or, with --wait,
    waits. Ctrl-C, SIGTERM and SIGHUP cancel the run cleanly (exit 130)."""
    from orchestrator.ai.choice import resolve
    from orchestrator.ai.planning import strategy_fixed
    from orchestrator.cli.progress import Progress
    from orchestrator.cli.render import print_decisions_made, print_outcome, print_plan
    from orchestrator.run.deployment import Deployment

    resumed = None
    if resume is not None:  # --only and --strategy are refused with it: the first run's stand
        from orchestrator.cli.resume import load_resume

        loaded = load_resume(inventory, resume, strategy=strategy, only=only, check=check, limit=limit)
        if loaded is None:  # nothing left to do: said, and nothing is created
            return
        request, the_plan, resumed = loaded
        hold_inventory(request.inventory, wait, wait_timeout)  # until the command ends, however it ends
        command = f"run --resume {resumed.source.id}"
    else:
        request, the_plan = load_plan(inventory, strategy, only, limit, ai, decide=True)
        hold_inventory(request.inventory, wait, wait_timeout)
        command = "run" + (f" --only {only}" if only else "") + (f" --limit {limit}" if limit else "") \
            + (f" --strategy {strategy}" if strategy else "")
    command += f" --ai {ai}" if ai else ""
    deployment = Deployment(request, the_plan, controller_agents=controller_agents(),
                            ai=resolve(ai, request.ai, request.inventory), confirm=confirm_critical(yes),
                            strategy_fixed=strategy_fixed(request, strategy), check=check, command=command,
                            resumed_from=resumed.source.id if resumed else None)
    made = deployment.decide()
    # A plain run keeps what is as it was; --only and --limit name what to run, --check looks at everything.
    if not (full or check or resumed or only or limit):
        try:
            deployment.mark_unchanged()
        except AidevopsError as exc:  # every phase runs then, as with --full
            print(f"every phase runs: the hosts' state could not be compared ({exc})")
    print_plan(request, the_plan, resumed)
    print_decisions_made(deployment.ai, made.all, None, request.inventory)
    progress = Progress(the_plan, live=False if plain else None)
    deployment.bus.subscribe(progress.on_message)
    with progress, cancel_on_signals(deployment.cancel):
        outcome = deployment.run()
    print_outcome(outcome, request, the_plan)
    if deployment.session.retention_note:  # what the request's retention policy removed at the end
        print(deployment.session.retention_note)
    sys.exit(outcome.exit_code)
