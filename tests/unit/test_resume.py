"""`run --resume`: which phases of a recorded run are kept and which run again, and why; the decisions replayed.

The store is a real RunStore; the fingerprints are the real roles' (the source checkout), or a copy of one
that a test changes.
"""

import os
import shutil
import sqlite3

import pytest

from orchestrator.agents import registry
from orchestrator.agents.fingerprint import role_fingerprint
from orchestrator.ai.choice import resolve
from orchestrator.ai.planning import make_maker, recorded_plan
from orchestrator.errors import BadInput
from orchestrator.plan import build_plan, recorded_request
from orchestrator.redact import Redactor
from orchestrator.request import check_inventory
from orchestrator.run.resume import (
    KEEP,
    LEFT_OUT,
    RERUN,
    UNAVAILABLE,
    apply,
    find_run,
    request_changes,
    select,
)
from orchestrator.store import RunStore
from tests.conftest import ROOT, write


@pytest.fixture
def request_(inventory):
    return check_inventory(inventory, validates=False)


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "aidevops.db")
    yield s
    s.close()


def fp(phase):
    return role_fingerprint(registry()[phase])


def record(store, run_id, request, phases, *, status="failed", command="run", resumed_from=None, pid=None,
           recorded_request=None):
    """A finished run with these phase rows: phase -> (status, fingerprint, kept_from)."""
    store.start_run(run_id, str(request.inventory), command, recorded_request or request.as_dict(), "/tmp/x",
                    resumed_from=resumed_from)
    for phase, (phase_status, fingerprint, kept_from) in phases.items():
        store.record_phase(run_id, phase, phase_status, fingerprint=fingerprint, kept_from=kept_from)
    if status != "running":
        store.finish_run(run_id, status, 1, 1.0)
    store._exec("UPDATE runs SET pid = ? WHERE id = ?", (pid, run_id))


def whys(resume):
    return {p: (v.action, v.why) for p, v in resume.verdicts.items()}


def test_failed_skipped_changed_and_unstarted_phases_run_again_the_rest_is_kept(store, request_):
    plan = build_plan(request_)
    assert [p.id for p in plan.phases] == ["base_server", "dns", "n8n", "supabase", "nginx_proxy", "validator",
                                           "report"]
    record(store, "A", request_, {
        "base_server": ("succeeded", fp("base_server"), None),
        "dns": ("failed", fp("dns"), None),
        "n8n": ("skipped", None, None),
        "supabase": ("degraded", "0" * 64, None),  # the role changed since
        # nginx_proxy: never started (the run was killed)
        "validator": ("running", None, None),
        "report": ("succeeded", None, None),
    })
    resume = select(store, find_run(store, request_.inventory, "A"), request_.as_dict(), plan)
    assert whys(resume) == {
        "base_server": (KEEP, "done in A, kept"),
        "dns": (RERUN, "re-run: failed in A"),
        "n8n": (RERUN, "re-run: skipped in A"),
        "supabase": (RERUN, "re-run: role supabase changed since A"),
        "nginx_proxy": (RERUN, "re-run: never started in A"),
        "validator": (RERUN, "re-run: interrupted in A"),
        "report": (RERUN, "re-run: it covers the phases that run again"),
    }
    assert not resume.nothing_to_do

    apply(plan, resume)
    kept = plan.phase("base_server").kept
    assert (kept.run_id, kept.fingerprint) == ("A", fp("base_server"))
    assert all(p.kept is None and p.selected for p in plan.phases if p.id != "base_server")


def test_the_proxy_that_went_on_without_a_failed_service_runs_again(store, request_):
    everything = {p.id: ("succeeded", fp(p.id), None) for p in build_plan(request_).phases}
    record(store, "A", request_, {**everything, "supabase": ("failed", fp("supabase"), None)})
    resume = select(store, store.run("A"), request_.as_dict(), build_plan(request_))
    assert whys(resume)["nginx_proxy"] == (RERUN, "re-run: it ran without supabase in A")
    assert whys(resume)["n8n"] == (KEEP, "done in A, kept")


