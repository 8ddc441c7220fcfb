"""The hosts' facts that `placement: auto` places by: memory, cores and the free space of `/`.

One ad hoc `setup` run (hardware subset only) through ansible-runner over the inventory, in a scratch folder
that is removed afterwards; its facts are read from the runner's events.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from orchestrator.errors import EnvironmentProblem
from orchestrator.plan.auto import HostFacts
from orchestrator.request import DeploymentRequest
from orchestrator.run.runner import control_dir, runner_env


def host_facts(name: str, facts: dict[str, Any]) -> HostFacts:
    """HostFacts from Ansible's `ansible_facts` of one host."""
    mounts = facts.get("ansible_mounts") or []
    root = next((m for m in mounts if m.get("mount") == "/"), None)
    free = (root or {}).get("size_available") or 0
    return HostFacts(name, int(facts.get("ansible_memtotal_mb") or 0), int(facts.get("ansible_processor_vcpus") or 0),
                     round(free / 1e9, 1))


def gather(request: DeploymentRequest) -> list[HostFacts]:
    """Every host's facts, in inventory order; one clear error naming the hosts that could not be asked."""
    import ansible_runner  # slow to import: only placement auto needs it here

    scratch = Path(tempfile.mkdtemp(prefix="aidevops-facts-"))
    found: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}

    def on_event(raw: dict[str, Any]) -> bool:
        data = raw.get("event_data") or {}
        host, res = data.get("host"), data.get("res") or {}
        if raw.get("event") == "runner_on_ok" and host:
            found[host] = res.get("ansible_facts") or {}
        elif raw.get("event") in ("runner_on_failed", "runner_on_unreachable") and host:
            failed[host] = str(res.get("msg") or raw.get("event"))[:200]
        return False  # nothing of it is kept: the folder goes

    try:
        ansible_runner.run(private_data_dir=str(scratch), inventory=str(request.inventory), host_pattern="all", module="ansible.builtin.setup", module_args="gather_subset=!all,hardware",
                           envvars={**runner_env(request.inventory), "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir())},
                           event_handler=on_event, quiet=True, settings={"suppress_ansible_output": True})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    missing = [h.name for h in request.hosts if h.name not in found]
    if missing:
        why = "; ".join(f"{h}: {failed.get(h, 'no answer')}" for h in missing)
        raise EnvironmentProblem(f"placement auto needs every host's facts, and these did not answer: {why}",
                                 hint="check that the hosts are reachable (aidevops plan shows the inventory), or "
                                      "place the services with inventory groups (placement: groups)")
    return [host_facts(h.name, found[h.name]) for h in request.hosts]
