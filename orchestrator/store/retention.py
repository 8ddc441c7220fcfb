"""Retention in the run store: which runs a policy removes (and which old ones it keeps, and why), which raw AI
answers it blanks, and removing both in one transaction. orchestrator/run/retention.py adds the files.

A run is removed with its rows in every table that has a `run_id` column, found from the schema so that a table
added later is covered too; `recoveries` excepted: what worked against a failure signature is knowledge the next
run reuses, not the run's record, so those rows stay with their run id cleared. A decision keeps its row when
its raw answer is blanked: what was used, its validation, tokens, latency and cost feed `aidevops decisions`,
`run --resume` and the metrics.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.outcome import DEGRADED, KEPT, NOT_SELECTED, RUNNING, SUCCEEDED
from orchestrator.store.queries import RunQueries, RunRecord

KEPT_KNOWLEDGE = ("recoveries",)  # tables whose rows outlive their run, the run id cleared
_CHUNK = 500  # ids per statement, well under SQLite's limit on bound values


@dataclass(frozen=True)
class RawAnswer:
    run_id: str
    seq: int
    decision_type: str
    size: int  # bytes of text blanked


@dataclass
class RunsToRemove:
    remove: list[RunRecord] = field(default_factory=list)  # oldest first
    kept: dict[str, str] = field(default_factory=dict)  # run id -> why, for runs past the age limit kept anyway
    busy: set[str] = field(default_factory=set)  # runs still running, and those spared by the caller


def timestamp(text: str | None) -> datetime | None:
    """A store timestamp as an aware datetime (the store writes UTC; one written without a zone is UTC too)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_deployment(command: str) -> bool:
    """An `aidevops run` that changed the hosts (not a --check)."""
    return (command == "run" or command.startswith("run ")) and "--check" not in command


class Retention(RunQueries):
    """The store's retention side, over its connection (RunStore's `_exec` and `transaction`)."""

    transaction: Callable[[], AbstractContextManager[Callable[..., list[sqlite3.Row]]]]

    def runs_to_remove(self, older_than: datetime, keep_last: int, spare: Iterable[str] = ()) -> RunsToRemove:
        """The runs that ended (or started, if they never ended) before OLDER_THAN, less those kept: the
        KEEP_LAST latest, the latest successful deployment and the runs its kept phases were done in (so that
        review and resume still work), the run that last deployed each phase (`aidevops check` replays it), the
        run each phase's last recorded host state belongs to (the next run compares with it), runs still
        running, and SPARE (the run in progress)."""
        runs = [self._run(r) for r in self._exec("SELECT * FROM runs ORDER BY started_at DESC, rowid DESC")]
        keep: dict[str, str] = {}
        busy = set(spare)
        for run_id in spare:
            keep.setdefault(run_id, "the run in progress")
        for record in runs:
            if record.status == RUNNING:  # _run says "interrupted" for one whose process is gone
                busy.add(record.id)
                keep.setdefault(record.id, "still running")
        for record in runs[:keep_last]:
            keep.setdefault(record.id, f"one of the last {keep_last} runs")
        deployed = next((r for r in runs if is_deployment(r.command) and r.status == SUCCEEDED), None)
        if deployed is not None:
            keep.setdefault(deployed.id, "the latest successful deployment")
            for row in self.phases(deployed.id):
                if row["kept_from"]:
                    keep.setdefault(row["kept_from"], f"{row['phase']} of the latest successful deployment "
                                                      "was done in it")
        for phase, run_id in self._last_deployed(runs).items():
            keep.setdefault(run_id, f"the latest deployment of {phase}")
        for row in self._exec("SELECT phase, run_id FROM phase_states WHERE rowid IN"
                              " (SELECT MAX(rowid) FROM phase_states GROUP BY phase) ORDER BY phase"):
            keep.setdefault(row["run_id"], f"the next run compares {row['phase']} with it")
        old = [r for r in runs if (timestamp(r.ended_at or r.started_at) or older_than) < older_than]
        return RunsToRemove(remove=[r for r in reversed(old) if r.id not in keep],
                            kept={r.id: keep[r.id] for r in reversed(old) if r.id in keep}, busy=busy)

    def _last_deployed(self, runs: list[RunRecord]) -> dict[str, str]:
        """phase -> the run that last deployed it (as `aidevops check` finds it, run/drift.py): the newest
        finished deployment that did not leave the phase out, if the phase was done there (or where it was kept
        from). A phase deployed once by `run --only` keeps that run while later runs leave it out."""
        finished = {r.id for r in runs if is_deployment(r.command) and r.status != RUNNING}
        found: dict[str, str] = {}
        seen: set[str] = set()
        for row in self._exec("SELECT p.phase, p.run_id, p.status, p.kept_from FROM phases p JOIN runs r"
                              " ON r.id = p.run_id WHERE p.status != ? ORDER BY r.started_at DESC, r.rowid DESC",
                              (NOT_SELECTED,)):
            if row["run_id"] not in finished or row["phase"] in seen:
                continue
            seen.add(row["phase"])
            if row["status"] in (SUCCEEDED, DEGRADED, KEPT):
                found[row["phase"]] = row["kept_from"] or row["run_id"]
        return found

    def run_ids(self) -> set[str]:
        return {r["id"] for r in self._exec("SELECT id FROM runs")}

    def raw_answers_to_blank(self, older_than: datetime, skip: Iterable[str] = ()) -> list[RawAnswer]:
        """The decisions recorded before OLDER_THAN that still hold a raw answer, oldest first, except those of
        the runs in SKIP (running, or removed whole anyway). Decisions of `plan --ai` and placements (ids
        plan-..., place-...) have no run record: their answers are blanked by age alone."""
        skipped = set(skip)
        rows = self._exec("SELECT run_id, seq, decision_type, at, LENGTH(CAST(raw_answer AS BLOB)) AS size"
                          " FROM decisions WHERE raw_answer IS NOT NULL AND raw_answer != '' ORDER BY at, rowid")
        return [RawAnswer(r["run_id"], r["seq"], r["decision_type"], r["size"] or 0) for r in rows
                if r["run_id"] not in skipped and (timestamp(r["at"]) or older_than) < older_than]

    def run_tables(self) -> dict[str, str]:
        """Each table that holds rows of a run, and the column naming the run."""
        tables = {}
        for row in self._exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            columns = {c["name"] for c in self._exec(f'PRAGMA table_info("{row["name"]}")')}
            if row["name"] == "runs":
                tables["runs"] = "id"
            elif "run_id" in columns:
                tables[row["name"]] = "run_id"
        return tables

    def remove(self, run_ids: Iterable[str], answers: Iterable[RawAnswer] = ()) -> None:
        """Remove the runs' rows from every table and blank the raw answers, all in one transaction: on any
        error nothing is changed."""
        ids, tables = list(run_ids), self.run_tables()
        with self.transaction() as execute:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start:start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                for table, column in tables.items():
                    if table in KEPT_KNOWLEDGE:
                        execute(f'UPDATE "{table}" SET {column} = NULL WHERE {column} IN ({marks})', tuple(chunk))
                    else:
                        execute(f'DELETE FROM "{table}" WHERE {column} IN ({marks})', tuple(chunk))
            for answer in answers:
                execute("UPDATE decisions SET raw_answer = NULL WHERE run_id = ? AND seq = ?",
                        (answer.run_id, answer.seq))
