"""A run of a real phase against a sandbox host, stopped at random moments (issue 12, items 2, 3 and 8).

SIGTERM, SIGHUP and SIGINT end it cleanly: exit 130, recorded as cancelled, the inventory's lock free, nothing it
started left running (ansible-playbook, its workers, SSH control masters). SIGKILL of the whole command, at least
10 times at random points: the store stays sound, every JSON file of the run parses, `runs show` says
interrupted, and the next run takes the lock over with a warning and stops what the killed one left running.
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.run import runner
from orchestrator.run.lock import RunLock
from tests.conftest import ROOT
from tests.integration.conftest import aidevops

pytestmark = pytest.mark.integration
KILLS = 10
TIMINGS: dict[str, object] = {}


@pytest.fixture(scope="module")
def sandbox(own_inventory):
    """The session's sandbox host (provisioned by test_base_server_run), under an inventory of this module's own."""
    inv, box, host = own_inventory
    yield inv, box, host
    for pid in marked(inv):  # whatever a failed test left running
        os.kill(pid, signal.SIGKILL)
    print("\ntimings:", json.dumps(TIMINGS, indent=1))


def start(inv, out: Path) -> subprocess.Popen:
    with open(out, "w") as f:
        return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv),
                                 "--only", "base_server", "--plain"], stdout=f, stderr=subprocess.STDOUT,
                                cwd=ROOT, start_new_session=True)


def marked(inv) -> list[int]:
    """Processes that a run of this inventory started (they carry its marker: ansible-playbook, its workers,
    the ssh clients and control masters they started)."""
    state = f"{(inv / '.aidevops').resolve()}"
    return runner.marked_processes(lambda value: value.startswith(state))


def playbooks(inv) -> list[str]:
    r = subprocess.run(["pgrep", "-af", "ansible-playbook"], capture_output=True, text=True, check=False)
    return [line for line in r.stdout.splitlines() if str(inv) in line]


def connections(host) -> list[str]:
    """SSH connections open to the sandbox host: an ssh control master kept for reuse (ControlPersist) holds one.
    (A master is not found by the marker: it writes its title 'ssh: <socket> [mux]' over its environment.)"""
    r = subprocess.run(["ss", "-Htnp", "state", "established", f"( dport = :{host.ssh_port} )"],
                       capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


def nothing_left(inv, host) -> None:
    assert marked(inv) == [] and playbooks(inv) == []
    assert connections(host) == []


def wait_for_ssh(inv, proc, timeout=90) -> None:
    """Until the run's ansible-playbook talks to the host (an ssh process of the run exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it reached the host"
        for pid in marked(inv):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "ssh":
                    return
            except OSError:
                continue
        time.sleep(0.2)
    raise AssertionError("the run never reached the host")


