"""Events as one typed message on one bus: delivery, topics, a failing subscriber, and a new consumer plugged
into a real run (through ansible-runner, over the local connection) as one more subscriber."""

from collections import Counter

import pytest

from orchestrator.plan import build_plan
from orchestrator.request import load_request
from orchestrator.run.bus import AgentMessage, Bus, Priority, Topic
from orchestrator.run.deployment import Deployment
from tests.conftest import write
from tests.unit.test_run_local import PLAYBOOK


def test_subscribers_get_their_topics_in_publishing_order():
    bus = Bus("run-1")
    everything, phases = [], []
    bus.subscribe(everything.append)
    bus.subscribe(phases.append, topics=[Topic.PHASE])
    bus.publish("n8n", Topic.PHASE, "started", {"artifact_dir": "/x"})
    bus.publish("n8n", Topic.TASK, "failed", None, priority=Priority.HIGH)
    bus.publish("n8n", Topic.PHASE, "finished")
    assert [m.type for m in everything] == ["started", "failed", "finished"]
    assert [m.type for m in phases] == ["started", "finished"]
    m: AgentMessage = everything[1]
    assert (m.sender, m.topic, m.priority, m.trace_id, m.recipient) == ("n8n", "task", Priority.HIGH, "run-1", None)
    assert m.timestamp.endswith("+00:00")


def test_a_failing_subscriber_is_reported_and_the_others_still_get_the_message():
    errors, got = [], []
    bus = Bus("run-1", on_error=lambda handler, message, exc: errors.append((message.type, str(exc))))

    def broken(message):
        raise RuntimeError("metrics backend down")

    bus.subscribe(broken)
    bus.subscribe(got.append)
    bus.publish("orchestrator", Topic.NOTE, "note", "hello")
    assert got and got[0].content == "hello"
    assert errors == [("note", "metrics backend down")]


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    write(h / "playbooks/base_server.yml", PLAYBOOK)
    monkeypatch.setenv("AIDEVOPS_HOME", str(h))
    return h


def test_a_new_consumer_is_one_more_subscriber_of_a_real_run(inventory, home):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: []\n"
          "  dns: {provider: none}\n")
    request = load_request(inventory)
    plan = build_plan(request, only=["base_server"])
    deployment = Deployment(request, plan, controller_agents={})
    counts: Counter = Counter()  # what a metrics exporter would count
    deployment.bus.subscribe(lambda m: counts.update([f"{m.topic}:{m.type}"]))
    outcome = deployment.run()
    assert outcome.status == "succeeded", outcome.results
    assert counts["phase:started"] == 1 and counts["phase:finished"] == len(plan.phases)
    assert counts["task:ok"] >= 1 and counts["task:changed"] == 1  # `Change something.`
    assert counts["run:started"] == 1 and counts["run:finished"] == 1
    # The built-in subscribers got the same messages: the store has the phase and its host's counts.
    store = deployment.session.store
    assert store.phases(outcome.run_id)[0]["status"] == "succeeded"
    assert store.host_stats(outcome.run_id)[0]["changed"] == 1
