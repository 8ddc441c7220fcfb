"""The hosts' facts that `placement: auto` places by: memory, cores and the free space of `/`.

One run of playbooks/facts.yml (Ansible's `setup`, hardware subset only) per way the hosts are reached: from
here, or through their execution node (remote.py), as a phase is, in a scratch folder removed afterwards; the
facts are read from the runner's events.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from orchestrator.errors import EnvironmentProblem
from orchestrator.plan.auto import HostFacts
from orchestrator.request import DeploymentRequest
from orchestrator.request.execution_node import routes
from orchestrator.run import remote
from orchestrator.run.runner import run_playbook

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
    scratch = Path(tempfile.mkdtemp(prefix="aidevops-facts-"))
    events: queue.Queue = queue.Queue()
    try:
        for i, (route, hosts) in enumerate(routes(request.hosts, request.inventory).items()):
            run_playbook(phase="facts", playbook=PLAYBOOK, inventory=request.inventory,
                         private_data_dir=scratch / f"{i:02d}", events=events, cancel=threading.Event(),
                         limit=",".join(hosts), node=route, transport=transport)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    found: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    while not events.empty():
        _, raw = events.get()
        data = raw.get("event_data") or {}
        host, res = data.get("host"), data.get("res") or {}
        if raw.get("event") == "runner_on_ok" and host:
            found[host] = res.get("ansible_facts") or {}
        elif raw.get("event") in ("runner_on_failed", "runner_on_unreachable") and host:
            failed[host] = str(res.get("msg") or raw.get("event"))[:200]
    missing = [h.name for h in request.hosts if h.name not in found]
    if missing:
        why = "; ".join(f"{h}: {failed.get(h, 'no answer')}" for h in missing)
        raise EnvironmentProblem(f"placement auto needs every host's facts, and these did not answer: {why}",
                                 hint="check that the hosts are reachable (aidevops plan shows the inventory), or "
                                      "place the services with inventory groups (placement: groups)")
    return [host_facts(h.name, found[h.name]) for h in request.hosts]