def test_a_phase_not_built_is_neither_run_nor_waited_for(store, request_, tmp_path, monkeypatch):
    home = tmp_path / "home"  # playbooks for every host-side agent but supabase
    for phase in ("base_server", "dns", "n8n", "nginx_proxy"):
        shutil.copy(ROOT / f"playbooks/{phase}.yml", write(home / f"playbooks/{phase}.yml", ""))
        shutil.copytree(ROOT / f"roles/{phase}", home / f"roles/{phase}")
    shutil.copytree(ROOT / "roles/supabase", home / "roles/supabase")
    monkeypatch.setenv("AIDEVOPS_HOME", str(home))
    plan = build_plan(request_)
    rows = {p.id: ("succeeded", fp(p.id), None) for p in plan.phases}
    record(store, "A", request_, {**rows, "supabase": ("not_available", None, None)}, status="degraded")
    resume = select(store, store.run("A"), request_.as_dict(), plan)
    assert whys(resume)["supabase"] == (UNAVAILABLE, "not available: agent not built yet (no playbooks/supabase.yml)")
    assert whys(resume)["nginx_proxy"] == (KEEP, "done in A, kept")
    assert resume.nothing_to_do


def test_a_changed_request_runs_every_done_phase_again_and_names_the_keys(store, request_):
    before = {**request_.as_dict(), "domain": "old.example", "hostnames": {**request_.hostnames, "n8n": "x.old"}}
    record(store, "A", request_, {p: ("succeeded", fp(p), None) for p in ("base_server", "dns")},
           recorded_request=before)
    resume = select(store, store.run("A"), request_.as_dict(), build_plan(request_))
    assert resume.verdicts["base_server"].why == "re-run: the request changed since A (keys: domain, hostnames.n8n)"

    # Scheduling and validation settings change no role's work: nothing is re-run for them.
    assert request_changes({**request_.as_dict(), "strategy": "parallel", "max_parallel": 4,
                            "validation": {"ssl_grade": "A+"}}, request_.as_dict()) == []
    # The placement is recorded with the request (a service moved to another host is role input); the same
    # placement is no change.
    plan = build_plan(request_)
    same = recorded_request(request_, plan)
    assert request_changes(same, recorded_request(request_, plan)) == []
    moved = {**same, "placement": {**same["placement"], "n8n": ["elsewhere"]}}
    assert request_changes(moved, same) == ["placement.n8n"]


def test_a_chain_keeps_pointing_at_the_run_that_did_the_work(store, request_):
    everything = {p.id: ("succeeded", fp(p.id), None) for p in build_plan(request_).phases}
    record(store, "A", request_, {**everything, "n8n": ("failed", fp("n8n"), None)})
    record(store, "B", request_, {**{p: ("kept", f, "A") for p, (_, f, _) in everything.items()},
                                  "n8n": ("failed", fp("n8n"), None)}, resumed_from="A")
    resume = select(store, find_run(store, request_.inventory, None), request_.as_dict(), build_plan(request_))
    assert resume.source.id == "B"  # the latest run
    assert resume.verdicts["base_server"].why == "done in A, kept"
    assert resume.verdicts["base_server"].kept.run_id == "A"
    assert resume.verdicts["n8n"].why == "re-run: failed in B"
    assert store.resumed_by("A") == ["B"] and store.run("B").resumed_from == "A"


def test_a_run_with_everything_done_and_unchanged_has_nothing_to_resume(store, request_):
    record(store, "A", request_, {p.id: ("succeeded", fp(p.id), None) for p in build_plan(request_).phases},
           status="succeeded")
    resume = select(store, store.run("A"), request_.as_dict(), build_plan(request_))
    assert resume.nothing_to_do
    assert {v.action for v in resume.verdicts.values()} == {KEEP}


def test_phases_left_out_by_only_stay_left_out(store, request_):
    plan = build_plan(request_)
    rows = {p.id: ("not_selected", None, None) for p in plan.phases}
    record(store, "A", request_, {**rows, "base_server": ("succeeded", fp("base_server"), None),
                                  "dns": ("failed", fp("dns"), None)})
    resume = select(store, store.run("A"), request_.as_dict(), plan)
    assert resume.verdicts["n8n"] == resume.verdicts["n8n"].__class__("n8n", LEFT_OUT, "left out by --only in A")
    assert resume.verdicts["dns"].action == RERUN and resume.verdicts["base_server"].action == KEEP
    apply(plan, resume)
    assert [p.id for p in plan.phases if p.selected and not p.kept] == ["dns"]


def test_a_phase_recorded_before_fingerprints_existed_runs_again(store, request_):
    record(store, "A", request_, {"base_server": ("succeeded", None, None)})
    resume = select(store, store.run("A"), request_.as_dict(), build_plan(request_))
    assert resume.verdicts["base_server"].why == "re-run: A did not record the content of role base_server"


