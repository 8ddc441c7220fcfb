"""Notifications through real Apprise to loopback receivers (a JSON webhook and an SMTP server, both on
127.0.0.1 and stopped by each test): real runs of a tiny phase through ansible-runner, an alert, a broken
receiver, the channels' configuration, `aidevops notify test`, and the cert_expiring rule."""

import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from orchestrator import notify, vault
from orchestrator.errors import BadInput
from orchestrator.notify import Channel, Delivery
from orchestrator.redact import Redactor
from orchestrator.request import load_request
from orchestrator.request.notifications import NotificationSettings
from orchestrator.run.bus import Bus, Priority, Topic
from orchestrator.run.log import RunLog
from orchestrator.run.notify import Notifier
from orchestrator.run.session import RunSession
from orchestrator.validation import certificates
from orchestrator.validation.findings import Finding, Metric, Outcome
from tests.conftest import write
from tests.fakes.notify_receivers import Mailbox, Webhook, free_port
from tests.unit.test_run_local import aidevops, home, inv  # noqa: F401 - fixtures
from tests.unit.test_vault import encrypt

SECRET = "Sup3rSecretKey-0042"


def put_vault(folder: Path, urls: list, monkeypatch) -> None:
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    pw = vault.ensure_password_file(folder)
    path = folder / "group_vars/all/vault.yml"
    write(path, yaml.safe_dump({"vault_demo_key": SECRET, "aidevops_notify_urls": urls}))
    encrypt(path, pw)


def log_records(folder: Path, run_id: str) -> list[dict]:
    path = folder / ".aidevops/runs" / run_id / "run.log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def latest_run(home, inv) -> dict:  # noqa: F811
    return json.loads(aidevops(home, "runs", "show", "--inventory", str(inv), "--json").stdout)["run"]


# -- real runs, real Apprise, loopback receivers


def test_a_succeeded_and_a_failed_run_reach_the_webhook_and_the_mailbox(home, inv, monkeypatch):  # noqa: F811
    with Webhook() as hook, Mailbox() as mail:
        put_vault(inv, [hook.url(), mail.url()], monkeypatch)
        ok = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        first = latest_run(home, inv)["id"]
        write(inv / "group_vars/all/test.yml", "fail_me: true\n")  # its task prints the vault secret to stderr
        bad = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
        assert bad.returncode == 1, bad.stdout + bad.stderr
        second = latest_run(home, inv)["id"]

        assert [r["json"]["type"] for r in hook.received] == ["success", "failure"]
        assert len(mail.messages) == 2 and all(mail.logins)
        for texts in (hook.texts(), mail.texts()):
            succeeded, failed = texts
            assert succeeded.startswith("aidevops run: succeeded on inv\n")
            assert f"Run: {first} (aidevops run --only base_server), succeeded, exit 0" in succeeded
            assert f"aidevops runs show {first} --inventory {inv}" in succeeded
            assert "What happened: base_server succeeded\n" in succeeded
            assert failed.startswith("aidevops run: failed on inv\n")
            assert f"Run: {second} (aidevops run --only base_server), failed, exit 1" in failed
            assert "What happened: base_server failed" in failed and "disk is on fire ********" in failed
            assert f"aidevops runs show {second} --inventory {inv}" in failed
        everything = "\n".join(hook.texts() + mail.texts() + [m.as_string() for m in mail.messages])
        assert SECRET not in everything and mail.password not in everything
        assert mail.messages[0]["To"] == "ops@example.com"
    assert not [r for r in log_records(inv, second) if r["agent_id"] == "notify"]  # nothing went wrong


