"""`aidevops run --resume [RUN_ID]`: the checks before a resumed run, and its plan.

Every refusal is bad input raised before anything is created: the run store is only read here.
"""

from __future__ import annotations

from dataclasses import replace

import click

from orchestrator.cli.common import open_store, resolve_inventory
from orchestrator.errors import BadInput
from orchestrator.plan import Plan, build_plan, recorded_request
from orchestrator.plan.nodes import check_nodes
from orchestrator.request import DeploymentRequest, check_inventory
from orchestrator.request.preflight import check_ca_file
from orchestrator.run.resume import Resume, apply, find_run, select


def load_resume(inventory: str | None, run_id: str, *, strategy: str | None, only: str | None,
                check: bool, limit: str | None = None) -> tuple[DeploymentRequest, Plan, Resume] | None:
    """The request read again, the plan marked with what is kept, and the resume; None when nothing is left to
    do (said on one line: the deployment the run asked for is there, which is not an error)."""
    # The resumed run continues the first one: its selection, hosts and strategy are the first run's.
    for flag, value in (("--only", only), ("--strategy", strategy), ("--limit", limit)):
        if value:
            raise BadInput(f"--resume continues a run with its own phases and strategy: {flag} cannot be changed",
                           hint=f"drop {flag}, or start a new run without --resume")
    if check:
        raise BadInput("--resume cannot be a dry run (--check)", hint="preview with `aidevops plan`, then resume")
    request = check_inventory(resolve_inventory(inventory), validates=False)
    store = open_store(inventory)
    try:
        source = find_run(store, request.inventory, run_id or None)
        kept_hosts = (source.request or {}).get("limit")
        if kept_hosts:  # the first run's --limit holds for its resume
            request = replace(request, limit=(",".join(kept_hosts),
                                               tuple(h.name for h in request.hosts if h.name in kept_hosts)))
        plan = build_plan(request)
        resume = select(store, source, recorded_request(request, plan), plan)
    finally:
        store.close()
    if resume.nothing_to_do:
        click.echo(f"nothing to resume: every phase of run {source.id} ({source.status}) is done and unchanged")
        return None
    apply(plan, resume)
    check_nodes(request, plan.phases)
    if any(p.agent.entry == "validator" and p.selected for p in plan.phases):
        check_ca_file(request)
    return request, plan, resume
