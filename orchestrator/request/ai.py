"""The request's `ai:` section: which provider decides, and its limits."""

from __future__ import annotations

import re
from typing import Any

AI_PROVIDERS = ("anthropic", "openai", "offline")  # and replay:FILE


def parse_ai(section: Any, fail) -> dict[str, Any]:
    """The request's `ai:` section: which provider decides, and its limits. Keys come from the environment only."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise fail("aidevops.ai", "expected a mapping")
    checks = {
        "provider": (lambda v: isinstance(v, str) and (v in AI_PROVIDERS or v.startswith("replay:")),
                     f"one of {', '.join(AI_PROVIDERS)} or replay:FILE"),
        "model": (lambda v: isinstance(v, str) and v.strip() != "", "a model name"),
        "base_url": (lambda v: isinstance(v, str) and re.match(r"^https?://\S+$", v), "an http(s) URL"),
        "timeout": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v <= 600,
                    "seconds from 1 to 600"),
        "retries": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10,
                    "a whole number from 0 to 10"),
        "token_budget": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                         "a whole number of tokens (0: no model calls)"),
    }
    for key, value in section.items():
        if key not in checks:
            hint = "API keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY" if "key" in str(key) else \
                f"expected one of {', '.join(checks)}"
            raise fail(f"aidevops.ai.{key}", "unknown key", hint)
        ok, expected = checks[key]
        if not ok(value):
            raise fail(f"aidevops.ai.{key}", f"expected {expected}, got {value!r}")
    return dict(section)
