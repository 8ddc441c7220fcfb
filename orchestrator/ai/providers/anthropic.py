"""Claude through the official `anthropic` SDK (2.x), Messages API with one forced tool.

The structured answer is the input of a tool the model must call (`tool_choice` names it, `strict`
holds it to the schema). The system text goes first as a block marked for prompt caching: tools and
system are the stable prefix of every request, so repeated decisions pay for them once.

Credentials and URL resolve as the SDK does for its users: `settings.api_key`/`base_url` when given,
else `ANTHROPIC_API_KEY` (or `ANTHROPIC_AUTH_TOKEN`) and `ANTHROPIC_BASE_URL`, else an SDK profile.
Retries (429, 5xx, connection errors, honouring `retry-after`) are the SDK's, `settings.max_retries` of
them; what is left after them becomes a ProviderError.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import anthropic

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

# The current Sonnet in anthropic 2.14's `types.Model` list; settable with `settings.model`.
DEFAULT_MODEL = "claude-sonnet-5-5"

# The SDK waits out any `retry-after`, however long; a decision is not worth more than this between two
# attempts (the openai SDK stops at 120 s). settings.extra["max_retry_wait"] changes it.
MAX_RETRY_WAIT = 60.0

NO_KEY = ("no Anthropic API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN), or give the key in "
          "the AI settings")


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, settings: ProviderSettings | None = None):
        self.settings = settings or ProviderSettings()
        self.model = self.settings.model or DEFAULT_MODEL
        self._client: anthropic.Anthropic | None = None
        self._setup_error: ProviderError | None = None
        try:
            client = anthropic.Anthropic(
                api_key=self.settings.api_key or None,
                base_url=self.settings.base_url or None,
                timeout=self.settings.timeout,
                max_retries=self.settings.max_retries,
                middleware=[self._bounded_retry_wait],
            )
        except (anthropic.AnthropicError, ValueError) as exc:  # a broken SDK profile, conflicting settings
            self._setup_error = ProviderError(AUTH, f"Anthropic credentials: {self._scrub(str(exc))}")
            return
        if client.api_key is None and client.auth_token is None and client.credentials is None:
            self._setup_error = ProviderError(AUTH, NO_KEY)
            client.close()
            return
        self._client = client

    def ask(self, *, system: str, prompt: str, tool_name: str, tool_description: str,
            schema: dict[str, Any]) -> Answer:
        if self._setup_error is not None:
            raise self._setup_error
        started = time.monotonic()
        try:
            message = self._client.messages.create(
                model=self.model,
                max_tokens=self.settings.max_tokens,
                system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": prompt}],
                tools=[{"name": tool_name, "description": tool_description, "input_schema": schema,
                        "strict": True}],
                tool_choice={"type": "tool", "name": tool_name},
                extra_body=self.settings.extra.get("body") or None,  # e.g. service_tier, metadata
            )
        except TypeError as exc:
            if "authentication" not in str(exc):
                raise
            # the SDK's "Could not resolve authentication method": a profile that yielded no credential
            raise ProviderError(AUTH, f"{NO_KEY} ({exc})") from None
        except anthropic.AnthropicError as exc:
            raise self._error(exc) from None
        latency = time.monotonic() - started
        return self._answer(message, tool_name, latency)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # --- internals -------------------------------------------------------------------------------------
    def _bounded_retry_wait(self, request, call_next):
        """Middleware (runs once per attempt): an answer asking to retry after longer than the bound is
        not retried; the error then says how long the server asked to wait."""
        response = call_next(request)
        wait = retry_after(response.http_response.headers)
        if wait is not None and wait > float(self.settings.extra.get("max_retry_wait", MAX_RETRY_WAIT)):
            response.http_response.headers["x-should-retry"] = "false"  # honoured by the SDK's retry loop
        return response

    def _answer(self, message, tool_name: str, latency: float) -> Answer:
        request_id = getattr(message, "_request_id", None)
        text = "".join(b.text for b in message.content if b.type == "text")
        calls = [b for b in message.content if b.type == "tool_use" and b.name == tool_name]
        if message.stop_reason == "refusal":
            raise ProviderError(REFUSAL, "the model refused to answer", request_id=request_id, raw=text)
        if message.stop_reason == "max_tokens":  # a tool input cut short is not an answer
            raw = json.dumps(calls[0].input, ensure_ascii=False) if calls else text
            raise ProviderError(BAD_ANSWER, f"the answer was cut at max_tokens ({self.settings.max_tokens})",
                                request_id=request_id, raw=raw)
        if not calls:
            raise ProviderError(REFUSAL, f"the model did not call the tool {tool_name!r} "
                                f"(stop_reason {message.stop_reason})", request_id=request_id, raw=text)
        data = calls[0].input
        raw = json.dumps(data, ensure_ascii=False)
        if not isinstance(data, dict):
            raise ProviderError(BAD_ANSWER, f"the tool input is a {type(data).__name__}, not an object",
                                request_id=request_id, raw=raw)
        usage = message.usage
        cache_read = usage.cache_read_input_tokens or 0
        cache_write = usage.cache_creation_input_tokens or 0
        return Answer(
            data=data, raw=raw, provider=self.name, model=message.model or self.model,
            # all input tokens, like OpenAI's prompt_tokens: Anthropic counts the cached ones apart
            tokens_in=(usage.input_tokens or 0) + cache_read + cache_write,
            tokens_out=usage.output_tokens or 0,
            cache_read=cache_read, cache_write=cache_write, latency=latency, request_id=request_id,
        )

    def _error(self, exc: anthropic.AnthropicError) -> ProviderError:
        retries = f" after {self.settings.max_retries} retries" if self.settings.max_retries else ""
        if isinstance(exc, anthropic.APITimeoutError):
            return ProviderError(TIMEOUT, f"no answer from the Anthropic API within {self.settings.timeout:g} s"
                                 f"{retries}")
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__ or exc
            return ProviderError(CONNECTION, f"cannot reach the Anthropic API at {self._client.base_url}"
                                 f"{retries}: {self._scrub(str(cause))}")
        if isinstance(exc, anthropic.APIStatusError):
            status, request_id = exc.status_code, exc.request_id
            detail = self._scrub(exc.api_message or exc.message)
            wait = retry_after(exc.response.headers)
            if wait is not None and status in (429, 503, 529):
                detail += f" (the server asks to retry after {wait:g} s)"
            raw = self._scrub(json.dumps(exc.body)) if exc.body is not None else None
            if isinstance(exc, (anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
                kind, what = AUTH, "the API key was refused"
            elif isinstance(exc, anthropic.RateLimitError):
                kind, what = RATE_LIMITED, f"rate limited{retries}"
            elif status in (503, 529):
                kind, what = OVERLOADED, f"overloaded{retries}"
            elif status >= 500:
                kind, what = SERVER_ERROR, f"server error{retries}"
            else:  # 400 (bad schema, prompt too long), 404 (unknown model), 413, ...
                kind, what = BAD_REQUEST, "the request was rejected"
                if status == 404 and str(self._client.base_url).rstrip("/").endswith("/v1"):
                    detail += " (the Anthropic base URL is the host root, without /v1)"
            return ProviderError(kind, f"Anthropic API: {what} (HTTP {status}): {detail}",
                                 request_id=request_id, raw=raw)
        if isinstance(exc, anthropic.CredentialsError):
            return ProviderError(AUTH, f"Anthropic credentials: {self._scrub(str(exc))}")
        return ProviderError(SERVER_ERROR, f"Anthropic API: {self._scrub(str(exc))}")

    def _scrub(self, text: str) -> str:
        """The key never appears in an error message, whatever the server or the SDK echoed."""
        for secret in (self.settings.api_key, getattr(self._client, "api_key", None),
                       getattr(self._client, "auth_token", None)):
            if secret:
                text = text.replace(secret, "***")
        return text


def retry_after(headers) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), as the SDK reads them."""
    try:
        return float(headers.get("retry-after-ms")) / 1000
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
