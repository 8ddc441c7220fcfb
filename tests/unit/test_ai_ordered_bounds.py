"""Ordered choices (the security level): the AI may keep or raise the value in force; lowering it is critical.
Through the real Bounds (the role's meta, defaults and argument specs as files) and, end to end, through the
tactical decision of the real engine against the loopback Anthropic server."""

from __future__ import annotations

import pytest
import yaml

from orchestrator.ai.bounds import Bounds, role_variables
from orchestrator.request import load_request
from tests.conftest import ROOT, write
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.model_server import tool_call

LEVEL = "base_server_security_level"
ORDER = ["baseline", "hardened", "strict"]
SPEC = {"type": "str", "choices": ORDER, "default": "hardened", "description": "How far the host is hardened."}


def _role(roles, name="base_server", default="hardened"):
    """A role declaring the level as base_server's meta does (choices in its spec, the order in aidevops.yml)."""
    write(roles / name / "meta/argument_specs.yml", yaml.safe_dump(
        {"argument_specs": {"main": {"options": {LEVEL: SPEC, "base_server_timezone": {"type": "str"}}}}}))
    write(roles / name / "meta/aidevops.yml", yaml.safe_dump({"bounds": {LEVEL: {"order": ORDER}}}))
    write(roles / name / "defaults/main.yml", yaml.safe_dump({LEVEL: default}))
    return roles


def _answer(level):
    return {"base_server": {LEVEL: level}}


def test_lowering_below_the_role_default_needs_a_confirmation(tmp_path):
    b = Bounds(["base_server"], _role(tmp_path / "roles"))
    assert b.vars["base_server"][LEVEL].in_force == "hardened"
    for level in ("hardened", "strict"):  # keeping or raising: applied without asking
        checked = b.check(_answer(level), confirm=None)
        assert checked.applied == _answer(level) and not checked.dropped
    no = b.check(_answer("baseline"), confirm=None)
    assert no.valid and no.applied == {}
    assert no.dropped == [(f"base_server.{LEVEL}: critical, lowers it from hardened to baseline, not confirmed "
                          "(use --yes to allow)")]
    asked = []
    yes = b.check(_answer("baseline"), confirm=lambda *a: asked.append(a) or True)
    assert yes.applied == _answer("baseline") and asked == [("base_server", LEVEL, "baseline")]


def test_the_inventorys_value_is_the_one_in_force(tmp_path):
    roles, inv = _role(tmp_path / "roles"), tmp_path / "inv"
    write(inv / "group_vars/all/base_server.yml", f"{LEVEL}: strict\n")
    b = Bounds(["base_server"], roles, inventory=inv)
    assert b.vars["base_server"][LEVEL].in_force == "strict"
    assert "lowers it from strict to hardened" in b.check(_answer("hardened")).dropped[0]
    assert b.check(_answer("strict")).applied == _answer("strict")
    # One host set lower, another higher: the strongest is in force (a lower answer would lower that host).
    write(inv / "group_vars/all/base_server.yml", f"{LEVEL}: baseline\n")
    write(inv / "host_vars/vps-2.yml", f"{LEVEL}: hardened\n")
    assert role_variables("base_server", roles, inv)[LEVEL].in_force == "hardened"
    # A value the order does not know (a Jinja expression is not resolved here): nothing is assumed safe.
    write(inv / "group_vars/all/base_server.yml", f"{LEVEL}: \"{{{{ level_of_the_site }}}}\"\n")
    (inv / "host_vars/vps-2.yml").unlink()
    unknown = Bounds(["base_server"], roles, inventory=inv)
    assert unknown.vars["base_server"][LEVEL].in_force == "{{ level_of_the_site }}"
    assert unknown.check(_answer("hardened")).dropped == [
        (f"base_server.{LEVEL}: critical, the value in force ({{{{ level_of_the_site }}}}) cannot be compared with "
        "hardened, not confirmed (use --yes to allow)")]
    assert unknown.check(_answer("strict")).applied == _answer("strict")  # nothing is above the strongest


def test_the_schema_tells_the_model_the_order_and_the_value_in_force(tmp_path):
    schema = Bounds(["base_server"], _role(tmp_path / "roles")).phase_schema("base_server")
    prop = schema["properties"][LEVEL]  # offered without --yes: raising it needs no confirmation
    assert prop["enum"] == [*ORDER, None]
    assert "weakest first: baseline, hardened, strict. In force: hardened; a lower value is CRITICAL" \
        in prop["description"]


def test_base_servers_meta_declares_the_order_of_its_levels():
    extra = yaml.safe_load((ROOT / "roles/base_server/meta/aidevops.yml").read_text())
    assert extra["bounds"][LEVEL]["order"] == ORDER
    declared = role_variables("base_server").get(LEVEL)
    if declared is not None:  # the argument spec's choices are the same words as the order
        assert sorted(declared.choices) == sorted(ORDER) and declared.in_force in ORDER


@pytest.mark.parametrize("inventory_level,answer,applied", [
    (None, "strict", True), (None, "baseline", False), ("strict", "hardened", False), ("baseline", "baseline", True),
])
def test_a_models_level_goes_through_the_tactical_decision(inventory, monkeypatch, tmp_path,
                                                           inventory_level, answer, applied):
    from tests.unit.test_ai_decisions import maker, settings

    monkeypatch.setenv("HOME", str(tmp_path))
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: ops@example.com\n  services: [n8n]\n"
          "  dns: {provider: rfc2136}\n")
    if inventory_level:
        write(inventory / "group_vars/all/base_server.yml", f"{LEVEL}: {inventory_level}\n")
    request = load_request(inventory)
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", fake.api_key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        fake.reply(tool_call({"variables": _answer(answer), "reason": "security level", "confidence": 0.6}))
        m, _ = maker(request, settings("anthropic"))
        d = m.tactical(phases=["base_server"], system_state={})
    row = m.store.decisions("run-1")[-1]
    assert d.source == "anthropic" and row["fallback_reason"] is None
    if applied:
        assert d.data["variables"] == _answer(answer) and row["validation"]["dropped"] == []
    else:
        assert d.data["variables"] == {}
        assert row["validation"]["dropped"] == [
            (f"base_server.{LEVEL}: critical, lowers it from {inventory_level or 'hardened'} to {answer}, "
            "not confirmed (use --yes to allow)")]
