"""Figures across an inventory's recorded runs (`aidevops metrics`): per agent, for its deployments, and per
AI provider and model, with the cost when a price table is given (store/prices.py).

An agent's runs are its phases that started and ended, in every recorded command but dry runs (`check`,
`run --check`: they change nothing and take other times). A phase succeeds when it ends succeeded or degraded
(its work is in place, as outcome.DONE); it fails when it ends failed, or skipped by a recovery decision after
failing; a cancelled one is counted but judged neither way. A deployment is a `run` (a resume too) that is not
a dry run and has ended (a run in progress is counted once it ends, so that counts only grow). Every AI
decision counts, a dry run's too: its tokens were spent.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.outcome import CANCELLED, DEGRADED, FAILED, RUNNING, SKIPPED, SUCCEEDED
from orchestrator.store.prices import Prices
from orchestrator.store.queries import RunQueries

SUCCESS = (SUCCEEDED, DEGRADED)
FAILURE = (FAILED, SKIPPED)  # a phase that never started (skipped for a failed dependency) is not counted
ENDED = (*SUCCESS, *FAILURE, CANCELLED)
# "timeout: read timed out", "invalid answer: ...", "error: RuntimeError(...)": the kind before the colon
_FALLBACK_KIND = re.compile(r"^([a-z][a-z _]{0,30}):")


@dataclass
class AgentFigures:
    agent: str
    runs: int  # phases that started and ended
    by_status: dict[str, int]
    success_rate: float | None  # successes / (successes + failures); None before any verdict
    mean_seconds: float | None
    p95_seconds: float | None
    timed: int  # phases with a duration, what the mean and p95 are over
    total_seconds: float
    recoveries: int  # recovery attempts: the phase run again on a recovery decision
    recoveries_worked: int


@dataclass
class DeploymentFigures:
    deployments: int
    by_status: dict[str, int]
    successful: int  # succeeded or degraded
    success_rate: float | None
    mean_seconds: float | None  # of the successful deployments: how long a deployment takes
    timed: int
    total_seconds: float
    last_started_at: str | None


@dataclass
class FallbackFigures:
    count: int
    last: str  # the latest reason of this kind, as recorded (redacted when the decision was made)


@dataclass
class AIFigures:
    provider: str
    model: str | None
    decisions: int
    cached: int  # answers from the decision cache (no provider call)
    fallbacks: int  # the provider's answer was not used: the offline choice was
    fallback_reasons: dict[str, FallbackFigures]  # by kind: timeout, rate_limited, invalid_answer, ...
    tokens_in: int  # every prompt token, cached ones included
    tokens_out: int
    cache_read_tokens: int
    cache_write_tokens: int
    mean_latency_seconds: float | None  # over the answers a provider gave (not the cached ones)
    answered: int
    total_latency_seconds: float
    cost_usd: float | None  # None without a price for the model


@dataclass
class InventoryMetrics:
    inventory: str  # its folder's name: the label in every figure
    path: str
    deployments: DeploymentFigures
    agents: list[AgentFigures] = field(default_factory=list)
    ai: list[AIFigures] = field(default_factory=list)


def nearest_rank(values: list[float], q: float) -> float | None:
    """The q-quantile by the nearest-rank method: the smallest value with at least q of all values at or below
    it (the ceil(q*n)-th of the sorted values). Always one of the values: no interpolation between runs."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)), 1) - 1]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def is_dry_run(command: str) -> bool:
    words = command.split()
    return bool(words) and (words[0] == "check" or "--check" in words)


def is_deployment(command: str) -> bool:
    return command.split()[:1] == ["run"] and not is_dry_run(command)


def inventory_metrics(store: RunQueries, inventory: str, path: str,
                      prices: Prices | None = None) -> InventoryMetrics:
    """All the figures of one inventory's store."""
    runs = store.run_outcomes()
    decisions = store.decision_usage()
    if not runs and not decisions:
        raise BadInput("no runs recorded for this inventory yet", where=path, hint="run `aidevops run` first")
    return InventoryMetrics(inventory, path, deployment_figures(runs),
                            agent_figures(runs, store.phase_outcomes(), store.recovery_attempts()),
                            ai_figures(decisions, prices))


