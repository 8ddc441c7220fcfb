"""The run store: every recorded run, its phases, events' failures, findings, metrics and AI decisions (SQLite)."""

from orchestrator.store.database import DECISION_FIELDS, RunStore, now
from orchestrator.store.queries import RunRecord

__all__ = ["DECISION_FIELDS", "RunRecord", "RunStore", "now"]
