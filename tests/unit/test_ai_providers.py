"""The model providers, driven through the real `anthropic` and `openai` SDKs against loopback servers that
speak the real wire formats (tests/fakes/anthropic_api.py, tests/fakes/openai_api.py)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest

from orchestrator.ai.providers import ProviderError, ProviderSettings, base, make_provider
from orchestrator.ai.providers.anthropic import AnthropicProvider
from orchestrator.ai.providers.openai import LOCAL_PLACEHOLDER_KEY, OpenAIProvider
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.model_server import error, refusal, text_answer, tool_call
from tests.fakes.openai_api import FakeOpenAI

SCHEMA = {
    "type": "object",
    "properties": {"strategy": {"type": "string", "enum": ["rolling", "parallel"]},
                   "reason": {"type": "string"}},
    "required": ["strategy", "reason"],
    "additionalProperties": False,
}
CHOICE = {"strategy": "rolling", "reason": "one host failed last time"}
SYSTEM = "You choose how aidevops deploys. Answer only through the tool."
PROMPT = "Hosts: web-1, web-2. Last run: web-2 failed in phase nginx."


def ask(provider, **overrides):
    kwargs = {"system": SYSTEM, "prompt": PROMPT, "tool_name": "choose_strategy",
              "tool_description": "Choose the deployment strategy.", "schema": SCHEMA}
    kwargs.update(overrides)
    return provider.ask(**kwargs)


def failure(provider, **overrides) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        ask(provider, **overrides)
    return info.value


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No key, URL or SDK profile from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # the anthropic SDK's profiles live in ~/.config/anthropic
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)


@pytest.fixture
def claude():
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def gpt():
    with FakeOpenAI() as fake:
        yield fake


def anthropic_for(fake, **settings) -> AnthropicProvider:
    settings.setdefault("max_retries", 0)
    return make_provider("anthropic", ProviderSettings(base_url=fake.base_url, api_key=fake.api_key, **settings))


def openai_for(fake, **settings) -> OpenAIProvider:
    settings.setdefault("max_retries", 0)
    return make_provider("openai", ProviderSettings(base_url=fake.base_url, api_key=fake.api_key, **settings))


# --- Anthropic ------------------------------------------------------------------------------------------
LONG_SYSTEM = SYSTEM + " Rules: " + "keep every host reachable; " * 200  # > 1024 tokens: worth caching


def test_anthropic_tool_answer_with_usage_cache_and_request_id(claude):
    claude.reply(tool_call(CHOICE), tool_call({"strategy": "parallel", "reason": "all green"}))
    provider = anthropic_for(claude)
    first = ask(provider, system=LONG_SYSTEM)
    assert first.data == CHOICE and json.loads(first.raw) == CHOICE
    assert (first.provider, first.model) == ("anthropic", "claude-sonnet-5-5")
    assert first.request_id == claude.requests[0].request_id and first.request_id.startswith("req_")
    assert first.cache_write > 0 and first.cache_read == 0  # the system prefix went into the cache
    assert first.tokens_in > first.cache_write and first.tokens_out > 0 and first.latency > 0

    second = ask(provider, system=LONG_SYSTEM)
    assert second.data["strategy"] == "parallel"
    assert second.cache_read == first.cache_write and second.cache_write == 0  # ... and was read back

    body = claude.last.body
    assert body["model"] == "claude-sonnet-5-5" and body["max_tokens"] == 1024
    assert body["system"] == [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    assert body["messages"] == [{"role": "user", "content": PROMPT}]
    assert body["tools"] == [{"name": "choose_strategy", "description": "Choose the deployment strategy.",
                              "input_schema": SCHEMA, "strict": True}]
    assert body["tool_choice"] == {"type": "tool", "name": "choose_strategy"}
    assert "temperature" not in body
    assert not claude.sent_anywhere(claude.api_key)

    claude.reply(tool_call(CHOICE))  # a short prefix is below the API's minimum: not cached
    short = ask(provider)
    assert (short.cache_read, short.cache_write) == (0, 0) and short.tokens_in > 0


def test_anthropic_sdk_sends_bearer_and_version_and_the_fake_also_takes_x_api_key(claude):
    claude.reply(tool_call(CHOICE))
    ask(anthropic_for(claude))
    headers = claude.last.headers
    assert headers["authorization"] == f"Bearer {claude.api_key}"  # anthropic 2.x
    assert "x-api-key" not in headers
    assert headers["anthropic-version"] == "2026-10-21"  # FACTS.md: what anthropic 2.12+ sends

    def post(headers):
        body = json.dumps({"model": "claude-sonnet-5-5", "max_tokens": 10,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        req = urllib.request.Request(f"{claude.base_url}/v1/messages", data=body, method="POST",
                                     headers={"content-type": "application/json", **headers})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read()), resp.headers
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read()), exc.headers

    claude.reply(text_answer("hello"))  # the older SDKs' style
    status, answer, resp_headers = post({"x-api-key": claude.api_key, "anthropic-version": "2023-06-01"})
    assert status == 200 and answer["content"] == [{"type": "text", "text": "hello"}]
    assert resp_headers["request-id"].startswith("req_")
    status, answer, _ = post({"x-api-key": "wrong", "anthropic-version": "2023-06-01"})
    assert status == 401 and answer["type"] == "error"
    assert answer["error"]["type"] == "authentication_error"
    status, answer, _ = post({"x-api-key": claude.api_key})
    assert status == 400 and "anthropic-version" in answer["error"]["message"]


def test_anthropic_wrong_key_is_auth_without_the_key_in_the_message(claude):
    err = failure(make_provider("anthropic", ProviderSettings(base_url=claude.base_url, api_key="sk-ant-wrong",
                                                              max_retries=2)))
    assert err.kind == base.AUTH and "HTTP 401" in err.message
    assert len(claude.requests) == 1  # a refused key is not retried
    assert err.request_id == claude.last.request_id


def test_anthropic_echoed_key_is_scrubbed_from_errors(claude):
    claude.reply(error(400, message=f"the key {claude.api_key} may not do that"))
    err = failure(anthropic_for(claude))
    assert err.kind == base.BAD_REQUEST
    assert claude.api_key not in err.message and claude.api_key not in (err.raw or "")
    assert "***" in err.message


def test_anthropic_429_with_retry_after_is_retried_then_answered(claude):
    claude.reply(error(429, retry_after=0.3), tool_call(CHOICE))
    started = time.monotonic()
    answer = ask(anthropic_for(claude, max_retries=2))
    assert answer.data == CHOICE
    assert time.monotonic() - started >= 0.3  # retry-after honoured
    assert [r.status for r in claude.requests] == [429, 200]
    assert claude.requests[1].headers["x-stainless-retry-count"] == "1"


def test_anthropic_429_after_the_retries_is_rate_limited(claude):
    claude.reply(*[error(429, retry_after=0.05)] * 3)
    err = failure(anthropic_for(claude, max_retries=2))
    assert err.kind == base.RATE_LIMITED and "after 2 retries" in err.message
    assert len(claude.requests) == 3 and err.request_id == claude.last.request_id
    assert json.loads(err.raw)["error"]["type"] == "rate_limit_error"


def test_anthropic_does_not_wait_out_a_long_retry_after(claude):
    claude.reply(error(429, retry_after=3600), tool_call(CHOICE))
    started = time.monotonic()
    err = failure(anthropic_for(claude, max_retries=2))
    assert time.monotonic() - started < 3 and len(claude.requests) == 1
    assert err.kind == base.RATE_LIMITED and "retry after 3600 s" in err.message
    assert claude.planned == 1  # the answer that a retry would have had


def test_anthropic_retry_wait_bound_is_settable():
    with FakeAnthropic() as claude:
        claude.reply(error(529, retry_after=2))  # a retry would get "no reply planned" (400)
        err = failure(anthropic_for(claude, max_retries=2, extra={"max_retry_wait": 1}))
        assert err.kind == base.OVERLOADED and len(claude.requests) == 1
        claude.reply(error(529, retry_after=0.2), tool_call(CHOICE))
        assert ask(anthropic_for(claude, max_retries=2, extra={"max_retry_wait": 1})).data == CHOICE
        assert [r.status for r in claude.requests] == [529, 529, 200]


@pytest.mark.parametrize("status,kind", [(529, base.OVERLOADED), (500, base.SERVER_ERROR),
                                         (404, base.BAD_REQUEST)])
def test_anthropic_http_errors(claude, status, kind):
    claude.reply(error(status, retry_after=0.05), error(status, retry_after=0.05))
    err = failure(anthropic_for(claude, max_retries=1))
    assert err.kind == kind and f"HTTP {status}" in err.message
    assert len(claude.requests) == (1 if status == 404 else 2)  # 5xx are retried, 404 is not


def test_base_url_mistakes_get_a_hint(claude, gpt):
    err = failure(make_provider("anthropic", ProviderSettings(base_url=claude.base_url + "/v1",
                                                              api_key=claude.api_key, max_retries=0)))
    assert err.kind == base.BAD_REQUEST and "host root, without /v1" in err.message
    no_v1 = gpt.base_url.removesuffix("/v1")
    err = failure(make_provider("openai", ProviderSettings(base_url=no_v1, api_key=gpt.api_key, max_retries=0)))
    assert err.kind == base.BAD_REQUEST and "usually end in /v1" in err.message


def test_anthropic_slow_answer_is_a_quick_timeout(claude):
    claude.reply(tool_call(CHOICE, delay=10))
    started = time.monotonic()
    err = failure(anthropic_for(claude, timeout=0.5))
    assert err.kind == base.TIMEOUT and "0.5 s" in err.message
    assert time.monotonic() - started < 3


def test_anthropic_refusal_and_missing_tool_call_and_non_object_input(claude):
    provider = anthropic_for(claude)
    claude.reply(refusal("I won't help with that."))
    err = failure(provider)
    assert err.kind == base.REFUSAL and err.raw == "I won't help with that."
    claude.reply(text_answer("I would go rolling."))
    err = failure(provider)
    assert err.kind == base.REFUSAL and "did not call the tool" in err.message
    assert err.raw == "I would go rolling."
    claude.reply(tool_call(["rolling"]))
    err = failure(provider)
    assert err.kind == base.BAD_ANSWER and err.raw == '["rolling"]'
    claude.reply(tool_call({"strategy": "rolling"}, finish="max_tokens"))  # input cut short
    err = failure(provider)
    assert err.kind == base.BAD_ANSWER and "max_tokens" in err.message


def test_anthropic_without_any_key_is_auth_and_sends_nothing(claude):
    err = failure(make_provider("anthropic", ProviderSettings(base_url=claude.base_url)))
    assert err.kind == base.AUTH and "ANTHROPIC_API_KEY" in err.message
    assert claude.requests == []


def test_anthropic_environment_variables(claude, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", claude.api_key)
    claude.reply(tool_call(CHOICE))
    assert ask(make_provider("anthropic", ProviderSettings(max_retries=0))).data == CHOICE
    assert claude.last.headers["authorization"] == f"Bearer {claude.api_key}"

    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", claude.api_key)
    claude.reply(tool_call(CHOICE))
    assert ask(make_provider("anthropic", ProviderSettings(max_retries=0))).data == CHOICE

    # the settings win over the environment
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "sk-ant-from-env")
    claude.reply(tool_call(CHOICE))
    assert ask(anthropic_for(claude)).data == CHOICE
    assert claude.last.headers["authorization"] == f"Bearer {claude.api_key}"


def test_anthropic_unreachable_server_is_connection():
    with FakeAnthropic() as gone:
        url = gone.base_url
    err = failure(make_provider("anthropic", ProviderSettings(base_url=url, api_key="k", max_retries=0)))
    assert err.kind == base.CONNECTION and url in err.message


# --- OpenAI ---------------------------------------------------------------------------------------------
def test_openai_tool_answer_with_usage_and_request_id(gpt):
    gpt.reply(tool_call(CHOICE, usage={"prompt_tokens": 2000, "completion_tokens": 40, "cached_tokens": 1792}))
    answer = ask(openai_for(gpt, model="gpt-5.5"))
    assert answer.data == CHOICE and json.loads(answer.raw) == CHOICE
    assert (answer.provider, answer.model) == ("openai", "gpt-5.5")
    assert (answer.tokens_in, answer.tokens_out, answer.cache_read, answer.cache_write) == (2000, 40, 1792, 0)
    assert answer.request_id == gpt.last.request_id and answer.request_id.startswith("req_")

    body = gpt.last.body
    assert body["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
    assert body["tools"] == [{"type": "function", "function": {
        "name": "choose_strategy", "description": "Choose the deployment strategy.", "parameters": SCHEMA,
        "strict": True}}]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "choose_strategy"}}
    assert gpt.last.headers["authorization"] == f"Bearer {gpt.api_key}"
    assert not gpt.sent_anywhere(gpt.api_key)


def test_openai_long_system_prefix_is_reported_cached_on_the_second_ask(gpt):
    provider = openai_for(gpt)
    gpt.reply(tool_call(CHOICE), tool_call(CHOICE))
    first, second = ask(provider, system=LONG_SYSTEM), ask(provider, system=LONG_SYSTEM)
    assert first.cache_read == 0
    assert second.cache_read >= 1024 and second.cache_read % 128 == 0 and second.tokens_in >= second.cache_read


def test_openai_malformed_arguments_are_bad_answer_with_raw(gpt):
    gpt.reply(tool_call('{"strategy": "rolling", "reason": '))
    err = failure(openai_for(gpt))
    assert err.kind == base.BAD_ANSWER and err.raw == '{"strategy": "rolling", "reason": '
    assert err.request_id == gpt.last.request_id
    gpt.reply(tool_call([1, 2]))
    assert failure(openai_for(gpt)).kind == base.BAD_ANSWER


def test_openai_refusal_and_missing_tool_call(gpt):
    provider = openai_for(gpt)
    gpt.reply(refusal("I'm sorry, I can't help with that."))
    err = failure(provider)
    assert err.kind == base.REFUSAL and err.raw == "I'm sorry, I can't help with that."
    gpt.reply(text_answer("Rolling seems wise."))
    err = failure(provider)
    assert err.kind == base.REFUSAL and err.raw == "Rolling seems wise."
    gpt.reply(text_answer('{"strategy": "rol', finish="length"))
    assert failure(provider).kind == base.BAD_ANSWER
    gpt.reply(tool_call({"strategy": "rolling"}, finish="length"))  # arguments cut short (yet parsable)
    err = failure(provider)
    assert err.kind == base.BAD_ANSWER and "max_tokens" in err.message and err.raw == '{"strategy": "rolling"}'


def test_openai_json_text_answer_of_a_local_server_is_accepted(gpt):
    provider = openai_for(gpt)
    gpt.reply(text_answer(json.dumps(CHOICE)), text_answer("```json\n" + json.dumps(CHOICE) + "\n```"))
    assert ask(provider).data == CHOICE
    assert ask(provider).data == CHOICE


def test_openai_arguments_sent_as_an_object_are_accepted():
    with FakeOpenAI(require_key=False, arguments_as_object=True) as local:
        local.reply(tool_call(CHOICE))
        answer = ask(make_provider("openai", ProviderSettings(base_url=local.base_url, max_retries=0)))
        assert answer.data == CHOICE and json.loads(answer.raw) == CHOICE


def test_extra_body_fields_reach_the_api(claude, gpt):
    gpt.reply(tool_call(CHOICE))
    ask(openai_for(gpt, extra={"body": {"reasoning_effort": "low"}}))
    assert gpt.last.body["reasoning_effort"] == "low"
    claude.reply(tool_call(CHOICE))
    ask(anthropic_for(claude, extra={"body": {"service_tier": "standard_only"}}))
    assert claude.last.body["service_tier"] == "standard_only"


def test_openai_429_with_retry_after_is_retried_then_answered(gpt):
    gpt.reply(error(429, retry_after=0.3), tool_call(CHOICE))
    started = time.monotonic()
    assert ask(openai_for(gpt, max_retries=2)).data == CHOICE
    assert time.monotonic() - started >= 0.3
    assert [r.status for r in gpt.requests] == [429, 200]


def test_openai_429_after_the_retries_is_rate_limited(gpt):
    gpt.reply(*[error(429, retry_after=0.05)] * 2)
    err = failure(openai_for(gpt, max_retries=1))
    assert err.kind == base.RATE_LIMITED and len(gpt.requests) == 2
    assert json.loads(err.raw)["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("status,kind", [(503, base.OVERLOADED), (529, base.OVERLOADED),
                                         (500, base.SERVER_ERROR), (404, base.BAD_REQUEST)])
def test_openai_http_errors(gpt, status, kind):
    gpt.reply(error(status, retry_after=0.05), error(status, retry_after=0.05))
    err = failure(openai_for(gpt, max_retries=1))
    assert err.kind == kind and f"HTTP {status}" in err.message
    assert len(gpt.requests) == (1 if status == 404 else 2)


def test_openai_slow_answer_is_a_quick_timeout(gpt):
    gpt.reply(tool_call(CHOICE, delay=10))
    started = time.monotonic()
    err = failure(openai_for(gpt, timeout=0.5))
    assert err.kind == base.TIMEOUT
    assert time.monotonic() - started < 3


def test_openai_wrong_key_is_auth_without_the_key(gpt):
    err = failure(make_provider("openai", ProviderSettings(base_url=gpt.base_url, api_key="sk-proj-wrong-key-1234",
                                                           max_retries=2)))
    assert err.kind == base.AUTH and "HTTP 401" in err.message
    assert "sk-proj-wrong-key-1234" not in err.message and len(gpt.requests) == 1


def test_openai_without_any_key_is_auth():
    err = failure(make_provider("openai", ProviderSettings()))
    assert err.kind == base.AUTH and "OPENAI_API_KEY" in err.message


def test_openai_local_server_without_key_gets_a_placeholder():
    with FakeOpenAI(require_key=False) as local:
        local.reply(tool_call(CHOICE))
        provider = make_provider("openai", ProviderSettings(base_url=local.base_url, model="llama3.1:8b",
                                                            max_retries=0))
        assert ask(provider).data == CHOICE
        assert local.last.headers["authorization"] == f"Bearer {LOCAL_PLACEHOLDER_KEY}"
        assert local.last.body["model"] == "llama3.1:8b" and local.last.body["max_tokens"] == 1024


def test_openai_environment_variables(gpt, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", gpt.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", gpt.api_key)
    gpt.reply(tool_call(CHOICE))
    assert ask(make_provider("openai", ProviderSettings(max_retries=0))).data == CHOICE
    assert gpt.last.headers["authorization"] == f"Bearer {gpt.api_key}"

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the settings win
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    gpt.reply(tool_call(CHOICE))
    assert ask(openai_for(gpt)).data == CHOICE


def test_openai_max_tokens_parameter_can_be_chosen(gpt):
    gpt.reply(tool_call(CHOICE))
    ask(openai_for(gpt, max_tokens=300, extra={"max_tokens_param": "max_completion_tokens"}))
    assert gpt.last.body["max_completion_tokens"] == 300 and "max_tokens" not in gpt.last.body


# --- both -----------------------------------------------------------------------------------------------
def test_unknown_provider_name():
    with pytest.raises(ValueError, match="unknown AI provider 'gemini'"):
        make_provider("gemini", ProviderSettings())


def test_handler_answers_from_the_prompt():
    def handler(body):
        prompt = body["messages"][-1]["content"]
        return tool_call({"strategy": "rolling" if "failed" in prompt else "parallel", "reason": "by prompt"})

    with FakeAnthropic(handler=handler) as claude, FakeOpenAI(handler=handler) as gpt:
        assert ask(anthropic_for(claude)).data["strategy"] == "rolling"
        assert ask(openai_for(gpt), prompt="all hosts green").data["strategy"] == "parallel"


def test_a_failing_handler_is_reported_not_a_hang():
    def handler(body):
        raise KeyError("strategy")

    with FakeAnthropic(handler=handler) as claude:
        err = failure(anthropic_for(claude, max_retries=2))
        assert err.kind == base.BAD_REQUEST and "reply handler failed" in err.message
        assert len(claude.handler_errors) == 1 and len(claude.requests) == 1
