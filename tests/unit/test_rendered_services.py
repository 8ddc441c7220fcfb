"""A service only rendered on a host (its declared state variable, supabase_state: rendered, where its images
cannot be had): the validator is told which hosts, reading the variable where Ansible would for that host."""

import pytest

from orchestrator.agents import services
from orchestrator.request import load_request
from orchestrator.validation.targets import rendered, suite_config
from tests.conftest import write

TWO_HOSTS = ("all:\n  hosts:\n    app-1:\n    db-1:\n"
             "  children:\n    n8n:\n      hosts:\n        app-1:\n"
             "    supabase:\n      hosts:\n        db-1:\n{supabase_vars}")


def two_hosts(inventory, supabase_vars: str = "") -> None:
    write(inventory / "hosts.yml", TWO_HOSTS.format(supabase_vars=supabase_vars))


def test_supabase_declares_its_state_variable():
    assert services()["supabase"].state_variable == "supabase_state"
    assert services()["n8n"].state_variable is None


def test_a_started_service_is_not_rendered(inventory):
    two_hosts(inventory)
    assert rendered(load_request(inventory), ["n8n", "supabase"]) == {}


@pytest.mark.parametrize("where, path, text", [
    ("its group in hosts.yml", None, "      vars:\n        supabase_state: rendered\n"),
    ("host_vars/db-1.yml", "host_vars/db-1.yml", "supabase_state: rendered\n"),
    ("group_vars/supabase/", "group_vars/supabase/main.yml", "supabase_state: rendered\n"),
    ("group_vars/all/", "group_vars/all/supabase.yml", "supabase_state: rendered\n"),
])
def test_rendered_is_read_where_ansible_reads_it_for_that_host(inventory, where, path, text):
    if path is None:
        two_hosts(inventory, text)
    else:
        two_hosts(inventory)
        write(inventory / path, text)
    # Only the host that serves Supabase: app-1 is not told to run it, whatever group_vars/all says.
    assert rendered(load_request(inventory), ["n8n", "supabase"]) == {"supabase": {"db-1": "/opt/aidevops/supabase"}}


def test_the_value_that_wins_is_the_one_ansible_would_use(inventory):
    """Lowest first: a group's vars in hosts.yml, group_vars/all, the group's group_vars file, the host's own
    vars in hosts.yml, its host_vars file."""
    two_hosts(inventory, "      vars:\n        supabase_state: rendered\n")
    write(inventory / "group_vars/all/supabase.yml", "supabase_state: started\n")
    assert rendered(load_request(inventory), ["supabase"]) == {}
    write(inventory / "group_vars/supabase.yml", "supabase_state: rendered\n")
    assert set(rendered(load_request(inventory), ["supabase"])["supabase"]) == {"db-1"}
    write(inventory / "hosts.yml", TWO_HOSTS.format(supabase_vars="").replace(
        "    db-1:\n  children", "    db-1: {supabase_state: started}\n  children"))
    assert rendered(load_request(inventory), ["supabase"]) == {}
    write(inventory / "host_vars/db-1.yml", "supabase_state: rendered\nsupabase_project_dir: /srv/supabase\n")
    assert rendered(load_request(inventory), ["supabase"]) == {"supabase": {"db-1": "/srv/supabase"}}


def test_the_suites_are_told(inventory):
    two_hosts(inventory, "      vars:\n        supabase_state: rendered\n")
    config = suite_config(load_request(inventory), ["n8n", "supabase"])
    assert config["rendered"] == {"supabase": {"db-1": "/opt/aidevops/supabase"}}
    assert {e["host"] for e in config["endpoints"] if e["service"] == "supabase"} == {"db-1"}
