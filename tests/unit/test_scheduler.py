"""The scheduler runs the DAG: concurrency by strategy, failures stop only dependents, cancel stops all."""

import threading
import time
from dataclasses import replace

from orchestrator.agents.registry import AGENTS
from orchestrator.outcome import outcome_status
from orchestrator.plan import Kept, Phase, Plan
from orchestrator.run.scheduler import PhaseResult, Scheduler


def make_plan(strategy="hybrid", unavailable=(), always=("validator", "report"), only=None, max_parallel=2):
    graph = {
        "base_server": (), "dns": (), "n8n": ("base_server",), "supabase": ("base_server",),
        "nginx_proxy": ("base_server", "dns", "n8n", "supabase"),
        "validator": ("base_server", "dns", "n8n", "supabase", "nginx_proxy"), "report": ("validator",),
    }
    phases = [
        Phase(pid, replace(AGENTS[pid], after=deps, playbook=f"{pid}.yml", entry=None, always=pid in always), deps,
              available=pid not in unavailable, reason="agent not built yet" if pid in unavailable else "",
              selected=only is None or pid in only)
        for pid, deps in graph.items()
    ]
    return Plan(phases, strategy, max_parallel, strategy)


class Recorder:
    """An execute function that sleeps, fails where told, and records when each phase ran."""

    def __init__(self, fail=(), duration=0.15):
        self.fail, self.duration = set(fail), duration
        self.spans: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def __call__(self, phase):
        start = time.monotonic()
        time.sleep(self.duration)
        with self.lock:
            self.spans[phase.id] = (start, time.monotonic())
        return PhaseResult(phase.id, "failed" if phase.id in self.fail else "succeeded")

    def overlapping(self, a, b):
        (s1, e1), (s2, e2) = self.spans[a], self.spans[b]
        return s1 < e2 and s2 < e1

    def max_concurrent(self):
        points = sorted([(s, 1) for s, _ in self.spans.values()] + [(e, -1) for _, e in self.spans.values()])
        cur = best = 0
        for _, d in points:
            cur += d
            best = max(best, cur)
        return best


def test_hybrid_runs_independent_phases_side_by_side_in_dependency_order():
    rec = Recorder()
    results = Scheduler(make_plan("hybrid"), rec).run()
    assert all(r.status == "succeeded" for r in results.values())
    assert rec.overlapping("base_server", "dns")
    assert rec.overlapping("n8n", "supabase")
    assert rec.spans["n8n"][0] >= rec.spans["base_server"][1]
    assert rec.spans["nginx_proxy"][0] >= max(rec.spans[p][1] for p in ("dns", "n8n", "supabase"))
    assert rec.spans["report"][0] >= rec.spans["validator"][1]
    assert rec.max_concurrent() <= 2


def test_sequential_never_overlaps():
    rec = Recorder(duration=0.05)
    Scheduler(make_plan("sequential"), rec).run()
    assert rec.max_concurrent() == 1
    assert len(rec.spans) == 7


def test_parallel_is_not_limited_to_two():
    rec = Recorder()
    plan = make_plan("parallel")
    # base_server, dns and a third independent phase all start at once.
    plan.phases[2] = Phase("n8n", plan.phases[2].agent, (), True)
    Scheduler(plan, rec).run()
    assert rec.max_concurrent() == 3


def test_a_failed_phase_stops_its_dependents_and_independent_phases_go_on():
    rec = Recorder(fail={"base_server"})
    results = Scheduler(make_plan(), rec).run()
    status = {k: v.status for k, v in results.items()}
    assert status["base_server"] == "failed" and status["dns"] == "succeeded"
    assert status["n8n"] == "skipped" and "base_server failed" in results["n8n"].reason
    assert status["nginx_proxy"] == "skipped"
    # Validation and the report look at whatever is there, so the user learns what works.
    assert status["validator"] == "succeeded" and status["report"] == "succeeded"


def test_the_proxy_serves_the_services_that_came_through():
    rec = Recorder(fail={"supabase"})
    results = Scheduler(make_plan(), rec).run()
    assert results["supabase"].status == "failed"
    assert results["n8n"].status == "succeeded" and results["nginx_proxy"].status == "succeeded"
    assert rec.spans["nginx_proxy"][0] >= rec.spans["supabase"][1]  # it still waits for the failed one


def test_the_proxy_is_skipped_when_no_service_came_through():
    rec = Recorder(fail={"n8n", "supabase"})
    results = Scheduler(make_plan(), rec).run()
    assert results["nginx_proxy"].status == "skipped"
    assert "n8n failed" in results["nginx_proxy"].reason and "supabase failed" in results["nginx_proxy"].reason


def test_unavailable_agents_are_never_run_and_block_their_dependents():
    rec = Recorder()
    results = Scheduler(make_plan(unavailable={"base_server", "report"}), rec).run()
    assert "base_server" not in rec.spans and "report" not in rec.spans
    assert results["base_server"].status == "not_available"
    assert results["report"].status == "not_available"
    assert results["n8n"].status == "skipped" and "base_server not available" in results["n8n"].reason


def test_phases_left_out_by_only_count_as_done():
    rec = Recorder()
    results = Scheduler(make_plan(only={"n8n"}), rec).run()
    assert set(rec.spans) == {"n8n"}
    assert results["base_server"].status == "not_selected"
    assert results["n8n"].status == "succeeded"


def test_kept_phases_are_not_run_and_their_dependents_go_on():
    plan = make_plan()
    plan.phases = [replace(p, kept=Kept("A", "done in A", "f1")) if p.id == "base_server" else p
                   for p in plan.phases]
    rec = Recorder()
    results = Scheduler(plan, rec).run()
    assert "base_server" not in rec.spans and "n8n" in rec.spans
    kept = results["base_server"]
    assert (kept.status, kept.reason, kept.kept_from, kept.fingerprint) == ("kept", "done in A", "A", "f1")
    assert outcome_status(r.status for r in results.values()) == ("succeeded", 0)


def test_a_kept_phase_stays_kept_when_the_run_is_cancelled():
    plan = make_plan()
    plan.phases = [replace(p, kept=Kept("A", "done in A")) if p.id == "dns" else p for p in plan.phases]
    cancel = threading.Event()
    cancel.set()
    results = Scheduler(plan, Recorder(), cancel=cancel).run()
    assert results["dns"].status == "kept" and results["base_server"].status == "cancelled"


def test_an_exception_in_a_phase_is_a_failure_not_a_crash():
    def boom(phase):
        if phase.id == "dns":
            raise RuntimeError("no route")
        return PhaseResult(phase.id, "succeeded")

    results = Scheduler(make_plan(), boom).run()
    assert results["dns"].status == "failed" and "no route" in results["dns"].reason
    assert results["base_server"].status == "succeeded"


def test_cancel_stops_what_has_not_started():
    cancel = threading.Event()

    def execute(phase):
        if phase.id == "base_server":
            cancel.set()
            return PhaseResult(phase.id, "cancelled")
        time.sleep(0.05)
        return PhaseResult(phase.id, "succeeded")

    results = Scheduler(make_plan("sequential"), execute, cancel=cancel).run()
    assert results["base_server"].status == "cancelled"
    assert {r.status for k, r in results.items() if k != "base_server"} == {"cancelled"}
