"""`placement: auto` with an AI provider: the model proposes a host per service, held in code to the services'
declared needs and the hosts' facts (the same check as the offline planner's); an answer that does not fit
falls back to the offline placement, saying why. Through the real Anthropic SDK against a loopback server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from orchestrator.agents.declaration import Needs
from orchestrator.ai.choice import AISettings
from orchestrator.ai.planning import decide_placement, placement_maker
from orchestrator.plan.auto import HostFacts, auto_place, check_placement
from orchestrator.redact import Redactor
from orchestrator.request import load_request
from orchestrator.state import StateDir
from orchestrator.store import RunStore
from tests.conftest import ROOT, write
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.model_server import tool_call

NEEDS = {"n8n": Needs(1024, 1, 10), "supabase": Needs(4096, 2, 50)}
FACTS = [HostFacts("app-1", 2048, 2, 40.0), HostFacts("db-1", 8192, 4, 120.0)]
REQUEST = ("aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n, supabase]\n"
           "  dns: {provider: none}\n  placement: auto\n")


def test_a_proposal_that_fits_is_taken_with_its_reasons():
    placed, why = check_placement(NEEDS, FACTS, {"n8n": "db-1", "supabase": "db-1"}, by="AI anthropic")
    assert placed == {"n8n": ("db-1",), "supabase": ("db-1",)}
    # Counted in turn, largest first: n8n is judged against what Supabase left on db-1.
    assert why["n8n"] == ("auto (AI anthropic): db-1 has 4096 MB, 2 core(s), 70 GB left; n8n needs 1024 MB "
                          "memory, 1 core(s), 10 GB disk")


@pytest.mark.parametrize("proposal, kept, message", [
    ({"n8n": "db-1", "supabase": "app-1"}, None,
     "supabase does not fit on app-1 has 2048 MB, 2 core(s), 40 GB left; supabase needs 4096 MB memory"),
    ({"n8n": "app-9", "supabase": "db-1"}, None, "n8n: 'app-9' is not one of the hosts (app-1, db-1)"),
    ({"supabase": "db-1"}, None, "n8n: no host proposed"),
    ({"n8n": "app-1", "supabase": "db-1", "redis": "db-1"}, None, "redis is not a service of this deployment"),
    # What an earlier run keeps on a host counts first: db-1 has no room left for a second Supabase-sized need.
    ({"n8n": "app-1"}, {"supabase": ("db-1",)}, None),
])
def test_a_proposal_is_held_to_the_needs(proposal, kept, message):
    if message is None:
        placed, why = check_placement(NEEDS, FACTS, proposal, kept)
        assert placed == {"n8n": ("app-1",), "supabase": ("db-1",)} and why["supabase"].endswith("earlier run")
        return
    with pytest.raises(ValueError) as caught:
        check_placement(NEEDS, FACTS, proposal, kept)
    assert message in str(caught.value)


@pytest.fixture
def claude(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", fake.api_key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        yield fake


def decide(inventory, claude):
    write(inventory / "hosts.yml", "all:\n  hosts:\n    app-1:\n    db-1:\n")
    write(inventory / "group_vars/all/aidevops.yml", REQUEST)
    request = load_request(inventory)
    settings = AISettings(provider="anthropic", source="test", api_keys=[claude.api_key], retries=0, timeout=5)
    store = RunStore(StateDir(inventory).db)
    maker = placement_maker(settings, request, store=store, run_id="place-1", redactor=Redactor([]))
    placed, why, decision = decide_placement(maker, request, NEEDS, FACTS, {}, auto_place(NEEDS, FACTS))
    return placed, why, decision, store.decisions("place-1")


def test_the_models_placement_is_used_when_it_fits(inventory, claude):
    claude.reply(tool_call({"placement": {"n8n": "db-1", "supabase": "db-1"},
                            "reason": "keep app-1 free for the client's own tools", "confidence": 0.6}))
    placed, why, _, rows = decide(inventory, claude)
    assert placed == {"n8n": ("db-1",), "supabase": ("db-1",)}  # the offline planner would spread them
    assert why["n8n"].startswith("auto (AI anthropic): db-1 has ")
    assert why["n8n"].endswith("; keep app-1 free for the client's own tools")
    # What the model was asked: the needs and facts, hosts as the only choices, the offline choice to compare.
    body = claude.last.body
    assert body["tool_choice"] == {"type": "tool", "name": "placement"}
    schema = body["tools"][0]["input_schema"]["properties"]["placement"]
    assert schema["properties"]["supabase"]["enum"] == ["app-1", "db-1"]
    prompt = json.dumps(body["messages"])
    assert '\\"memory_mb\\": 8192' in prompt and "offline_choice" in prompt
    assert [(r["decision_type"], r["provider"], r["fallback_reason"]) for r in rows] == [
        ("placement", "anthropic", None)]


def test_a_placement_that_does_not_fit_falls_back_to_the_offline_one_saying_why(inventory, claude):
    claude.reply(tool_call({"placement": {"n8n": "db-1", "supabase": "app-1"}, "reason": "x", "confidence": 0.9}))
    placed, why, decision, rows = decide(inventory, claude)
    assert placed == {"n8n": ("app-1",), "supabase": ("db-1",)}
    assert decision.source == "offline"
    assert rows[0]["fallback_reason"].startswith("invalid answer: placement: supabase does not fit on app-1")
    assert "(the AI's answer was not used: invalid answer: placement: supabase does not fit" in why["supabase"]


def test_plan_with_ai_places_by_the_models_answer_on_real_facts(inventory, claude, tmp_path):
    """`aidevops plan --ai anthropic` on two local hosts (this machine's facts from Ansible's setup): the offline
    planner would put n8n on the first; the model's second host fits too, so the plan shows it, and the
    decision is recorded under its own id."""
    local = f"ansible_connection: local, ansible_python_interpreter: {sys.executable}"
    write(inventory / "hosts.yml", f"all:\n  hosts:\n    local-1: {{{local}}}\n    local-2: {{{local}}}\n")
    write(inventory / "group_vars/all/aidevops.yml", REQUEST.replace("[n8n, supabase]", "[n8n]")
          + "  options: {strategy: sequential}\n")
    claude.reply(tool_call({"placement": {"n8n": "local-2"}, "reason": "local-1 is the bastion",
                            "confidence": 0.7}),
                 tool_call({"variables": {}, "reason": "defaults", "confidence": 0.5}))
    r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "plan", "--ai", "anthropic", "--inventory",
                        str(inventory)], capture_output=True, text=True, timeout=180, cwd=ROOT, env=os.environ,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert "  local-2  base_server, n8n" in r.stdout and "  local-1  base_server\n" in r.stdout
    said = " ".join(r.stdout.split())  # the terminal's line wrapping aside
    assert "n8n: auto (AI anthropic): local-2 has " in said and "10 GB disk; local-1 is the bastion" in said
    with sqlite3.connect(StateDir(inventory).db) as db:
        made = db.execute("SELECT run_id, decision_type, provider FROM decisions ORDER BY run_id").fetchall()
    assert [(kind, provider) for run_id, kind, provider in made if run_id.startswith("place-")] == [
        ("placement", "anthropic")]
    assert not (inventory / ".aidevops/placement.json").exists()  # a plan decides nothing for good
