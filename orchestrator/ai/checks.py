"""Each decision type's answer, checked in code: what a model answers is used only if it holds here.

A check returns the decision to use (and, for variables, the critical ones left out for want of
confirmation), or raises Invalid: the decision then falls back to the offline one.
"""

from __future__ import annotations

from typing import Any

from orchestrator.ai import offline
from orchestrator.ai.bounds import Bounds, Confirm
from orchestrator.plan.auto import HostFacts, Needs, check_placement
from orchestrator.request import STRATEGIES as REQUESTABLE
from orchestrator.request.schema import MAX_PARALLEL

# What a model may answer: a concrete strategy (adaptive is the request asking the planner to choose).
STRATEGIES = tuple(s for s in REQUESTABLE if s != "adaptive")


class Invalid(Exception):
    """The answer does not hold: the decision falls back to the offline one."""


def strategic(data: dict) -> dict:
    if data.get("strategy") not in STRATEGIES:
        raise Invalid(f"strategy: {data.get('strategy')!r} is not one of {list(STRATEGIES)}")
    mp = data.get("max_parallel")
    low, high = MAX_PARALLEL
    if not isinstance(mp, int) or isinstance(mp, bool) or not low <= mp <= high:
        raise Invalid(f"max_parallel: expected a whole number from {low} to {high}, got {mp!r}")
    return {"strategy": data["strategy"], "max_parallel": mp, "reason": str(data.get("reason", "")),
            "confidence": data.get("confidence")}


def tactical(data: dict, bounds: Bounds, confirm: Confirm | None, phases: list[str]) -> tuple[dict, list[str]]:
    checked = bounds.check(data.get("variables"), confirm, phases)
    if not checked.valid:
        raise Invalid("; ".join(checked.rejected))
    return ({"variables": checked.applied, "reason": str(data.get("reason", "")),
             "confidence": data.get("confidence")}, checked.dropped)


def recovery(data: dict, phase: str, bounds: Bounds, backoff_cap: float) -> tuple[dict[str, Any], list[str]]:
    action = data.get("action")
    if action not in offline.ACTIONS:
        raise Invalid(f"action: {action!r} is not one of {list(offline.ACTIONS)}")
    backoff = data.get("backoff_seconds", 0) or 0
    if not isinstance(backoff, (int, float)) or isinstance(backoff, bool) or not 0 <= backoff <= backoff_cap:
        raise Invalid(f"backoff_seconds: expected 0 to {backoff_cap:g}, got {backoff!r}")
    variables = data.get("variables") or {}
    if isinstance(variables, dict):
        variables = {k: v for k, v in variables.items() if v is not None}  # null keeps the value
    dropped: list[str] = []
    if variables:
        # The model may answer {var: value} for the failed phase, or {phase: {var: value}}.
        if phase not in variables or not isinstance(variables.get(phase), dict):
            variables = {phase: variables}
        checked = bounds.check(variables, None, [phase], unconfirmed="never set by a recovery")
        if not checked.valid:
            raise Invalid("; ".join(checked.rejected))
        variables, dropped = checked.applied.get(phase, {}), checked.dropped
    if action == offline.RETRY_WITH_VARIABLES and not variables:
        raise Invalid("retry_with_variables without any variable that may be applied"
                      + (f" ({'; '.join(dropped)})" if dropped else ""))
    return ({"action": action, "variables": variables if action == offline.RETRY_WITH_VARIABLES else {},
             "backoff_seconds": backoff, "reason": str(data.get("reason", "")),
             "confidence": data.get("confidence")}, dropped)


def optimization(data: dict) -> dict:
    items = data.get("suggestions")
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("suggestion") for i in items):
        raise Invalid("suggestions: expected a list of {area, suggestion, reason}")
    return {"suggestions": [{k: str(i.get(k, ""))[:500] for k in ("area", "suggestion", "reason")}
                            for i in items[:10]], "reason": str(data.get("reason", ""))}


def placement(data: dict, needs: dict[str, Needs], facts: list[HostFacts],
              kept: dict[str, tuple[str, ...]]) -> dict:
    """Each service on one known host, every host within its memory, cores and disk (what is kept first)."""
    proposal = data.get("placement")
    if not isinstance(proposal, dict) or not all(isinstance(h, str) for h in proposal.values()):
        raise Invalid("placement: expected a mapping of service to host name")
    try:
        check_placement(needs, facts, proposal, kept)
    except ValueError as exc:
        raise Invalid(f"placement: {exc}") from None
    return {"placement": {s: h for s, h in proposal.items()}, "reason": str(data.get("reason", "")),
            "confidence": data.get("confidence")}
