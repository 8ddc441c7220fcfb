"""A thin wrapper over the docker CLI, and starting dockerd when it is not running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from orchestrator.errors import EnvironmentProblem


class DockerError(EnvironmentProblem):
    pass


def docker(*args: str, check: bool = True, input: bytes | None = None, timeout: float | None = 600) -> str:
    """Run `docker ARGS` and return its stdout; a failure becomes one clear error."""
    exe = shutil.which("docker")
    if exe is None:
        raise DockerError("the docker CLI is not installed", hint="apt-get install docker.io")
    proc = subprocess.run(
        [exe, *args], input=input, capture_output=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise DockerError(f"docker {args[0]} failed: {err[-1] if err else 'exit ' + str(proc.returncode)}")
    return proc.stdout.decode(errors="replace")


def engine_running() -> bool:
    try:
        docker("info", "--format", "{{.ServerVersion}}", timeout=20)
        return True
    except (DockerError, subprocess.TimeoutExpired):
        return False


def ensure_engine(log_file: Path, wait_seconds: float = 60) -> None:
    """Start dockerd in the background when no engine answers (as root only), and wait for it."""
    if engine_running():
        return
    dockerd = shutil.which("dockerd") or ("/usr/sbin/dockerd" if Path("/usr/sbin/dockerd").exists() else None)
    if dockerd is None:
        raise DockerError(
            "no Docker engine is running and dockerd is not installed", hint="apt-get install docker.io"
        )
    if os.geteuid() != 0:
        raise DockerError("no Docker engine is running", hint="start it (systemctl start docker) or run as root")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        subprocess.Popen([dockerd], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if engine_running():
            return
        time.sleep(1)
    raise DockerError(f"dockerd did not answer within {wait_seconds:.0f}s", hint=f"see {log_file}")


def image_exists(name: str) -> bool:
    return bool(docker("images", "-q", name).strip())


def inspect(kind: str, name: str) -> dict | None:
    out = docker(kind, "inspect", name, check=False)
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return None
    return data[0] if data else None
