"""Retention: the request's `retention:` policy applied to an inventory's state folder.

Runs are recorded through the store's own API as a run records them (clock set back where a run must be old),
with run folders as a run leaves them; then what a user checks: old runs gone with their folders and their rows
in every table, the last runs, the last successful deployment and a running run kept, raw AI answers blanked with
the decisions' figures kept, old AI cache entries and revealed reports gone, a dry run that removes nothing and
lists the same, and a bad policy value refused in one line.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.ai.cache import AnswerCache
from orchestrator.ai.providers.base import Answer
from orchestrator.errors import BadInput
from orchestrator.request import load_request
from orchestrator.run.retention import ANSWERS, CACHE, REVEALED, RUNS, STRAY, prune
from orchestrator.state import StateDir
from orchestrator.store import RunStore
from orchestrator.store import database as store_database
from tests.conftest import ROOT, write

NOW = datetime.now(UTC)
REQUEST = ("aidevops:\n  domain: example.com\n  admin_email: ops@example.com\n  services: [n8n]\n"
           "  dns: {provider: none}\n")


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


@pytest.fixture
def clock(monkeypatch):
    """Set the store's clock: what it records from then on is stamped at that moment."""
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(store_database, "now", lambda: moment.isoformat(timespec="milliseconds"))
    return set_to


@pytest.fixture
def inv(inventory):
    write(inventory / "group_vars/all/aidevops.yml", REQUEST + "  retention: {keep_last_runs: 3}\n")
    return inventory


@pytest.fixture
def state(inv):
    return StateDir(inv)


@pytest.fixture
def store(state):
    s = RunStore(state.db)
    yield s
    s.close()


def age_files(path: Path, moment: datetime) -> None:
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (moment.timestamp(), moment.timestamp()))
    os.utime(path, (moment.timestamp(), moment.timestamp()))


def record_run(store: RunStore, state: StateDir, clock, run_id: str, moment: datetime, *, command: str = "run",
               status: str = "succeeded", finish: bool = True) -> Path:
    """A run as `aidevops run` records it at MOMENT: its rows in every table and its folder (artifacts, log,
    report)."""
    clock(moment)
    folder = state.run_dir(run_id)
    store.start_run(run_id, str(state.inventory), command, {"domain": "example.com"}, str(folder))
    store.set_strategy(run_id, "hybrid", "default")
    stamp = moment.isoformat(timespec="milliseconds")
    store.record_phase(run_id, "n8n", status if status != "running" else "running", "", stamp, stamp, 12.0, 0,
                       str(folder / "n8n"))
    store.record_host_stats(run_id, "n8n", {"web1": {"ok": 9, "changed": 2}})
    if status == "failed":
        store.record_failure(run_id, "n8n", "web1", "Start n8n.", "command", "roles/n8n/tasks/main.yml:3", "boom")
    store.record_finding(run_id, "validator", "n8n.healthz", "web1", "passed", "info", "n8n answers", "HTTP 200")
    store.record_metric(run_id, "validator", "http.response_ms", "n8n.example.com", 120, "ms", 1500, True)
    store.record_drill(run_id, "validator", {"service": "n8n", "status": "passed", "host": "web1"})
    store.record_decision(run_id, decision_type="strategic", provider="anthropic", model="m",
                          raw_answer='{"strategy": "hybrid", "reason": "two independent phases"}',
                          decision={"strategy": "hybrid"}, validation={"ok": True}, tokens_in=1200, tokens_out=80,
                          latency=1.5, cached=False)
    store.record_recovery(f"sig-{run_id}", "n8n", {"action": "retry"}, True, run_id)
    store.record_access(run_id, "report --reveal", ["n8n_owner_password"], [str(folder / "report")])
    if finish:
        store.finish_run(run_id, status, {"succeeded": 0, "failed": 1}.get(status, 0), 12.0)
    write(folder / "run.log.jsonl", '{"message": "run started"}\n' * 20)
    write(folder / "n8n/artifacts/n8n/stdout", "PLAY [n8n] ****\n" * 200)
    write(folder / "n8n/artifacts/n8n/job_events/1-abc.json", '{"event": "runner_on_ok"}')
    write(folder / "report/report.html", "<html>masked</html>")
    age_files(folder, moment)
    return folder


def reveal(state: StateDir, run_id: str, moment: datetime) -> list[Path]:
    """The files `aidevops report --reveal` writes beside the masked report, written at MOMENT."""
    files = [write(state.report_dir(run_id) / f"report.revealed.{ext}", "password: OwnerPw-77xyZq0K\n")
             for ext in ("html", "md")]
    for f in files:
        os.utime(f, (moment.timestamp(), moment.timestamp()))
    return files


