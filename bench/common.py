"""What the stack benches share: an inventory and a sandbox of their own, `aidevops` timed as a user runs it,
and a phase of a recorded run replayed through bare ansible-playbook.

A bare replay runs the exact command line ansible-runner ran for the phase (its `artifacts/<phase>/command`:
the same playbook, inventory, extra variables and environment), without what ansible-runner adds to get the
events out (its stdout callback, its callback plugins folder, its fact cache in the artifacts). With
`defaults=True` it also drops the project's Ansible settings (ansible.cfg: pipelining, forks, gathering)
for Ansible's own defaults, keeping only what the roles need to be found and the vault to be opened.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.run import runner
from orchestrator.sandbox.hosts import Sandbox

# What ansible-runner puts into a phase's environment to collect its events; a bare run has none of it.
RUNNER_ONLY = ("ANSIBLE_STDOUT_CALLBACK", "ORIGINAL_STDOUT_CALLBACK", "ANSIBLE_CALLBACK_PLUGINS",
               "ANSIBLE_LOAD_CALLBACK_PLUGINS", "AWX_ISOLATED_DATA_DIR", "ANSIBLE_CACHE_PLUGIN",
               "ANSIBLE_CACHE_PLUGIN_CONNECTION", "AIDEVOPS_PHASE", "RUNNER_OMIT_EVENTS", "RUNNER_ONLY_FAILED_EVENTS")
# The project's own Ansible settings, dropped for a run with Ansible's defaults (ANSIBLE_CONFIG is replaced).
PROJECT_SETTINGS = ("ANSIBLE_SSH_CONTROL_PATH_DIR", "ANSIBLE_NOCOLOR", "ANSIBLE_RETRY_FILES_ENABLED")


def set_vars(path: Path, comment: str, **values: str) -> None:
    """Top-level variables of a group_vars file set to VALUES (a line of the same key replaced, not doubled)."""
    kept = [line for line in path.read_text().splitlines() if line.split(":", 1)[0] not in values]
    path.write_text("\n".join([*kept, "", f"# {Path(sys.argv[0]).name}: {comment}",
                               *(f"{key}: {value}" for key, value in values.items()), ""]))


def make_inventory(folder: Path, level: str = "baseline") -> Path:
    """The sandbox's group_vars (without vault files) at security LEVEL, with no self-signed fallback (a failed
    ACME issuance then fails the figure instead of hiding in a degraded run)."""
    inv = folder / "inventory"
    shutil.copytree(ROOT / "inventories/sandbox/group_vars", inv / "group_vars",
                    ignore=shutil.ignore_patterns("vault_*.yml"))
    settings = inv / "group_vars/all"
    set_vars(settings / "base_server.yml", "the level measured.", base_server_security_level=level)
    set_vars(settings / "nginx_proxy.yml", "a failed ACME issuance fails the run rather than degrading it.",
             nginx_proxy_allow_self_signed="false")
    return inv


def aidevops(*args: str, timeout: float = 1800, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False, env={**os.environ, **(env or {})})


def timed(argv: list[str], *, log: Path, env: dict | None = None, cwd: Path = ROOT) -> tuple[int, float]:
    """argv run to its end with its output in log; (exit code, wall seconds)."""
    with log.open("w") as out:
        t0 = time.monotonic()
        code = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False).returncode
        return code, time.monotonic() - t0


def timed_aidevops(*args: str, log: Path, env: dict | None = None) -> tuple[int, float]:
    """One `aidevops` command as a user runs it (a fresh interpreter, imports and all), timed."""
    return timed([sys.executable, "-m", "orchestrator.cli", *args], log=log, env={**os.environ, **(env or {})})


def last_run(inv: Path, run_id: str | None = None) -> dict:
    """`aidevops runs show --json` of the inventory's latest run (or run_id)."""
    r = aidevops("runs", "show", *([run_id] if run_id else []), "--json", "--inventory", str(inv))
    if r.returncode != 0:
        sys.exit(f"{Path(sys.argv[0]).name}: `aidevops runs show` failed: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout)


def check_run(code: int, log: Path, what: str) -> None:
    """A benchmark of a failed run measures nothing: stop with the run's last lines."""
    if code not in (0, 3):
        tail = "\n".join(log.read_text().splitlines()[-40:])
        sys.exit(f"{Path(sys.argv[0]).name}: {what} exited {code}; last lines:\n{tail}")


@dataclass(frozen=True)
class PhaseCommand:
    phase: str
    argv: list[str]
    cwd: str
    env: dict[str, str]


def phase_commands(run: dict, phases: list[str] | None = None) -> list[PhaseCommand]:
    """The ansible-playbook command line of each host-side phase of a recorded run (`last_run`), in the order
    they ran; only `phases` when given."""
    found = []
    for p in sorted(run["phases"], key=lambda p: p.get("started_at") or ""):
        command = Path(p.get("artifact_dir") or "/nonexistent") / "command"
        if (phases is None or p["phase"] in phases) and command.is_file():
            data = json.loads(command.read_text())
            found.append(PhaseCommand(p["phase"], data["command"], data["cwd"], data["env"]))
    return found


def bare_env(command: PhaseCommand, control_dir: Path, *, defaults: bool, empty_cfg: Path) -> dict[str, str]:
    env = {k: v for k, v in command.env.items()
           if k not in RUNNER_ONLY and not (defaults and k in PROJECT_SETTINGS)}
    if defaults:
        env["ANSIBLE_CONFIG"] = str(empty_cfg)  # found first: the project's ansible.cfg is not read
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(control_dir)  # the bench's own, closed after the run
    return env


def bare_run(commands: list[PhaseCommand], *, log_dir: Path, defaults: bool = False) -> float:
    """The phases' playbooks one after another through bare ansible-playbook; the seconds they took in all.
    A failed one stops the bench (check_run)."""
    with tempfile.TemporaryDirectory(prefix="aidevops-bench-") as tmp:
        empty_cfg = Path(tmp) / "ansible.cfg"
        empty_cfg.write_text("# Ansible's defaults\n")
        control = Path(tmp) / "cp"
        control.mkdir()
        total = 0.0
        try:
            for c in commands:
                log = log_dir / f"bare-{c.phase}.log"
                code, seconds = timed(c.argv, log=log, cwd=Path(c.cwd),
                                      env=bare_env(c, control, defaults=defaults, empty_cfg=empty_cfg))
                check_run(code, log, f"bare ansible-playbook of {c.phase}")
                total += seconds
        finally:
            # Its SSH connections are closed after it, as `aidevops run` closes its own: no run starts
            # with another's warm connections.
            runner.kill_control_masters(control)
        return total


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


@dataclass
class Stack:
    """Where a stack bench runs: a sandbox of its own (made by the bench, removed after it), or a deployed one
    given with --inventory (used as it is: no host made, made fresh or removed)."""
    inventory: Path
    box: Sandbox
    work: Path  # the bench's logs and, for its own sandbox, its inventory
    given: bool


def stack_options(ap) -> None:
    """The options that say where a stack bench runs."""
    ap.add_argument("--prefix", default="aidevops-bench-stack", help="Docker name prefix of the sandbox")
    ap.add_argument("--inventory", type=Path,
                    help="a deployed sandbox inventory to use instead of a sandbox of the bench's own (with "
                         "--prefix its sandbox's prefix): nothing is created or removed there, so the figures "
                         "are not those of the goal; for checking the script on small inputs")


def open_stack(args, name: str) -> Stack:
    """The bench's sandbox as args say (stack_options); a given inventory that is not a deployed sandbox stops
    the bench with what to give instead."""
    work = Path(tempfile.mkdtemp(prefix=f"aidevops-bench-{name}-"))
    if args.inventory is None:
        inv = make_inventory(work)
        return Stack(inv, Sandbox(inv, prefix=args.prefix), work, given=False)
    inv = args.inventory.resolve()
    box = Sandbox(inv, prefix=args.prefix)
    if not (inv / "hosts.yml").is_file() or not any(h.state == "running" for h in box.status()):
        shutil.rmtree(work, ignore_errors=True)
        sys.exit(f"{Path(sys.argv[0]).name}: --inventory {inv}: no running sandbox host with the prefix "
                 f"{args.prefix!r} belongs to it; give a deployed sandbox inventory and its --prefix")
    return Stack(inv, box, work, given=True)


def close_stack(stack: Stack, *, keep: bool = False) -> None:
    """The bench's own sandbox removed (or kept, keep); a given one left as it was. Its logs go either way."""
    if stack.given:
        shutil.rmtree(stack.work, ignore_errors=True)
    else:
        leave_sandbox(stack.box, stack.inventory, stack.work, keep=keep)


def leave_sandbox(box, inv: Path, work: Path, *, keep: bool) -> None:
    """The bench's sandbox and its folder removed, or (keep) left up with how to remove them."""
    if keep:
        print(f"\nkept: the sandbox '{box.prefix}' and its inventory {inv} "
              f"(remove: aidevops sandbox down --inventory {inv} --prefix {box.prefix})")
        return
    box.down(log=lambda m: None)
    shutil.rmtree(work, ignore_errors=True)


def fresh_sandbox(stack: Stack, *, preload_images: bool = True) -> float:
    """The bench's sandbox made anew (one host, BIND and pebble beside it); the seconds it took. A given one is
    left as it is (0 s)."""
    if stack.given:
        return 0.0
    box = stack.box
    box.down(log=lambda m: None)
    t0 = time.monotonic()
    box.up(hosts=1, services=True, preload_images=preload_images, log=lambda m: None)
    return time.monotonic() - t0


def only_args(only: str | None) -> list[str]:
    """`aidevops run`'s arguments for a bench's --only (none without it)."""
    return ["--only", only] if only else []


def deploy(inv: Path, log: Path, *args: str, what: str = "aidevops run") -> float:
    """`aidevops run ARGS` on the inventory, timed; a failed run stops the bench."""
    code, seconds = timed_aidevops("run", "--inventory", str(inv), "--plain", *args, log=log)
    check_run(code, log, what)
    return seconds


def changed_tasks(run: dict) -> int:
    """How many task results of a recorded run (`last_run`) changed something, over its phases and hosts."""
    return sum(row.get("changed") or 0 for row in run.get("host_stats", []))


def tls_status(port: int, hostname: str, cafile: Path, path: str = "/healthz") -> int | None:
    """The HTTP status of GET https://HOSTNAME/PATH sent to 127.0.0.1:PORT, the certificate verified against
    CAFILE; None while that does not work yet (nothing listening, no certificate, a self-signed one)."""
    import socket
    import ssl
    try:
        ctx = ssl.create_default_context(cafile=str(cafile))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=hostname) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {hostname}\r\nConnection: close\r\n\r\n".encode())
            head = tls.recv(64)
        return int(head.split(b" ", 2)[1])
    except (OSError, ValueError, IndexError, ssl.SSLError):
        return None


def machine() -> dict:
    """Where and when a figure was taken: the bench results keep it beside the figure."""
    import platform
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout.strip()
    mem_kib = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal:")), 0)
    try:
        from ansible.release import __version__ as ansible_core
    except ImportError:
        ansible_core = "?"
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit + ("+" if dirty else ""),
            "cores": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "kernel": platform.release(), "python": platform.python_version(), "ansible_core": ansible_core,
            "load_1min": round(os.getloadavg()[0], 2)}


def write_json(path: Path, data: dict) -> None:
    """A bench's figures as JSON, with the machine, date and commit they were taken on (bench/results.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, default=str) + "\n")
