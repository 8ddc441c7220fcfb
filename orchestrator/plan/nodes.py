"""Which phases may run on an execution node (the hosts' `aidevops_execution_node`).

A node runs a phase as its own controller, on a copy of the inventory that is removed afterwards. A role that
saves what it generates into the inventory on the controller (a service's secrets, `vault_file` in its
declaration) would save them in that copy and lose them, and make new ones at the next run: such a phase is
refused before anything runs, until the node can hand such files back.
"""

from __future__ import annotations

from orchestrator.errors import BadInput
from orchestrator.request import DeploymentRequest


def check_nodes(request: DeploymentRequest, phases) -> None:
    """phases: the plan's Phase records; only those that will run are checked (not left out by `--only`, not
    kept by a resume). A check run (`aidevops check`) writes nothing and needs no check."""
    behind = {h.name: h.node for h in request.hosts if h.node is not None}
    if not behind:
        return
    for phase in phases:
        runs = phase.selected and phase.kept is None
        service = phase.agent.declaration.service if runs and phase.agent.declaration else None
        if service is None or not service.vault_file:
            continue
        hosts = [h for h in (behind if phase.hosts is None else phase.hosts) if h in behind]
        if hosts:
            raise BadInput(
                f"phase {phase.id} would run on the execution node {behind[hosts[0]].label} (host '{hosts[0]}'), "
                f"but its role saves the secrets it generates in this inventory (group_vars/all/"
                f"{service.vault_file}), which a node cannot write back",
                where=str(request.inventory / "hosts.yml"),
                hint=f"run {phase.id} from this machine: `aidevops_execution_node: null` on its hosts")