def test_which_run_is_resumed_and_which_are_refused(store, request_, tmp_path):
    inv = request_.inventory
    record(store, "A", request_, {}, status="failed")
    record(store, "B", request_, {}, status="succeeded", command="validate")
    record(store, "C", request_, {}, status="succeeded", command="run --check")
    assert find_run(store, inv, None).id == "A"  # validate and dry runs are never resumed by default

    def refused(run_id, inventory=inv):
        with pytest.raises(BadInput) as err:
            find_run(store, inventory, run_id)
        return str(err.value)

    assert "is a `validate`, not an `aidevops run`" in refused("B")
    assert "was a dry run (--check)" in refused("C")
    assert "no run with id 'nope'" in refused("nope")
    assert "was a run of the inventory" in refused("A", tmp_path / "elsewhere")
    record(store, "D", request_, {}, status="running", pid=os.getpid())  # this process: alive
    assert f"is still running (pid {os.getpid()})" in refused(None)
    store._exec("UPDATE runs SET pid = NULL WHERE id = 'D'")  # its process is gone: interrupted, resumable
    assert find_run(store, inv, None).status == "interrupted"


def test_the_fingerprint_follows_the_role_files_and_the_playbook(tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(ROOT / "roles/base_server", home / "roles/base_server")
    shutil.copy(ROOT / "playbooks/base_server.yml", write(home / "playbooks/base_server.yml", ""))
    monkeypatch.setenv("AIDEVOPS_HOME", str(home))
    spec = registry()["base_server"]
    first = role_fingerprint(spec)
    assert first == fp("base_server")  # the same content in another home: the same fingerprint
    write(home / "roles/base_server/__pycache__/x.pyc", "compiled")
    assert role_fingerprint(spec) == first
    defaults = home / "roles/base_server/defaults/main.yml"
    defaults.write_text(defaults.read_text() + "\n# changed\n")
    assert role_fingerprint(spec) != first
    assert role_fingerprint(registry()["validator"]) is None  # a controller-side agent has no role


def test_the_first_runs_decisions_are_used_again_without_asking_a_model(store, request_):
    plan = build_plan(request_)
    store.record_decision("A", decision_type="strategic", provider="anthropic",
                          decision={"strategy": "sequential", "max_parallel": 1, "reason": "one small host"})
    store.record_decision("A", decision_type="tactical", provider="anthropic",
                          decision={"variables": {"n8n": {"n8n_version": "1.2.3"}, "dns": {}}, "reason": "pinned"})
    # The run's own provider would be anthropic; no model is asked for the plan's decisions.
    maker = make_maker(resolve("anthropic"), request_, plan, store=store, run_id="B", redactor=Redactor([]),
                       confirm=None)
    maker._provider = None  # any question to a model would fail (and fall back): none is asked
    made = recorded_plan(maker, "A", plan)
    assert (plan.strategy, plan.max_parallel, plan.strategy_reason) == ("sequential", 1,
                                                                        "sequential (as decided in A)")
    assert made.variables == {"n8n": {"n8n_version": "1.2.3"}}
    rows = store.decisions("B")
    assert [(r["decision_type"], r["provider"], r["request_id"], r["fallback_reason"]) for r in rows] == [
        ("strategic", "replay", "run:A#1", None), ("tactical", "replay", "run:A#2", None)]


def test_an_older_store_gains_the_new_columns(tmp_path):
    db = tmp_path / "aidevops.db"
    old = sqlite3.connect(db)
    old.executescript("""
        CREATE TABLE runs (id TEXT PRIMARY KEY, inventory TEXT NOT NULL, command TEXT NOT NULL, strategy TEXT,
          strategy_reason TEXT, status TEXT NOT NULL, exit_code INTEGER, started_at TEXT NOT NULL, ended_at TEXT,
          duration REAL, request TEXT, state_dir TEXT, pid INTEGER);
        CREATE TABLE phases (run_id TEXT NOT NULL, phase TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
          started_at TEXT, ended_at TEXT, duration REAL, rc INTEGER, artifact_dir TEXT, PRIMARY KEY (run_id, phase));
        INSERT INTO runs (id, inventory, command, status, started_at) VALUES ('old', '/inv', 'run', 'failed', 'x');
        INSERT INTO phases (run_id, phase, status) VALUES ('old', 'dns', 'failed');
    """)
    old.close()
    store = RunStore(db)
    try:
        assert store.run("old").resumed_from is None
        assert store.phases("old")[0]["fingerprint"] is None and store.phases("old")[0]["kept_from"] is None
        store.record_phase("old", "n8n", "succeeded", fingerprint="f")
        assert store.phases("old")[-1]["fingerprint"] == "f"
    finally:
        store.close()
    RunStore(db).close()  # opening it again adds nothing twice