def show(inv, run_id=None) -> dict:
    r = aidevops("runs", "show", *([run_id] if run_id else []), "--inventory", str(inv), "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def new_run(inv, before: set[str]) -> str | None:
    runs = {p.name for p in (inv / ".aidevops/runs").glob("*")} - before
    assert len(runs) <= 1
    return runs.pop() if runs else None


def lock_is_free(inv) -> None:
    notes = []
    with RunLock(inv).acquire(note=notes.append):
        assert notes == []  # released cleanly: nothing to take over


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_mid_phase_stops_the_run_cleanly(sandbox, tmp_path, sig):
    inv, _, host = sandbox
    before = {p.name for p in (inv / ".aidevops/runs").glob("*")}
    proc = start(inv, tmp_path / "out")
    try:
        wait_for_ssh(inv, proc)
        assert connections(host)  # what is checked at the end is there now
        time.sleep(2)
        t0 = time.monotonic()
        os.kill(proc.pid, sig)
        assert proc.wait(timeout=60) == 130, (tmp_path / "out").read_text()[-3000:]
        TIMINGS[f"{sig.name}: exit after"] = round(time.monotonic() - t0, 1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    run = show(inv, new_run(inv, before))
    assert run["run"]["status"] == "cancelled" and run["run"]["exit_code"] == 130
    assert [p["status"] for p in run["phases"] if p["phase"] == "base_server"] == ["cancelled"]
    lock_is_free(inv)
    nothing_left(inv, host)


def test_a_cancelled_run_is_resumed(sandbox):
    """Ctrl-C, then `run --resume`: the cancelled phase runs again, to its end."""
    inv, _, host = sandbox
    cancelled = show(inv)["run"]
    assert cancelled["status"] == "cancelled", cancelled  # the last signal test's run
    t0 = time.monotonic()
    r = aidevops("run", "--resume", "--inventory", str(inv), "--plain")
    TIMINGS["resume after Ctrl-C"] = round(time.monotonic() - t0, 1)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert f"re-run: cancelled in {cancelled['id']}" in " ".join(r.stdout.split())
    resumed = show(inv)
    assert resumed["run"]["resumed_from"] == cancelled["id"] and resumed["run"]["status"] == "succeeded"
    assert {p["phase"]: p["status"] for p in resumed["phases"]}["base_server"] == "succeeded"
    lock_is_free(inv)
    nothing_left(inv, host)


def test_sigkill_at_random_moments_leaves_a_sound_store_and_the_truth(sandbox, tmp_path):
    inv, _, host = sandbox
    rng = random.Random(os.environ.get("AIDEVOPS_KILL_SEED", "12"))
    kills, attempts, t_start = [], 0, time.monotonic()
    db = inv / ".aidevops/aidevops.db"
    while len(kills) < KILLS:
        attempts += 1
        assert attempts <= KILLS + 6, f"only {len(kills)} runs lived long enough to be killed: {kills}"
        before = {p.name for p in (inv / ".aidevops/runs").glob("*")}
        out = tmp_path / f"out{attempts}"
        delay = round(rng.uniform(5, 25), 1)
        proc = start(inv, out)
        time.sleep(delay)
        if proc.poll() is not None:  # ended by itself first: what it says is checked, it is no kill
            TIMINGS.setdefault("ended before the kill", []).append((delay, proc.returncode))
            assert proc.returncode != 75, out.read_text()
            continue
        os.killpg(proc.pid, signal.SIGKILL)  # the command and everything in its process group
        proc.wait()
        text = out.read_text()
        assert "another aidevops run holds this inventory" not in text
        if kills:  # the previous run was killed holding the lock: this one took it over, and said so
            assert "took over the run lock from run" in text, text[-3000:]
        kills.append(delay)

        with sqlite3.connect(db) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        run_id = new_run(inv, before)
        if run_id is None:
            continue  # killed before the run was recorded: nothing to show
        for f in (inv / ".aidevops/runs" / run_id).rglob("*.json*"):
            if f.name.endswith("-partial.json"):
                continue  # ansible-playbook's scratch file for ansible-runner, never read as a record
            text = f.read_text()
            if f.suffix == ".jsonl":
                [json.loads(line) for line in text.splitlines()]
            else:
                json.loads(text)
        assert show(inv, run_id)["run"]["status"] == "interrupted"
    TIMINGS["kills (s after start)"] = kills
    TIMINGS["kill loop"] = round(time.monotonic() - t_start, 1)

    # The next run takes over from the last killed one, stops what it left running, and runs to its end.
    t0 = time.monotonic()
    r = aidevops("run", "--inventory", str(inv), "--only", "base_server", "--plain")
    TIMINGS["run after the kills"] = round(time.monotonic() - t0, 1)
    assert "took over the run lock from run" in r.stderr, r.stderr
    assert r.returncode in (0, 1), r.stdout[-3000:] + r.stderr[-2000:]
    TIMINGS["run after the kills: exit"] = r.returncode
    with sqlite3.connect(db) as con:
        statuses = dict(con.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
    assert "running" not in statuses  # written as interrupted, not only shown so
    TIMINGS["runs by status"] = statuses
    lock_is_free(inv)
    nothing_left(inv, host)
