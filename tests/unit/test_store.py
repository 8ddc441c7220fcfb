"""The run store keeps findings, figures and decisions per run, and the history the AI layer reads."""

import pytest

from orchestrator.store import RunStore


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "aidevops.db")
    s.start_run("r1", "/inv", "run", {"domain": "example.com"}, str(tmp_path))
    yield s
    s.close()


def test_findings_and_metrics_are_kept_per_run(store):
    store.record_finding("r1", "validator", "nginx.hsts", "web1", "failed", "high", "HSTS header",
                         "no Strict-Transport-Security", agent="nginx_proxy")
    store.record_metric("r1", "validator", "lynis.hardening_index", "web1", 72, "", threshold=70, passed=True)
    assert store.findings("r1")[0]["evidence"] == "no Strict-Transport-Security"
    assert store.findings("other") == []
    metric = store.metrics("r1")[0]
    assert metric["value"] == 72 and metric["passed"] is True


def test_decisions_are_numbered_and_json_fields_come_back(store):
    first = store.record_decision("r1", decision_type="strategic", provider="offline",
                                  decision={"strategy": "hybrid"}, validation={"ok": True}, cached=False)
    second = store.record_decision("r1", decision_type="recovery", provider="anthropic", fallback_reason="timeout")
    assert (first, second) == (1, 2)
    rows = store.decisions("r1")
    assert rows[0]["decision"] == {"strategy": "hybrid"} and rows[1]["fallback_reason"] == "timeout"
    with pytest.raises(ValueError):
        store.record_decision("r1", decision_type="x", prompt="the whole prompt")  # never stored


def test_history_lists_past_runs_of_the_inventory_with_failures(store):
    store.record_phase("r1", "n8n", "failed")
    store.record_failure("r1", "n8n", "web1", "Start n8n.", "command", "roles/n8n/tasks/compose.yml:3", "boom")
    store.finish_run("r1", "failed", 1, 10.0)
    store.start_run("r2", "/elsewhere", "run", {}, "/tmp")
    history = store.history("/inv")
    assert [h["id"] for h in history] == ["r1"]
    assert history[0]["phases"] == {"n8n": "failed"} and history[0]["failures"][0]["message"] == "boom"