RUNNING_RUN = """
import sys, time
from orchestrator.store import database
database.now = lambda: sys.argv[2]
store = database.RunStore(database.Path(sys.argv[1]))
store.start_run("d60", sys.argv[3], "run", {"domain": "example.com"}, sys.argv[4])
store.record_decision("d60", decision_type="strategic", provider="anthropic", raw_answer="{}", tokens_in=5)
print("started", flush=True)
time.sleep(600)
"""


@pytest.fixture
def history(store, state, clock):
    """Runs of the last 100 days, oldest first (keep_last_runs: 3):
    100d run ok (a later deployment succeeded), 90d run ok (the latest successful deployment), 80d run failed,
    70d check ok (not a deployment), 60d run still running (in another process), then 50d, 45d failed and 5d
    failed: the last three."""
    runs = {"d100": (100, "run", "succeeded"), "d90": (90, "run --only n8n", "succeeded"),
            "d80": (80, "run", "failed"), "d70": (70, "check", "succeeded"), "d50": (50, "run", "failed"),
            "d45": (45, "run --resume d50", "failed"), "d5": (5, "run", "failed")}
    for run_id, (days, command, status) in runs.items():
        record_run(store, state, clock, run_id, ago(days), command=command, status=status)
    # The host state the next run compares with: recorded by d100 once, then by d90 (the latest counts).
    clock(ago(100))
    store.record_phase_state("d100", "n8n", "inputs-1", {"web1": "a" * 64})
    clock(ago(90))
    store.record_phase_state("d90", "n8n", "inputs-2", {"web1": "b" * 64})
    # A run still running, 60 days after it started: another process that recorded its start and goes on.
    folder = state.run_dir("d60")
    running = subprocess.Popen([sys.executable, "-c", RUNNING_RUN, str(state.db),
                                ago(60).isoformat(timespec="milliseconds"), str(state.inventory), str(folder)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert running.stdout.readline().strip() == "started"
        write(folder / "run.log.jsonl", '{"message": "run started"}\n')
        age_files(folder, ago(60))
        assert store.run("d60").status == "running"
        yield runs
    finally:
        running.kill()
        running.wait()


def rows_of(store: RunStore, run_id: str) -> dict[str, int]:
    """table -> rows naming the run, in every table that has a run id."""
    db = sqlite3.connect(store.path)
    try:
        return {table: db.execute(f'SELECT COUNT(*) FROM "{table}" WHERE {column} = ?', (run_id,)).fetchone()[0]
                for table, column in store.run_tables().items()}
    finally:
        db.close()


def policy_of(inv: Path):
    return load_request(inv).retention


def snapshot(state: StateDir) -> dict[str, tuple[int, float]]:
    """Every file under the state folder (but the store's), with its size and time; and the store's rows."""
    files = {p.relative_to(state.root).as_posix(): (p.stat().st_size, p.stat().st_mtime)
             for p in state.root.rglob("*") if p.is_file() and not p.name.startswith("aidevops.db")}
    db = sqlite3.connect(state.db)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        files.update({f"table {t}": tuple(map(str, sorted(db.execute(f'SELECT * FROM "{t}"').fetchall())))
                      for t in tables})
    finally:
        db.close()
    return files


def test_old_runs_go_with_their_folders_and_their_rows_in_every_table(store, state, inv, history):
    folders = {run_id: state.run_dir(run_id) for run_id in [*history, "d60"]}
    assert all(f.is_dir() for f in folders.values())
    # A run has rows in every table (a failed one records no host state; d100 did).
    assert all(count > 0 for table, count in rows_of(store, "d80").items() if table != "phase_states")
    assert rows_of(store, "d100")["phase_states"] == 1

    done = prune(store, state, policy_of(inv))

    removed = {"d100", "d80", "d70"}
    assert sorted(i.name.split(" ")[0] for i in done.items if i.kind == RUNS) == sorted(removed)
    for run_id in removed:
        assert not folders[run_id].exists()
        assert set(rows_of(store, run_id).values()) == {0}, run_id
    # What worked against a failure stays known, no longer tied to the removed run.
    assert store.known_recovery("sig-d80") == {"action": "retry"}
    assert store.run_ids() == {"d90", "d60", "d50", "d45", "d5"}
    for run_id in store.run_ids():
        assert folders[run_id].is_dir() and rows_of(store, run_id)["runs"] == 1
    assert done.kept == {"d90": "the latest successful deployment", "d60": "still running",
                         "d50": "one of the last 3 runs", "d45": "one of the last 3 runs"}
    assert done.applied and not done.failed
    runs_bytes = dict(done.totals())[RUNS][1]
    assert runs_bytes > 3 * len("PLAY [n8n] ****\n" * 200)  # the folders' bytes, artifacts included


def test_the_run_the_next_run_compares_with_is_kept(store, state, inv, clock, history):
    # d100 holds the latest recorded state of base_server: the next run compares with it.
    clock(ago(100))
    store.record_phase_state("d100", "base_server", "inputs-0", {"web1": "c" * 64})
    done = prune(store, state, policy_of(inv))
    assert done.kept["d100"] == "the next run compares base_server with it"
    assert "d100" in store.run_ids() and state.run_dir("d100").is_dir()


def test_the_runs_the_last_deployment_kept_phases_from_are_kept(store, state, inv, clock, history):
    clock(ago(89))
    store.record_phase("d90", "base_server", "kept", "unchanged", kept_from="d100")
    done = prune(store, state, policy_of(inv))
    assert done.kept["d100"] == "base_server of the latest successful deployment was done in it"


def test_the_run_that_last_deployed_a_phase_is_kept(store, state, inv, clock, history):
    # d100 deployed dns; every later run left it out (run --only n8n): `aidevops check` replays d100 for dns.
    clock(ago(100))
    store.record_phase("d100", "dns", "succeeded")
    for run_id in ("d90", "d80", "d50", "d45", "d5"):
        store.record_phase(run_id, "dns", "not_selected", "left out by --only")
    done = prune(store, state, policy_of(inv))
    assert done.kept["d100"] == "the latest deployment of dns"
    assert {"d80", "d70"}.isdisjoint(store.run_ids())


def test_raw_answers_are_blanked_but_the_decisions_and_their_figures_stay(store, state, inv, clock, history):
    record_run(store, state, clock, "d1", ago(1))  # a recent run: its raw answer stays
    before = {run_id: store.decisions(run_id) for run_id in ("d90", "d60", "d5", "d1")}
    assert store.run("d60").status == "running"

    done = prune(store, state, policy_of(inv))

    blanked = sorted(i.name for i in done.items if i.kind == ANSWERS)
    # d90 and d45 are kept runs older than 14 days; d60 is running; d100, d80, d70 and now d50 (d1 made it
    # fourth last) went whole.
    assert blanked == ["d45#1 (strategic)", "d90#1 (strategic)"]
    after = store.decisions("d90")
    assert len(after) == len(before["d90"]) == 1
    assert after[0]["raw_answer"] is None
    assert {k: v for k, v in after[0].items() if k != "raw_answer"} == \
        {k: v for k, v in before["d90"][0].items() if k != "raw_answer"}  # tokens, latency, decision: kept
    assert after[0]["tokens_in"] == 1200 and after[0]["decision"] == {"strategy": "hybrid"}
    for run_id in ("d60", "d5", "d1"):  # running, or younger than 14 days
        assert store.decisions(run_id) == before[run_id]


def test_old_ai_cache_entries_go(store, state, inv, history):
    cache = AnswerCache(state.ai_cache)
    answer = Answer(data={"strategy": "hybrid"}, raw="{}", provider="anthropic", model="m")
    cache.put("old", answer)
    cache.put("fresh", answer)
    os.utime(state.ai_cache / "old.json", (ago(31).timestamp(), ago(31).timestamp()))

    done = prune(store, state, policy_of(inv))

    assert [i.name for i in done.items if i.kind == CACHE] == ["ai-cache/old.json"]
    assert cache.get("old") is None and cache.get("fresh") is not None


def test_revealed_reports_older_than_the_limit_go_and_the_masked_report_stays(store, state, inv, history):
    stale = reveal(state, "d5", ago(hours=25))
    recent = reveal(state, "d45", ago(hours=23))
    in_removed_run = reveal(state, "d80", ago(hours=30))  # goes with its run's folder

    done = prune(store, state, policy_of(inv))

    assert sorted(i.name for i in done.items if i.kind == REVEALED) == \
        ["runs/d5/report/report.revealed.html", "runs/d5/report/report.revealed.md"]
    assert not any(f.exists() for f in stale + in_removed_run)
    assert all(f.exists() for f in recent)
    assert (state.report_dir("d5") / "report.html").exists()


def test_a_dry_run_removes_nothing_and_lists_what_the_prune_removes(store, state, inv, history):
    reveal(state, "d5", ago(2))
    AnswerCache(state.ai_cache).put("old", Answer(data={}, raw="{}", provider="p", model="m"))
    os.utime(state.ai_cache / "old.json", (ago(40).timestamp(), ago(40).timestamp()))
    before = snapshot(state)

    dry = prune(store, state, policy_of(inv), dry_run=True)

    assert snapshot(state) == before
    assert not dry.applied
    assert {kind: count for kind, (count, _) in dry.totals().items()} == \
        {RUNS: 3, ANSWERS: 3, CACHE: 1, REVEALED: 2, STRAY: 0}
    done = prune(store, state, policy_of(inv))
    assert done.items == dry.items and done.kept == dry.kept
    assert snapshot(state) != before


def test_a_folder_left_without_its_run_goes_once_it_is_old(store, state, inv, history):
    old = write(state.run_dir("20250101-000000-dead") / "run.log.jsonl", "{}\n").parent
    age_files(old, ago(40))
    new = write(state.run_dir("20991231-000000-born") / "run.log.jsonl", "{}\n").parent  # a run being born
    done = prune(store, state, policy_of(inv))
    assert [i.name for i in done.items if i.kind == STRAY] == ["runs/20250101-000000-dead"]
    assert not old.exists() and new.exists()


def test_a_folder_that_cannot_be_removed_is_said_and_a_later_prune_removes_it(store, state, inv, history,
                                                                              monkeypatch):
    from orchestrator.run import retention

    real_rmtree = retention.shutil.rmtree

    def refuse_d80(path, *args, **kwargs):
        if Path(path).name == "d80":
            raise PermissionError(13, "Permission denied")
        return real_rmtree(path, *args, **kwargs)
    monkeypatch.setattr(retention.shutil, "rmtree", refuse_d80)
    done = prune(store, state, policy_of(inv))
    assert done.failed == ["d80 (run, failed): Permission denied"]
    assert "d80" not in store.run_ids() and state.run_dir("d80").is_dir()  # its record went, its folder stayed

    monkeypatch.setattr(retention.shutil, "rmtree", real_rmtree)
    later = prune(store, state, policy_of(inv))
    assert [(i.kind, i.name) for i in later.items if i.kind == STRAY] == [(STRAY, "runs/d80")]
    assert not state.run_dir("d80").exists()


def test_the_run_in_progress_is_spared(store, state, inv, clock, history):
    record_run(store, state, clock, "d200", ago(200), command="validate")  # old and not one of the last three
    done = prune(store, state, policy_of(inv), spare=["d200"])
    assert done.kept["d200"] == "the run in progress" and state.run_dir("d200").is_dir()
    assert not any(i.name.startswith("d200#") for i in done.items)  # nor its raw answers


def test_a_store_that_cannot_be_changed_removes_nothing(store, state, inv, history, monkeypatch):
    before = snapshot(state)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(RunStore, "remove", broken)
    with pytest.raises(sqlite3.OperationalError):
        prune(store, state, policy_of(inv))
    assert snapshot(state) == before


def test_the_store_removal_is_one_transaction(store, state, history, monkeypatch):
    before = snapshot(state)
    tables = store.run_tables()
    monkeypatch.setattr(RunStore, "run_tables", lambda self: {**tables, "no_such_table": "run_id"})
    with pytest.raises(sqlite3.OperationalError):
        store.remove(["d100", "d80"])
    assert snapshot(state) == before


@pytest.mark.parametrize("section,message,hint", [
    ("{runs_days: -1}", "aidevops.retention.runs_days: expected days from 0 to 3650, got -1", None),
    ("{revealed_hours: '24h'}", "aidevops.retention.revealed_hours: expected hours from 0 to 87600, got '24h'",
     None),
    ("{keep_last_runs: 0}", "aidevops.retention.keep_last_runs: expected a whole number from 1 to 10000, got 0",
     None),
    ("{ai_cache_days: 7.5}", "aidevops.retention.ai_cache_days: expected days from 0 to 3650, got 7.5", None),
    ("{run_days: 30}", "aidevops.retention.run_days: unknown key",
     "expected one of runs_days, keep_last_runs, raw_answers_days, ai_cache_days, revealed_hours, after_run"),
    ("30", "aidevops.retention: expected a mapping, got int", None),
    ("{after_run: 'no'}", "aidevops.retention.after_run: expected true or false, got 'no'", None),
])
def test_a_bad_policy_value_is_one_clear_line_naming_the_key_and_the_file(inventory, section, message, hint):
    write(inventory / "group_vars/all/aidevops.yml", REQUEST + f"  retention: {section}\n")
    with pytest.raises(BadInput) as exc:
        load_request(inventory)
    text = str(exc.value)
    assert text.startswith(str(inventory / "group_vars/all/aidevops.yml") + ": " + message), text
    assert hint is None or hint in text
    assert "\n" not in text and len(text) < 300


def test_the_defaults_and_a_partial_section(inventory):
    write(inventory / "group_vars/all/aidevops.yml", REQUEST)
    policy = load_request(inventory).retention
    assert (policy.runs_days, policy.keep_last_runs, policy.raw_answers_days, policy.ai_cache_days,
            policy.revealed_hours, policy.after_run) == (30, 10, 14, 30, 24, True)
    write(inventory / "group_vars/all/aidevops.yml", REQUEST + "  retention:\n    revealed_hours: 1\n    runs_days:\n")
    policy = load_request(inventory).retention
    assert policy.revealed_hours == 1 and policy.runs_days == 30
    assert load_request(inventory).as_dict()["retention"]["revealed_hours"] == 1
