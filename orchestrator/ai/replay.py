"""The replay provider: the decisions an earlier run used, answered again, for audits and reproducible re-runs.

The file is what `aidevops decisions RUN_ID --json` prints. A request is matched to the recorded decision
with the same prompt hash; failing that, to the next recorded decision of the same type and agent, in order.
Replayed answers go through the same bounds as any model's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from orchestrator.ai.providers.base import BAD_ANSWER, Answer, ProviderError
from orchestrator.errors import BadInput


def load(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read the replay file: {exc}", where=str(path),
                       hint="export one with `aidevops decisions RUN_ID --json > FILE`") from None
    rows = data.get("decisions") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "decision_type" in r for r in rows):
        raise BadInput("not a decisions export", where=str(path),
                       hint="export one with `aidevops decisions RUN_ID --json > FILE`")
    return rows


class ReplayProvider:
    name = "replay"

    def __init__(self, path: Path):
        self.path = path
        self.rows = load(path)
        self.model = next((r.get("model") for r in self.rows if r.get("model")), "replay")
        self._used: set[int] = set()

    def ask(self, *, system: str, prompt: str, tool_name: str, tool_description: str,
            schema: dict[str, Any], agent_id: str | None = None) -> Answer:
        digest = hashlib.sha256(prompt.encode()).hexdigest()
        candidates = [i for i, r in enumerate(self.rows) if i not in self._used and r["decision_type"] == tool_name
                      and (agent_id is None or r.get("agent_id") == agent_id)]
        exact = [i for i in candidates if self.rows[i].get("prompt_sha256") == digest]
        pick = (exact or candidates or [None])[0]
        if pick is None:
            raise ProviderError(BAD_ANSWER, f"no recorded {tool_name} decision for {agent_id or 'this request'} "
                                f"in {self.path.name}")
        self._used.add(pick)
        row = self.rows[pick]
        decision = row.get("decision")
        if isinstance(decision, str):
            decision = json.loads(decision)
        return Answer(data=decision, raw=json.dumps(decision), provider="replay",
                      model=row.get("model") or self.model, request_id=f"replay:{row.get('run_id')}#{row.get('seq')}")
