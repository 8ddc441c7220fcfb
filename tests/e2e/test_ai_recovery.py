"""A recovery decision fixes an injected failure on the deployed sandbox stack.

The inventory sets a bad, non-critical variable (nginx_proxy_connect_timeout: "ten", as a template, since a
plain bad value is refused before the run), so the nginx_proxy role's argument check fails. `aidevops run --only nginx_proxy --ai anthropic` asks the fake Anthropic
server (ANTHROPIC_BASE_URL, the real SDK and wire format); it answers the recovery request with "retry
with adjusted variables" (the default, 10) only if the failure it was sent names the variable. The retry
passes, the run succeeds and the decision is recorded. The bad setting is removed afterwards; the value
applied is the role's default, so the host is as before.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.model_server import tool_call

pytestmark = pytest.mark.integration


def answer(body: dict):
    """The fake model: answers each decision by its forced tool, reading the failure it was sent."""
    tool = body["tool_choice"]["name"]
    prompt = json.dumps(body["messages"])
    if tool == "recovery":
        if "nginx_proxy_connect_timeout" in prompt:
            return tool_call({"action": "retry_with_variables", "variables": {"nginx_proxy_connect_timeout": 10},
                              "backoff_seconds": 0, "confidence": 0.9,
                              "reason": "nginx_proxy_connect_timeout is not a number; 10 is the role's default"})
        return tool_call({"action": "abort", "reason": "not understood", "confidence": 0.1})
    if tool == "tactical":
        return tool_call({"variables": {}, "reason": "the defaults suit a sandbox", "confidence": 0.8})
    if tool == "optimization":
        return tool_call({"suggestions": [{"area": "nginx_proxy", "suggestion": "drop the bad timeout",
                                           "reason": "it needed a retry"}], "reason": "one recovery"})
    return tool_call({"strategy": "hybrid", "max_parallel": 2, "reason": "as planned"})


def test_a_recovery_decision_fixes_an_injected_failure(stack, first_run):
    inv, _, _ = stack
    assert first_run.returncode == 0, first_run.stdout[-3000:] + first_run.stderr[-3000:]
    bad = inv / "group_vars/all/ai_e2e.yml"
    try:
        # Written plainly, the bad value is refused before anything runs (the role's argument specs)...
        bad.write_text("nginx_proxy_connect_timeout: ten\n")
        refused = subprocess.run([sys.executable, "-m", "orchestrator.cli", "plan", "--inventory", str(inv)],
                                 capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert refused.returncode == 2 and "nginx_proxy_connect_timeout" in refused.stderr, refused.stderr
        # ...so the failure is injected as a template, whose value only Ansible knows, at run time.
        bad.write_text("nginx_proxy_connect_timeout: \"{{ 'ten' }}\"\n")
        with FakeAnthropic(handler=answer) as fake:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "AIDEVOPS_AI"))}
            env.update(ANTHROPIC_API_KEY=fake.api_key, ANTHROPIC_BASE_URL=fake.base_url)
            r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv),
                                "--only", "nginx_proxy", "--ai", "anthropic", "--plain"],
                               capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
            tools = [q.body["tool_choice"]["name"] for q in fake.requests if q.body]
    finally:
        bad.unlink(missing_ok=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "recovery 1/2 by anthropic: retry_with_variables" in out
    assert "recovered by retry_with_variables" in out
    assert tools.count("recovery") == 1 and "tactical" in tools

    shown = json.loads(subprocess.run([sys.executable, "-m", "orchestrator.cli", "runs", "show", "--inventory",
                                       str(inv), "--json"], capture_output=True, text=True, cwd=ROOT).stdout)
    assert shown["run"]["status"] == "succeeded"
    assert {p["phase"]: p["status"] for p in shown["phases"]}["nginx_proxy"] == "succeeded"
    assert any("nginx_proxy_connect_timeout" in (f["message"] or "") for f in shown["failures"])
    assert shown["ai"]["fallbacks"] == 0 and shown["ai"]["tokens_in"] > 0

    decisions = json.loads(subprocess.run([sys.executable, "-m", "orchestrator.cli", "decisions", "--inventory",
                                           str(inv), "--json"], capture_output=True, text=True, cwd=ROOT).stdout)
    rec = next(d for d in decisions["decisions"] if d["decision_type"] == "recovery")
    assert rec["provider"] == "anthropic" and rec["agent_id"] == "nginx_proxy" and rec["request_id"]
    assert rec["decision"]["variables"] == {"nginx_proxy_connect_timeout": 10}
