"""Which phases may run on execution nodes (the hosts' `aidevops_execution_node`).

A phase whose hosts are reached in more than one way (through two nodes, or through a node and from here)
runs once per way, each run its own controller. A role that generates secrets on the controller and saves
them in the inventory (`vault_file` in its declaration) would then make different secrets in each run for the
same service, and only one set would be kept: such a phase is refused before anything runs. Through a single
node it is fine: the secrets the node saved come back into the inventory (run/remote.py).
"""

from __future__ import annotations

from orchestrator.errors import BadInput
from orchestrator.request import DeploymentRequest
from orchestrator.request.execution_node import routes


def check_nodes(request: DeploymentRequest, phases) -> None:
    """phases: the plan's Phase records; only those that will run are checked (not left out by `--only`, not
    kept by a resume)."""
    if all(h.node is None for h in request.hosts):
        return
    for phase in phases:
        runs = phase.selected and phase.kept is None
        service = phase.agent.declaration.service if runs and phase.agent.declaration else None
        if service is None or not service.vault_file:
            continue
        hosts = [h for h in request.hosts if phase.hosts is None or h.name in phase.hosts]
        ways = routes(hosts, request.inventory)
        if len(ways) > 1:
            named = [f"the execution node {route.node.label}" if route else "this machine" for route in ways]
            raise BadInput(
                f"phase {phase.id} would run on {' and '.join(named)} for its hosts, and each would generate its "
                f"own secrets for {service.name} (saved in group_vars/all/{service.vault_file})",
                where=str(request.inventory / "hosts.yml"),
                hint=f"reach every host of {phase.id} the same way: all behind one node (and one SSH key), or none")
