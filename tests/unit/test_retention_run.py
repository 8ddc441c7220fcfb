"""Retention from the user's side: `aidevops runs prune [--dry-run]`, and the prune at the end of every recorded
run, which spares that run and never changes its outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from orchestrator.request import load_request
from orchestrator.run import retention
from orchestrator.run.session import RunSession
from tests.conftest import ROOT, write
from tests.unit.test_retention import REQUEST, ago, clock, history, inv, record_run, state, store  # noqa: F401


def cli(*args):
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})


def log_lines(session: RunSession) -> list[dict]:
    return [json.loads(line) for line in (session.run_dir / "run.log.jsonl").read_text().splitlines()]


def test_runs_prune_dry_run_lists_by_kind_and_removes_nothing_then_prune_removes_it(inv, state, store, history):  # noqa: F811
    dry = cli("runs", "prune", "--inventory", str(inv), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Would remove (dry run: nothing removed)" in dry.stdout
    lines = {line.split(":")[0].strip(): line for line in dry.stdout.splitlines() if ":" in line}
    assert lines["runs"].split()[1] == "3" and "kB" in lines["runs"]
    assert lines["raw AI answers"].split()[3] == "3"
    for run_id in ("d100 (run, succeeded)", "d80 (run, failed)", "d70 (check, succeeded)"):
        assert run_id in dry.stdout
    assert "d90: the latest successful deployment" in dry.stdout and "d60: still running" in dry.stdout
    assert state.run_dir("d100").is_dir() and "d100" in store.run_ids()

    as_json = json.loads(cli("runs", "prune", "--inventory", str(inv), "--dry-run", "--json").stdout)
    assert as_json["applied"] is False and as_json["would_remove"]["runs"]["count"] == 3

    done = cli("runs", "prune", "--inventory", str(inv))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Removed from")
    # The same things, now removed.
    assert done.stdout.split("\n", 1)[1] == dry.stdout.split("\n", 1)[1]
    assert not state.run_dir("d100").exists() and "d100" not in store.run_ids()

    again = cli("runs", "prune", "--inventory", str(inv), "--json")
    assert {kind: v["count"] for kind, v in json.loads(again.stdout)["removed"].items()} == \
        dict.fromkeys(retention.KINDS, 0)


def test_runs_prune_with_a_bad_policy_is_one_error_line_and_exit_2(inventory):
    write(inventory / "group_vars/all/aidevops.yml", REQUEST + "  retention: {revealed_hours: -3}\n")
    r = cli("runs", "prune", "--inventory", str(inventory), "--dry-run")
    assert r.returncode == 2
    assert r.stderr.strip() == (f"error: {inventory / 'group_vars/all/aidevops.yml'}: aidevops.retention."
                                "revealed_hours: expected hours from 0 to 87600, got -3")


def start(inventory, command="validate") -> RunSession:
    return RunSession(inventory, command).start(load_request(inventory).as_dict())


def test_the_end_of_a_run_prunes_and_says_so_in_its_log(inv, state, store, clock, history):  # noqa: F811
    session = start(inv)
    session.finish("succeeded", 0)

    assert {"d100", "d80", "d70"}.isdisjoint(store.run_ids())
    assert not state.run_dir("d80").exists()
    assert session.run_id in store.run_ids() and store.run(session.run_id).status == "succeeded"
    assert session.retention_note.startswith("retention: removed 3 runs (")
    logged = [line for line in log_lines(session) if line["message"].startswith("retention:")]
    assert len(logged) == 1 and logged[0]["level"] == "info"
    assert "d80 (run, failed)" in logged[0]["context"]["removed"]["runs"]["items"]
    assert log_lines(session)[-1]["message"] == "run succeeded"  # the run's end is still its last line


def test_the_run_in_progress_is_never_pruned_however_old(inv, state, store, clock, history):  # noqa: F811
    clock(ago(300))  # a run whose record says it began 300 days ago, older than all others
    session = start(inv, "validate")
    session.finish("failed", 1)
    assert session.run_id in store.run_ids() and session.run_dir.is_dir()


def test_a_failed_prune_is_a_warning_and_the_run_outcome_stands(inv, state, store, history, monkeypatch):  # noqa: F811
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(retention, "prune", broken)
    session = start(inv)
    assert session.finish("succeeded", 0) >= 0

    record = store.run(session.run_id)
    assert (record.status, record.exit_code) == ("succeeded", 0)
    warning = [line for line in log_lines(session) if line["level"] == "warning"]
    assert [w["message"] for w in warning] == \
        ["retention: the prune failed, the run's outcome stands: OSError(28, 'No space left on device')"]
    assert "d100" in store.run_ids()


@pytest.mark.parametrize("how", ["after_run: false", "cancelled"])
def test_no_prune_after_a_cancelled_run_nor_when_turned_off(inv, state, store, history, how):  # noqa: F811
    if how.startswith("after_run"):
        write(inv / "group_vars/all/aidevops.yml", REQUEST + f"  retention: {{keep_last_runs: 3, {how}}}\n")
    session = start(inv)
    session.finish("cancelled" if how == "cancelled" else "succeeded", 130 if how == "cancelled" else 0)
    assert "d100" in store.run_ids() and state.run_dir("d100").is_dir()
    assert session.retention_note is None
