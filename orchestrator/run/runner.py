"""The ansible-runner adapter: one phase = one playbook run in a fresh private data dir.

Events are handed to a queue and the handler returns at once (a slow handler can stall
ansible-runner into a pexpect timeout); cancelling is cooperative through cancel_callback.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import project, vault
from orchestrator.request.execution_node import Route
from orchestrator.run import remote

MARKER = "AIDEVOPS_PHASE"


def marked_processes(wanted) -> list[int]:
    """The pids of the processes whose MARKER value satisfies wanted(value)."""
    prefix = f"{MARKER}=".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            values = [v[len(prefix):].decode(errors="replace")
                      for v in (proc / "environ").read_bytes().split(b"\0") if v.startswith(prefix)]
            if values and wanted(values[0]):
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue  # gone already, or not ours to read
    return found


def _kill_marked(wanted) -> int:
    """SIGKILL every process whose MARKER value satisfies wanted(value); how many there were."""
    killed = 0
    for pid in marked_processes(wanted):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except OSError:
            continue  # gone already
    return killed


def kill_leftovers(marker: str) -> int:
    """SIGKILL every process whose environment carries MARKER=marker; how many there were."""
    return _kill_marked(lambda value: value == marker)


def control_dir(pid: int | None = None) -> Path:
    """The SSH control sockets of the run in process `pid` (default this one): short (a socket path has at most
    107 bytes) and the run's own, so that its control masters can be found and stopped when it ends."""
    return Path(tempfile.gettempdir()) / f"aidevops-cp-{pid or os.getpid()}"


def kill_control_masters(folder: Path) -> int:
    """SIGKILL the SSH control masters whose socket is in folder. Not by the marker: an ssh master rewrites its
    process title ('ssh: <socket> [mux]') over its environment, so /proc shows the marker no more."""
    title = f"ssh: {folder}/".encode()
    killed = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "cmdline").read_bytes().startswith(title):
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            continue
    shutil.rmtree(folder, ignore_errors=True)
    return killed


def kill_run_leftovers(folder: Path, pid: int | None = None) -> int:
    """SIGKILL what the phases under `folder` (a run's folder, or all runs') started from process `pid` (default
    this one) and left behind: ansible-playbook's workers, and the SSH control masters that ControlPersist keeps
    for a minute after a phase. How many there were."""
    start, end = f"{Path(folder).resolve()}/", f":{pid or os.getpid()}"
    return (_kill_marked(lambda value: value.startswith(start) and value.endswith(end))
            + kill_control_masters(control_dir(pid)))


@dataclass
class PhaseRun:
    status: str  # ansible-runner's: successful, failed, canceled, timeout
    rc: int | None
    artifact_dir: Path
    stats: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    # What the playbook handed back with set_stats (per_host: false): ansible-runner's callback puts it in the
    # playbook_on_stats event as artifact_data.
    custom_stats: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # why the playbook did not run at all (an execution node that could not be reached)
    brought_back: list[str] = field(default_factory=list)  # inventory files a run on a node wrote (remote.py)


def runner_env(inventory: Path | None = None) -> dict[str, str]:
    """The environment ansible-playbook runs in: our own bin/ first on PATH, project settings, the vault."""
    root = project.project_root()
    env = {
        "PATH": os.pathsep.join([str(project.venv_bin_dir()), os.environ.get("PATH", "")]),
        "ANSIBLE_ROLES_PATH": str(project.roles_dir()),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    }
    if (root / "ansible.cfg").exists():
        env["ANSIBLE_CONFIG"] = str(root / "ansible.cfg")
    pw = vault.password_file(inventory) if inventory else None
    if pw:
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(pw.resolve())
    return env


