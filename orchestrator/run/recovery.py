"""Recovery after a failed playbook phase: ask for a decision, act on it, try again a bounded number of times.

Actions: retry (after a backoff), retry with adjusted variables (bounded by the role's specs, given as
extra vars), skip (the phase is left out and the run ends degraded), abort (the phase stays failed).
A recovery that worked is remembered by its failure signature and reused next time without a model call.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from orchestrator.ai import offline
from orchestrator.ai.engine import DecisionMaker
from orchestrator.outcome import CANCELLED, DEGRADED, FAILED, SKIPPED, SUCCEEDED, PhaseResult
from orchestrator.run import backoff
from orchestrator.run.events import TaskEvent

_VOLATILE = re.compile(r"\b[0-9a-f]{8,}\b|\d+(\.\d+)?|/tmp/\S+|\.ansible/tmp/\S+", re.IGNORECASE)


def failure_summary(events: list[TaskEvent]) -> list[dict[str, Any]]:
    """What the provider and the offline analyser see of each failed task: module, message with the stderr
    tail (events.failure_message), host, task path. Messages were redacted when the event arrived."""
    return [{"host": ev.host, "task": ev.task, "action": ev.action, "task_path": ev.task_path,
             "kind": ev.kind.value, "message": (ev.message or "")[-2000:]} for ev in events[:10]]


def signature(phase: str, failures: list[dict[str, Any]]) -> str:
    """The same failure on another run gives the same signature: numbers, hashes and temp paths left out."""
    parts = sorted({f"{f.get('task')}|{f.get('action')}|{_VOLATILE.sub('#', (f.get('message') or '')[:300])}"
                    for f in failures})
    return phase + ":" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class Recovery:
    def __init__(self, maker: DecisionMaker, *, max_attempts: int, cancel: threading.Event,
                 system_state: Callable[[], dict], note: Callable[[str, str], None],
                 sleep: Callable[[float], bool] | None = None, rand: Callable[[], float] = random.random):
        self.maker = maker
        self.max_attempts = max_attempts
        self.cancel = cancel
        self.system_state = system_state
        self.note = note
        self.sleep = sleep or cancel.wait  # returns True when cancelled during the wait
        self.rand = rand  # the jitter of the waits (tests pass a fixed one)
        self.recovered: dict[str, str] = {}  # phase -> what fixed it, for the optimization decision

    def recover(self, phase: str, result: PhaseResult, failures: Callable[[], list[TaskEvent]],
                attempt_run: Callable[[dict, int], PhaseResult], variables: dict) -> PhaseResult:
        """`attempt_run(extra_vars, n)` runs the phase again; `failures()` gives the last attempt's failed tasks."""
        variables = dict(variables)
        for attempt in range(1, self.max_attempts + 1):
            summary = failure_summary(failures())
            sig = signature(phase, summary)
            d = self.maker.recovery(phase=phase, failures=summary, attempt=attempt, max_attempts=self.max_attempts,
                                    signature=sig, variables_applied=variables, system_state=self.system_state())
            action, why = d.data["action"], d.reason
            fell_back = f" (fallback: {d.fallback_reason})" if d.fallback_reason else ""
            self.note(phase, f"recovery {attempt}/{self.max_attempts} by {d.source}: {action} - {why}{fell_back}")
            if action == offline.ABORT:
                return replace(result, reason=f"{result.reason}; recovery: abort ({why})")
            if action == offline.SKIP:
                return replace(result, status=SKIPPED, reason=f"skipped after failure by a recovery decision: {why}"
                               f" (was: {result.reason})")
            wait = backoff.wait_seconds(float(d.data.get("backoff_seconds") or 0), attempt,
                                        self.maker.settings.recovery_backoff_cap,
                                        asked=backoff.retry_after(summary), rand=self.rand)
            if wait:
                self.note(phase, f"waiting {wait:.0f}s before retry {attempt}")
                if self.sleep(wait):
                    return replace(result, status=CANCELLED, reason="cancelled by the user")
            if self.cancel.is_set():
                return replace(result, status=CANCELLED, reason="cancelled by the user")
            if action == offline.RETRY_WITH_VARIABLES:
                variables.update(d.data["variables"])
            result = attempt_run(variables, attempt)
            worked = result.status in (SUCCEEDED, DEGRADED)
            self.maker.store.record_recovery(sig, phase, d.data, worked, self.maker.run_id)
            if worked:
                self.recovered[phase] = f"{action} {d.data.get('variables') or ''}".strip()
                return replace(result, reason=(result.reason + "; " if result.reason else "")
                               + f"recovered by {action} ({d.source})")
            if result.status != FAILED:
                return result
        return result
