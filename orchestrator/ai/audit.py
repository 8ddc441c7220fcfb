"""Every decision, whoever made it, recorded in the run store: provider, model, the prompt's sha256 and size
(never the prompt), the raw answer, the check's result, the decision used, why it fell back, tokens, latency and
request id."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.ai.choice import AISettings
from orchestrator.ai.providers.base import Answer
from orchestrator.redact import Redactor
from orchestrator.store import RunStore


@dataclass
class Decision:
    decision_type: str
    agent_id: str
    data: dict[str, Any]  # the decision used
    source: str  # provider that made the decision used: anthropic, openai, offline, replay, memory
    fallback_reason: str | None = None
    dropped: list[str] = field(default_factory=list)  # critical variables left out for want of confirmation
    cached: bool = False
    seq: int | None = None

    @property
    def reason(self) -> str:
        return str(self.data.get("reason") or "")


class DecisionLog:
    def __init__(self, store: RunStore, run_id: str, redactor: Redactor, settings: AISettings,
                 model: Callable[[], str | None]):
        self.store, self.run_id, self.redactor, self.settings, self.model = store, run_id, redactor, settings, model

    def record(self, decision_type: str, agent_id: str, data: dict, source: str, fallback_reason: str | None, *,
                prompt: str | None, answer: Answer | None = None, raw: str | None = None,
                request_id: str | None = None, cached: bool = False, dropped: list[str] | None = None,
                validation: dict | None = None) -> Decision:
        data = self.redactor.data(data)
        asked = answer is not None or fallback_reason is not None  # a provider was asked (or was meant to be)
        if answer is not None:
            provider, model = answer.provider, answer.model
        elif asked:  # it failed: the row names who was asked; the decision is the offline one
            provider, model = self.settings.provider, self.model()
        else:
            provider, model = source, None
        seq = self.store.record_decision(
            self.run_id, decision_type=decision_type, agent_id=agent_id, provider=provider, model=model,
            prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest() if prompt else None,
            prompt_chars=len(prompt) if prompt else None,
            raw_answer=self.redactor.text(answer.raw if answer else raw) if (answer or raw) else None,
            validation=validation or {}, decision=data, fallback_reason=fallback_reason,
            tokens_in=0 if cached or not answer else answer.tokens_in,
            tokens_out=0 if cached or not answer else answer.tokens_out,
            cache_read=0 if cached or not answer else answer.cache_read,
            cache_write=0 if cached or not answer else answer.cache_write,
            latency=0.0 if cached or not answer else answer.latency,
            request_id=answer.request_id if answer else request_id, cached=int(cached),
        )
        if fallback_reason and self.settings.provider != "offline":
            source = "offline"
        return Decision(decision_type, agent_id, data, source, fallback_reason, dropped or [], cached, seq)
