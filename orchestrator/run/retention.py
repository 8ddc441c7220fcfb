"""Retention: what the request's `retention:` policy removes from an inventory's state folder, and removing it.

A prune is worked out whole first (what it removes, by kind, each with the bytes it frees), then applied: the
run store's rows in one transaction (runs with their rows in every table, raw AI answers blanked), then the
files (run folders, AI cache entries, revealed reports). A dry run stops after working it out, so it lists
exactly what the real one removes. If the store cannot be changed nothing is removed; a file that cannot be
removed is said, and a run folder left so (its record gone) is removed by a later prune as a folder without a
run. Nothing outside `<state>/runs/` and `<state>/ai-cache/` is ever removed, and never a running run.

`aidevops runs prune` calls prune(); every recorded run calls it from its session's end (run/session.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orchestrator.ai.cache import AnswerCache
from orchestrator.request.retention import RetentionPolicy
from orchestrator.state import StateDir
from orchestrator.store import RunStore
from orchestrator.store.retention import RawAnswer

RUNS, ANSWERS, CACHE, REVEALED, STRAY = ("runs", "raw AI answers", "AI cache entries", "revealed reports",
                                         "run folders without a run")
KINDS = (RUNS, ANSWERS, CACHE, REVEALED, STRAY)


@dataclass(frozen=True)
class Item:
    kind: str  # one of KINDS
    name: str  # what the user recognises: a run id, RUN#SEQ, a path under the state folder
    size: int  # bytes freed (a raw answer: its text, freed inside the store file)
    path: Path | None = None  # the file or folder removed; None for a store row


@dataclass
class Prune:
    policy: RetentionPolicy
    items: list[Item] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # runs past the age limit kept anyway, and why
    applied: bool = False  # False: a dry run, nothing removed
    failed: list[str] = field(default_factory=list)  # what could not be removed, and why
    run_ids: list[str] = field(default_factory=list)  # the runs removed, for the store
    answers: list[RawAnswer] = field(default_factory=list)  # the raw answers blanked, for the store

    def totals(self) -> dict[str, tuple[int, int]]:
        """kind -> (count, bytes), every kind."""
        return {kind: (sum(1 for i in self.items if i.kind == kind), sum(i.size for i in self.items
                                                                          if i.kind == kind)) for kind in KINDS}

    def summary(self) -> str:
        """`3 runs (12.4 MB), 5 raw AI answers (4.1 kB)`, or `nothing`."""
        parts = [f"{count} {kind} ({human_bytes(size)})" for kind, (count, size) in self.totals().items() if count]
        return ", ".join(parts) or "nothing"

    def as_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "policy": self.policy.as_dict(),
                "removed" if self.applied else "would_remove": {
                    kind: {"count": count, "bytes": size,
                           "items": [i.name for i in self.items if i.kind == kind]}
                    for kind, (count, size) in self.totals().items()},
                "kept": self.kept, "failed": self.failed}


def human_bytes(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def prune(store: RunStore, state: StateDir, policy: RetentionPolicy, *, dry_run: bool = False,
          spare: Iterable[str] = (), now: datetime | None = None) -> Prune:
    """Work out what POLICY removes (never the runs in SPARE, never a running one) and, unless DRY_RUN,
    remove it."""
    planned = plan(store, state, policy, spare=spare, now=now)
    return planned if dry_run else apply(store, planned)


def plan(store: RunStore, state: StateDir, policy: RetentionPolicy, *, spare: Iterable[str] = (),
         now: datetime | None = None) -> Prune:
    """What POLICY removes now, each kind in turn; nothing is touched."""
    now = now or datetime.now(UTC)
    runs_before = now - timedelta(days=policy.runs_days)
    runs = store.runs_to_remove(runs_before, policy.keep_last_runs, spare)
    result = Prune(policy, kept=runs.kept)
    removed_folders: set[str] = set()
    for record in runs.remove:
        folder = _run_folder(state, record.id)
        result.items.append(Item(RUNS, f"{record.id} ({record.command}, {record.status})",
                                 _size_and_newest(folder)[0] if folder else 0, folder))
        removed_folders.add(record.id)
        result.run_ids.append(record.id)

    strays = _stray_folders(state, store.run_ids() | runs.busy, runs_before)
    result.items += strays
    removed_folders |= {i.path.name for i in strays if i.path}

    answers = store.raw_answers_to_blank(now - timedelta(days=policy.raw_answers_days),
                                         skip=runs.busy | set(result.run_ids))
    result.answers = answers
    result.items += [Item(ANSWERS, f"{a.run_id}#{a.seq} ({a.decision_type})", a.size) for a in answers]

    for entry in AnswerCache(state.ai_cache).written_before(now - timedelta(days=policy.ai_cache_days)):
        result.items.append(Item(CACHE, _relative(state, entry), _file_size(entry), entry))

    result.items += _revealed(state, now - timedelta(hours=policy.revealed_hours), removed_folders)
    return result


def _stray_folders(state: StateDir, known: set[str], before: datetime) -> list[Item]:
    """Run folders without a run in the store (a prune that could not remove one, a store replaced), untouched
    since BEFORE. A run's folder appears after its record, so a run being started is never one."""
    found = []
    for folder in sorted(state.runs.iterdir()) if state.runs.is_dir() else []:
        if folder.name in known or folder.is_symlink() or not folder.is_dir():
            continue
        size, newest = _size_and_newest(folder)
        if newest < before.timestamp():
            found.append(Item(STRAY, _relative(state, folder), size, folder))
    return found


def _revealed(state: StateDir, before: datetime, removed_folders: set[str]) -> list[Item]:
    """Revealed reports written before BEFORE, but those going with their run's folder."""
    found = []
    for path in state.revealed_files():
        if path.parent.parent.name in removed_folders:
            continue
        try:
            if path.is_file() and path.stat().st_mtime < before.timestamp():
                found.append(Item(REVEALED, _relative(state, path), _file_size(path), path))
        except FileNotFoundError:
            continue
    return found


def apply(store: RunStore, planned: Prune) -> Prune:
    """Remove what PLANNED lists: the store's rows in one transaction (an error there leaves everything as it
    was), then the files and folders, each one that cannot be removed said in `failed`."""
    store.remove(planned.run_ids, planned.answers)
    planned.applied = True
    for item in planned.items:
        if item.path is None:
            continue
        try:
            if item.path.is_dir() and not item.path.is_symlink():
                shutil.rmtree(item.path)
            else:
                item.path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue  # removed meanwhile (another prune)
        except OSError as exc:
            planned.failed.append(f"{item.name}: {exc.strerror or exc}")
    return planned


def _run_folder(state: StateDir, run_id: str) -> Path | None:
    """A run's folder under <state>/runs/, or None for an id that would point elsewhere."""
    folder = state.run_dir(run_id)
    return folder if folder.parent == state.runs and run_id not in ("", ".", "..") and "/" not in run_id else None


def _relative(state: StateDir, path: Path) -> str:
    return path.relative_to(state.root).as_posix()


def _file_size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except FileNotFoundError:
        return 0


def _size_and_newest(folder: Path) -> tuple[int, float]:
    """Bytes under FOLDER (links not followed) and the newest modification time in it (0 when absent)."""
    size, newest = 0, 0.0
    for root, dirs, files in os.walk(folder):
        for name, is_file in [*((d, False) for d in dirs), *((f, True) for f in files)]:
            try:
                st = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            size += st.st_size if is_file else 0
            newest = max(newest, st.st_mtime)
    try:
        newest = max(newest, folder.stat().st_mtime)
    except FileNotFoundError:
        pass
    return size, newest
