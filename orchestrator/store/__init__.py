"""The run store: every recorded run, its phases, events' failures, findings, metrics and AI decisions (SQLite)."""

from orchestrator.store.database import DECISION_FIELDS, RunRecord, RunStore, now

__all__ = ["DECISION_FIELDS", "RunRecord", "RunStore", "now"]
