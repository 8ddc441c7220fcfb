"""A loopback server that speaks the OpenAI chat completions wire format (``POST /v1/chat/completions``),
as OpenAI does and as the compatible local servers (Ollama, vLLM, llama.cpp) do.

The `openai` SDK is pointed at it with ``base_url`` (``.../v1``, as for api.openai.com/v1); nothing else
differs from production. What it implements:

* ``Authorization: Bearer KEY``; otherwise HTTP 401 with the error envelope ``{"error": {"message",
  "type", "param", "code"}}`` (``invalid_api_key``); ``require_key=False`` accepts any key, as a local
  server does; ``arguments_as_object=True`` sends tool arguments as a JSON object instead of a string,
  as some local servers do;
* ``model`` and ``messages`` required; a ``tool_choice`` naming a function not in ``tools`` is rejected;
* the answer ``{"id", "object": "chat.completion", "created", "model", "choices": [{"index": 0,
  "message": {"role": "assistant", "content": null, "tool_calls": [{"id", "type": "function",
  "function": {"name", "arguments": "<json string>"}}], "refusal": null}, "finish_reason"}], "usage":
  {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details": {"cached_tokens"},
  ...}}`` with an ``x-request-id`` header; ``finish_reason`` is ``"stop"`` for a function forced by name
  in ``tool_choice`` (as OpenAI answers), ``"tool_calls"`` otherwise; as OpenAI does, a prompt prefix
  (system message and tools) of 1024 tokens or more seen before is reported as cached, in steps of 128;
* a refusal is ``message.refusal`` with ``content: null``; a text answer is ``message.content``;
* errors: 400 ``invalid_request_error``, 401, 404 (unknown model), 429 ``rate_limit_exceeded`` (with
  ``retry-after``), 500 ``server_error``, 503 (overloaded).

Planned replies and the request record: see tests/fakes/model_server.py.
"""

from __future__ import annotations

import json
import secrets
import time

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

ERRORS = {  # status: (type, code, message)
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", ("Country, region, or territory "
                                                                            "not supported")),
    404: ("invalid_request_error", "model_not_found", ("The model does not exist or you do not "
                                                      "have access to it.")),
    429: ("requests", "rate_limit_exceeded", ("Rate limit reached for requests per min (RPM). "
                                             "Please try again in 1s.")),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
CACHE_MINIMUM = 1024  # OpenAI caches prompt prefixes of at least this many tokens ...
CACHE_STEP = 128  # ... in steps of this many


