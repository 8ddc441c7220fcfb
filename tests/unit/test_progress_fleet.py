"""Progress with many hosts: failures as they happen, one tally line per phase, and a hosts x phases grid."""

import io

from orchestrator.cli.progress import Progress
from orchestrator.outcome import PhaseResult
from orchestrator.plan import build_plan
from orchestrator.request import load_request
from orchestrator.run.events import Kind, TaskEvent
from tests.conftest import write

HOSTS = [f"web-{i}" for i in range(1, 6)]


def fleet_plan(inventory):
    write(inventory / "hosts.yml", "all:\n  hosts:\n" + "".join(f"    {h}:\n" for h in HOSTS)
          + "  children:\n    supabase:\n      hosts:\n        web-5:\n")
    return build_plan(load_request(inventory))


def event(kind, host, task="Ensure x.", message=None):
    return TaskEvent(kind, "base_server", 1, "", host=host, task=task, message=message)


def test_plain_lines_of_a_fleet_keep_to_failures_and_a_tally(inventory):
    out = io.StringIO()
    progress = Progress(fleet_plan(inventory), stream=out, live=False)
    progress.phase_started("base_server")
    for host in HOSTS:
        progress.task_event(event(Kind.TASK_START, None))
        progress.task_event(event(Kind.CHANGED, host))
    progress.task_event(event(Kind.FAILED, "web-3", "Ensure ufw is enabled.", "ufw: command not found"))
    progress.phase_finished(PhaseResult("base_server", "failed", "1 task(s) failed", duration=12.0))
    lines = out.getvalue().splitlines()
    assert lines == [
        "[base_server] started",
        "[base_server] web-3: failed: Ensure ufw is enabled. - ufw: command not found",
        "[base_server] failed in 12.0s, 5 hosts: 4 done, 1 failed (web-3): 1 task(s) failed",
    ]


def test_a_few_hosts_still_get_a_line_per_change(inventory):
    write(inventory / "hosts.yml", "all:\n  hosts:\n    a:\n    b:\n")
    out = io.StringIO()
    progress = Progress(build_plan(load_request(inventory)), stream=out, live=False)
    progress.task_event(event(Kind.CHANGED, "a"))
    assert out.getvalue() == "[base_server] a: changed: Ensure x.\n"


def test_the_terminal_shows_hosts_by_phases(inventory):
    plan = fleet_plan(inventory)
    progress = Progress(plan, stream=io.StringIO(), live=False)
    progress.phase_started("base_server")
    progress.task_event(event(Kind.OK, "web-1"))
    progress.task_event(event(Kind.UNREACHABLE, "web-2", message="ssh: connect refused"))
    grid = progress._host_grid()
    cells = {col.header: list(col._cells) for col in grid.columns}
    row = {host: i for i, host in enumerate(cells["host"])}
    assert list(cells) == ["host", "base_server", "dns", "n8n", "supabase", "nginx_proxy"]
    assert [cells["base_server"][row[h]] for h in ("web-1", "web-2", "web-3")] == ["…", "✗", "·"]
    # Supabase runs on web-5 only, n8n everywhere else: a host has no cell for what is not placed on it.
    assert [cells["supabase"][row[h]] for h in ("web-1", "web-5")] == ["", "·"]
    assert [cells["n8n"][row[h]] for h in ("web-1", "web-5")] == ["·", ""]
