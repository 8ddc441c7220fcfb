"""SSH into the sandbox hosts: the generated ed25519 key, installed for root, and the client options."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from orchestrator.errors import EnvironmentProblem
from orchestrator.sandbox import docker as d


class SandboxKey:
    def __init__(self, key_file: Path, comment: str):
        self.key_file, self.comment = key_file, comment

    def ensure(self) -> None:
        if self.key_file.exists():
            return
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        self.key_file.parent.chmod(0o700)
        proc = subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.comment, "-f", str(self.key_file)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise EnvironmentProblem(f"ssh-keygen failed: {proc.stderr.strip()}", hint="apt-get install openssh-client")

    def install(self, container: str) -> None:
        pub = self.key_file.with_suffix(".pub").read_bytes()
        d.docker(
            "exec", "-i", container, "sh", "-c",
            "umask 077; mkdir -p /root/.ssh; cat > /root/.ssh/authorized_keys", input=pub,
        )

    def wait_for_ssh(self, container: str, port: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            proc = subprocess.run(
                ["ssh", *self.options(), "-p", str(port), "root@127.0.0.1", "true"],
                capture_output=True, text=True, check=False, timeout=30,
            )
            if proc.returncode == 0:
                return
            last = proc.stderr.strip()
            time.sleep(1)
        raise EnvironmentProblem(f"{container}: SSH on 127.0.0.1:{port} did not answer: {last}")

    def options(self) -> list[str]:
        return [
            "-i", str(self.key_file), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
        ]
