"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, llama.cpp server) through the official `openai`
SDK (3.x), chat completions with one forced function call.

The structured answer is the arguments of a function the model must call (`tool_choice` names it,
`strict` holds it to the schema). OpenAI caches long prompt prefixes by itself; the system text and the
tool come first so that repeated decisions share that prefix.

Credentials and URL resolve as the SDK does for its users: `settings.api_key`/`base_url` when given,
else `OPENAI_API_KEY` and `OPENAI_BASE_URL`. A local server needs no key, but the SDK insists on one:
with a base URL and no key, a placeholder is sent (local servers ignore it). Retries (429, 5xx,
connection errors, honouring `retry-after`) are the SDK's, `settings.max_retries` of them.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any
from urllib.parse import urlsplit

import openai

from orchestrator.ai.providers.base import (
    AUTH,
    BAD_ANSWER,
    BAD_REQUEST,
    CONNECTION,
    OVERLOADED,
    RATE_LIMITED,
    REFUSAL,
    SERVER_ERROR,
    TIMEOUT,
    Answer,
    ProviderError,
    ProviderSettings,
)

# The model the openai 3.57 README uses throughout; settable with `settings.model` (a local server
# needs its own model name, e.g. "llama3.1:8b" for Ollama).
DEFAULT_MODEL = "gpt-5.5"
LOCAL_PLACEHOLDER_KEY = "no-key-needed"  # sent to a non-OpenAI base URL when no key is configured
OPENAI_HOST = "api.openai.com"