def _id(prefix: str, size: int = 24) -> str:
    return prefix + secrets.token_hex(size // 2)


class FakeOpenAI(FakeModelServer):
    name = "fake-openai"
    api_key = "sk-proj-fake-key"

    def __init__(self, api_key: str | None = None, *, require_key: bool = True, arguments_as_object: bool = False,
                 handler=None):
        super().__init__(api_key, handler=handler)
        self.require_key = require_key
        self.arguments_as_object = arguments_as_object  # as some local servers send them

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _request_id(self) -> str:
        return _id("req_", 32)

    def respond(self, received: Received) -> tuple[int, dict, dict]:
        if received.method != "POST" or received.path != "/v1/chat/completions":
            return self._error(received, 404, f"Invalid URL ({received.method} {received.path})", code=None)
        auth = received.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return self._error(received, 401, "You didn't provide an API key. You need to provide your API key "
                               "in an Authorization header using Bearer auth (i.e. Authorization: Bearer "
                               "YOUR_KEY).", code=None)
        if self.require_key and auth != f"Bearer {self.api_key}":
            given = auth[len("Bearer "):]
            masked = given[:3] + "*" * max(0, len(given) - 7) + given[-4:]  # as OpenAI echoes it
            return self._error(received, 401, f"Incorrect API key provided: {masked}. You can find your API "
                               "key at https://platform.openai.com/account/api-keys.")
        problem = _invalid(received.body)
        if problem:
            return self._error(received, 400, problem[1], param=problem[0], code=problem[2])
        body = received.body
        reply = self._next_reply(body)
        if reply.delay:
            self.wait(reply.delay)
        if reply.status != 200:
            return self._error(received, reply.status, reply.message, retry_after=reply.retry_after)
        return 200, self._completion(body, reply), {"x-request-id": received.request_id}

    def _completion(self, body: dict, reply: Reply) -> dict:
        message: dict = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        if reply.has_tool_input:
            choice = body.get("tool_choice")
            name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
            name = name or ((body.get("tools") or [{}])[0].get("function") or {}).get("name", "tool")
            arguments = reply.tool_input if isinstance(reply.tool_input, str) else json.dumps(reply.tool_input)
            if self.arguments_as_object and not isinstance(reply.tool_input, str):
                arguments = reply.tool_input
            message["tool_calls"] = [{"id": _id("call_"), "type": "function",
                                      "function": {"name": name, "arguments": arguments}}]
            # OpenAI ends a call of a function named in tool_choice with "stop", other calls "tool_calls"
            # (vllm-project/vllm#25054 measured it and aligned vLLM)
            finish = "stop" if isinstance(choice, dict) else "tool_calls"
            output = json.dumps(arguments)
        elif reply.refusal is not None:
            message["refusal"] = reply.refusal
            finish, output = "stop", reply.refusal
        else:
            message["content"] = reply.text or ""
            finish, output = "stop", reply.text or ""
        messages = body.get("messages") or []
        system = [m for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer")]
        prefix = json.dumps([system, body.get("tools")], sort_keys=True)
        prefix_tokens = _tokens(prefix)
        read, _ = self._cache_tokens(prefix, prefix_tokens >= CACHE_MINIMUM)
        read = read // CACHE_STEP * CACHE_STEP
        prompt_tokens = _tokens(json.dumps(messages)) + _tokens(json.dumps(body.get("tools") or []))
        usage = {"prompt_tokens": max(prompt_tokens, read), "completion_tokens": _tokens(output),
                 "prompt_tokens_details": {"cached_tokens": read, "audio_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                               "accepted_prediction_tokens": 0,
                                               "rejected_prediction_tokens": 0}}
        for key, value in reply.usage.items():
            if key == "cached_tokens":
                usage["prompt_tokens_details"]["cached_tokens"] = value
            else:
                usage[key] = value
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return {"id": _id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()),
                "model": body["model"], "choices": [{"index": 0, "message": message, "logprobs": None,
                                                     "finish_reason": reply.finish or finish}],
                "usage": usage, "service_tier": "default", "system_fingerprint": _id("fp_", 10)}

    def _error(self, received: Received, status: int, message: str | None = None, *, param: str | None = None,
               code: str | None = "", retry_after: float | None = None) -> tuple[int, dict, dict]:
        kind, default_code, default_message = ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}"))
        envelope = {"error": {"message": message or default_message, "type": kind, "param": param,
                              "code": default_code if code == "" else code}}
        extra = {"x-request-id": received.request_id}
        if retry_after is not None:
            extra["retry-after"] = f"{retry_after:g}"
        return status, envelope, extra


def _invalid(body) -> tuple[str | None, str, str | None] | None:
    """(param, message, code) of what the API would reject in the request body, or None."""
    if not isinstance(body, dict):
        return None, "We could not parse the JSON body of your request.", None
    for key in ("model", "messages"):
        if key not in body:
            return key, f"Missing required parameter: '{key}'.", "missing_required_parameter"
    if not isinstance(body["messages"], list) or not body["messages"]:
        return "messages", "Invalid 'messages': empty array.", "empty_array"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        wanted = (choice.get("function") or {}).get("name")
        names = [(t.get("function") or {}).get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        if wanted not in names:
            return "tool_choice", f"Invalid value for 'tool_choice': function '{wanted}' not found in 'tools'.", None
    return None
