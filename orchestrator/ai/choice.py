"""Which provider makes the run's decisions, and its limits.

The choice comes from `--ai`, else the request's `ai.provider`, else $AIDEVOPS_AI, else anthropic when
ANTHROPIC_API_KEY is set, else offline: a run without a key never tries the network. Model, base URL,
timeout, retries and the token budget come from the request's `ai:` section or the environment; API
keys only from the SDKs' own variables (ANTHROPIC_API_KEY, OPENAI_API_KEY), never from a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import BadInput
from orchestrator.request.ai import AI_PROVIDERS, PROVIDER_CHOICES

DEFAULT_TOKEN_BUDGET = 60_000  # tokens in + out per run; a run makes a handful of small decisions
DEFAULT_MAX_RECOVERIES = 2  # recovery attempts per failed phase


@dataclass
class AISettings:
    provider: str  # anthropic, openai, offline, replay
    source: str  # where the choice came from, for the plan's explanation
    model: str | None = None
    base_url: str | None = None
    timeout: float = 60.0
    retries: int = 2
    token_budget: int = DEFAULT_TOKEN_BUDGET
    replay_file: Path | None = None
    max_recoveries: int = DEFAULT_MAX_RECOVERIES
    recovery_backoff_cap: float = 120.0  # seconds: the longest wait a decision may ask for
    api_keys: list[str] = field(default_factory=list)  # known key values, so the redactor masks them

    @property
    def label(self) -> str:
        return f"replay:{self.replay_file}" if self.provider == "replay" else self.provider


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise BadInput(f"${name}: expected a number, got {value!r}") from None


def resolve(flag: str | None, request_ai: dict | None = None, inventory: Path | None = None) -> AISettings:
    section = request_ai or {}
    env_choice = os.environ.get("AIDEVOPS_AI")
    if flag:
        choice, source = flag, "--ai"
    elif section.get("provider"):
        choice, source = section["provider"], "the request's ai.provider"
    elif env_choice:
        choice, source = env_choice, "$AIDEVOPS_AI"
    elif os.environ.get("ANTHROPIC_API_KEY"):
        choice, source = "anthropic", "ANTHROPIC_API_KEY is set"
    else:
        choice, source = "offline", "the default: no API key configured"

    replay_file = None
    if choice.startswith("replay:"):
        replay_file = Path(choice.split(":", 1)[1]).expanduser()
        if inventory is not None and not replay_file.is_absolute() and not replay_file.exists():
            replay_file = inventory / replay_file
        if not replay_file.is_file():
            raise BadInput(f"replay file not found: {replay_file}", where=source,
                           hint="export one with `aidevops decisions RUN_ID --json > FILE`")
        choice = "replay"
    elif choice not in AI_PROVIDERS:
        raise BadInput(f"unknown AI provider '{choice}'", where=source,
                       hint=f"expected one of {PROVIDER_CHOICES}")

    prefix = "OPENAI" if choice == "openai" else "ANTHROPIC"
    return AISettings(
        provider=choice, source=source,
        model=section.get("model") or os.environ.get("AIDEVOPS_AI_MODEL") or None,
        base_url=section.get("base_url"),  # None: the SDK reads *_BASE_URL itself
        timeout=float(section.get("timeout") or _env_float("AIDEVOPS_AI_TIMEOUT", 60.0)),
        retries=int(section["retries"]) if "retries" in section else int(_env_float("AIDEVOPS_AI_RETRIES", 2)),
        token_budget=int(section["token_budget"]) if "token_budget" in section
        else int(_env_float("AIDEVOPS_AI_TOKEN_BUDGET", DEFAULT_TOKEN_BUDGET)),
        replay_file=replay_file,
        api_keys=[v for v in (os.environ.get(f"{prefix}_API_KEY"), os.environ.get("ANTHROPIC_AUTH_TOKEN")) if v],
    )
