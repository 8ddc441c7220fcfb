"""A small playbook asked of hosts before or after a run, for what it answers (facts, fingerprints).

It runs once per way the hosts are reached (from here, or through their execution node, remote.py), as a phase
does, in a scratch folder removed afterwards; each host's answer is the result of its last task, read from the
runner's events.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from orchestrator.request import DeploymentRequest
from orchestrator.request.execution_node import routes
from orchestrator.request.model import Host
from orchestrator.run import remote
from orchestrator.run.runner import run_playbook


def ask(request: DeploymentRequest, playbook: str, hosts: list[Host] | None = None, *,
        extravars: dict[str, Any] | None = None,
        transport: remote.Transport = remote.over_ssh) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(host -> the result of its last task that succeeded, host -> why it did not answer) for the request's
    hosts, or only `hosts`."""
    scratch = Path(tempfile.mkdtemp(prefix="aidevops-probe-"))
    events: queue.Queue = queue.Queue()
    try:
        for i, (route, names) in enumerate(routes(hosts if hosts is not None else request.hosts,
                                                  request.inventory).items()):
            run_playbook(phase="probe", playbook=playbook, inventory=request.inventory,
                         private_data_dir=scratch / f"{i:02d}", events=events, cancel=threading.Event(),
                         extravars=extravars, limit=",".join(names), node=route, transport=transport)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    answers: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    while not events.empty():
        _, raw = events.get()
        data = raw.get("event_data") or {}
        host, res = data.get("host"), data.get("res") or {}
        if raw.get("event") == "runner_on_ok" and host:
            answers[host] = res
        elif raw.get("event") in ("runner_on_failed", "runner_on_unreachable") and host:
            failed[host] = str(res.get("msg") or raw.get("event"))[:200]
    return answers, failed
