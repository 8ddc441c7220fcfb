"""`aidevops restore`: bad input and the confirmation are refused with one line and nothing created; the drill's
result (set_stats) is judged by the rules for backup age and drill status; drills are stored."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.store import RunStore
from orchestrator.validation import drill
from orchestrator.validation.standalone import exit_code
from tests.conftest import ROOT

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def aidevops(*args, stdin=subprocess.DEVNULL):
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", "restore", *args], check=False,
                          capture_output=True, text=True, cwd=ROOT, stdin=stdin, timeout=60)


@pytest.mark.parametrize("args, where", [
    ((), "needs --service and --snapshot"),
    (("--service", "n8n"), "needs --service and --snapshot"),
    (("--service", "n8n", "--snapshot", "latest!"), "--snapshot: 'latest!' is not a restic snapshot id"),
    (("--drill", "--snapshot", "abcdef12"), "--drill takes the latest snapshot"),
    (("--drill", "--service", "nginx"), "--service: 'nginx' is not a deployed service with backups"),
])
def test_bad_input_is_one_error_line_exit_2_and_nothing_created(inventory, args, where):
    r = aidevops("--inventory", str(inventory), *args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and where in lines[0], r.stderr
    assert not (inventory / ".aidevops").exists()


def test_a_real_restore_without_a_terminal_and_without_yes_is_refused(inventory):
    r = aidevops("--inventory", str(inventory), "--service", "n8n", "--snapshot", "abcdef12")
    assert r.returncode == 2
    assert r.stderr.strip() == ("error: --yes: restoring n8n replaces its database and files and needs a "
                                "confirmation (add --yes to restore without a terminal to ask at)")
    assert not (inventory / ".aidevops").exists()


def _stats(**drilled):
    return {"aidevops_drill": {"host-1": {"n8n": drilled}}}


def _taken(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def test_a_passed_drill_of_a_fresh_backup_passes_with_the_figures():
    [r] = drill.parse(_stats(status="passed", snapshot_id="1a2b3c4d", snapshot_time=_taken(3),
                             counts_expected={"workflow_entity": 2}, counts_found={"workflow_entity": "2"},
                             decrypt_ok=True, duration="41.5", error=""), "n8n", ["host-1"], NOW)
    assert (r.backup_age_hours, r.counts_found, r.decrypt_ok, r.duration) == (3.0, {"workflow_entity": 2}, True, 41.5)
    findings = drill.judge(r)
    assert [(f.check_id, f.status, f.severity) for f in findings] == [
        ("backup.n8n.age", "passed", "high"), ("backup.n8n.drill", "passed", "high")]
    assert "workflow_entity 2/2" in findings[1].evidence and "credential decrypted" in findings[1].evidence
    assert exit_code([f.__dict__ for f in findings]) == 0
    assert drill.alerts(r, findings) == []


def test_a_backup_older_than_allowed_is_a_high_finding_and_a_backup_stale_alert():
    [r] = drill.parse(_stats(status="passed", snapshot_id="1a2b3c4d", snapshot_time=_taken(27)), "n8n",
                      ["host-1"], NOW)
    age = drill.judge(r, max_age_hours=26)[0]
    assert (age.status, age.severity) == ("failed", "high") and "27.0 h ago (allowed 26 h)" in age.evidence
    assert [k for k, _ in drill.alerts(r, [age])] == ["backup_stale"]
    assert drill.judge(r, max_age_hours=48)[0].status == "passed"


@pytest.mark.parametrize("handed", [
    {"status": "failed", "snapshot_time": _taken(1), "error": "row counts differ from the snapshot's counts.json"},
    {"status": "passed", "snapshot_time": _taken(1), "scratch_left": "1"},  # left a scratch container behind
    None,  # the playbook handed nothing back (unreachable host, crash)
])
def test_a_failed_drill_is_a_high_finding_and_a_drill_failed_alert(handed):
    stats = _stats(**handed) if handed else {}
    [r] = drill.parse(stats, "n8n", ["host-1"], NOW, problem="the drill playbook ended failed (rc 2)")
    findings = drill.judge(r)
    bad = [f for f in findings if f.check_id == "backup.n8n.drill"]
    assert bad[0].status == "failed" and bad[0].severity == "high"
    assert exit_code([f.__dict__ for f in findings]) == 1
    kinds = [k for k, content in drill.alerts(r, findings)]
    assert "drill_failed" in kinds
    assert all(c["severity"] == "high" and c["message"] for _, c in drill.alerts(r, findings))


def test_no_backup_right_after_a_first_deploy_is_not_yet_a_problem_but_later_it_is():
    young = _stats(status="no_backup", error="no snapshot of n8n in the repository yet",
                   repository_made=str((NOW - timedelta(hours=2)).timestamp()))
    [r] = drill.parse(young, "n8n", ["host-1"], NOW)
    [age] = drill.judge(r)
    assert (age.status, age.severity) == ("passed", "info") and "no backup yet" in age.evidence
    old = _stats(status="no_backup", error="no snapshot of n8n in the repository yet",
                 repository_made=str((NOW - timedelta(hours=30)).timestamp()))
    [r] = drill.parse(old, "n8n", ["host-1"], NOW)
    [age] = drill.judge(r)
    assert (age.status, age.severity) == ("failed", "high") and "no backup" in age.evidence
    assert [k for k, _ in drill.alerts(r, [age])] == ["backup_stale"]
    none = _stats(status="no_backup", error="no backup repository on the host (/etc/aidevops/backup/restic.env "
                                            "is missing)")
    [r] = drill.parse(none, "n8n", ["host-1"], NOW)
    [age] = drill.judge(r)
    assert (age.status, age.severity) == ("skipped", "info") and "not set up" in age.evidence


def test_a_drill_that_cannot_run_here_says_so_and_fails_nothing():
    [r] = drill.parse({"aidevops_drill": {"host-1": {"supabase": {"status": "not_runnable", "error": "no db"}}}},
                      "supabase", ["host-1"], NOW)
    [f] = drill.judge(r)
    assert (f.status, f.severity) == ("skipped", "info") and f.evidence.startswith("not runnable here")


def test_drills_are_stored_and_read_back(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    [r] = drill.parse(_stats(status="passed", snapshot_id="1a2b3c4d", snapshot_time=_taken(3),
                             counts_expected={"user": 1}, counts_found={"user": 1}, decrypt_ok=True,
                             duration=12), "n8n", ["host-1"], NOW)
    store.record_drill("run-1", "validator", r.as_dict())
    [row] = store.drills("run-1")
    assert (row["status"], row["snapshot_id"], row["backup_age_hours"], row["counts_found"], row["decrypt_ok"]) == \
        ("passed", "1a2b3c4d", 3.0, {"user": 1}, True)
