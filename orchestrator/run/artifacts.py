"""Reading ansible-runner's artifacts of a recorded run (job_events/*.json per phase)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orchestrator import atomic
from orchestrator.redact import Redactor

FAILED_EVENTS = {"runner_on_failed", "runner_on_unreachable", "runner_item_on_failed"}


def job_events(artifact_dir: Path) -> list[dict[str, Any]]:
    """A phase's events in order. Its artifact dir is ansible-runner's, or, for a phase split over execution
    nodes, the folder holding one private data dir per route: their events one route after the other."""
    folder = Path(artifact_dir)
    folders = [folder / "job_events"] if (folder / "job_events").is_dir() else \
        sorted(folder.glob("*/artifacts/*/job_events"))
    events = []
    for i, events_dir in enumerate(folders):
        for f in events_dir.glob("*.json"):
            try:
                events.append((i, json.loads(f.read_text())))
            except (OSError, json.JSONDecodeError):
                continue  # a file being written at the moment of a crash; the rest still tells the story
    return [e for _, e in sorted(events, key=lambda pair: (pair[0], pair[1].get("counter", 0)))]


def scrub(private_data_dir: Path, redactor: Redactor) -> int:
    """Mask secret values in a finished phase's artifacts (events, stdout, command line); files changed.
    A JSON file (an event, the command) is masked value by value, so that it stays JSON: masking its text
    would turn `"uses_password": true` into invalid JSON, and the event would be lost to every reader."""
    changed = 0
    for path in Path(private_data_dir).rglob("*"):
        if not path.is_file() or path.suffix in (".pem",) or path.stat().st_size > 16 * 1024 * 1024:
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        clean = _masked_json(text, redactor) if path.suffix == ".json" or path.name == "command" else None
        if clean is None:
            clean = redactor.text(text)
        if clean != text:
            atomic.write_text(path, clean)  # keeps its mode; a kill mid-way tears no event
            changed += 1
    return changed


def _masked_json(text: str, redactor: Redactor) -> str | None:
    """The JSON document masked value by value (keys naming a secret too), or None when it is not JSON."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    masked = redactor.data(data, keys=True)
    return text if masked == data else json.dumps(masked, ensure_ascii=False)


def read_events(phases: Iterable[dict[str, Any]], *, failed: bool = False, host: str | None = None,
                phase: str | None = None, redactor: Redactor | None = None) -> list[dict[str, Any]]:
    """Events of a run's phases in order, each tagged with its phase; filtered as asked."""
    redactor = redactor or Redactor()
    out = []
    for p in phases:
        if phase and p["phase"] != phase or not p.get("artifact_dir"):
            continue
        for ev in job_events(Path(p["artifact_dir"])):
            data = ev.get("event_data") or {}
            if failed and (ev.get("event") not in FAILED_EVENTS or data.get("ignore_errors")):
                continue
            if host and data.get("host") != host:
                continue
            out.append(redactor.data({"phase": p["phase"], **ev}))
    return out
