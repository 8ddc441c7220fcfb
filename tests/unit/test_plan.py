"""The plan follows the architecture's dependencies and only plans what the request asks for."""

import pytest

from orchestrator.errors import BadInput
from orchestrator.plan import build_plan
from orchestrator.request import load_request
from tests.conftest import write


def test_full_request_plans_every_agent_in_dependency_order(inventory):
    plan = build_plan(load_request(inventory))
    ids = [p.id for p in plan.phases]
    assert ids == ["base_server", "dns", "n8n", "supabase", "nginx_proxy", "validator", "report"]
    deps = {p.id: set(p.depends_on) for p in plan.phases}
    assert deps["n8n"] == deps["supabase"] == {"base_server"}
    assert {"dns", "n8n", "supabase"} <= deps["nginx_proxy"]
    assert deps["validator"] == {"base_server", "dns", "n8n", "supabase", "nginx_proxy"}
    # The report waits for every phase, even when the validator settles at once (not available).
    assert deps["report"] == {"base_server", "dns", "n8n", "supabase", "nginx_proxy", "validator"}
    # Server setup and DNS are independent; n8n and Supabase can run side by side.
    assert plan.waves()[:2] == [["base_server", "dns"], ["n8n", "supabase"]]


def test_unrequested_services_and_dns_are_not_planned(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
          "  dns: {provider: none}\n")
    plan = build_plan(load_request(inventory))
    assert [p.id for p in plan.phases] == ["base_server", "n8n", "nginx_proxy", "validator", "report"]
    assert plan.phase("nginx_proxy").depends_on == ("base_server", "n8n")


def test_agents_without_a_playbook_are_not_available(inventory, tmp_path, monkeypatch):
    home = tmp_path / "home"
    write(home / "playbooks/base_server.yml", "- hosts: all\n  tasks: []\n")
    monkeypatch.setenv("AIDEVOPS_HOME", str(home))
    plan = build_plan(load_request(inventory))
    assert plan.phase("base_server").available
    n8n = plan.phase("n8n")
    assert not n8n.available and "not built yet" in n8n.reason


@pytest.mark.parametrize("strategy,limit", [("sequential", 1), ("hybrid", 2), ("parallel", 7)])
def test_strategy_sets_concurrency(inventory, strategy, limit):
    assert build_plan(load_request(inventory), strategy).concurrency() == limit


def test_adaptive_runs_one_host_with_two_stacks_sequentially(inventory):
    plan = build_plan(load_request(inventory), "adaptive")
    assert plan.strategy == "sequential" and "adaptive" in plan.strategy_reason


def test_request_strategy_is_used_unless_the_flag_overrides(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  dns: {provider: none}\n"
          "  options: {strategy: parallel}\n")
    req = load_request(inventory)
    assert build_plan(req).strategy == "parallel"
    assert build_plan(req, "sequential").strategy == "sequential"


def test_only_marks_other_phases_not_selected(inventory):
    plan = build_plan(load_request(inventory), only=["base_server"])
    assert [p.id for p in plan.phases if p.selected] == ["base_server"]


def test_only_with_an_unknown_phase_is_bad_input(inventory):
    with pytest.raises(BadInput, match="--only names a phase that is not in this plan: nope"):
        build_plan(load_request(inventory), only=["nope"])
