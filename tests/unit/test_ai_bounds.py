"""What an AI decision may set, from the real roles' specs; the offline analyser's signatures; provider choice."""

import pytest

from orchestrator.ai import offline
from orchestrator.ai.bounds import Bounds, role_variables
from orchestrator.ai.choice import resolve
from orchestrator.errors import BadInput
from orchestrator.request import load_request
from tests.conftest import REQUEST, write

PHASES = ["base_server", "dns", "n8n", "nginx_proxy"]


def test_every_declared_variable_is_known_with_its_type_and_choices():
    v = role_variables("nginx_proxy")
    assert v["nginx_proxy_acme_key_type"].choices == ("ecdsa", "rsa")
    assert (v["nginx_proxy_read_timeout"].minimum, v["nginx_proxy_read_timeout"].maximum) == (5, 3600)
    assert v["nginx_proxy_sites"].critical and v["nginx_proxy_webroot"].critical
    bs = role_variables("base_server")
    for name in ("base_server_ufw_enabled", "base_server_ssh_port", "base_server_admin_ssh_keys",
                 "base_server_apt_forbidden_packages"):
        assert bs[name].critical, name


def test_the_schema_offers_critical_variables_only_when_they_can_be_confirmed():
    b = Bounds(PHASES)
    plain = b.schema(["base_server"])["properties"]["base_server"]["properties"]
    assert "base_server_ufw_enabled" not in plain and "base_server_timezone" in plain
    full = b.schema(["base_server"], include_critical=True)["properties"]["base_server"]["properties"]
    assert full["base_server_ufw_enabled"]["type"] == ["boolean", "null"]
    assert "CRITICAL" in full["base_server_ufw_enabled"]["description"]


def _strict_problems(schema, path="$"):
    """What OpenAI's and Anthropic's strict modes refuse: an object without every property required or without
    additionalProperties false; numeric, length, pattern or item-count keywords."""
    out = [f"{path}: {k}" for k in ("minimum", "maximum", "pattern", "maxItems", "minLength", "maxLength")
           if k in schema]
    if schema.get("type") == "object" or "object" in (schema.get("type") or []):
        if "properties" not in schema or schema.get("additionalProperties") is not False \
                or sorted(schema.get("required", [])) != sorted(schema["properties"]):
            out.append(f"{path}: object not strict")
        for k, v in schema.get("properties", {}).items():
            out += _strict_problems(v, f"{path}.{k}")
    if "items" in schema:
        out += _strict_problems(schema["items"], f"{path}[]")
    return out


def test_every_schema_sent_to_a_model_is_accepted_by_strict_modes():
    from orchestrator.ai import engine

    b = Bounds(PHASES)
    for critical in (False, True):
        schemas = [engine.strategic_schema(), engine.optimization_schema(),
                   engine.tactical_schema(b.schema(PHASES, critical)),
                   *(engine.recovery_schema(b.phase_schema(p, critical), 120) for p in PHASES)]
        for schema in schemas:
            assert _strict_problems(schema) == []


@pytest.mark.parametrize("answer,problem", [
    ({"nginx_proxy": {"nginx_proxy_nope": 1}}, "not declared"),
    ({"nginx_proxy": {"nginx_proxy_read_timeout": 4}}, "below the minimum 5"),
    ({"nginx_proxy": {"nginx_proxy_read_timeout": True}}, "expected int, got bool"),
    ({"nginx_proxy": {"nginx_proxy_acme_key_type": "dsa"}}, "is not one of"),
    ({"nginx_proxy": {"nginx_proxy_client_max_body_size": "16 MB"}}, "does not match"),
    ({"nginx_proxy": {"nginx_proxy_referrer_policy": "x\"; include /etc/shadow; #"}}, "quote"),
    ({"nginx_proxy": {"nginx_proxy_referrer_policy": "x\nlocation / {}"}}, "line break"),
    ({"supabase": {"x": 1}}, "not a planned phase"),
    ({"nginx_proxy": ["x"]}, "expected an object"),
    (["x"], "expected an object"),
])
def test_bad_variables_are_rejected(answer, problem):
    checked = Bounds(PHASES).check(answer, confirm=lambda *a: True)
    assert not checked.valid and problem in checked.rejected[0]


