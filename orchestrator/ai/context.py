"""The decision_context of the architecture: what a decision is built from.

    {agent_id, decision_type, current_context, agent_history, recent_decisions, system_state, constraints}

History comes from the run store: past runs on the same inventory (this agent's statuses, what failed,
which recoveries worked). Only names, statuses and redacted messages go in: never host variables.
Nothing here changes from one identical request to the next (no clock, no run id), so identical
requests hash the same and the decision cache can answer them.
"""

from __future__ import annotations

from typing import Any

from orchestrator.store import RunStore


def agent_history(store: RunStore, inventory: str, agent_id: str, exclude_run: str | None,
                  limit: int = 5) -> dict[str, Any]:
    runs = [r for r in store.history(inventory, limit + 1) if r["id"] != exclude_run][:limit]
    if agent_id == "orchestrator":
        past = [{"status": r["status"], "strategy": r["strategy"], "phases": r["phases"],
                 "duration_s": round(r["duration"] or 0)} for r in runs]
        failures = [f for r in runs for f in r["failures"]]
    else:
        past = [{"status": r["phases"].get(agent_id)} for r in runs if agent_id in r["phases"]]
        failures = [f for r in runs for f in r["failures"] if f["phase"] == agent_id]
    recoveries = [{"decision": {k: v for k, v in rec["decision"].items() if k in ("action", "variables")},
                   "worked": rec["worked"]}
                  for rec in store.recoveries(None if agent_id == "orchestrator" else agent_id, limit)]
    return {"past_runs": past, "past_failures": failures[:10], "recoveries": recoveries}


def recent_decisions(store: RunStore, run_id: str, limit: int = 5) -> list[dict[str, Any]]:
    return [{"decision_type": d["decision_type"], "agent_id": d["agent_id"], "decision": d["decision"],
             "fallback_reason": d["fallback_reason"]} for d in store.decisions(run_id)[-limit:]]


def decision_context(*, agent_id: str, decision_type: str, current: dict[str, Any], store: RunStore,
                     inventory: str, run_id: str, system_state: dict[str, Any],
                     constraints: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "decision_type": decision_type,
        "current_context": current,
        "agent_history": agent_history(store, inventory, agent_id, run_id),
        "recent_decisions": recent_decisions(store, run_id),
        "system_state": system_state,
        "constraints": constraints,
    }
