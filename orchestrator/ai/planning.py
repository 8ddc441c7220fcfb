"""The decisions before a run, shared by `aidevops plan --ai` and `aidevops run`: the strategy (strategic)
and the role variables of each phase (tactical), applied to the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.ai.audit import Decision
from orchestrator.ai.bounds import Bounds, Confirm
from orchestrator.ai.choice import AISettings
from orchestrator.ai.engine import DecisionMaker
from orchestrator.plan import Plan
from orchestrator.plan.auto import HostFacts, Needs, check_placement
from orchestrator.redact import Redactor
from orchestrator.request import DeploymentRequest
from orchestrator.state import StateDir
from orchestrator.store import RunStore


@dataclass
class PlanDecisions:
    strategic: Decision
    tactical: Decision
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)  # phase -> extra vars

    @property
    def all(self) -> list[Decision]:
        return [self.strategic, self.tactical]


def strategy_fixed(request: DeploymentRequest, flag: str | None) -> bool:
    """The operator chose a strategy (flag or request), other than `adaptive`: the AI does not overrule it."""
    return (flag or request.strategy) not in (None, "adaptive")


def host_phases(plan: Plan) -> list[str]:
    return [p.id for p in plan.phases if p.selected and p.available and not p.agent.entry]


def system_state(request: DeploymentRequest, plan: Plan, statuses: dict[str, str] | None = None) -> dict:
    # Names and choices only: host variables may hold secrets and are never sent.
    return {"hosts": [h.name for h in request.hosts], "services": list(request.services),
            "dns_provider": request.dns_provider, "domain": request.domain,
            "phases": {p.id: (statuses or {}).get(p.id, "kept" if p.kept else "planned" if p.selected
                                                  else "not selected") for p in plan.phases}}


def make_maker(settings: AISettings, request: DeploymentRequest, plan: Plan, *, store: RunStore, run_id: str,
               redactor: Redactor, confirm: Confirm | None, log=None) -> DecisionMaker:
    return DecisionMaker(settings, store=store, run_id=run_id, inventory=str(request.inventory), redactor=redactor,
                         cache_dir=StateDir(request.inventory).ai_cache, bounds=Bounds([p.id for p in plan.phases], inventory=request.inventory),
                         confirm=confirm, log=log)


def decide_plan(maker: DecisionMaker, request: DeploymentRequest, plan: Plan, fixed: bool) -> PlanDecisions:
    phases = host_phases(plan)
    state = system_state(request, plan)
    s = maker.strategic(strategy=plan.strategy, max_parallel=plan.max_parallel, reason=plan.strategy_reason,
                        fixed=fixed, phases=[p.id for p in plan.phases if p.selected], system_state=state)
    if s.source != "offline" or s.fallback_reason:
        plan.strategy, plan.max_parallel = s.data["strategy"], s.data["max_parallel"]
        by = f"AI ({s.source})" if not s.fallback_reason else "offline fallback"
        plan.strategy_reason = f"{plan.strategy} ({by}: {s.reason})"
    t = maker.tactical(phases=phases, system_state=state)
    return PlanDecisions(s, t, {p: v for p, v in t.data.get("variables", {}).items() if v})


def placement_maker(settings: AISettings, request: DeploymentRequest, *, store: RunStore, run_id: str,
                    redactor: Redactor) -> DecisionMaker:
    """A DecisionMaker for the placement alone (before there is a plan: no role variables are offered)."""
    return DecisionMaker(settings, store=store, run_id=run_id, inventory=str(request.inventory), redactor=redactor,
                         cache_dir=StateDir(request.inventory).ai_cache, bounds=Bounds([], inventory=request.inventory))


def decide_placement(maker: DecisionMaker, request: DeploymentRequest, needs: dict[str, Needs],
                     facts: list[HostFacts], kept: dict[str, tuple[str, ...]],
                     offline: tuple[dict[str, tuple[str, ...]], dict[str, str]]
                     ) -> tuple[dict[str, tuple[str, ...]], dict[str, str], Decision]:
    """`placement: auto` with an AI provider: its placement where it holds against the needs, else the offline
    planner's (OFFLINE), saying why it fell back. (placed, reasons, the recorded decision)."""
    state = {"hosts": [h.name for h in request.hosts], "services": list(request.services), "domain": request.domain}
    d = maker.placement(needs=needs, facts=facts, kept=kept, offline_placement=offline[0], system_state=state)
    if d.source == "offline":
        placed, reasons = offline
        if d.fallback_reason:
            reasons = {s: r if s in kept else f"{r} (the AI's answer was not used: {d.fallback_reason})"
                       for s, r in reasons.items()}
        return placed, reasons, d
    placed, reasons = check_placement(needs, facts, d.data["placement"], kept, by=f"AI {d.source}")
    return placed, {s: r if s in kept else f"{r}; {d.reason}" for s, r in reasons.items()}, d


def recorded_plan(maker: DecisionMaker, source_run_id: str, plan: Plan) -> PlanDecisions:
    """`run --resume`: the strategy and role variables the source run used, applied again and recorded for this
    run (request id `run:SOURCE#SEQ`); no model is asked. A run that recorded none used the defaults."""
    rows: dict[str, dict] = {}
    for row in maker.store.decisions(source_run_id):
        if row["decision_type"] in ("strategic", "tactical") and isinstance(row["decision"], dict):
            rows.setdefault(row["decision_type"], row)
    defaults = {"strategic": {"strategy": plan.strategy, "max_parallel": plan.max_parallel,
                              "reason": f"{source_run_id} recorded no strategy: {plan.strategy_reason}"},
                "tactical": {"variables": {}, "reason": f"{source_run_id} recorded no role variables"}}
    made = {}
    for kind in ("strategic", "tactical"):
        row = rows.get(kind)
        data = row["decision"] if row else defaults[kind]
        made[kind] = maker.decisions.record(
            kind, "orchestrator", data, "replay", None, prompt=None,
            request_id=f"run:{source_run_id}#{row['seq']}" if row else None,
            validation={"ok": True, "note": f"as decided in {source_run_id} (run --resume)"})
    strategic, tactical = made["strategic"], made["tactical"]
    plan.strategy = strategic.data.get("strategy") or plan.strategy
    plan.max_parallel = int(strategic.data.get("max_parallel") or plan.max_parallel)
    plan.strategy_reason = f"{plan.strategy} (as decided in {source_run_id})"
    variables = tactical.data.get("variables") or {}
    return PlanDecisions(strategic, tactical, {p: v for p, v in variables.items() if v})
