import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


REQUEST = """\
aidevops:
  domain: example.com
  admin_email: ops@example.com
  services: [n8n, supabase]
  dns: {provider: cloudflare}
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """A valid inventory with one local host and the full request."""
    inv = tmp_path / "inv"
    write(inv / "hosts.yml", f"all:\n  hosts:\n    local-1:\n      ansible_connection: local\n"
                             f"      ansible_python_interpreter: {sys.executable}\n")
    write(inv / "group_vars/all/aidevops.yml", REQUEST)
    return inv


@pytest.fixture(autouse=True)
def no_model_keys(monkeypatch):
    """No test reaches a real model: with ANTHROPIC_API_KEY set, a run would choose Anthropic by default.
    Tests that want a provider point it at a loopback fake themselves."""
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "OPENAI_", "AIDEVOPS_AI")):
            monkeypatch.delenv(name)


def interrupt_at(proc: subprocess.Popen, inventory: Path, task: str, wait: float = 60, grace: float = 30
                 ) -> tuple[str, float]:
    """Ctrl-C (SIGINT) to a running `aidevops run` once its run log shows TASK; (its output, seconds from the
    signal to its end). The process is killed whatever happens."""
    try:
        deadline = time.monotonic() + wait
        log = None
        while time.monotonic() < deadline:  # wait until the task runs
            logs = list((inventory / ".aidevops/runs").glob("*/run.log.jsonl"))
            if logs and task in logs[0].read_text():
                log = logs[0]
                break
            time.sleep(0.2)
        assert log is not None, f"the run never reached {task}"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=grace)
        return out, time.monotonic() - started
    finally:
        proc.kill()