def test_a_receiver_that_fails_or_is_down_never_changes_the_run_and_leaves_one_warning(
        home, inv, monkeypatch):  # noqa: F811
    down = f"json://127.0.0.1:{free_port()}/down"
    with Webhook() as good, Webhook(status=500) as broken:
        put_vault(inv, [broken.url(), down, good.url()], monkeypatch)
        started = time.monotonic()
        r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server", "--plain")
        took = time.monotonic() - started
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(broken.received) == 1 and len(good.received) == 1
    run = latest_run(home, inv)
    assert (run["status"], run["exit_code"]) == ("succeeded", 0)
    warnings = [r["message"] for r in log_records(inv, run["id"]) if r["agent_id"] == "notify"]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith(f"notification to json 127.0.0.1:{broken.port}/hook failed: ")
    assert "error=500" in warnings[0]
    assert f"json 127.0.0.1:{down.split(':')[2]} failed: " in warnings[1] and "Connection error" in warnings[1]
    assert took < 60


def test_an_alert_goes_out_redacted_and_the_run_end_after_it(inventory, monkeypatch):
    with Webhook() as hook, Mailbox() as mail:
        put_vault(inventory, [hook.url(), {"url": mail.url(), "tags": ["alert"]}], monkeypatch)
        request = load_request(inventory)
        session = RunSession(inventory, "check").start(request.as_dict())
        session.alert("check", "drift_found", f"/etc/nginx/nginx.conf changed on web-1 (it now says {SECRET})",
                      "warning", files=["/etc/nginx/nginx.conf"])
        session.finish("failed", 1)
        titles = [r["json"]["title"] for r in hook.received]
        assert titles == ["aidevops check: drift found on inv", "aidevops check: failed on inv"]
        assert len(mail.messages) == 1  # tagged: alerts only
        alert = mail.texts()[0]
        assert alert.startswith("aidevops check: drift found on inv\n")
        assert "alert drift_found from check, severity warning" in alert
        assert "/etc/nginx/nginx.conf changed on web-1 (it now says ********)" in alert
        assert f"aidevops runs show {session.run_id}" in alert
        assert SECRET not in "\n".join(hook.texts() + mail.texts())
    logged = [r for r in log_records(inventory, session.run_id) if r["message"].startswith("alert drift_found")]
    assert logged and logged[0]["level"] == "warning" and SECRET not in json.dumps(logged)


def test_a_certificate_near_expiry_is_an_alert_from_the_validator(inventory, monkeypatch):
    from orchestrator.validation import agent
    from orchestrator.validation.standalone import validate

    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: []\n"
          "  dns: {provider: none}\n  validation: {audit: false, cert_alert_days: 30, cert_min_days: 7}\n")
    measured = [Metric("tls.cert_days_left", "n8n.example.com", 12.4, "days", 7, True,
                       json.dumps({"not_after": "2026-12-12T10:00:00+00:00"})),
                Metric("tls.cert_days_left", "studio.example.com", 80.0, "days", 7, True)]
    # The suites' subprocess needs a host; what it measures is given, everything after it is the real path.
    monkeypatch.setattr(agent, "run_suites", lambda ctx, files, config: Outcome(
        [Finding("nginx_proxy.certificate_days_left", "local-1", "passed", "high")], measured))
    with Webhook() as hook:
        put_vault(inventory, [hook.url()], monkeypatch)
        outcome = validate(load_request(inventory))
    assert outcome.exit_code == 0
    assert [r["json"]["title"] for r in hook.received] == ["aidevops validate: cert expiring on inv",
                                                           "aidevops validate: succeeded on inv"]
    alert = hook.received[0]["json"]
    assert alert["type"] == "warning"
    assert "the certificate of n8n.example.com expires in 12 day(s) (2026-12-12)" in alert["message"]
    assert "studio.example.com" not in alert["message"]


def test_the_cert_expiring_rule():
    def days(value, detail=""):
        return Metric("tls.cert_days_left", "a.example.com", value, "days", 14, True, detail)

    assert certificates.expiring([days(21.0), days(300.0), days(None)], 21, 14) == []
    warn, high, gone = certificates.expiring([days(20.9), days(3.2), days(-2.0)], 21, 14)
    assert (warn.severity, high.severity, gone.severity) == ("warning", "high", "high")
    assert gone.message == "the certificate of a.example.com expired 2 day(s) ago"
    assert certificates.expiring([Metric("http.response_ms", "a", 1.0)], 21, 14) == []


# -- the subscriber alone (a fake send: what it decides, and that it never holds the bus)


