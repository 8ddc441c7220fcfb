"""The benches that need no sandbox keep working: the event pipeline on a small size, and the results page.

Their figures are not asserted (issue 16: they are measured, not tested); what is checked is what a reader of
their output relies on: a table with a row per size, and a results page with every figure against its goal.
"""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BENCH = ROOT / "bench"


@pytest.fixture
def results_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import results

    monkeypatch.setattr(results, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(results, "MARKDOWN", tmp_path / "RESULTS.md")
    monkeypatch.setattr(results, "CHART", tmp_path / "results.svg")
    return results


def keep(folder, stage, bench, data):
    path = folder / stage / f"{bench}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": {"date": "2026-12-01 00:00 UTC", "commit": "abc1234", "cores": 2}, **data}))


def test_the_event_bench_replays_recorded_events_through_the_pipeline(tmp_path):
    out = tmp_path / "events.json"
    r = subprocess.run([sys.executable, str(BENCH / "events.py"), "--sizes", "2000,4000", "--json", str(out)],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    table = r.stdout[r.stdout.index("events/s"):].splitlines()[1:3]  # the rows under the header
    rows = [line.split() for line in table]
    assert [row[0] for row in rows] == ["2,000", "4,000"]
    figures = json.loads(out.read_text())
    assert [f["events"] for f in figures["results"]] == [2000, 4000]
    assert figures["recorded"] > 100 and figures["machine"]["commit"]
    # Every event went through the run's store and log: the log grows with the events replayed.
    assert figures["results"][1]["log_mb"] > figures["results"][0]["log_mb"] > 0
    assert "events/s" in r.stdout.splitlines()[-1]


def test_the_results_page_gives_each_figure_before_and_after_against_its_goal(results_module):
    keep(results_module.RESULTS, "before", "strategies", {"ratio": 0.92})
    keep(results_module.RESULTS, "after", "strategies", {"ratio": 0.64})
    keep(results_module.RESULTS, "before", "fresh", {"n8n_tls_s": 412.0})
    results_module.main()
    page = results_module.MARKDOWN.read_text()
    assert "| hybrid / sequential | 0.92x | 0.64x | at most 0.70x | yes |" in page
    assert "| fresh host to n8n over TLS | 412.0 s | not measured | at most 300.0 s | no |" in page
    assert "| re-run / fresh run | not measured | not measured | at most 0.20x | - |" in page
    assert "| after | strategies | 2026-12-01 00:00 UTC | abc1234 | 2 |" in page
    svg = results_module.CHART.read_text()
    assert svg.lstrip().startswith("<?xml") and "hybrid / sequential" in svg


def test_a_floor_goal_reads_the_right_way_round(results_module):
    rate = next(f for f in results_module.FIGURES if f.unit == "events/s")
    assert rate.share(100_000) == 0.5  # twice the goal: well within it
    assert rate.share(25_000) == 2.0
