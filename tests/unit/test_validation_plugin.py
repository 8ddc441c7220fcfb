"""The findings plugin: each test of a suite becomes one finding (id, target, status, severity, title, evidence),
and the `metric` fixture's figures come out beside them."""

import json
import subprocess
import sys

import pytest

from orchestrator.validation.plugin import load_outcome
from tests.conftest import ROOT

SUITE = '''
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("cannot reach the host\\nsecond line")

@pytest.mark.severity("critical")
def test_sshd_running():
    """sshd is running."""

@pytest.mark.severity("high")
def test_fail2ban_running():
    """fail2ban is running."""
    assert "inactive" == "active", "fail2ban is not running\\nmore detail"

def test_bare_assert():
    assert 1 + 1 == 3

@pytest.mark.severity("low")
def test_needs_broken(broken):
    """A fixture that fails."""

def test_raises():
    {}["missing"]

def test_skipped():
    pytest.skip("sslyze is not installed")

@pytest.mark.parametrize("endpoint", ["n8n.example.com", "supabase.example.com"])
@pytest.mark.severity("medium")
def test_response_time(endpoint, metric):
    """Fast enough."""
    ms = 120.0 if endpoint.startswith("n8n") else 2400.0
    metric("http.response_ms", f"https://{endpoint}/", ms, unit="ms", threshold=1500, passed=ms <= 1500)
    assert ms <= 1500, f"{endpoint} took {ms} ms"
'''


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    d = tmp_path_factory.mktemp("suite")
    (d / "test_base_server.py").write_text(SUITE)
    out = d / "out.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "orchestrator.validation.plugin", "-p",
                           "no:cacheprovider", "-q", f"--aidevops-out={out}", str(d / "test_base_server.py")],
                          check=False, capture_output=True, text=True, cwd=d, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    assert out.exists(), proc.stdout + proc.stderr
    return load_outcome(out)


def by_id(outcome):
    return {f.check_id: f for f in outcome.findings}


def test_one_finding_per_test_with_the_suite_as_agent(outcome):
    assert list(by_id(outcome)) == [
        "base_server.sshd_running", "base_server.fail2ban_running", "base_server.bare_assert",
        "base_server.needs_broken", "base_server.raises", "base_server.skipped",
        "base_server.response_time[n8n.example.com]", "base_server.response_time[supabase.example.com]"]
    assert {f.agent for f in outcome.findings} == {"base_server"}


def test_passed_with_severity_and_docstring_title(outcome):
    f = by_id(outcome)["base_server.sshd_running"]
    assert (f.status, f.severity, f.title, f.evidence) == ("passed", "critical", "sshd is running.", "")


def test_failed_assertion_keeps_its_message_first_line(outcome):
    f = by_id(outcome)["base_server.fail2ban_running"]
    assert (f.status, f.severity, f.evidence) == ("failed", "high", "fail2ban is not running")


def test_bare_assert_shows_the_expression_and_default_severity(outcome):
    f = by_id(outcome)["base_server.bare_assert"]
    assert f.status == "failed" and f.severity == "medium"
    assert f.evidence.startswith("assert") and "== 3" in f.evidence
    assert f.title == "test_bare_assert"


def test_broken_fixture_or_exception_is_an_error(outcome):
    f = by_id(outcome)["base_server.needs_broken"]
    assert (f.status, f.severity, f.evidence) == ("error", "low", "RuntimeError: cannot reach the host")
    assert by_id(outcome)["base_server.raises"].status == "error"
    assert by_id(outcome)["base_server.raises"].evidence == "KeyError: 'missing'"


def test_skip_reason_is_the_evidence(outcome):
    f = by_id(outcome)["base_server.skipped"]
    assert (f.status, f.evidence) == ("skipped", "sslyze is not installed")


def test_endpoint_parameter_is_the_target_and_metrics_come_out(outcome):
    slow = by_id(outcome)["base_server.response_time[supabase.example.com]"]
    assert (slow.host, slow.status, slow.evidence) == ("supabase.example.com", "failed",
                                                       "supabase.example.com took 2400.0 ms")
    assert by_id(outcome)["base_server.response_time[n8n.example.com]"].status == "passed"
    assert [(m.name, m.target, m.value, m.threshold, m.passed) for m in outcome.metrics] == [
        ("http.response_ms", "https://n8n.example.com/", 120.0, 1500, True),
        ("http.response_ms", "https://supabase.example.com/", 2400.0, 1500, False)]


def test_written_json_is_plain_data(outcome, tmp_path):
    assert json.loads(json.dumps(outcome.as_dict()))["findings"][0]["check_id"] == "base_server.sshd_running"
