"""A loopback server that speaks the Anthropic Messages API's wire format (``POST /v1/messages``).

The `anthropic` SDK is pointed at it with ``base_url`` (the host root, as for api.anthropic.com);
nothing else differs from production. What it implements, as the API does:

* auth by ``x-api-key: KEY`` (SDKs before 2.x) or ``Authorization: Bearer KEY`` (2.x); otherwise HTTP 401
  ``{"type": "error", "error": {"type": "authentication_error", "message": ...}, "request_id": ...}``;
* ``anthropic-version`` required, and ``model``, ``max_tokens``, ``messages``; a ``tool_choice`` naming a
  tool that is not in ``tools`` is rejected (HTTP 400 ``invalid_request_error``);
* the answer ``{"id", "type": "message", "role": "assistant", "model", "content": [{"type": "tool_use",
  "id", "name", "input"}], "stop_reason": "tool_use", "stop_sequence", "usage"}`` with a ``request-id``
  header; usage counts ``cache_creation_input_tokens`` the first time a prefix (tools and system) marked
  ``cache_control`` is seen, ``cache_read_input_tokens`` after; as the API does, a prefix shorter than
  the model's minimum (``cache_minimum``, 1024 tokens for Sonnet) is silently not cached;
* errors with their real types: 400 ``invalid_request_error``, 401, 403 ``permission_error``, 404
  ``not_found_error``, 429 ``rate_limit_error`` (with ``retry-after``), 500 ``api_error``, 529
  ``overloaded_error``; a refusal is ``stop_reason: "refusal"``.

Planned replies and the request record: see tests/fakes/model_server.py.
"""

from __future__ import annotations

import json
import secrets

from tests.fakes.model_server import (  # noqa: F401  (re-exported)
    FakeModelServer,
    Received,
    Reply,
    _tokens,
    error,
    refusal,
    text_answer,
    tool_call,
)

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 500: "api_error", 503: "api_error", 504: "timeout_error",
               529: "overloaded_error"}
MESSAGES = {401: "invalid x-api-key", 429: "Number of request tokens has exceeded your per-minute rate limit",
            500: "Internal server error", 529: "Overloaded"}


def _id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")


class FakeAnthropic(FakeModelServer):
    name = "fake-anthropic"
    api_key = "sk-ant-fake-key"

    def __init__(self, api_key: str | None = None, *, cache_minimum: int = 1024, handler=None):
        super().__init__(api_key, handler=handler)
        self.cache_minimum = cache_minimum  # tokens; 1024 for the Sonnets, more for some other models

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _request_id(self) -> str:
        return _id("req_")

    def respond(self, received: Received) -> tuple[int, dict, dict]:
        if received.method != "POST" or received.path != "/v1/messages":
            return self._error(received, 404, f"Not found: {received.method} {received.path}")
        headers = received.headers
        if not (headers.get("x-api-key") == self.api_key
                or headers.get("authorization") == f"Bearer {self.api_key}"):
            return self._error(received, 401, MESSAGES[401])
        if not headers.get("anthropic-version"):
            return self._error(received, 400, "anthropic-version: header is required")
        problem = _invalid(received.body)
        if problem:
            return self._error(received, 400, problem)
        body = received.body
        reply = self._next_reply(body)
        if reply.delay:
            self.wait(reply.delay)
        if reply.status != 200:
            return self._error(received, reply.status, reply.message, reply.retry_after)
        return 200, self._message(body, reply), {"request-id": received.request_id}

    def _message(self, body: dict, reply: Reply) -> dict:
        if reply.has_tool_input:
            choice = body.get("tool_choice") or {}
            name = choice.get("name") or (body.get("tools") or [{}])[0].get("name", "tool")
            content = [{"type": "tool_use", "id": _id("toolu_"), "name": name, "input": reply.tool_input}]
            stop = "tool_use"
        elif reply.refusal is not None:
            content, stop = [{"type": "text", "text": reply.refusal}], "refusal"
        else:
            content, stop = [{"type": "text", "text": reply.text or ""}], "end_turn"
        system = body.get("system")
        blocks = system if isinstance(system, list) else []
        marked = bool(body.get("cache_control")) or any(isinstance(b, dict) and b.get("cache_control")
                                                        for b in blocks)
        prefix = json.dumps([body.get("tools"), system], sort_keys=True)
        cacheable = marked and _tokens(prefix) >= self.cache_minimum  # shorter: silently not cached
        read, written = self._cache_tokens(prefix, cacheable)
        usage = {"input_tokens": _tokens(json.dumps(body.get("messages"))) + (0 if cacheable else _tokens(prefix)),
                 "output_tokens": _tokens(json.dumps(content)),
                 "cache_creation_input_tokens": written, "cache_read_input_tokens": read,
                 "service_tier": "standard"}
        usage.update(reply.usage)
        return {"id": _id("msg_"), "type": "message", "role": "assistant", "model": body["model"],
                "content": content, "stop_reason": reply.finish or stop, "stop_sequence": None, "usage": usage}

    def _error(self, received: Received, status: int, message: str | None = None,
               retry_after: float | None = None) -> tuple[int, dict, dict]:
        kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        envelope = {"type": "error", "error": {"type": kind, "message": message or MESSAGES.get(status, kind)},
                    "request_id": received.request_id}
        extra = {"request-id": received.request_id}
        if retry_after is not None:
            extra["retry-after"] = f"{retry_after:g}"
        return status, envelope, extra


def _invalid(body) -> str | None:
    """What the real API would reject in the request body, or None."""
    if not isinstance(body, dict):
        return "the request body is not a JSON object"
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 0:
        return "max_tokens: Input should be a valid integer"
    if not isinstance(body["messages"], list) or not body["messages"]:
        return "messages: at least one message is required"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        names = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        if choice.get("name") not in names:
            return f"tool_choice.name: tool {choice.get('name')!r} not found in tools"
    return None
