"""`aidevops metrics`: figures across the recorded runs of one or more inventories, as a table, JSON or
Prometheus's text format."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from orchestrator.cli.common import DEFAULT_INVENTORY, open_store, resolve_inventory
from orchestrator.errors import BadInput


@click.command()
@click.option("--inventory", "-i", "inventories", metavar="PATH", multiple=True,
              help="Inventory folder or name under inventories/; give it again for more inventories "
                   f"(default: $AIDEVOPS_INVENTORY or {DEFAULT_INVENTORY}).")
@click.option("--json", "as_json", is_flag=True, help="Every figure as JSON.")
@click.option("--prometheus", is_flag=True,
              help="Prometheus text format, for node_exporter's textfile collector (write a temporary file, "
                   "then rename it to DIR/aidevops.prom).")
@click.option("--prices", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Price table for AI cost: YAML of model: {input, output[, cache_read, cache_write]}, "
                   "USD per million tokens.")
def metrics(inventories, as_json, prometheus, prices):
    """Figures across recorded runs: per agent (runs, success rate, mean and p95 duration, recoveries),
    per inventory (deployments, successful, mean time) and per AI provider and model (decisions, fallbacks and
    why, tokens, mean latency, cost with --prices). Dry runs (check) are left out of the agents' and
    deployments' figures."""
    if as_json and prometheus:
        raise BadInput("--json and --prometheus are two outputs: choose one")
    from orchestrator.request import inventory_dir
    from orchestrator.store.metrics import inventory_metrics
    from orchestrator.store.prices import load_prices

    table = load_prices(prices) if prices else None
    figures, seen = [], {}
    for given in inventories or (None,):
        path = inventory_dir(resolve_inventory(given))
        if path in seen.values():
            continue  # named twice (a name and its path): counted once
        if path.name in seen:
            raise BadInput(f"two inventories are named '{path.name}': {seen[path.name]} and {path}",
                           hint="figures are labelled by the folder's name: rename one of them")
        seen[path.name] = path
        store = open_store(str(path))
        try:
            figures.append(inventory_metrics(store, path.name, str(path), table))
        finally:
            store.close()
    if prometheus:
        from orchestrator.cli.prometheus import exposition

        click.echo(exposition(figures), nl=False)
    elif as_json:
        click.echo(json.dumps(as_json_document(figures, prices), indent=2))
    else:
        from orchestrator.cli.render import print_metrics

        print_metrics(figures, priced=table is not None)


def as_json_document(figures, prices: Path | None) -> dict:
    """Flat lists, each item naming its inventory: easy to filter (jq) and the same series as --prometheus."""
    return {
        "inventories": [{"inventory": f.inventory, "path": f.path, **asdict(f.deployments)} for f in figures],
        "agents": [{"inventory": f.inventory, **asdict(a)} for f in figures for a in f.agents],
        "ai": [{"inventory": f.inventory, **asdict(a)} for f in figures for a in f.ai],
        "prices": str(prices) if prices else None,
    }
