"""Runs the plan's DAG: ready phases start as the strategy allows; a failure stops only its dependents."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from orchestrator.outcome import (
    BLOCKING,
    CANCELLED,
    FAILED,
    KEPT,
    NOT_AVAILABLE,
    NOT_SELECTED,
    SKIPPED,
    SUCCEEDED,
    PhaseResult,
)
from orchestrator.plan import Phase, Plan

Execute = Callable[[Phase], PhaseResult]


def _quiet(result: PhaseResult | None) -> bool:
    """A phase before an unchanged one left the hosts as they were: kept, left out, or run with no change."""
    if result is None:  # not in the plan
        return True
    return result.status in (KEPT, NOT_SELECTED) or (result.status == SUCCEEDED and result.changed == 0)


class Scheduler:
    def __init__(self, plan: Plan, execute: Execute, on_result: Callable[[PhaseResult], None] | None = None,
                 on_start: Callable[[Phase], None] | None = None, cancel: threading.Event | None = None):
        self.plan = plan
        self.execute = execute
        self.on_result = on_result or (lambda r: None)
        self.on_start = on_start or (lambda p: None)
        self.cancel = cancel or threading.Event()
        self.interrupted = False

    def _settle(self, phase: Phase, results: dict[str, PhaseResult]) -> PhaseResult | None:
        """A result for a phase that will not run, or None when it should run (once its deps are done)."""
        if phase.kept is not None:
            return PhaseResult(phase.id, KEPT, phase.kept.reason, fingerprint=phase.kept.fingerprint,
                               kept_from=phase.kept.run_id)
        if self.cancel.is_set():
            return PhaseResult(phase.id, CANCELLED, "the run was cancelled before it started")
        if not phase.selected:
            return PhaseResult(phase.id, NOT_SELECTED, phase.left_out or "left out by --only")
        if not phase.available:
            return PhaseResult(phase.id, NOT_AVAILABLE, phase.reason)
        if phase.agent.always:
            return None
        if phase.unchanged is not None and all(_quiet(results.get(d)) for d in phase.depends_on):
            return PhaseResult(phase.id, KEPT, phase.unchanged.reason, fingerprint=phase.unchanged.fingerprint,
                               kept_from=phase.unchanged.run_id)
        blocked = [d for d in phase.depends_on if d in results and results[d].status in BLOCKING]
        tolerated = [d for d in phase.depends_on if d in phase.agent.tolerates]
        blockers = [d for d in blocked if d not in tolerated]
        if tolerated and all(d in blocked for d in tolerated):
            blockers = blocked  # none of the tolerated ones came through: nothing to work on
        if blockers:
            why = ", ".join(f"{d} {results[d].status.replace('_', ' ')}" for d in blockers)
            return PhaseResult(phase.id, SKIPPED, f"needs {why}")
        return None

    def _run_one(self, phase: Phase) -> PhaseResult:
        try:
            return self.execute(phase)
        except Exception as exc:  # a bug or an environment problem in one phase must not sink the others
            return PhaseResult(phase.id, FAILED, f"{type(exc).__name__}: {exc}")

    def run(self) -> dict[str, PhaseResult]:
        results: dict[str, PhaseResult] = {}
        pending = list(self.plan.phases)
        running: dict[Future, Phase] = {}
        limit = self.plan.concurrency()

        def finish(result: PhaseResult) -> None:
            results[result.phase] = result
            self.on_result(result)

        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="phase") as pool:
            while pending or running:
                for phase in list(pending):
                    deps_done = all(d in results for d in phase.depends_on)
                    waits = phase.selected and phase.available and phase.kept is None
                    if not deps_done and not self.cancel.is_set() and waits:
                        continue
                    settled = self._settle(phase, results)
                    if settled is not None:
                        pending.remove(phase)
                        finish(settled)
                    elif deps_done and len(running) < limit:
                        pending.remove(phase)
                        self.on_start(phase)
                        running[pool.submit(self._run_one, phase)] = phase
                if not running:
                    if pending:  # cannot happen with a DAG; guard against a cycle all the same
                        for phase in pending:
                            finish(PhaseResult(phase.id, SKIPPED, "dependency cycle"))
                    break
                try:
                    done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    self.interrupted = True
                    self.cancel.set()
                    continue
                for future in done:
                    running.pop(future)
                    finish(future.result())
        return results
