"""The run store: every run, its phases, per-host counts, failed tasks and where the artifacts are.

SQLite in the state folder beside the inventory. One connection guarded by a lock, since phases
finish on worker threads.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  inventory TEXT NOT NULL,
  command TEXT NOT NULL,
  strategy TEXT,
  strategy_reason TEXT,
  status TEXT NOT NULL,
  exit_code INTEGER,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  duration REAL,
  request TEXT,
  state_dir TEXT,
  pid INTEGER
);
CREATE TABLE IF NOT EXISTS phases (
  run_id TEXT NOT NULL REFERENCES runs(id),
  phase TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  started_at TEXT,
  ended_at TEXT,
  duration REAL,
  rc INTEGER,
  artifact_dir TEXT,
  PRIMARY KEY (run_id, phase)
);
CREATE TABLE IF NOT EXISTS host_stats (
  run_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  host TEXT NOT NULL,
  ok INTEGER, changed INTEGER, failures INTEGER, unreachable INTEGER,
  skipped INTEGER, rescued INTEGER, ignored INTEGER,
  PRIMARY KEY (run_id, phase, host)
);
CREATE TABLE IF NOT EXISTS failures (
  run_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  host TEXT,
  task TEXT,
  action TEXT,
  task_path TEXT,
  message TEXT,
  at TEXT
);
CREATE INDEX IF NOT EXISTS failures_run ON failures(run_id);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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


class RunStore:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            # WAL with synchronous=NORMAL: a commit per event is cheap (no fsync each), still crash-safe.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _exec(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- writing ---------------------------------------------------------------------------------

    def start_run(self, run_id: str, inventory: str, command: str, request: dict, state_dir: str) -> None:
        self._exec(
            "INSERT INTO runs (id, inventory, command, status, started_at, request, state_dir, pid)"
            " VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
            (run_id, inventory, command, now(), json.dumps(request), state_dir, os.getpid()),
        )

    def set_strategy(self, run_id: str, strategy: str, reason: str) -> None:
        self._exec("UPDATE runs SET strategy = ?, strategy_reason = ? WHERE id = ?", (strategy, reason, run_id))

    def finish_run(self, run_id: str, status: str, exit_code: int, duration: float) -> None:
        self._exec(
            "UPDATE runs SET status = ?, exit_code = ?, ended_at = ?, duration = ? WHERE id = ?",
            (status, exit_code, now(), duration, run_id),
        )

    def record_phase(self, run_id: str, phase: str, status: str, reason: str = "", started_at: str | None = None,
                     ended_at: str | None = None, duration: float | None = None, rc: int | None = None,
                     artifact_dir: str | None = None) -> None:
        self._exec(
            "INSERT OR REPLACE INTO phases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, phase, status, reason, started_at, ended_at, duration, rc, artifact_dir),
        )

    def record_host_stats(self, run_id: str, phase: str, stats: dict[str, dict[str, int]]) -> None:
        for host, s in stats.items():
            self._exec(
                "INSERT OR REPLACE INTO host_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, phase, host, s.get("ok", 0), s.get("changed", 0), s.get("failures", 0),
                 s.get("unreachable", 0), s.get("skipped", 0), s.get("rescued", 0), s.get("ignored", 0)),
            )

    def record_failure(self, run_id: str, phase: str, host: str | None, task: str | None, action: str | None,
                       task_path: str | None, message: str | None) -> None:
        self._exec(
            "INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, phase, host, task, action, task_path, message, now()),
        )

    # -- reading ---------------------------------------------------------------------------------

    def runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self._exec("SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", (limit,))
        return [self._run(r) for r in rows]

    def run(self, run_id: str) -> RunRecord:
        rows = self._exec("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            # Let users type a unique prefix of an id, as with git.
            rows = self._exec("SELECT * FROM runs WHERE id LIKE ? ORDER BY started_at DESC", (run_id + "%",))
            if len(rows) != 1:
                raise BadInput(f"no run with id '{run_id}'" if not rows else f"run id '{run_id}' is ambiguous",
                               where=str(self.path), hint="`aidevops runs list` shows the ids")
        return self._run(rows[0])

    def latest_run_id(self) -> str | None:
        rows = self._exec("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
        return rows[0]["id"] if rows else None

    def phases(self, run_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._exec(
            "SELECT * FROM phases WHERE run_id = ? ORDER BY COALESCE(started_at, '9'), rowid", (run_id,))]

    def host_stats(self, run_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._exec(
            "SELECT * FROM host_stats WHERE run_id = ? ORDER BY phase, host", (run_id,))]

    def failures(self, run_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._exec("SELECT * FROM failures WHERE run_id = ? ORDER BY rowid", (run_id,))]

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
