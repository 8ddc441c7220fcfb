"""No secret of the run leaves in clear: after the sandbox stack's runs (the first run, the AI recovery run,
the idempotent re-run) and one more run whose decisions go to the fake Anthropic server, every file under the
inventory's state folder (artifacts, ansible-runner events, run logs, the SQLite store and its WAL, AI cache,
reports), every prompt the model was sent and every line printed on the terminal is searched for every secret
value of the inventory, plain, base64- and URL-encoded: there must be none.

Left out, on purpose: the vault files themselves (encrypted), the vault password file, a report written with
`--reveal`, which a user asks for to see the credentials, and the sandbox's own key folder
(`.aidevops/sandbox/`, mode 0600 files: the TSIG key it generated for its DNS server and handed to the vault,
its SSH and CA keys), which is where those credentials are made, not something a run wrote.
"""

import base64
import json
import os
import subprocess
import sys
from urllib.parse import quote

import pytest

from orchestrator import vault
from orchestrator.state import StateDir
from tests.conftest import ROOT
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.model_server import tool_call

pytestmark = pytest.mark.integration


def forms(secret: str) -> dict[str, bytes]:
    """How a secret could leak: as itself, base64-encoded (a basic-auth header, a k8s-style value), URL-encoded."""
    out = {"plain": secret.encode(), "base64": base64.b64encode(secret.encode()),
           "urlsafe-base64": base64.urlsafe_b64encode(secret.encode()).rstrip(b"=")}
    if quote(secret, safe="") != secret:
        out["url-encoded"] = quote(secret, safe="").encode()
    return out


def answer(body: dict):
    tool = body["tool_choice"]["name"]
    if tool == "tactical":
        return tool_call({"variables": {}, "reason": "the defaults suit a sandbox", "confidence": 0.8})
    if tool == "optimization":
        return tool_call({"suggestions": [], "reason": "nothing to add"})
    if tool == "recovery":
        return tool_call({"action": "abort", "reason": "not expected here", "confidence": 0.1})
    return tool_call({"strategy": "hybrid", "max_parallel": 2, "reason": "as planned"})


def test_no_secret_in_any_artifact_log_row_prompt_report_or_output(stack, first_run):
    inv, _, _ = stack
    assert first_run.returncode == 0, first_run.stdout[-3000:]
    with FakeAnthropic(handler=answer) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "AIDEVOPS_AI"))}
        env.update(ANTHROPIC_API_KEY=fake.api_key, ANTHROPIC_BASE_URL=fake.base_url)
        r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv),
                            "--only", "n8n,report", "--ai", "anthropic", "--plain"],
                           capture_output=True, text=True, timeout=1200, cwd=ROOT, env=env)
        prompts = [json.dumps(q.body).encode() for q in fake.requests if q.body]
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert prompts, "the run sent the model nothing: the search below would prove little"

    # The secrets the roles generated are saved encrypted (the sandbox inventory has a vault password).
    saved = sorted((inv / "group_vars").rglob("vault_*.yml"))
    assert saved and [p.name for p in saved if not p.read_text().startswith("$ANSIBLE_VAULT;")] == []
    secrets = [s for s in set(vault.secret_values(inv)) if len(s) >= 6]  # what the redactor masks, too
    assert len(secrets) >= 3, "the sandbox inventory should hold the vault's generated secrets"
    state = StateDir(inv).root
    files = [p for p in state.rglob("*") if p.is_file() and ".revealed." not in p.name
             and not p.is_relative_to(StateDir(inv).sandbox)]
    assert any(p.name == "aidevops.db" for p in files) and any(p.name.endswith(".json") for p in files)
    places: list[tuple[str, bytes]] = [(str(p.relative_to(inv)), p.read_bytes()) for p in files]
    places += [(f"prompt {i}", body) for i, body in enumerate(prompts)]
    places += [("first run's terminal", (first_run.stdout + first_run.stderr).encode()),
               ("this run's terminal", (r.stdout + r.stderr).encode())]

    leaks = [f"{where}: {name} form of a secret starting {secret[:2]!r}"
             for where, data in places for secret in secrets for name, form in forms(secret).items()
             if form in data]
    assert leaks == [], "\n".join(leaks[:20])