NO_KEY = ("no OpenAI API key: set OPENAI_API_KEY, or give the key in the AI settings (for a local "
          "OpenAI-compatible server, set its base URL, e.g. http://127.0.0.1:11434/v1 for Ollama)")

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class OpenAIProvider:
    name = "openai"

    def __init__(self, settings: ProviderSettings | None = None):
        self.settings = settings or ProviderSettings()
        self.model = self.settings.model or DEFAULT_MODEL
        self._client: openai.OpenAI | None = None
        self._setup_error: ProviderError | None = None
        base_url = self.settings.base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = self.settings.api_key or os.environ.get("OPENAI_API_KEY") or None
        if api_key is None:
            if base_url is None or urlsplit(base_url).hostname == OPENAI_HOST:
                self._setup_error = ProviderError(AUTH, NO_KEY)
                return
            api_key = LOCAL_PLACEHOLDER_KEY
        self._api_key = api_key
        # OpenAI's own models refuse the older `max_tokens`; compatible servers all know it, not all
        # know `max_completion_tokens`. settings.extra["max_tokens_param"] overrides the guess.
        local = base_url is not None and urlsplit(base_url).hostname != OPENAI_HOST
        self._max_tokens_param = self.settings.extra.get(
            "max_tokens_param", "max_tokens" if local else "max_completion_tokens")
        try:
            self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=self.settings.timeout,
                                         max_retries=self.settings.max_retries)
        except (openai.OpenAIError, ValueError) as exc:
            self._setup_error = ProviderError(AUTH, f"OpenAI client: {self._scrub(str(exc))}")

    def ask(self, *, system: str, prompt: str, tool_name: str, tool_description: str,
            schema: dict[str, Any]) -> Answer:
        if self._setup_error is not None:
            raise self._setup_error
        started = time.monotonic()
        try:
            completion = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                tools=[{"type": "function", "function": {"name": tool_name, "description": tool_description,
                                                         "parameters": schema, "strict": True}}],
                tool_choice={"type": "function", "function": {"name": tool_name}},
                parallel_tool_calls=False,  # one answer; strict schemas need it off
                extra_body=self.settings.extra.get("body") or None,  # e.g. reasoning_effort, Ollama options
                **{self._max_tokens_param: self.settings.max_tokens},
            )
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        latency = time.monotonic() - started
        return self._answer(completion, tool_name, latency)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # --- internals -------------------------------------------------------------------------------------
    def _answer(self, completion, tool_name: str, latency: float) -> Answer:
        request_id = getattr(completion, "_request_id", None)
        if not completion.choices:
            raise ProviderError(BAD_ANSWER, "the answer holds no choice", request_id=request_id)
        choice = completion.choices[0]
        message = choice.message
        content = message.content or ""
        if message.refusal:
            raise ProviderError(REFUSAL, f"the model refused to answer: {message.refusal}",
                                request_id=request_id, raw=message.refusal)
        if choice.finish_reason == "length":  # arguments cut short are not an answer
            raise ProviderError(BAD_ANSWER, f"the answer was cut at max_tokens ({self.settings.max_tokens})",
                                request_id=request_id, raw=content or _arguments(message))
        calls = [c for c in (message.tool_calls or []) if getattr(c, "function", None) is not None]
        call = next((c for c in calls if c.function.name == tool_name), calls[0] if calls else None)
        if call is not None:
            raw = call.function.arguments or ""
            if isinstance(raw, (dict, list)):  # some local servers send the arguments as an object
                raw = json.dumps(raw, ensure_ascii=False)
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise ProviderError(BAD_ANSWER, f"the tool arguments are not valid JSON ({exc})",
                                    request_id=request_id, raw=raw) from None
        else:
            # Local servers (Ollama, llama.cpp) often ignore tool_choice and answer the JSON object as
            # plain text, sometimes in a ```json fence: take it when it parses to an object.
            raw = content
            data = _json_object(content)
            if data is None:
                if choice.finish_reason == "content_filter":
                    raise ProviderError(REFUSAL, "the answer was withheld by the content filter",
                                        request_id=request_id, raw=raw)
                raise ProviderError(REFUSAL, f"the model did not call the tool {tool_name!r} "
                                    f"(finish_reason {choice.finish_reason})", request_id=request_id, raw=raw)
        if not isinstance(data, dict):
            raise ProviderError(BAD_ANSWER, f"the tool arguments are a {type(data).__name__}, not an object",
                                request_id=request_id, raw=raw)
        usage = completion.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        return Answer(
            data=data, raw=raw, provider=self.name, model=completion.model or self.model,
            tokens_in=(usage.prompt_tokens or 0) if usage else 0,  # cached tokens included
            tokens_out=(usage.completion_tokens or 0) if usage else 0,
            cache_read=(details.cached_tokens or 0) if details else 0,
            cache_write=(getattr(details, "cache_write_tokens", None) or 0) if details else 0,
            latency=latency, request_id=request_id,
        )

    def _error(self, exc: openai.OpenAIError) -> ProviderError:
        retries = f" after {self.settings.max_retries} retries" if self.settings.max_retries else ""
        if isinstance(exc, openai.APITimeoutError):
            return ProviderError(TIMEOUT, f"no answer from {self._client.base_url} within "
                                 f"{self.settings.timeout:g} s{retries}")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return ProviderError(CONNECTION, f"cannot reach {self._client.base_url}{retries}: "
                                 f"{self._scrub(str(cause))}")
        if isinstance(exc, openai.APIStatusError):
            status, request_id = exc.status_code, exc.request_id
            body = exc.body
            detail = body.get("message") if isinstance(body, dict) else None
            detail = self._scrub(str(detail or exc.message))
            raw = self._scrub(json.dumps(body)) if body is not None else None
            if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
                kind, what = AUTH, "the API key was refused"
            elif isinstance(exc, openai.RateLimitError):
                kind, what = RATE_LIMITED, f"rate limited{retries}"
            elif status in (503, 529):
                kind, what = OVERLOADED, f"overloaded{retries}"
            elif status >= 500:
                kind, what = SERVER_ERROR, f"server error{retries}"
            else:  # 400 (schema not accepted, context too long), 404 (unknown model), ...
                kind, what = BAD_REQUEST, "the request was rejected"
                if status == 404 and not str(self._client.base_url).rstrip("/").endswith("/v1"):
                    detail += " (OpenAI-compatible base URLs usually end in /v1)"
            return ProviderError(kind, f"OpenAI API: {what} (HTTP {status}): {detail}",
                                 request_id=request_id, raw=raw)
        return ProviderError(SERVER_ERROR, f"OpenAI API: {self._scrub(str(exc))}")

    def _scrub(self, text: str) -> str:
        """The key never appears in an error message, whatever the server or the SDK echoed."""
        key = getattr(self, "_api_key", None)
        if key and key != LOCAL_PLACEHOLDER_KEY:
            text = text.replace(key, "***")
        return text


def _json_object(text: str) -> dict | None:
    text = text.strip()
    if match := _FENCE.match(text):
        text = match.group(1)
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _arguments(message) -> str:
    """The raw arguments of the first function call, if any."""
    for call in message.tool_calls or []:
        function = getattr(call, "function", None)
        if function is not None:
            args = function.arguments
            return args if isinstance(args, str) else json.dumps(args)
    return ""
