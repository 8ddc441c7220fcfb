"""Reading the run store: runs and their phases, failures, findings, metrics, decisions, and history."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput


@dataclass
class RunRecord:
    id: str
    inventory: str
    command: str
    strategy: str | None
    strategy_reason: str | None
    status: str
    exit_code: int | None
    started_at: str
    ended_at: str | None
    duration: float | None
    request: dict[str, Any] | None
    state_dir: str | None
    pid: int | None = None
    resumed_from: str | None = None  # the run this one resumed


class RunQueries:
    """The store's reading side, over its connection (`_exec`)."""

    path: Path
    _exec: Callable[..., list[sqlite3.Row]]  # RunStore's: one statement under its lock

    def known_recovery(self, signature: str) -> dict[str, Any] | None:
        """The latest recovery that worked for this failure signature, unless a later one with it failed."""
        rows = self._exec("SELECT decision, worked FROM recoveries WHERE signature = ? ORDER BY rowid DESC LIMIT 1",
                          (signature,))
        return json.loads(rows[0]["decision"]) if rows and rows[0]["worked"] else None

    def recoveries(self, phase: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        rows = self._exec("SELECT * FROM recoveries WHERE (? IS NULL OR phase = ?) ORDER BY rowid DESC LIMIT ?",
                          (phase, phase, limit))
        return [{**dict(r), "decision": json.loads(r["decision"]), "worked": bool(r["worked"])} for r in rows]

    def runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self._exec("SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", (limit,))
        return [self._run(r) for r in rows]

    def run(self, run_id: str | None) -> RunRecord:
        if not run_id:
            raise BadInput("no runs recorded for this inventory yet", where=str(self.path),
                           hint="run `aidevops run` first")
        rows = self._exec("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            # Let users type a unique prefix of an id, as with git.
            rows = self._exec("SELECT * FROM runs WHERE id LIKE ? ORDER BY started_at DESC", (run_id + "%",))
            if len(rows) != 1:
                raise BadInput(f"no run with id '{run_id}'" if not rows else f"run id '{run_id}' is ambiguous",
                               where=str(self.path), hint="`aidevops runs list` shows the ids")
        return self._run(rows[0])

    def resumed_by(self, run_id: str) -> list[str]:
        """The runs that resumed this one, oldest first."""
        return [r["id"] for r in self._exec("SELECT id FROM runs WHERE resumed_from = ? ORDER BY started_at",
                                            (run_id,))]

    def latest_run_id(self) -> str | None:
        rows = self._exec("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
        return rows[0]["id"] if rows else None

    def phases(self, run_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._exec(
            "SELECT * FROM phases WHERE run_id = ? ORDER BY COALESCE(started_at, '9'), rowid", (run_id,))]

    def host_stats(self, run_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._exec(
            "SELECT * FROM host_stats WHERE run_id = ? ORDER BY phase, host", (run_id,))]

    def last_phase_state(self, phase: str) -> dict[str, Any] | None:
        """The latest recorded state of a phase (record_phase_state): run_id, inputs, hosts {host: sha256}."""
        rows = self._exec("SELECT * FROM phase_states WHERE phase = ? ORDER BY rowid DESC LIMIT 1", (phase,))
        return {**dict(rows[0]), "hosts": json.loads(rows[0]["hosts"])} if rows else None

    def failures(self, run_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._exec("SELECT * FROM failures WHERE run_id = ? ORDER BY rowid", (run_id,))]

    def findings(self, run_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._exec("SELECT * FROM findings WHERE run_id = ? ORDER BY rowid", (run_id,))]

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        rows = [dict(r) for r in self._exec("SELECT * FROM metrics WHERE run_id = ? ORDER BY rowid", (run_id,))]
        for m in rows:
            m["passed"] = None if m["passed"] is None else bool(m["passed"])
        return rows

    def drills(self, run_id: str) -> list[dict[str, Any]]:
        rows = [dict(r) for r in self._exec("SELECT * FROM drills WHERE run_id = ? ORDER BY rowid", (run_id,))]
        for r in rows:
            r["counts_expected"], r["counts_found"] = (json.loads(r[k] or "{}") for k in ("counts_expected",
                                                                                        "counts_found"))
            r["decrypt_ok"] = None if r["decrypt_ok"] is None else bool(r["decrypt_ok"])
        return rows

    def decisions(self, run_id: str) -> list[dict[str, Any]]:
        rows = [dict(r) for r in self._exec("SELECT * FROM decisions WHERE run_id = ? ORDER BY seq", (run_id,))]
        for d in rows:
            for key in ("decision", "validation"):
                if d[key] and d[key][:1] in "[{":
                    d[key] = json.loads(d[key])
            d["cached"] = bool(d["cached"])
        return rows

    def credential_accesses(self, run_id: str) -> list[dict[str, Any]]:
        """Who was shown this run's secrets in clear, when, and which (names and files, never values)."""
        rows = [dict(r) for r in self._exec("SELECT * FROM credential_access WHERE run_id = ? ORDER BY rowid",
                                            (run_id,))]
        for r in rows:
            r["secrets"], r["files"] = json.loads(r["secrets"]), json.loads(r["files"])
        return rows

    def history(self, inventory: str, limit: int = 10) -> list[dict[str, Any]]:
        """Past runs on this inventory, newest first, each with its phases' statuses and failed tasks."""
        runs = self._exec("SELECT id, command, strategy, status, started_at, duration FROM runs"
                          " WHERE inventory = ? ORDER BY started_at DESC LIMIT ?", (inventory, limit))
        out = []
        for r in runs:
            item = dict(r)
            item["phases"] = {p["phase"]: p["status"] for p in self.phases(r["id"])}
            item["failures"] = [{k: f[k] for k in ("phase", "host", "task", "action", "message")}
                                for f in self.failures(r["id"])]
            out.append(item)
        return out

    # -- across all runs (store/metrics.py) ---------------------------------------------------------

    def run_outcomes(self) -> list[dict[str, Any]]:
        """Every run's id, command, status (a dead 'running' one as interrupted), start and duration, oldest
        first."""
        rows = self._exec("SELECT id, command, status, started_at, duration, pid FROM runs"
                          " ORDER BY started_at")
        return [{**dict(r), "status": "interrupted" if r["status"] == "running" and not _alive(r["pid"])
                 else r["status"]} for r in rows]

    def phase_outcomes(self) -> list[dict[str, Any]]:
        """Every recorded phase of every run: run_id, phase, status, started_at, duration."""
        return [dict(r) for r in self._exec(
            "SELECT run_id, phase, status, started_at, duration FROM phases ORDER BY run_id, rowid")]

    def recovery_attempts(self) -> list[dict[str, Any]]:
        """Every recovery attempt (a phase run again on a recovery decision): run_id, phase, worked."""
        return [{**dict(r), "worked": bool(r["worked"])}
                for r in self._exec("SELECT run_id, phase, worked FROM recoveries ORDER BY rowid")]

    def decision_usage(self) -> list[dict[str, Any]]:
        """Every AI decision's provider, model, fallback reason, tokens, latency and cache hit, oldest first;
        never its prompt or raw answer."""
        rows = self._exec("SELECT run_id, provider, model, fallback_reason, tokens_in, tokens_out,"
                          " cache_read, cache_write, latency, cached FROM decisions ORDER BY rowid")
        return [{**dict(r), "cached": bool(r["cached"])} for r in rows]

    @staticmethod
    def _run(row: sqlite3.Row) -> RunRecord:
        d = dict(row)
        d["request"] = json.loads(d["request"]) if d.get("request") else None
        if d["status"] == "running" and not _alive(d.get("pid")):
            d["status"] = "interrupted"  # the process died without recording an end (killed, crashed)
        return RunRecord(**d)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
