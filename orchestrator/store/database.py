"""The run store: every run, its phases, per-host counts, failed tasks and where the artifacts are;
the validator's findings and figures, and the AI layer's decisions.

SQLite in the state folder beside the inventory. One connection guarded by a lock, since phases
finish on worker threads.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.store.queries import _alive
from orchestrator.store.retention import Retention

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
  pid INTEGER,
  resumed_from TEXT  -- the run this one resumed (`aidevops run --resume`)
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
  fingerprint TEXT,  -- sha256 of the role's files and playbook when the phase ran (resume compares it)
  kept_from TEXT,  -- status kept: the run where this phase's work was done
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
-- One validation check on one host or endpoint: status passed|failed|error|skipped,
-- severity critical|high|medium|low|info; evidence is what was seen (redacted text).
CREATE TABLE IF NOT EXISTS findings (
  run_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  agent TEXT,
  check_id TEXT NOT NULL,
  host TEXT,
  status TEXT NOT NULL,
  severity TEXT NOT NULL,
  title TEXT,
  evidence TEXT,
  at TEXT
);
CREATE INDEX IF NOT EXISTS findings_run ON findings(run_id);
-- A measured figure (Lynis hardening index, ssh-audit failures, TLS grade, response time, free memory)
-- and the threshold it is compared with; passed is NULL when there is no threshold.
CREATE TABLE IF NOT EXISTS metrics (
  run_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  name TEXT NOT NULL,
  target TEXT,
  value REAL,
  text_value TEXT,
  unit TEXT,
  threshold REAL,
  passed INTEGER,
  detail TEXT,
  at TEXT
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id);
-- One AI decision: what was asked (hash and size of the redacted prompt, never the prompt's secrets),
-- what came back, whether it was valid, what was used, and its cost.
CREATE TABLE IF NOT EXISTS decisions (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  decision_type TEXT NOT NULL,
  agent_id TEXT,
  provider TEXT,
  model TEXT,
  prompt_sha256 TEXT,
  prompt_chars INTEGER,
  raw_answer TEXT,
  validation TEXT,
  decision TEXT,
  fallback_reason TEXT,
  tokens_in INTEGER,
  tokens_out INTEGER,
  cache_read INTEGER,
  cache_write INTEGER,
  latency REAL,
  request_id TEXT,
  cached INTEGER,
  at TEXT,
  PRIMARY KEY (run_id, seq)
);
-- A recovery tried after a failed phase, by failure signature: one that worked is reused next time
-- without asking a model.
CREATE TABLE IF NOT EXISTS recoveries (
  signature TEXT NOT NULL,
  phase TEXT NOT NULL,
  decision TEXT NOT NULL,
  worked INTEGER NOT NULL,
  run_id TEXT,
  at TEXT
);
CREATE INDEX IF NOT EXISTS recoveries_signature ON recoveries(signature);
-- Each time a command showed or wrote secrets in clear (`report --reveal`): who (OS user, controller host,
-- process), when, what (the secrets' names, JSON list; never their values; the files written, JSON list) and
-- which run's secrets. A store made before this table gets it when opened (CREATE TABLE IF NOT EXISTS).
CREATE TABLE IF NOT EXISTS credential_access (
  run_id TEXT NOT NULL,
  at TEXT NOT NULL,
  os_user TEXT NOT NULL,
  controller TEXT NOT NULL,
  pid INTEGER,
  command TEXT NOT NULL,
  secrets TEXT NOT NULL,
  files TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS credential_access_run ON credential_access(run_id);
-- One restore drill of one service's latest backup on one host (orchestrator/validation/drill.py):
-- status passed|failed|no_backup|not_runnable; counts are JSON objects {table: rows}.
CREATE TABLE IF NOT EXISTS drills (
  run_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  host TEXT,
  service TEXT NOT NULL,
  status TEXT NOT NULL,
  snapshot_id TEXT,
  snapshot_time TEXT,
  backup_age_hours REAL,
  counts_expected TEXT,
  counts_found TEXT,
  decrypt_ok INTEGER,
  duration REAL,
  error TEXT,
  at TEXT
);
CREATE INDEX IF NOT EXISTS drills_run ON drills(run_id);
-- What a host-side phase was given and what it left on its hosts, at the end of a run that succeeded
-- (orchestrator/run/unchanged.py): inputs is a sha256 of its inputs, hosts a JSON object {host: sha256 of the
-- state its role declares}. The next run keeps the phase while both are the same.
CREATE TABLE IF NOT EXISTS phase_states (
  run_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  inputs TEXT NOT NULL,
  hosts TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS phase_states_phase ON phase_states(phase);
"""

# Columns added after a store was first created: (table, column, type), added to older stores on open.
ADDED_COLUMNS = (("runs", "resumed_from", "TEXT"), ("phases", "fingerprint", "TEXT"), ("phases", "kept_from", "TEXT"))

