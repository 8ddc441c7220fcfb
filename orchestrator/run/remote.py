"""A phase on an execution node: ansible-runner's own streaming protocol (the one AWX runs over Receptor),
carried over SSH.

    this machine                                 the node (over ssh)
    transmit: the job and its private data  ───▶ WORKER_SCRIPT ─▶ ansible-runner worker ─▶ ansible-playbook
    process:  events, status, artifacts     ◀─── (its stdout)                                  │
                                                                                  the hosts ◀──┘
The transmitted private data dir is staged in a temporary folder, removed as soon as the phase ends: it holds
the playbooks and roles (project/), a copy of the inventory folder without its hidden entries (no state
folder, vault password file or .ssh keys), the vault password as a file of its own, and in env/ the run's
settings and the hosts' SSH key (ansible-runner loads it into an ssh-agent on the node). `process` writes the
events and artifacts into the phase's private data dir and calls the event handler, exactly as a local run
does; no key or password is ever written there.

The inventory's copy sits inside the job's artifact folder, which the worker sends back when the playbook
ends: so what a role saves "on the controller" into the inventory (a service's generated secrets, encrypted
with the vault password, in group_vars/) comes back too, and is written into the real inventory here; the
returned copy is then removed from the artifacts.

On the node, WORKER_SCRIPT runs the worker in a temporary folder and removes it when the worker ends. Our
stdin stays open for the whole run: closing it is the cancel (the script sends the worker SIGTERM, which
ansible-runner turns into a cancelled run that still sends its events and artifacts back), and a dropped
connection closes it too, so a lost controller never leaves a playbook running on a node.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import atomic, project, vault
from orchestrator.request.execution_node import ExecutionNode, Route

# How long the node may take to stop a cancelled run and send its artifacts back before ssh is killed.
CANCEL_GRACE = 30.0
VAULT_PASSWORD = "env/vault_password"  # in the transmitted private data dir; the script points Ansible at it
LOG_FILE = "node.log"  # in the phase's private data dir: what ssh and the node said on stderr

# Runs on the node under its `python` (sys.argv: ['-c', '--vault'?]). Standard library only, Python 3.8+.
WORKER_SCRIPT = r'''
import os, shutil, signal, subprocess, sys, tempfile, threading
GRACE = 20
env = dict(os.environ)
# ansible-runner finds ansible-playbook on PATH: this Python's bin/ first (a venv is not activated over ssh).
env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "/usr/bin:/bin")
try:
    import ansible_runner  # noqa: F401
except ImportError:
    sys.exit("ansible-runner is not installed for %s on this node (pip install ansible-runner ansible-core)"
             % sys.executable)
if not shutil.which("ansible-playbook", path=env["PATH"]):
    sys.exit("ansible-playbook is not beside %s nor on PATH on this node (pip install ansible-core)" % sys.executable)
work = tempfile.mkdtemp(prefix="aidevops-worker-")
marker = "AIDEVOPS_WORKER=" + work
env["AIDEVOPS_WORKER"] = work
# Ansible's SSH control masters outlive the playbook (ControlPersist): their sockets here, so they can be found.
control = os.path.join(work, "cp")
env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = control
if "--vault" in sys.argv[1:]:
    env["ANSIBLE_VAULT_PASSWORD_FILE"] = os.path.join(work, "env", "vault_password")
sys.stderr.write("aidevops worker in %s on %s\n" % (work, os.uname()[1]))
sys.stderr.flush()

def descendants():
    """Every process started for this job, found by its environment (ansible-playbook runs in a session of its
    own, so killing the worker's process group would not reach it), and the SSH control masters by their
    title (an ssh master writes its title over its environment)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                mine = marker.encode() in f.read().split(b"\0")
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                mine = mine or f.read().startswith(("ssh: %s/" % control).encode())
            if mine:
                found.append(int(pid))
        except OSError:
            pass
    return found

worker = subprocess.Popen([sys.executable, "-m", "ansible_runner", "worker", "--private-data-dir", work],
                          stdin=subprocess.PIPE, env=env, start_new_session=True)

def stop():
    """SIGTERM is ansible-runner's cancel: it stops ansible-playbook and still sends the artifacts back."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            pass
    for pid in descendants():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

def feed():
    """The controller's stream goes to the worker. When it ends while the worker still runs, the controller
    cancelled or its connection dropped: stop the job."""
    try:
        while True:
            chunk = os.read(0, 65536)
            if not chunk:
                break
            worker.stdin.write(chunk)
            worker.stdin.flush()
    except OSError:
        pass
    stop()

for number in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(number, lambda *_: threading.Thread(target=stop, daemon=True).start())
threading.Thread(target=feed, daemon=True).start()
try:
    rc = worker.wait()
    for pid in descendants():  # a task's process that outlived ansible-playbook
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
finally:
    shutil.rmtree(work, ignore_errors=True)
sys.stderr.write("aidevops worker removed %s\n" % work)
sys.exit(rc)
'''

Transport = Callable[[ExecutionNode, list[str]], list[str]]


def over_ssh(node: ExecutionNode, remote: list[str]) -> list[str]:
    """ssh's command line that runs `remote` on the node. BatchMode: a missing key or an unknown host key fails
    at once instead of waiting for a password prompt nobody answers. No connection sharing: each phase's
    session is its own, so closing its stdin (the cancel) reaches exactly its worker."""
    options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=15",
               "-o", "ServerAliveCountMax=4", "-o", "ControlMaster=no", "-o", "ControlPath=none",
               "-p", str(node.port), "-l", node.user]
    if node.private_key_file is not None:
        options += ["-i", str(node.private_key_file), "-o", "IdentitiesOnly=yes"]
    if not node.host_key_checking:  # as the sandbox reaches its hosts: their host keys are new at every start
        options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    return ["ssh", *options, node.host, shlex.join(remote)]


@dataclass
class Streamed:
    status: str  # ansible-runner's, as the worker reported it: successful, failed, canceled, timeout, error
    rc: int | None
    artifact_dir: Path
    error: str = ""  # why the node did not run the playbook, when it did not
    brought_back: list[str] = field(default_factory=list)  # inventory files the run wrote, now written here


def stage(staging: Path, inventory: Path, copy: str, leave_out: set[Path]) -> None:
    """The private data dir the worker gets: project/ (playbooks, roles beside them, ansible.cfg) and, at
    `copy`, the inventory folder without its hidden entries and without the key files in leave_out."""
    root = project.project_root()
    shutil.copytree(project.playbooks_dir(), staging / "project", ignore=shutil.ignore_patterns("__pycache__"))
    if project.roles_dir().is_dir():
        shutil.copytree(project.roles_dir(), staging / "project" / "roles",
                        ignore=shutil.ignore_patterns("__pycache__", "molecule"))
    if (root / "ansible.cfg").is_file():
        shutil.copy2(root / "ansible.cfg", staging / "project" / "ansible.cfg")
    skipped = {p.resolve() for p in leave_out}

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder).resolve() == inventory.resolve()
        return {n for n in names if (top and n.startswith(".")) or (Path(folder, n).resolve() in skipped)}

    shutil.copytree(inventory, staging / copy, ignore=ignore, ignore_dangling_symlinks=True)


def bring_back(sent: Path, returned: Path, inventory: Path) -> list[str]:
    """Files of the inventory's vars (group_vars/, host_vars/) that the run on the node wrote into its copy
    (`returned`: as the artifacts brought it back; `sent`: as it was staged), written into `inventory`; the
    returned copy is then removed. Their paths, relative to the inventory."""
    written: list[str] = []
    if not returned.is_dir():
        return written
    for path in sorted(returned.rglob("*")):
        rel = path.relative_to(returned)
        if path.is_symlink() or not path.is_file() or rel.parts[0] not in ("group_vars", "host_vars"):
            continue
        data = path.read_bytes()
        if (sent / rel).is_file() and (sent / rel).read_bytes() == data:
            continue
        (inventory / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(inventory / rel, data, mode=0o600)  # whole or not at all: it may hold every secret
        written.append(str(rel))
    shutil.rmtree(returned)
    return written


def _envvars() -> dict[str, str]:
    """The worker's Ansible settings. Relative paths: ansible-playbook runs in project/ on the node."""
    env = {"ANSIBLE_ROLES_PATH": "roles", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0"}
    if (project.project_root() / "ansible.cfg").is_file():
        env["ANSIBLE_CONFIG"] = "ansible.cfg"
    return env


def stream(route: Route, *, ident: str, playbook: str, inventory: Path, private_data_dir: Path,
           on_event: Callable[[dict[str, Any]], bool], cancel: threading.Event, extravars: dict[str, Any],
           limit: str | None, cmdline: str | None, marker_env: dict[str, str],
           transport: Transport = over_ssh) -> Streamed:
    """Run one playbook on route's node; events reach on_event, artifacts land in private_data_dir."""
    import ansible_runner  # slow to import: only runs need it

    node = route.node
    private_data_dir.mkdir(parents=True, exist_ok=True)
    artifact_dir = private_data_dir / "artifacts" / ident
    copy = f"artifacts/{ident}/inventory"  # where the artifacts bring back what the run writes into it
    extravars = dict(extravars)
    key = None
    if route.key is not None:
        key = route.key.read_text()
        # The hosts' key file is a path on this machine: on the node the key is in ssh-agent instead.
        extravars.update(ansible_ssh_private_key_file="", ansible_private_key_file="")
    password = vault.password_file(inventory)
    remote = [node.python, "-c", WORKER_SCRIPT] + (["--vault"] if password else [])
    statuses: list[dict[str, Any]] = []

    with open(private_data_dir / LOG_FILE, "ab") as log, \
            tempfile.TemporaryDirectory(prefix="aidevops-transmit-") as staging_name:
        staging = Path(staging_name)
        stage(staging, inventory, copy, {p for p in (route.key, node.private_key_file) if p is not None})
        if password:
            (staging / "env").mkdir(mode=0o700)
            secret = staging / VAULT_PASSWORD
            secret.touch(mode=0o600)
            secret.write_bytes(password.read_bytes().strip() + b"\n")
        try:
            # Its own session: the terminal's Ctrl-C reaches the run's cancel, which stops the node gracefully.
            proc = subprocess.Popen(transport(node, remote), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=log, env={**os.environ, **marker_env}, start_new_session=True)
        except OSError as exc:  # no ssh client on this machine
            return Streamed("error", None, artifact_dir, f"execution node {node.label}: cannot start ssh: {exc}")
        watcher = threading.Thread(target=_cancel_when_asked, args=(proc, cancel), daemon=True)
        watcher.start()
        try:
            try:
                ansible_runner.run(
                    streamer="transmit", _output=proc.stdin, private_data_dir=str(staging),
                    playbook=playbook, inventory=str(staging / copy), ident=ident,
                    envvars=_envvars(), extravars=extravars, limit=limit, cmdline=cmdline,
                    ssh_key=key, settings={"suppress_ansible_output": True}, quiet=True,
                    cancel_callback=cancel.is_set,  # else ansible-runner takes over SIGINT in the main thread
                )
            except (BrokenPipeError, ValueError):  # ssh ended early (ValueError: its stdin closed by a cancel)
                pass
            # ssh's stdin stays open meanwhile: closing it is the cancel.
            r = ansible_runner.run(
                streamer="process", _input=proc.stdout, private_data_dir=str(private_data_dir), ident=ident,
                event_handler=on_event, status_handler=lambda data, runner_config: statuses.append(data),
                cancel_callback=cancel.is_set, quiet=True, settings={},
            )
        finally:
            _close(proc)
            watcher.join(timeout=1)
        brought_back = bring_back(staging / copy, private_data_dir / copy, inventory)
    status = r.status if r.status in ("successful", "failed", "canceled", "timeout") else "error"
    if cancel.is_set() and status != "successful":
        status = "canceled"
    rc = _rc(artifact_dir)
    error = ""
    if status == "error":
        explanation = next((s.get("job_explanation") for s in reversed(statuses) if s.get("job_explanation")), "")
        said = _last_words(private_data_dir / LOG_FILE) or explanation or "the stream ended without a result"
        error = f"execution node {node.label}: {said}"
    return Streamed(status, rc, artifact_dir, error, brought_back)


def _cancel_when_asked(proc: subprocess.Popen, cancel: threading.Event) -> None:
    """On cancel, close the node's stdin (its cancel); kill ssh if the node has not finished in time."""
    while proc.poll() is None:
        if cancel.wait(0.5):
            _close(proc)
            return


def _close(proc: subprocess.Popen) -> None:
    """The stream has ended: let ssh finish, or stop it."""
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=CANCEL_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


def _rc(artifact_dir: Path) -> int | None:
    try:
        return int((artifact_dir / "rc").read_text().strip())
    except (OSError, ValueError):
        return None


def _last_words(log: Path) -> str:
    """The last line ssh or the node wrote on stderr that is not our own worker's note."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    said = [line for line in lines if line and not line.startswith("aidevops worker")]
    return said[-1][:300] if said else ""
