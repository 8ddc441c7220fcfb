"""ansible-runner events become typed events with hosts, durations and useful failure messages."""

from orchestrator.redact import MASK, Redactor
from orchestrator.run.events import Kind, failure_message, host_stats, parse


def raw(event, **data):
    return {"event": event, "counter": 7, "created": "2026-11-25T10:00:00", "event_data": data}


def test_ok_with_changed_becomes_changed():
    ev = parse("base_server", raw("runner_on_ok", host="h1", task="Ensure x.", resolved_action="ansible.builtin.apt",
                                  duration=1.5, res={"changed": True}))
    assert ev.kind is Kind.CHANGED and ev.host == "h1" and ev.duration == 1.5
    assert ev.action == "ansible.builtin.apt" and ev.phase == "base_server"


def test_failure_carries_msg_and_stderr_tail():
    res = {"msg": "non-zero return code", "stderr": "\n".join(f"line {i}" for i in range(10)), "rc": 2}
    ev = parse("n8n", raw("runner_on_failed", host="h1", task="Start it.", res=res, task_path="/r/t.yml:3"))
    assert ev.kind is Kind.FAILED and ev.is_failure
    assert ev.message.startswith("non-zero return code; stderr: line 5 | ")
    assert ev.message.endswith("line 9") and ev.task_path == "/r/t.yml:3"


def test_ignored_failures_are_not_failures():
    ev = parse("p", raw("runner_on_failed", host="h", task="t", res={"msg": "x"}, ignore_errors=True))
    assert ev.kind is Kind.FAILED and not ev.is_failure


def test_loop_failure_names_the_item():
    res = {"msg": "One or more items failed", "results": [{"item": "a", "failed": False},
                                                          {"item": "b", "failed": True, "msg": "no such package"}]}
    assert "item 'b': no such package" in failure_message(res)


def test_unreachable_and_uninteresting_events():
    ev = parse("p", raw("runner_on_unreachable", host="h", task="Gathering Facts", res={"msg": "ssh: timed out"}))
    assert ev.kind is Kind.UNREACHABLE and ev.is_failure and "timed out" in ev.message
    assert parse("p", raw("verbose")) is None


def test_stats_per_host():
    stats = host_stats({"ok": {"h1": 5}, "changed": {"h1": 2}, "dark": {"h2": 1}, "failures": {}})
    assert stats["h1"]["ok"] == 5 and stats["h1"]["changed"] == 2 and stats["h1"]["unreachable"] == 0
    assert stats["h2"]["unreachable"] == 1


def test_redactor_masks_known_values_and_common_shapes():
    r = Redactor(["s3cr3t-value"])
    text = r.text("pw s3cr3t-value and password=hunter22 and sk-ant-api03-abcdefghijk and eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlc2ln")
    assert "s3cr3t-value" not in text and "hunter22" not in text
    assert "sk-ant-api03" not in text and "eyJhbGciOi" not in text
    assert text.count(MASK) == 4
    assert r.data({"a": ["x s3cr3t-value"]}) == {"a": [f"x {MASK}"]}


def test_scrubbed_events_stay_json_and_lose_their_secrets(tmp_path):
    """A key ending in `password` whose value is not a string (`"uses_password": true`) once came out of the
    text masking as `"uses_password": ********`, invalid JSON: the event was then lost to every reader."""
    import json

    from orchestrator.redact import MASK, Redactor
    from orchestrator.run.artifacts import job_events, scrub

    events = tmp_path / "artifacts/base_server/job_events"
    events.mkdir(parents=True)
    event = {"event": "runner_on_ok", "counter": 1, "event_data": {"host": "h1", "res": {
        "ansible_facts": {"__base_server_connection_uses_password": True, "db_password": "pl41n-text",
                          "retries": 3},
        "msg": "connected with s3cret-value-1"}}}
    (events / "1-a.json").write_text(json.dumps(event))
    (events.parent / "stdout").write_text("password: s3cret-value-1\n")
    (events.parent / "command").write_text(json.dumps({"env": {"ANSIBLE_VAULT_PASSWORD_FILE": "/inv/.vault-pass"}}))

    assert scrub(tmp_path, Redactor(["s3cret-value-1"])) == 2  # the event and stdout; the command is clean
    [kept] = job_events(events.parent)
    facts = kept["event_data"]["res"]["ansible_facts"]
    assert facts == {"__base_server_connection_uses_password": True, "db_password": MASK, "retries": 3}
    assert kept["event_data"]["res"]["msg"] == f"connected with {MASK}"
    assert (events.parent / "stdout").read_text() == f"password: {MASK}\n"
    # A path is not a secret: the command line keeps where the vault password is.
    assert json.loads((events.parent / "command").read_text())["env"]["ANSIBLE_VAULT_PASSWORD_FILE"] == "/inv/.vault-pass"
