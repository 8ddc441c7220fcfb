"""The waits before retries of a failed phase: exponential from the decision's base, jittered, capped, and at
least a Retry-After the failure carries."""

import threading
from types import SimpleNamespace

import pytest

from orchestrator.ai import offline
from orchestrator.ai.audit import Decision
from orchestrator.outcome import FAILED, SUCCEEDED, PhaseResult
from orchestrator.run.backoff import retry_after, wait_seconds
from orchestrator.run.events import Kind, TaskEvent
from orchestrator.run.recovery import Recovery


def test_the_waits_grow_exponentially_within_the_jitter_and_the_cap():
    top = [wait_seconds(30, n, 120, rand=lambda: 1.0) for n in range(1, 6)]
    low = [wait_seconds(30, n, 120, rand=lambda: 0.0) for n in range(1, 6)]
    assert top == [30, 60, 120, 120, 120]
    assert low == [15, 30, 60, 60, 60]
    assert wait_seconds(30, 2, 120, rand=lambda: 0.5) == 45
    assert wait_seconds(0, 3, 120) == 0


def test_a_retry_after_is_honoured_within_the_cap():
    failures = [{"message": "HTTP 429 Too Many Requests; Retry-After: 90"}, {"message": "retry_after=5"}]
    assert retry_after(failures) == 90
    assert retry_after([{"message": "Connection refused"}]) is None
    assert wait_seconds(20, 1, 120, asked=90, rand=lambda: 1.0) == 90
    assert wait_seconds(0, 1, 120, asked=90) == 90  # a decision without a wait still waits what was asked
    assert wait_seconds(20, 1, 120, asked=600, rand=lambda: 1.0) == 120


@pytest.mark.parametrize("message,base,expected", [
    ("Could not get lock /var/lib/dpkg/lock-frontend", 30, [30, 60, 120]),
    ("Could not get lock /var/lib/dpkg/lock-frontend; Retry-After: 100", 30, [100, 100, 120]),
])
def test_the_sequence_of_waits_of_a_recovery(message, base, expected):
    """Three failed attempts of a phase whose failure the offline analyser retries: the waits slept."""
    slept: list[float] = []
    attempts = {"n": 0}

    class Maker:
        settings = SimpleNamespace(recovery_backoff_cap=120.0)
        store = SimpleNamespace(record_recovery=lambda *a: None)
        run_id = "r1"

        def recovery(self, *, phase, failures, attempt, **kw):
            data = offline.recovery(failures, attempt)
            assert data["backoff_seconds"] == base  # the decision gives the base; the growth is the orchestrator's
            return Decision("recovery", phase, data, "offline")

    def attempt_run(variables, n):
        attempts["n"] += 1
        return PhaseResult("base_server", SUCCEEDED if attempts["n"] == 3 else FAILED)

    failure = TaskEvent(Kind.FAILED, "base_server", 1, "2026-11-29T23:00:00", host="h1", task="apt",
                        action="apt", message=message)
    rec = Recovery(Maker(), max_attempts=3, cancel=threading.Event(), system_state=dict,
                   note=lambda phase, text: None, sleep=lambda s: slept.append(s) or False, rand=lambda: 1.0)
    result = rec.recover("base_server", PhaseResult("base_server", FAILED), lambda: [failure], attempt_run, {})
    assert result.status == SUCCEEDED and slept == expected
