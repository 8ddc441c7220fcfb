"""The hosts' facts that `placement: auto` places by: memory, cores and the free space of `/`.

playbooks/facts.yml (Ansible's `setup`, hardware subset only) asked of every host through probe.py, from here
or through their execution node, as a phase runs.
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import EnvironmentProblem
from orchestrator.plan.auto import HostFacts
from orchestrator.request import DeploymentRequest
from orchestrator.run import probe, remote

PLAYBOOK = "facts.yml"


def host_facts(name: str, facts: dict[str, Any]) -> HostFacts:
    """HostFacts from Ansible's `ansible_facts` of one host."""
    mounts = facts.get("ansible_mounts") or []
    root = next((m for m in mounts if m.get("mount") == "/"), None)
    free = (root or {}).get("size_available") or 0
    return HostFacts(name, int(facts.get("ansible_memtotal_mb") or 0), int(facts.get("ansible_processor_vcpus") or 0),
                     round(free / 1e9, 1))


def gather(request: DeploymentRequest, transport: remote.Transport = remote.over_ssh) -> list[HostFacts]:
    """Every host's facts, in inventory order; one clear error naming the hosts that could not be asked."""
    answers, failed = probe.ask(request, PLAYBOOK, transport=transport)
    missing = [h.name for h in request.hosts if h.name not in answers]
    if missing:
        why = "; ".join(f"{h}: {failed.get(h, 'no answer')}" for h in missing)
        raise EnvironmentProblem(f"placement auto needs every host's facts, and these did not answer: {why}",
                                 hint="check that the hosts are reachable (aidevops plan shows the inventory), or "
                                      "place the services with inventory groups (placement: groups)")
    return [host_facts(h.name, answers[h.name].get("ansible_facts") or {}) for h in request.hosts]
