"""Phases left as they were are kept: inputs and host state compared with the last successful run's.

The project home holds two small roles that each manage one file (base_server, and app after it), declared as
their host state; the runs go through real ansible-runner on this machine over the local connection, with the
controller-side agents replaced by ones that succeed (the validator is tested elsewhere).
"""

import subprocess
from pathlib import Path

import pytest

from orchestrator.outcome import KEPT, SUCCEEDED
from orchestrator.plan import build_plan
from orchestrator.request import load_request
from orchestrator.run.context import AgentResult
from orchestrator.run.deployment import Deployment
from orchestrator.run.unchanged import inventory_files, render, state_script
from tests.conftest import ROOT, write

TASKS = """\
- name: Write the managed file.
  ansible.builtin.copy:
    dest: "{{ state_dir }}/NAME.conf"
    content: "{{ NAME_content | default('one') }}\\n"
    mode: "0644"
"""
DECLARATION = """\
agent:
  title: NAME
  after: AFTER
  host_state:
    paths: ["{{ state_dir }}/NAME.conf"]
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    for name, after in (("base_server", "[]"), ("app", "[base_server]")):
        write(h / f"roles/{name}/meta/aidevops.yml", DECLARATION.replace("NAME", name).replace("AFTER", after))
        write(h / f"roles/{name}/tasks/main.yml", TASKS.replace("NAME", name))
        write(h / f"playbooks/{name}.yml", f"- hosts: all\n  gather_facts: false\n  roles: [{name}]\n")
    write(h / "playbooks/host_state.yml", (ROOT / "playbooks/host_state.yml").read_text())
    monkeypatch.setenv("AIDEVOPS_HOME", str(h))
    return h


@pytest.fixture
def inv(inventory, home, tmp_path):
    # No sudo here: the host_state playbook's `become` is switched off as a host's connection variable.
    hosts = (inventory / "hosts.yml").read_text().replace("ansible_connection: local",
                                                          "ansible_connection: local\n      ansible_become: false")
    write(inventory / "hosts.yml", hosts)
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: []\n"
          "  dns: {provider: none}\n  options: {strategy: sequential}\n")
    write(inventory / "group_vars/all/test.yml", f"state_dir: {tmp_path / 'state'}\n")
    (tmp_path / "state").mkdir()
    return inventory


def succeed(ctx):
    return AgentResult(SUCCEEDED, "")


def run(inv, *, mark=True, validator=succeed):
    request = load_request(inv)
    plan = build_plan(request)
    deployment = Deployment(request, plan, controller_agents={"validator": validator, "report": succeed})
    deployment.decide()
    why = deployment.mark_unchanged() if mark else {}
    outcome = deployment.run()
    return outcome, why, deployment.session.store


def statuses(outcome):
    return {p: r.status for p, r in outcome.results.items() if p in ("base_server", "app")}


def test_a_run_after_a_successful_one_keeps_what_is_unchanged(inv):
    first, why, store = run(inv)
    assert statuses(first) == {"base_server": SUCCEEDED, "app": SUCCEEDED}
    assert why == {p: "runs: no successful run recorded what it left" for p in ("base_server", "app")}
    assert store.last_phase_state("app")["run_id"] == first.run_id

    second, why, store = run(inv)
    assert statuses(second) == {"base_server": KEPT, "app": KEPT}
    assert second.exit_code == 0
    reason = f"unchanged since {first.run_id} (inputs and host state)"
    assert second.results["app"].reason == reason and second.results["app"].kept_from == first.run_id
    assert why["app"] == f"kept if the phases before it change nothing: {reason}"
    # Nothing of theirs ran: no artifacts, and the state recorded again is the same.
    assert not (Path(second.results["validator"].artifact_dir).parent / "app").exists()
    assert store.last_phase_state("app")["run_id"] == second.run_id


def test_a_file_edited_by_hand_runs_its_phase_and_a_change_runs_the_phases_after_it(inv, tmp_path):
    run(inv)
    (tmp_path / "state/app.conf").write_text("edited\n")
    outcome, why, _ = run(inv)
    assert statuses(outcome) == {"base_server": KEPT, "app": SUCCEEDED}
    assert why["app"].startswith("runs: its state on local-1 is not as") and why["app"].endswith("left it")
    assert (tmp_path / "state/app.conf").read_text() == "one\n"  # put back

    (tmp_path / "state/base_server.conf").chmod(0o600)  # the mode is state too
    outcome, _, _ = run(inv)
    # base_server changed something, so app runs too although its own state is as it was.
    assert statuses(outcome) == {"base_server": SUCCEEDED, "app": SUCCEEDED}
    assert outcome.results["base_server"].changed == 1 and outcome.results["app"].changed == 0


def test_changed_inputs_run_the_phase(inv, home):
    run(inv)
    write(inv / "group_vars/all/test.yml", (inv / "group_vars/all/test.yml").read_text() + "app_content: two\n")
    outcome, why, _ = run(inv)
    # Every phase sees the inventory's files: both run, and only app changes something.
    assert statuses(outcome) == {"base_server": SUCCEEDED, "app": SUCCEEDED}
    assert why["base_server"] == "runs: its inputs changed since its last successful run"
    assert (outcome.results["base_server"].changed, outcome.results["app"].changed) == (0, 1)

    tasks = home / "roles/app/tasks/main.yml"
    tasks.write_text(tasks.read_text() + "\n")  # the role's content is an input too
    outcome, _, _ = run(inv)
    assert statuses(outcome) == {"base_server": KEPT, "app": SUCCEEDED}


def test_a_run_that_did_not_succeed_records_nothing_and_an_unmarked_run_keeps_nothing(inv):
    first, _, store = run(inv)
    failed, _, _ = run(inv, validator=lambda ctx: AgentResult("failed", "a check failed"))
    assert failed.exit_code != 0
    assert store.last_phase_state("app")["run_id"] == first.run_id
    full, _, _ = run(inv, mark=False)  # as `aidevops run --full`
    assert statuses(full) == {"base_server": SUCCEEDED, "app": SUCCEEDED}


# -- the pieces --------------------------------------------------------------------------------------------------


def digest(script: str) -> str:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()


def test_the_state_script_hashes_content_mode_units_and_command_output(tmp_path):
    conf = write(tmp_path / "etc/app/app.conf", "a\n")
    script = state_script([str(tmp_path / "etc/app"), str(tmp_path / "missing")], [], ["echo hello"])
    first = digest(script)
    assert len(first) == 64 and digest(script) == first  # stable
    conf.write_text("b\n")
    second = digest(script)
    assert second != first
    conf.chmod(0o600)
    assert digest(script) != second
    write(tmp_path / "missing", "now here\n")
    assert digest(script) != second
    assert digest(state_script([], [], ["echo one"])) != digest(state_script([], [], ["echo two"]))


def test_declared_entries_render_plain_variables_only():
    values = {"dir": "/opt/x", "nested": {"a": 1}, "templated": "{{ other }}"}
    assert render("{{ dir }}/compose.yml", values.get) == "/opt/x/compose.yml"
    assert render("{{dir}}", values.get) == "/opt/x"
    assert render("{{ nested }}", values.get) is None
    assert render("{{ templated }}", values.get) is None
    assert render("{{ missing }}", values.get) is None
    assert render("{{ dir | dirname }}", values.get) is None
    assert render("/etc/nginx", values.get) == "/etc/nginx"


def test_the_inventory_files_are_what_ansible_reads(inventory):
    write(inventory / "group_vars/all/vault_n8n.yml", "x")
    write(inventory / "host_vars/local-1.yml", "y")
    write(inventory / ".aidevops/aidevops.db", "store")
    write(inventory / ".vault-pass", "secret")
    names = [p.relative_to(inventory).as_posix() for p in inventory_files(inventory)]
    assert names == ["group_vars/all/aidevops.yml", "group_vars/all/vault_n8n.yml", "host_vars/local-1.yml",
                     "hosts.yml"]


def test_the_plan_says_which_phases_may_be_kept(inv, capsys):
    from dataclasses import replace

    from orchestrator.cli.render import print_plan
    from orchestrator.plan import Kept

    request = load_request(inv)
    plan = build_plan(request)
    plan.phases = [replace(p, unchanged=Kept("r-1", "unchanged since r-1 (inputs and host state)"))
                   if p.id == "app" else p for p in plan.phases]
    print_plan(request, plan)
    out = capsys.readouterr().out
    assert "unchanged (see below)" in out
    assert "kept when their turn comes, unless a phase before them changes something" in out
    assert "  app: unchanged since r-1 (inputs and host state)" in out