def deployment_figures(runs: list[dict[str, Any]]) -> DeploymentFigures:
    deployments = [r for r in runs if is_deployment(r["command"]) and r["status"] != RUNNING]
    by_status = Counter(r["status"] for r in deployments)
    successful = [r for r in deployments if r["status"] in SUCCESS]
    timed = [r["duration"] for r in successful if r["duration"] is not None]
    return DeploymentFigures(
        deployments=len(deployments), by_status=dict(sorted(by_status.items())), successful=len(successful),
        success_rate=_ratio(len(successful), sum(by_status[s] for s in (*SUCCESS, FAILED))),
        mean_seconds=_mean(sum(timed), len(timed)), timed=len(timed), total_seconds=sum(timed),
        last_started_at=deployments[-1]["started_at"] if deployments else None)


def agent_figures(runs: list[dict[str, Any]], phases: list[dict[str, Any]],
                  recoveries: list[dict[str, Any]]) -> list[AgentFigures]:
    counted = {r["id"] for r in runs if not is_dry_run(r["command"])}
    by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in phases:
        if p["run_id"] in counted and p["started_at"] and p["status"] in ENDED:
            by_agent[p["phase"]].append(p)
    attempts: dict[str, list[bool]] = defaultdict(list)
    for rec in recoveries:
        if rec["run_id"] in counted:
            attempts[rec["phase"]].append(rec["worked"])
    figures = []
    for agent in sorted(set(by_agent) | set(attempts)):
        ended = by_agent[agent]
        by_status = Counter(p["status"] for p in ended)
        successes = sum(by_status[s] for s in SUCCESS)
        # A cancelled phase's time is cut short: only phases with a verdict give durations.
        durations = [p["duration"] for p in ended if p["status"] != CANCELLED and p["duration"] is not None]
        figures.append(AgentFigures(
            agent=agent, runs=len(ended), by_status=dict(sorted(by_status.items())),
            success_rate=_ratio(successes, successes + sum(by_status[s] for s in FAILURE)),
            mean_seconds=_mean(sum(durations), len(durations)), p95_seconds=nearest_rank(durations, 0.95),
            timed=len(durations), total_seconds=sum(durations),
            recoveries=len(attempts[agent]), recoveries_worked=sum(attempts[agent])))
    return figures


def fallback_kind(reason: str) -> str:
    """A few words naming why a decision fell back, fit for a label: the reason's kind, else `other`."""
    match = _FALLBACK_KIND.match(reason)
    return match.group(1).strip().replace(" ", "_") if match else "other"


def ai_figures(decisions: list[dict[str, Any]], prices: Prices | None = None) -> list[AIFigures]:
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for d in decisions:
        groups[(d["provider"] or "unknown", d["model"] or None)].append(d)
    figures = []
    for (provider, model), rows in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        reasons: dict[str, FallbackFigures] = {}
        for d in rows:  # oldest first: the last one seen of a kind is the latest
            if d["fallback_reason"]:
                kind = fallback_kind(d["fallback_reason"])
                seen = reasons.get(kind)
                reasons[kind] = FallbackFigures((seen.count if seen else 0) + 1, d["fallback_reason"])
        answered = [d["latency"] for d in rows if d["latency"] and not d["cached"]]
        tokens = {key: sum(d[key] or 0 for d in rows) for key in ("tokens_in", "tokens_out", "cache_read",
                                                                 "cache_write")}
        price = (prices or {}).get(model) if model else None
        figures.append(AIFigures(
            provider=provider, model=model, decisions=len(rows), cached=sum(d["cached"] for d in rows),
            fallbacks=sum(f.count for f in reasons.values()), fallback_reasons=dict(sorted(reasons.items())),
            tokens_in=tokens["tokens_in"], tokens_out=tokens["tokens_out"],
            cache_read_tokens=tokens["cache_read"], cache_write_tokens=tokens["cache_write"],
            mean_latency_seconds=_mean(sum(answered), len(answered)), answered=len(answered),
            total_latency_seconds=sum(answered),
            cost_usd=price.cost(**tokens) if price else None))
    return figures