def test_critical_variables_need_a_confirmation():
    answer = {"base_server": {"base_server_ufw_enabled": False, "base_server_timezone": "Europe/Paris"}}
    b = Bounds(PHASES)
    no = b.check(answer, confirm=None)
    assert no.valid and no.applied == {"base_server": {"base_server_timezone": "Europe/Paris"}}
    assert no.dropped == ["base_server.base_server_ufw_enabled: critical, not confirmed (use --yes to allow)"]
    asked = []
    refused = b.check(answer, confirm=lambda *a: asked.append(a) or False)
    assert asked == [("base_server", "base_server_ufw_enabled", False)] and refused.dropped
    yes = b.check(answer, confirm=lambda *a: True)
    assert yes.applied["base_server"]["base_server_ufw_enabled"] is False and not yes.dropped


@pytest.mark.parametrize("message,name,action", [
    ("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1234 (unattended-upgr)",
     "apt_lock", "retry"),
    ("Failed to connect to the host via ssh: ssh: connect to host 10.0.0.1 port 22: Connection timed out",
     "unreachable", "retry"),
    ("nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)", "port_in_use", "abort"),
    ("nginx cannot listen: port 80 is taken by python3 (pid 4242).", "port_in_use", "abort"),
    ("Could not resolve host: n8n.example.com", "dns_not_resolvable", "retry"),
    ("Certbot failed to authenticate some domains; Type: urn:ietf:params:acme:error:unauthorized",
     "acme_failure", "retry"),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
     "docker_down", "retry"),
    ("write error: No space left on device", "disk_full", "abort"),
    (("ACME issuance failed for n8n.example.com from https://ca:14000/dir: n8n.example.com: An unexpected error "
      "occurred: ValueError: Requesting ca/dir: Connection refused."), "acme_down", "retry"),
])
def test_the_offline_analyser_knows_the_common_signatures(message, name, action):
    failures = [{"host": "h", "task": "t", "action": "ansible.builtin.command", "message": message}]
    assert offline.match_signature(failures).name == name
    d = offline.recovery(failures, 1)
    assert d["action"] == action and name in d["reason"]


def test_an_unknown_failure_is_not_retried_offline():
    d = offline.recovery([{"message": "value of foo must be one of: a, b"}], 1)
    assert d["action"] == "abort" and "no known failure signature" in d["reason"]


def test_provider_choice(monkeypatch, inventory):
    for name in ("AIDEVOPS_AI", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert resolve(None).provider == "offline" and "no API key" in resolve(None).source
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-123456")
    s = resolve(None)
    assert s.provider == "anthropic" and "sk-ant-test-key-123456" in s.api_keys
    monkeypatch.setenv("AIDEVOPS_AI", "openai")
    assert resolve(None).provider == "openai"
    assert resolve(None, {"provider": "offline"}).provider == "offline"
    assert resolve("anthropic", {"provider": "offline", "model": "m", "token_budget": 5}).token_budget == 5
    with pytest.raises(BadInput, match="unknown AI provider 'gpt'"):
        resolve("gpt")
    with pytest.raises(BadInput, match="replay file not found"):
        resolve("replay:/nonexistent.json")


def test_the_request_ai_section_is_strict(inventory):
    write(inventory / "group_vars/all/aidevops.yml", REQUEST + "  ai: {provider: openai, model: qwen2.5, "
          "base_url: 'http://127.0.0.1:11434/v1', timeout: 30, retries: 1, token_budget: 20000}\n")
    assert load_request(inventory).ai["base_url"] == "http://127.0.0.1:11434/v1"
    for bad, msg in [("{provider: gpt}", "aidevops.ai.provider: expected one of"),
                     ("{api_key: x}", "aidevops.ai.api_key: unknown key"),
                     ("{timeout: 0}", "aidevops.ai.timeout: expected seconds"),
                     ("{retries: -1}", "aidevops.ai.retries"), ("{base_url: ftp://x}", "aidevops.ai.base_url"),
                     ("[openai]", "aidevops.ai: expected a mapping")]:
        write(inventory / "group_vars/all/aidevops.yml", REQUEST + f"  ai: {bad}\n")
        with pytest.raises(BadInput, match=msg.replace(".", r"\.")):
            load_request(inventory)


def test_a_ca_that_stays_down_is_retried_once_then_left_to_the_operator():
    failures = [{"message": "ACME issuance failed for n8n.example.com from https://ca/dir: n8n.example.com: "
                            "ValueError: Requesting ca/dir: Connection refused."}]
    assert offline.recovery(failures, 1)["action"] == "retry"
    second = offline.recovery(failures, 2)
    assert second["action"] == "abort" and "acme_down again" in second["reason"]