# Columns a caller may set through record_decision; the rest are filled here.
DECISION_FIELDS = ("decision_type", "agent_id", "provider", "model", "prompt_sha256", "prompt_chars", "raw_answer",
                   "validation", "decision", "fallback_reason", "tokens_in", "tokens_out", "cache_read",
                   "cache_write", "latency", "request_id", "cached")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunStore(Retention):
    """Writing side here; the reading side is RunQueries (store/queries.py), what retention removes is
    Retention (store/retention.py)."""

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
            self._migrate()

    def _migrate(self) -> None:
        """Add the columns a store made by an older version lacks (SQLite has no ADD COLUMN IF NOT EXISTS)."""
        for table, column, kind in ADDED_COLUMNS:
            have = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self._db.close()

    def _exec(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[Callable[..., list[sqlite3.Row]]]:
        """Statements applied together or not at all: yields an exec for them, under the store's lock, in one
        write transaction (BEGIN IMMEDIATE: other processes' writes wait for it, as for any statement)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, args=(): self._db.execute(sql, args).fetchall()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------------

    def start_run(self, run_id: str, inventory: str, command: str, request: dict, state_dir: str,
                  resumed_from: str | None = None) -> None:
        self.close_dead_runs()
        self._exec(
            "INSERT INTO runs (id, inventory, command, status, started_at, request, state_dir, pid, resumed_from)"
            " VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)",
            (run_id, inventory, command, now(), json.dumps(request), state_dir, os.getpid(), resumed_from),
        )

    def close_dead_runs(self) -> list[str]:
        """Record as interrupted the runs still 'running' whose process is gone (killed, crashed): the store is
        the inventory's, and the run starting now holds its run lock, so none of them is running."""
        rows = self._exec("SELECT id, pid FROM runs WHERE status = 'running'")
        # Our own pid on such a row was reused: this process is starting its run, it is not running that one.
        dead = [r["id"] for r in rows if r["pid"] == os.getpid() or not _alive(r["pid"])]
        for run_id in dead:
            self._exec("UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running'", (run_id,))
        return dead

    def set_strategy(self, run_id: str, strategy: str, reason: str) -> None:
        self._exec("UPDATE runs SET strategy = ?, strategy_reason = ? WHERE id = ?", (strategy, reason, run_id))

    def finish_run(self, run_id: str, status: str, exit_code: int, duration: float) -> None:
        self._exec(
            "UPDATE runs SET status = ?, exit_code = ?, ended_at = ?, duration = ? WHERE id = ?",
            (status, exit_code, now(), duration, run_id),
        )

    def record_phase(self, run_id: str, phase: str, status: str, reason: str = "", started_at: str | None = None,
                     ended_at: str | None = None, duration: float | None = None, rc: int | None = None,
                     artifact_dir: str | None = None, fingerprint: str | None = None,
                     kept_from: str | None = None) -> None:
        self._exec(
            "INSERT OR REPLACE INTO phases (run_id, phase, status, reason, started_at, ended_at, duration, rc,"
            " artifact_dir, fingerprint, kept_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, phase, status, reason, started_at, ended_at, duration, rc, artifact_dir, fingerprint, kept_from),
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

    def record_finding(self, run_id: str, phase: str, check_id: str, host: str | None, status: str,
                       severity: str, title: str = "", evidence: str = "", agent: str | None = None) -> None:
        self._exec("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, phase, agent, check_id, host, status, severity, title, evidence, now()))

    def record_metric(self, run_id: str, phase: str, name: str, target: str | None, value: float | None,
                      unit: str = "", threshold: float | None = None, passed: bool | None = None,
                      detail: str = "", text_value: str | None = None) -> None:
        self._exec("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, phase, name, target, value, text_value, unit, threshold,
                    None if passed is None else int(passed), detail, now()))

    def record_drill(self, run_id: str, phase: str, drill: dict[str, Any]) -> None:
        """One drill result (DrillResult.as_dict())."""
        decrypt = drill.get("decrypt_ok")
        self._exec("INSERT INTO drills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, phase, drill.get("host"), drill["service"], drill["status"], drill.get("snapshot_id"),
                    drill.get("snapshot_time"), drill.get("backup_age_hours"),
                    json.dumps(drill.get("counts_expected") or {}), json.dumps(drill.get("counts_found") or {}),
                    None if decrypt is None else int(decrypt), drill.get("duration"), drill.get("error"), now()))

    def record_decision(self, run_id: str, **fields: Any) -> int:
        """Append one decision; dict/list values (decision, validation) are stored as JSON. Returns its seq."""
        unknown = set(fields) - set(DECISION_FIELDS)
        if unknown:
            raise ValueError(f"unknown decision fields: {sorted(unknown)}")
        values = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in fields.items()}
        with self._lock:
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM decisions WHERE run_id = ?",
                                   (run_id,)).fetchone()[0]
            cols = ["run_id", "seq", "at", *values]
            self._db.execute(f"INSERT INTO decisions ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                             (run_id, seq, now(), *values.values()))
        return seq

    def record_phase_state(self, run_id: str, phase: str, inputs: str, hosts: dict[str, str]) -> None:
        self._exec("INSERT INTO phase_states (run_id, phase, inputs, hosts, at) VALUES (?, ?, ?, ?, ?)",
                   (run_id, phase, inputs, json.dumps(hosts, sort_keys=True), now()))

    def record_recovery(self, signature: str, phase: str, decision: dict, worked: bool, run_id: str) -> None:
        self._exec("INSERT INTO recoveries VALUES (?, ?, ?, ?, ?, ?)",
                   (signature, phase, json.dumps(decision), int(worked), run_id, now()))

    def record_access(self, run_id: str, command: str, secrets: list[str], files: list[str]) -> None:
        """Someone at this controller was shown secrets in clear: audited with this process's user and host."""
        self._exec("INSERT INTO credential_access VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, now(), _os_user(), socket.gethostname(), os.getpid(), command,
                    json.dumps(sorted(secrets)), json.dumps([str(f) for f in files])))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container): the uid says who
        return f"uid {os.getuid()}"
