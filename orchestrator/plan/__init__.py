"""The plan: which phases a request needs, in which order, under which strategy."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.agents import AgentSpec, registry
from orchestrator.errors import BadInput
from orchestrator.plan.placement import Placement, place
from orchestrator.request import STRATEGIES, DeploymentRequest


@dataclass(frozen=True)
class Kept:
    """A phase `run --resume` does not repeat: done in run_id with the role content of fingerprint."""
    run_id: str
    reason: str
    fingerprint: str | None = None


@dataclass(frozen=True)
class Phase:
    id: str
    agent: AgentSpec
    depends_on: tuple[str, ...]
    available: bool
    reason: str = ""  # why not available
    selected: bool = True  # False when --only left it out
    kept: Kept | None = None  # set by `run --resume` for a phase done earlier in the chain
    hosts: tuple[str, ...] | None = None  # where it runs (placement.py), when only some of the inventory's hosts
    left_out: str = ""  # why it is not selected, when not by --only
    # Its inputs and host state are as a successful run left them (run/unchanged.py): it is kept when the
    # phases before it change nothing either.
    unchanged: Kept | None = None


@dataclass
class Plan:
    phases: list[Phase]
    strategy: str
    max_parallel: int
    strategy_reason: str
    notes: list[str] = field(default_factory=list)
    placement: Placement = field(default_factory=lambda: Placement({}))

    def phase(self, phase_id: str) -> Phase:
        return next(p for p in self.phases if p.id == phase_id)

    def concurrency(self) -> int:
        """How many phases may run at once under the strategy."""
        return {"sequential": 1, "parallel": len(self.phases) or 1}.get(self.strategy, self.max_parallel)

    def waves(self) -> list[list[str]]:
        """Phases grouped by depth in the DAG: what could run side by side."""
        depth: dict[str, int] = {}
        for p in self.phases:  # phases are in topological order
            depth[p.id] = 1 + max((depth[d] for d in p.depends_on), default=-1)
        waves: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for p in self.phases:
            waves[depth[p.id]].append(p.id)
        return waves


def recorded_request(request: DeploymentRequest, plan: Plan) -> dict:
    """The request as a run records it: with the placement, which is role input too (a resume compares it)."""
    return {**request.as_dict(), "placement": {phase: list(hosts) for phase, hosts in plan.placement.hosts.items()}}


def choose_strategy(request: DeploymentRequest, requested: str | None) -> tuple[str, str]:
    """The strategy and why: the flag wins, then the request; `adaptive` decides from the request."""
    strategy = requested or request.strategy or "hybrid"
    if strategy not in STRATEGIES:
        raise BadInput(f"unknown strategy '{strategy}'", hint=f"expected one of {', '.join(STRATEGIES)}")
    source = "--strategy" if requested else ("the request" if request.strategy else "the default")
    if strategy != "adaptive":
        return strategy, f"{strategy} (from {source})"
    # Offline rule: one host and both container stacks compete for memory and apt locks, so run
    # them one after another; several hosts or one service can overlap safely.
    if len(request.hosts) == 1 and len(request.services) > 1:
        return "sequential", "adaptive: one host with several services, so phases run one at a time"
    return "hybrid", "adaptive: independent phases can overlap safely"


def build_plan(request: DeploymentRequest, strategy: str | None = None, only: list[str] | None = None) -> Plan:
    """Phases for the request's services and DNS provider, dependencies limited to planned phases."""
    wanted = []
    for spec in registry().values():
        if spec.service and spec.service not in request.services:
            continue
        if spec.needs_dns and request.dns_provider == "none":
            continue
        if spec.tolerates and not request.services:  # it serves services, and none is asked for
            continue
        wanted.append(spec)
    ids = {s.id for s in wanted}
    if only:
        unknown = [o for o in only if o not in ids]
        if unknown:
            raise BadInput(
                f"--only names a phase that is not in this plan: {', '.join(unknown)}",
                hint=f"phases here: {', '.join(s.id for s in wanted)}",
            )
    placement = place(request, wanted)
    everyone = tuple(h.name for h in request.hosts)
    phases = []
    for spec in wanted:
        ok, reason = spec.available()
        hosts = placement.hosts[spec.id]
        no_host = not hosts and request.limit is not None
        phases.append(Phase(
            id=spec.id, agent=spec, depends_on=tuple(a for a in spec.after if a in ids),
            available=ok, reason=reason, selected=(not only or spec.id in only) and not no_host,
            hosts=None if hosts == everyone else hosts,
            left_out=f"left out by --limit (none of its hosts: {', '.join(placement.unlimited[spec.id])})"
            if no_host else "",
        ))
    chosen, why = choose_strategy(request, strategy)
    return Plan(phases=phases, strategy=chosen, max_parallel=request.max_parallel, strategy_reason=why,
                placement=placement)
