"""The stack benches keep working (issue 16: "the README's test command runs each bench once on small inputs"):
each runs once on the shared e2e stack, given with --inventory, on the dns phase or the tiny play, in about
a minute each instead of the 10-25 minutes of a sandbox of its own.

Their figures are not asserted (they are measured, not tested). What is checked is what a reader of their output
relies on (the figures printed last, their JSON beside them) and that a given sandbox is left as it was found:
its host still up and n8n still answering. The events bench and the results page run in tests/unit."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import PREFIX

pytestmark = pytest.mark.integration


def bench(name, inv, tmp_path, *args):
    """bench/NAME.py on the shared stack; (its stdout, its JSON figures)."""
    out = tmp_path / f"{name}.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), "--inventory", str(inv),
                        "--prefix", PREFIX, "--json", str(out), *args],
                       capture_output=True, text=True, timeout=900, cwd=ROOT, check=False)
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout, json.loads(out.read_text())


@pytest.fixture
def deployed(stack, first_run):
    inv, box, host = stack
    assert first_run.returncode == 0, first_run.stdout[-6000:]
    hosts_yml = (inv / "hosts.yml").read_text()
    yield inv
    # A given sandbox is used as it is: nothing created, removed or rewritten.
    assert [(h.name, h.state) for h in box.status()] == [(host.name, "running")]
    assert (inv / "hosts.yml").read_text() == hosts_yml


def test_overhead_runs_the_tiny_play_both_ways(deployed, tmp_path):
    stdout, figures = bench("overhead", deployed, tmp_path, "--pairs", "1", "--plays", "tiny")
    [tiny] = figures["results"]
    assert tiny["play"] == "tiny" and tiny["phases"] == ["bench_tiny"]
    assert len(tiny["aidevops"]) == len(tiny["bare"]) == 1 and tiny["ratio"] > 0
    assert stdout.splitlines()[-1] == "tiny: phases bench_tiny"
    assert "tiny       1" in stdout  # the row of the table: play, pairs, medians, ratio, goal


def test_rerun_replays_the_phase_it_reran(deployed, tmp_path):
    stdout, figures = bench("rerun", deployed, tmp_path, "--reps", "1", "--only", "dns")
    assert figures["changed"] == [0]  # dns changes nothing on a deployed stack
    assert figures["phases"]["dns"] > 0 and figures["fresh_s"] is None and figures["ratio_bare"] > 0
    assert "host-side phases replayed by the bare side: dns" in stdout
    assert stdout.splitlines()[-1] == "re-run / the fresh run: not measured"


def test_strategies_runs_each_strategy(deployed, tmp_path):
    stdout, figures = bench("strategies", deployed, tmp_path, "--pairs", "1", "--only", "dns")
    assert {k: len(v) for k, v in figures["times"].items()} == {"sequential": 1, "hybrid": 1}
    assert figures["fresh_hosts"] is False
    assert stdout.splitlines()[-1].startswith("hybrid / sequential: ")


def test_fresh_sees_n8n_answer_over_tls(deployed, tmp_path):
    stdout, figures = bench("fresh", deployed, tmp_path, "--only", "dns")
    assert figures["fresh_host"] is False and figures["n8n_tls_s"] is not None
    assert stdout.splitlines()[-1].startswith("n8n over TLS after:")
