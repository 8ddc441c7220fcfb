"""`aidevops plan` and `aidevops run`."""

from __future__ import annotations

import sys

import click

from orchestrator.cli.common import (
    ai_option,
    confirm_critical,
    inventory_option,
    load_plan,
    only_option,
    strategy_option,
    yes_option,
)


def _deployment(request, the_plan, strategy, ai, yes, **kw):
    from orchestrator.ai.choice import resolve
    from orchestrator.ai.planning import strategy_fixed
    from orchestrator.run.deployment import Deployment

    settings = resolve(ai, request.ai, request.inventory)
    return Deployment(request, the_plan, ai=settings, confirm=confirm_critical(yes),
                      strategy_fixed=strategy_fixed(request, strategy), **kw)


@click.command()
@inventory_option
@strategy_option
@only_option
@ai_option
@yes_option
def plan(inventory, strategy, only, ai, yes):
    """Print the plan for an inventory without running anything; with --ai, the decisions it would use."""
    from orchestrator.cli.render import print_decisions_made, print_plan

    request, the_plan = load_plan(inventory, strategy, only)
    if ai:
        from orchestrator import vault
        from orchestrator.ai.choice import resolve
        from orchestrator.ai.planning import decide_plan, make_maker, strategy_fixed
        from orchestrator.redact import Redactor
        from orchestrator.state import StateDir, new_run_id
        from orchestrator.store import RunStore

        settings = resolve(ai, request.ai, request.inventory)
        plan_id = "plan-" + new_run_id()  # recorded apart from runs: `aidevops decisions PLAN_ID`
        maker = make_maker(settings, request, the_plan, store=RunStore(StateDir(request.inventory).db),
                           run_id=plan_id,
                           redactor=Redactor(vault.secret_values(request.inventory)),
                           confirm=confirm_critical(yes))
        made = decide_plan(maker, request, the_plan, strategy_fixed(request, strategy))
        print_plan(request, the_plan)
        print_decisions_made(settings, made.all, plan_id, request.inventory)
    else:
        print_plan(request, the_plan)


@click.command()
@inventory_option
@strategy_option
@only_option
@click.option("--check", is_flag=True, help="Dry run: Ansible check mode with diffs; nothing is changed.")
@click.option("--plain", is_flag=True, help="Plain progress lines even in a terminal.")
@ai_option
@yes_option
def run(inventory, strategy, only, check, plain, ai, yes):
    """Provision the inventory's hosts: plan, run each phase through ansible-runner, record the run."""
    from orchestrator.cli.render import print_decisions_made, print_outcome, print_plan

    request, the_plan = load_plan(inventory, strategy, only)
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


