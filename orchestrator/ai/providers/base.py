"""The contract every model provider keeps.

A provider sends one request and returns one structured answer: the arguments of the one tool it was
forced to call, matching `schema`. It never runs anything and never sees a secret: prompts arrive
already redacted. Every way of not getting a usable answer is a ProviderError with a `kind`, so the
decision layer can record why it fell back to the offline choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# ProviderError.kind values
TIMEOUT = "timeout"
RATE_LIMITED = "rate_limited"  # 429 after the retries
OVERLOADED = "overloaded"  # 529 / 503 after the retries
SERVER_ERROR = "server_error"  # other 5xx after the retries
AUTH = "auth"  # 401/403, or no key configured
REFUSAL = "refusal"  # the model declined (stop_reason refusal, or no tool call)
BAD_ANSWER = "bad_answer"  # not valid JSON, or not an object
CONNECTION = "connection"  # could not reach the server
BAD_REQUEST = "bad_request"  # any other 4xx: unknown model, schema or prompt rejected
BUDGET = "budget"  # the run's token budget is spent


class ProviderError(Exception):
    def __init__(self, kind: str, message: str, *, request_id: str | None = None, raw: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.request_id = request_id
        self.raw = raw  # the raw answer, when there was one

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass
class ProviderSettings:
    model: str | None = None  # None: the provider's current default model
    base_url: str | None = None  # None: the SDK's default or its *_BASE_URL environment variable
    api_key: str | None = None  # None: the SDK's *_API_KEY environment variable
    timeout: float = 60.0  # seconds per request
    max_retries: int = 2  # the SDK's own retries (429, 5xx, connection errors, honouring retry-after)
    max_tokens: int = 1024  # per answer
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Answer:
    data: dict[str, Any]  # the forced tool's arguments (or the JSON object answered)
    raw: str  # the raw answer text as received (JSON of the tool input, or the message text)
    provider: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cache_read: int = 0
    cache_write: int = 0
    latency: float = 0.0  # seconds
    request_id: str | None = None


class Provider(Protocol):
    name: str  # "anthropic", "openai"
    model: str  # the model actually asked

    def ask(self, *, system: str, prompt: str, tool_name: str, tool_description: str,
            schema: dict[str, Any]) -> Answer:
        """One request forcing the tool `tool_name` whose input must match `schema` (JSON Schema, object)."""
        ...
