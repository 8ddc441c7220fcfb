import os
import sys
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
