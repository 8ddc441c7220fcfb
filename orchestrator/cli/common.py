"""What the command groups share: the inventory option and its resolution, the plan and run options,
the confirmation of critical AI decisions, and opening an inventory's run store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from orchestrator.errors import BadInput
from orchestrator.plan import build_plan
from orchestrator.plan.nodes import check_nodes
from orchestrator.request import STRATEGIES, check_inventory, inventory_dir
from orchestrator.request.ai import PROVIDER_CHOICES
from orchestrator.request.preflight import check_ca_file
from orchestrator.run.context import ControllerAgents
from orchestrator.state import StateDir
from orchestrator.store import RunStore

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


def load_plan(inventory: str | None, strategy: str | None, only: str | None, limit: str | None = None,
              ai: str | None = None, decide: bool = False):
    """The checked request and its plan. DECIDE: an AI provider (AI, else the request's or the environment's
    choice) may place the services of `placement: auto`; otherwise the offline planner does."""
    # Every file the run reads is checked before anything is created; the CA file only when it validates.
    request = check_inventory(resolve_inventory(inventory), validates=False)
    request = with_limit(auto_placed(request, ai, decide), limit)
    only_list = [o.strip() for o in only.split(",") if o.strip()] if only else None
    plan = build_plan(request, strategy, only_list)
    check_nodes(request, plan.phases)
    if any(p.agent.entry == "validator" and p.selected for p in plan.phases):
        check_ca_file(request)
    return request, plan


def auto_placed(request, ai: str | None = None, decide: bool = False):
    """`placement: auto`: the services an earlier run did not place are placed now, from the hosts' facts, by
    the offline planner, or (DECIDE) by the AI provider chosen, held to the same needs and recorded as a
    decision under its own id (`aidevops decisions place-...`)."""
    if request.placement != "auto":
        return request
    from dataclasses import replace

    from orchestrator.agents import services as declared_services
    from orchestrator.plan.auto import auto_place
    from orchestrator.run.facts import gather

    kept = request.auto_placement or {}
    if all(s in kept for s in request.services):
        return request
    declared = declared_services()
    needs, facts = {s: declared[s].needs for s in request.services}, gather(request)
    placed, reasons = auto_place(needs, facts, kept)
    settings = None
    if decide:
        from orchestrator.ai.choice import resolve

        settings = resolve(ai, request.ai, request.inventory)
    if settings is not None and settings.provider != "offline":
        from orchestrator.ai.planning import decide_placement, placement_maker
        from orchestrator.run.session import RunSession

        session = RunSession(request.inventory, "placement", id_prefix="place-")
        maker = placement_maker(settings, request, store=session.store, run_id=session.run_id,
                                redactor=session.redactor)
        placed, reasons, _ = decide_placement(maker, request, needs, facts, kept, (placed, reasons))
    return replace(request, auto_placement=placed, auto_reasons={**request.auto_reasons, **reasons})


def with_limit(request, limit: str | None):
    """The request narrowed to the hosts an Ansible host pattern matches (`--limit`), as Ansible's own --limit."""
    if not limit:
        return request
    from dataclasses import replace

    from orchestrator.request.inventory import matching_hosts

    return replace(request, limit=(limit, matching_hosts(request.inventory, limit, request.hosts)))


limit_option = click.option(
    "--limit", metavar="PATTERN",
    help="Only these hosts, as Ansible's --limit (names, groups, web*, a:b, all:!db-1); each phase keeps the "
         "hosts of its placement that match.")
strategy_option = click.option(
    "--strategy", type=click.Choice(STRATEGIES),
    help="How phases are scheduled (default: the request's options.strategy, else hybrid).",
)
only_option = click.option("--only", metavar="PHASE[,PHASE]", help="Run only these phases (others are taken as done).")
ai_option = click.option(
    "--ai", "ai", metavar="PROVIDER",
    help=f"Who makes the decisions: {PROVIDER_CHOICES} (default: the request's ai.provider, "
         "$AIDEVOPS_AI, anthropic if ANTHROPIC_API_KEY is set, else offline).",
)
yes_option = click.option("--yes", "-y", is_flag=True,
                          help="Allow AI decisions to set critical variables (firewall, SSH, data) without asking.")


def confirm_critical(yes: bool):
    """Critical variables: --yes, else a question when someone is at the terminal, else never."""
    if yes:
        return lambda phase, name, value: True
    if sys.stdin.isatty():
        return lambda phase, name, value: click.confirm(
            f"The AI wants to set the critical variable {phase}.{name} = {value!r}. Allow?", default=False)
    return None


def controller_agents() -> ControllerAgents:
    """The controller-side agents a run calls by name: they live above the run layer, so the command hands
    them over."""
    from orchestrator.report import agent as report
    from orchestrator.validation import agent as validator

    return {"validator": validator.run, "report": report.run}


def open_store(inventory: str | None) -> RunStore:
    """The run store of an inventory that has recorded runs (never creates one)."""
    inv = inventory_dir(resolve_inventory(inventory))
    db = StateDir(inv).db
    if not db.exists():
        raise BadInput("no runs recorded for this inventory yet", where=str(inv), hint="run `aidevops run` first")
    return RunStore(db)