def _notifier(tmp_path, channels, settings=None, send=None, timeout=2):
    log = RunLog(tmp_path / "run.log.jsonl", "r1", Redactor([SECRET]))
    settings = settings or NotificationSettings(timeout=timeout)
    sent: list[tuple] = []

    def record(chs, title, body, *, notify_type):
        sent.append(([c.name for c in chs], title, body, notify_type))
        return [Delivery(c, True) for c in chs]

    n = Notifier(channels, settings, inventory=tmp_path / "prod", run_id="r1", command="run",
                 redactor=log.redactor, log=log, send=send or record)
    bus = Bus("r1")
    bus.subscribe(n, topics=[Topic.RUN, Topic.PHASE, Topic.ALERT])
    return n, bus, log, sent


def _finish(bus, status, code=0):
    bus.publish("orchestrator", Topic.RUN, "finished", {"status": status, "exit_code": code, "duration": 65.2})


def test_settings_and_tags_choose_what_goes_where(tmp_path):
    everything, failures = Channel("json://a/x", "json a/x"), Channel("json://b/y", "json b/y", ("failed",))
    settings = NotificationSettings(degraded=False, alert_min_severity="warning")
    n, bus, _log, sent = _notifier(tmp_path, [everything, failures], settings)
    _finish(bus, "succeeded")
    _finish(bus, "degraded", 3)
    _finish(bus, "cancelled", 130)
    _finish(bus, "failed", 1)
    bus.publish("backup", Topic.ALERT, "backup_stale", {"message": "old", "severity": "info"})
    bus.publish("backup", Topic.ALERT, "backup_failed", {"message": "restic failed", "severity": "high"},
                priority=Priority.HIGH)
    n.close()
    assert [(names, title.split(": ", 1)[1], kind) for names, title, _, kind in sent] == [
        (["json a/x"], "succeeded on prod", "success"),
        (["json a/x", "json b/y"], "failed on prod", "failure"),
        (["json a/x"], "backup failed on prod", "failure"),
    ]
    assert "exit 1, after 1m 05s" in sent[1][2]


def test_a_slow_channel_never_holds_the_bus_and_is_left_behind_with_one_warning(tmp_path):
    release = threading.Event()

    def slow(chs, title, body, *, notify_type):
        release.wait(20)
        return [Delivery(c, False, f"timed out, token={SECRET}") for c in chs]

    n, bus, log, _ = _notifier(tmp_path, [Channel("json://a/x", "json a/x")], send=slow, timeout=1)
    t0 = time.monotonic()
    bus.publish("check", Topic.ALERT, "drift_found", {"message": "changed", "severity": "warning"})
    _finish(bus, "failed", 1)
    assert time.monotonic() - t0 < 0.5  # the bus was not held
    n.close()
    assert 0.9 < time.monotonic() - t0 < 5
    release.set()
    time.sleep(0.3)
    log.close()
    warnings = [json.loads(line)["message"] for line in (tmp_path / "run.log.jsonl").read_text().splitlines()]
    assert warnings[0] == "notifications still sending after 1 s were left behind"
    # the failures that came after: one warning for the channel, however often it failed, never the secret
    assert warnings[1:] == ["notification to json a/x failed: timed out, token=********"]


def test_a_failing_channel_is_one_warning_however_often_it_fails(tmp_path):
    def failing(chs, title, body, *, notify_type):
        return [Delivery(c, False, "HTTP 500") for c in chs]

    n, bus, log, _ = _notifier(tmp_path, [Channel("json://a/x", "json a/x")], send=failing)
    for _ in range(3):
        bus.publish("check", Topic.ALERT, "drift_found", {"message": "changed", "severity": "warning"})
    _finish(bus, "failed", 1)
    n.close()
    log.close()
    lines = (tmp_path / "run.log.jsonl").read_text().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["notification to json a/x failed: HTTP 500"]


# -- configuration: the vault's URLs, checked before anything runs


