"""Valid answers kept on disk (the state folder's ai-cache/), keyed by what decides the answer (engine.py
builds the key: provider, model, the decision's context without the run history), so the same question (a
re-run, or `run` after `plan`) costs nothing. Replayed decisions are never cached. Entries older than the
request's `retention.ai_cache_days` are removed by retention (orchestrator/run/retention.py): `written_before`
names them."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from orchestrator import atomic
from orchestrator.ai.providers.base import Answer


class AnswerCache:
    def __init__(self, folder: Path, enabled: bool = True):
        self.folder, self.enabled = folder, enabled

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.sha256(json.dumps(list(parts), sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> Answer | None:
        path = self.folder / f"{key}.json"
        if not self.enabled or not path.exists():
            return None
        try:
            d = json.loads(path.read_text())
            return Answer(data=d["data"], raw=d["raw"], provider=d["provider"], model=d["model"],
                          request_id=d.get("request_id"))
        except (ValueError, KeyError):
            return None  # a damaged entry is asked again

    def put(self, key: str, answer: Answer) -> None:
        if not self.enabled:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.json"
        atomic.write_text(path, json.dumps({"data": answer.data, "raw": answer.raw, "provider": answer.provider,
                                            "model": answer.model, "request_id": answer.request_id}))

    def written_before(self, when: datetime) -> list[Path]:
        """The entries written before WHEN (whatever `enabled` says: retention prunes what earlier runs left)."""
        if not self.folder.is_dir():
            return []
        old = []
        for path in self.folder.glob("*.json"):
            try:
                if path.is_file() and path.stat().st_mtime < when.timestamp():
                    old.append(path)
            except FileNotFoundError:  # another process removed it meanwhile
                continue
        return sorted(old)
