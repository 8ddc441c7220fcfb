"""One run per inventory at a time (issue 12, items 2 and 8), with real `aidevops` processes contending for a
real inventory run over the local connection: the second is refused with one line, `--wait` waits, a holder
that was killed is taken over with a warning, and SIGTERM / SIGHUP / SIGINT end a run cleanly."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from orchestrator.run import runner
from orchestrator.run.lock import RunLock
from tests.conftest import write
from tests.unit import test_run_local
from tests.unit.test_run_local import aidevops

home, inv = test_run_local.home, test_run_local.inv  # its fixtures: a project home with a slow playbook

BUSY = ("error: {inv}: another aidevops run holds this inventory: run {run_id}, pid {pid} on {host} since {since} "
        "(wait with --wait, or stop it)\n")


def start(home, inv, *args):
    env = {**os.environ, "AIDEVOPS_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv),
                             "--only", "base_server", "--plain", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)


def holder(inv) -> dict:
    text = (inv / ".aidevops/run.lock").read_text()
    return json.loads(text) if text else {}


def wait_until_slow_task(inv, proc, timeout=60) -> dict:
    """The lock's holder once the run reached its 60 s task."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        logs = list((inv / ".aidevops/runs").glob("*/run.log.jsonl"))
        if logs and "Wait a while." in logs[0].read_text():
            return holder(inv)
        time.sleep(0.2)
    raise AssertionError("the run never reached the slow task")


def marked_processes(inv) -> list[int]:
    """Processes started by a run of this inventory (ansible-playbook, its workers, ssh), by their marker."""
    state = f"{(inv / '.aidevops').resolve()}"
    return runner.marked_processes(lambda value: value.startswith(state))


def run_status(home, inv, run_id) -> dict:
    r = aidevops(home, "runs", "show", run_id, "--inventory", str(inv), "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["run"]


@pytest.fixture
def slow(home, inv):
    write(inv / "group_vars/all/test.yml", "sleep_s: 60\n")
    procs = []
    yield procs
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.communicate()


def test_a_second_run_is_refused_with_one_line_naming_the_holder_then_waits_with_wait(home, inv, slow):
    first = start(home, inv)
    slow.append(first)
    held = wait_until_slow_task(inv, first)
    assert held["pid"] == first.pid and held["run_id"] and held["host"] and held["since"]
    runs_before = sorted(p.name for p in (inv / ".aidevops/runs").iterdir())

    for command in (["run", "--only", "base_server"], ["validate"]):
        r = aidevops(home, *command, "--inventory", str(inv))
        assert r.returncode == 75, r.stdout + r.stderr
        assert r.stderr == BUSY.format(inv=inv, **held), r.stderr
        assert r.stdout == ""
    assert sorted(p.name for p in (inv / ".aidevops/runs").iterdir()) == runs_before  # nothing created

    r = aidevops(home, "run", "--only", "base_server", "--inventory", str(inv), "--wait-timeout", "1")
    assert r.returncode == 75 and "(waited 1 s: wait longer, or stop it)" in r.stderr, r.stderr

    write(inv / "group_vars/all/test.yml", "sleep_s: 0\n")  # for the waiting run; the first sleeps on
    second = start(home, inv, "--wait")
    slow.append(second)
    time.sleep(3)
    assert second.poll() is None  # still waiting
    os.kill(first.pid, signal.SIGTERM)
    assert first.wait(timeout=30) == 130
    out, _ = second.communicate(timeout=90)
    assert second.returncode == 0, out
    assert out.splitlines()[0] == "waiting: " + BUSY.format(inv=inv, **held).removeprefix("error: ").rstrip(
        ).replace(" (wait with --wait, or stop it)", "")
    assert "took over" not in out  # the first released it cleanly
    assert run_status(home, inv, held["run_id"])["status"] == "cancelled"
    assert holder(inv) == {}  # released


def test_a_killed_holder_is_taken_over_with_a_warning_and_its_leftovers_stopped(home, inv, slow):
    first = start(home, inv)
    slow.append(first)
    held = wait_until_slow_task(inv, first)
    assert marked_processes(inv)  # ansible-playbook and its `sleep 60` are running
    os.killpg(first.pid, signal.SIGKILL)  # the whole command, as `kill -9` of a terminal's job would
    first.wait()
    assert run_status(home, inv, held["run_id"])["status"] == "interrupted"
    assert marked_processes(inv)  # ansible-playbook is in a session of its own: it outlived its parent

    write(inv / "group_vars/all/test.yml", "sleep_s: 0\n")
    r = aidevops(home, "run", "--only", "base_server", "--inventory", str(inv))
    assert r.returncode == 0, r.stdout + r.stderr
    warning = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and warning[0].startswith(
        f"warning: {inv}: took over the run lock from run {held['run_id']}, pid {held['pid']} on {held['host']} "
        f"since {held['since']}: its process is gone; stopped "), r.stderr
    assert marked_processes(inv) == []
    with sqlite3.connect(inv / ".aidevops/aidevops.db") as db:  # written so, not only shown so
        assert dict(db.execute("SELECT id, status FROM runs").fetchall())[held["run_id"]] == "interrupted"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_cancels_the_run_records_it_and_frees_the_inventory(home, inv, slow, sig):
    first = start(home, inv)
    slow.append(first)
    held = wait_until_slow_task(inv, first)
    started = time.monotonic()
    os.kill(first.pid, sig)
    out, _ = first.communicate(timeout=30)
    assert first.returncode == 130, out
    assert time.monotonic() - started < 20
    run = run_status(home, inv, held["run_id"])
    assert run["status"] == "cancelled" and run["exit_code"] == 130
    assert marked_processes(inv) == []
    assert holder(inv) == {}
    notes = []
    with RunLock(inv).acquire(note=notes.append):  # at once, and released cleanly: nothing to take over
        assert notes == []