def test_channels_come_from_the_vault_with_their_tags(inventory, monkeypatch):
    put_vault(inventory, ["json://127.0.0.1:9/hook", {"url": "mailto://u:pa55word-x@127.0.0.1:25?to=a@b.example&from=x@b.example",
                                                      "tags": ["failed", "alert"]}], monkeypatch)
    plain, mail = notify.load_channels(inventory)
    assert (plain.name, plain.tags) == ("json 127.0.0.1:9/hook", ())
    assert mail.name == "mailto u:****@127.0.0.1/a%40b.example" and mail.tags == ("failed", "alert")
    assert "pa55word-x" in mail.secrets() and mail.wants(("alert", "drift_found")) and not mail.wants(("succeeded",))


@pytest.mark.parametrize("urls, message", [
    (["nosuchservice://tok3n-abcdef-123456@example.com"], ("aidevops_notify_urls[0]: Apprise cannot use this URL "
                                                          "(scheme 'nosuchservice'")),
    (["mailto://u:tok3n-abcdef-123456@127.0.0.1:25?to=a@b.example"], ("aidevops_notify_urls[0]: Apprise cannot use "
                                                                     "this URL (scheme 'mailto': Invalid ~From~")),
    ("json://127.0.0.1/x", "aidevops_notify_urls: expected a list of Apprise URLs, got str"),
    ([{"url": "json://127.0.0.1/x", "tags": ["sometimes"]}], ("aidevops_notify_urls[0].tags: expected a list of "
                                                              "event names")),
    ([{"link": "json://127.0.0.1/x"}], "aidevops_notify_urls[0]: expected a URL, or a mapping with url and tags"),
])
def test_a_bad_channel_is_one_line_and_exit_2_before_anything_runs(home, inv, monkeypatch, urls, message):  # noqa: F811
    put_vault(inv, urls, monkeypatch)
    r = aidevops(home, "run", "--inventory", str(inv), "--only", "base_server")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith(f"error: {inv / 'group_vars/all/vault.yml'}: {message}")
    assert len(r.stderr.strip().splitlines()) == 1 and "tok3n" not in r.stderr
    assert not (inv / ".aidevops/runs").exists()


def test_urls_in_a_plain_vars_file_are_refused(home, inv):  # noqa: F811
    write(inv / "group_vars/all/notify.yml", "aidevops_notify_urls: ['json://127.0.0.1/x']\n")
    r = aidevops(home, "plan", "--inventory", str(inv))
    assert r.returncode == 2
    assert "aidevops_notify_urls: the notification URLs hold tokens, and this file is not encrypted" in r.stderr


# -- aidevops notify test


def test_notify_test_says_which_channel_worked(home, inv, monkeypatch):  # noqa: F811
    with Webhook() as hook, Mailbox() as mail, Webhook(status=500) as broken:
        put_vault(inv, [hook.url(), mail.url(), {"url": broken.url("b"), "tags": ["failed"]}], monkeypatch)
        r = aidevops(home, "notify", "test", "--inventory", str(inv))
        assert r.returncode == 1, r.stdout + r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == f"ok      json 127.0.0.1:{hook.port}/hook"
        assert lines[1] == f"ok      mailto notifier:****@127.0.0.1:{mail.port}/ops%40example.com"
        assert lines[2].startswith(f"failed  json 127.0.0.1:{broken.port}/b [failed]: ") and "500" in lines[2]
        assert lines[3] == "2 of 3 channel(s) worked"
        assert hook.received[0]["json"]["title"] == "aidevops: test notification for inv"
        assert mail.texts()[0].startswith("aidevops: test notification for inv\n")
        assert mail.password not in r.stdout + r.stderr


def test_notify_test_without_channels_says_where_they_go(home, inv):  # noqa: F811
    r = aidevops(home, "notify", "test", "--inventory", str(inv))
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "no notification channels: aidevops_notify_urls is not in the vault" \
        in r.stderr


def test_bad_input_in_notify_url_is_never_echoed():
    with pytest.raises(BadInput) as caught:
        notify._parse(["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "bogus://very-secret-token"], "v.yml")
    assert "very-secret-token" not in str(caught.value)
