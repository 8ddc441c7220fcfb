"""`aidevops run --resume` end to end through real ansible-runner, on this machine over the local connection,
and its refusals: one `error:` line, exit 2, nothing created.

The project home holds two small playbooks (base_server, and n8n after it) that fail when told to.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from orchestrator.state import StateDir
from tests.conftest import write

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Change something.
      ansible.builtin.command: "true"
    - name: Fail when told to.
      ansible.builtin.fail: {msg: "{{ phase }} was told to fail"}
      when: fail_phase | default('') == phase
"""


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    for phase in ("base_server", "n8n"):
        write(h / f"playbooks/{phase}.yml", PLAYBOOK.replace("{{ phase }}", phase).replace("== phase",
                                                                                          f"== '{phase}'"))
    return h


@pytest.fixture
def inv(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
          "  dns: {provider: none}\n")
    return inventory


def said(result) -> str:
    """What a command printed, with the plan table's wrapping undone."""
    return " ".join(result.stdout.split())


def aidevops(home, *args):
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          env=env, timeout=180, check=False)


def show(home, inv, run_id=None):
    r = aidevops(home, "runs", "show", *([run_id] if run_id else []), "--inventory", str(inv), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    return data["run"], {p["phase"]: p for p in data["phases"]}


def run_dirs(inv):
    return sorted(p.name for p in StateDir(inv).runs.iterdir())


def test_a_failed_phase_is_resumed_the_done_one_is_kept(home, inv):
    write(inv / "group_vars/all/test.yml", "fail_phase: n8n\n")
    first = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server,n8n", "--plain")
    assert first.returncode == 1, first.stdout + first.stderr
    run_a, phases_a = show(home, inv)
    assert (phases_a["base_server"]["status"], phases_a["n8n"]["status"]) == ("succeeded", "failed")
    assert phases_a["base_server"]["fingerprint"]

    (inv / "group_vars/all/test.yml").unlink()  # the cause is fixed
    resumed = aidevops(home, "run", "--resume", "--inventory", str(inv), "--plain")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    a = run_a["id"]
    assert f"resuming run {a} (failed, run --only base_server,n8n)" in said(resumed)
    assert f"done in {a}, kept" in said(resumed) and f"re-run: failed in {a}" in said(resumed)
    assert f"left out by --only in {a}" in said(resumed)  # the validator and the report, as in the first run

    run_b, phases_b = show(home, inv)
    assert run_b["resumed_from"] == a and run_b["command"] == f"run --resume {a}"
    assert phases_b["base_server"]["status"] == "kept" and phases_b["base_server"]["kept_from"] == a
    assert phases_b["base_server"]["artifact_dir"] is None
    assert phases_b["n8n"]["status"] == "succeeded"
    assert phases_b["report"]["status"] == "not_selected"
    assert sorted(p.name for p in (StateDir(inv).run_dir(run_b["id"])).iterdir()) == ["n8n", "run.log.jsonl"]
    assert show(home, inv, a)[0]["resumed_by"] == [run_b["id"]]
    chain = said(aidevops(home, "runs", "show", a, "--inventory", str(inv)))
    assert f"resumed by {run_b['id']}" in chain
    assert f"resumed from {a}" in said(aidevops(home, "runs", "show", run_b["id"], "--inventory", str(inv)))
    assert f"run --resume {a}" in said(aidevops(home, "runs", "list", "--inventory", str(inv)))

    # Everything is done now: nothing to resume, said on one line, exit 0, no new run.
    before = run_dirs(inv)
    again = aidevops(home, "run", "--resume", "--inventory", str(inv))
    assert again.returncode == 0 and again.stdout.strip() == (
        f"nothing to resume: every phase of run {run_b['id']} (succeeded) is done and unchanged")
    assert run_dirs(inv) == before

    # A role changed: its phase runs again, the other is still kept from where it was done.
    playbook = home / "playbooks/base_server.yml"
    playbook.write_text(playbook.read_text() + "\n")
    changed = aidevops(home, "run", "--resume", "--inventory", str(inv), "--plain")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert f"re-run: role base_server changed since {a}" in said(changed)
    assert f"done in {run_b['id']}, kept" in said(changed)
    run_c, phases_c = show(home, inv)
    assert run_c["resumed_from"] == run_b["id"]
    assert (phases_c["base_server"]["status"], phases_c["n8n"]["status"]) == ("succeeded", "kept")


def refused(home, inv, *args):
    before = run_dirs(inv) if StateDir(inv).runs.exists() else None
    r = aidevops(home, "run", "--inventory", str(inv), *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert (run_dirs(inv) if StateDir(inv).runs.exists() else None) == before  # nothing created
    return r.stderr


def test_refusals_are_one_line_and_create_nothing(home, inv):
    assert "no runs recorded for this inventory yet" in refused(home, inv, "--resume")
    assert not (inv / ".aidevops").exists()

    aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--check")
    assert "no `aidevops run` recorded for this inventory: nothing to resume" in refused(home, inv, "--resume")
    check_id = run_dirs(inv)[0]
    assert f"run {check_id} was a dry run (--check)" in refused(home, inv, "--resume", check_id)
    assert "no run with id 'nope'" in refused(home, inv, "--resume", "nope")
    assert "--only cannot be changed" in refused(home, inv, "--resume", "--only", "n8n")
    assert "--strategy cannot be changed" in refused(home, inv, "--resume", "--strategy", "parallel")
    assert "--resume cannot be a dry run (--check)" in refused(home, inv, "--resume", "--check")

    # The same store seen from a copy of the inventory: its runs are another inventory's.
    copy = inv.parent / "copy"
    shutil.copytree(inv, copy)
    assert f"was a run of the inventory {inv}" in refused(home, copy, "--resume", check_id)
