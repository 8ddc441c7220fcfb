"""The request's `ai:` section: which provider decides, and its limits. API keys come from the environment only."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from orchestrator.request.fields import Section, excerpt

AiProvider = Literal["anthropic", "openai", "offline"]
AI_PROVIDERS: tuple[str, ...] = get_args(AiProvider)  # and replay:FILE
PROVIDER_CHOICES = f"{', '.join(AI_PROVIDERS)} or replay:FILE"


def _provider(value: str) -> str:
    if value not in AI_PROVIDERS and not (value.startswith("replay:") and len(value) > len("replay:")):
        raise PydanticCustomError("ai_provider", "expected one of {choices}, got {value}",
                                  {"choices": PROVIDER_CHOICES, "value": excerpt(value)})
    return value


Provider = Annotated[str, Field(max_length=4096, pattern=r"^[^\x00-\x1f]*$"), AfterValidator(_provider)]


class AISection(Section):
    provider: Provider | None = Field(
        None, description=f"Who makes the decisions: {PROVIDER_CHOICES} (answers recorded by an earlier run, "
                          "`aidevops decisions RUN_ID --json`).")
    model: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$",
                              description="The provider's model name (default: the provider's default).")
    base_url: str | None = Field(None, max_length=2048, pattern=r"^https?://\S+$",
                                 description="An http(s) URL of an API-compatible server (default: the SDK's).")
    timeout: float | None = Field(None, ge=1, le=600, json_schema_extra={"unit": "seconds"},
                                  description="Seconds one model call may take.")
    retries: int | None = Field(None, ge=0, le=10, description="Retries of a failed model call.")
    token_budget: int | None = Field(None, ge=0, le=100_000_000,
                                     description="Tokens a run may spend on model calls (0: no model calls).")