def run_playbook(
    *,
    phase: str,
    playbook: str,
    inventory: Path,
    private_data_dir: Path,
    events: queue.Queue,
    cancel: threading.Event,
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
    check: bool = False,
    node: Route | None = None,
    transport: remote.Transport = remote.over_ssh,
) -> PhaseRun:
    """One playbook run; on `node` (an execution node, through remote.py) when given, else on this machine.
    Either way the events reach `events` as they happen and the artifacts end in private_data_dir."""
    import ansible_runner  # imported here: it is slow to import and only runs need it

    private_data_dir.mkdir(parents=True, exist_ok=True)

    custom: dict[str, Any] = {}
    last_stats: dict[str, Any] = {}

    def on_event(raw: dict[str, Any]) -> bool:
        if raw.get("event") == "playbook_on_stats":
            data = raw.get("event_data") or {}
            custom.update(data.get("artifact_data") or {})
            last_stats.update(data)
        events.put((phase, raw))
        return True  # keep writing job_events/: `aidevops runs events` reads them later

    started = time.monotonic()
    # A marker in the environment of everything this phase starts: ansible-runner's cancel kills
    # ansible-playbook's process group, but its forked workers can outlive it.
    marker = f"{private_data_dir.resolve()}:{os.getpid()}"
    cmdline = "--check --diff" if check else None
    if node is not None:
        sent = remote.stream(node, ident=phase, playbook=playbook, inventory=inventory,
                             private_data_dir=private_data_dir, on_event=on_event, cancel=cancel,
                             extravars=extravars or {}, limit=limit, cmdline=cmdline, marker_env={MARKER: marker},
                             transport=transport)
        if sent.status in ("canceled", "timeout"):
            kill_leftovers(marker)  # the ssh client, if it outlived the grace
        return PhaseRun(status=sent.status, rc=sent.rc, artifact_dir=sent.artifact_dir,
                        stats=_stats(last_stats), duration=time.monotonic() - started, custom_stats=custom,
                        error=sent.error, brought_back=sent.brought_back)
    env = {**runner_env(inventory), MARKER: marker, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir())}
    r = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        project_dir=str(project.playbooks_dir()),
        playbook=playbook,
        inventory=str(inventory),
        ident=phase,
        envvars=env,
        extravars=extravars or {},
        limit=limit,
        cmdline=cmdline,
        event_handler=on_event,
        cancel_callback=cancel.is_set,
        quiet=True,
        settings={"suppress_ansible_output": True},
    )
    if r.status in ("canceled", "timeout"):
        kill_leftovers(marker)
    return PhaseRun(
        status=r.status, rc=r.rc, artifact_dir=Path(r.config.artifact_dir), stats=r.stats or {},
        duration=time.monotonic() - started, custom_stats=custom,
    )


def _stats(data: dict[str, Any]) -> dict[str, Any]:
    """Per-host counts of a playbook_on_stats event, as ansible-runner's Runner.stats gives them locally."""
    keys = ("skipped", "ok", "dark", "failures", "ignored", "rescued", "processed", "changed")
    return {k: data.get(k, {}) for k in keys} if data else {}


# Worst last: a phase split over several routes ends as its worst part.
_SEVERITY = ("successful", "timeout", "failed", "error", "canceled")


def merged(runs: list[PhaseRun], artifact_dir: Path) -> PhaseRun:
    """One PhaseRun for a phase that ran as one playbook run per route (their private data dirs side by side
    in artifact_dir): the worst status, the first failing rc, every host's counts."""
    worst = max(runs, key=lambda r: _SEVERITY.index(r.status) if r.status in _SEVERITY else len(_SEVERITY))
    stats: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for r in runs:
        for key, per_host in r.stats.items():
            stats.setdefault(key, {}).update(per_host or {})
        custom.update(r.custom_stats)
    return PhaseRun(status=worst.status, rc=next((r.rc for r in runs if r.rc), worst.rc), artifact_dir=artifact_dir,
                    stats=stats, duration=max(r.duration for r in runs), custom_stats=custom,
                    error="; ".join(r.error for r in runs if r.error),
                    brought_back=[f for r in runs for f in r.brought_back])
