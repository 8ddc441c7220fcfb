"""Fault: the DNS API answers 429 with `retry-after`, then 5xx (issue 12, item 4).

The dns role (real ansible-playbook, the real Cloudflare SDK) talks to the loopback Cloudflare fake, which is
told to answer a rate limit then server errors: the requests are retried with backoff, the rate limit's
Retry-After is honoured, and the role then fails with one message that says what happened and what to do.
"""

import re
from itertools import pairwise

import pytest

from tests.fakes.cloudflare_api import FakeCloudflare
from tests.integration.test_dns_role import TARGET4, TOKEN, make_inventory, recap, run_playbook

pytestmark = pytest.mark.integration
RETRY_AFTER = 2.0


@pytest.fixture
def fake():
    pytest.importorskip("cloudflare", reason="the Cloudflare provider needs the cloudflare SDK on the controller")
    with FakeCloudflare(token=TOKEN, zones=("example.com",)) as fake:
        yield fake


def inventory(tmp_path, fake, retries):
    return make_inventory(tmp_path, "aidevops:\n  domain: example.com\n  services: [n8n]\n"
                                    "  dns: {provider: cloudflare}\n",
                          f"dns_target_ipv4: {TARGET4}\ndns_cloudflare_api_token: {TOKEN}\n"
                          f"dns_cloudflare_base_url: {fake.base_url}\ndns_cloudflare_max_retries: {retries}\n")


def test_rate_limit_then_server_errors_are_retried_with_backoff_then_fail_clearly(tmp_path, fake):
    fake.fail_next([(429, RETRY_AFTER)] + [(503, None)] * 10)
    proc = run_playbook(inventory(tmp_path, fake, retries=3))

    assert proc.returncode != 0 and recap(proc)["failed"] == 1
    tried = fake.requests
    assert [r.status for r in tried] == [429, 503, 503, 503]  # 1 try + 3 retries, then it stops
    gaps = [b.at - a.at for a, b in pairwise(tried)]
    assert gaps[0] >= RETRY_AFTER - 0.05, f"Retry-After not honoured: {gaps}"
    assert all(g >= 0.2 for g in gaps[1:]) and gaps[2] > gaps[1], f"no growing backoff between the 5xx: {gaps}"
    assert fake.writes() == [] and fake.records("example.com") == []  # nothing half-done in the zone

    message = re.search(r'"msg": "([^"]*)"', proc.stdout).group(1)
    assert message.startswith("Cloudflare API error (HTTP 503 on GET /client/v4/zones): 10503: Internal server error")
    assert "after 3 retries with backoff (Retry-After honoured)" in message
    assert "run again, or raise dns_cloudflare_max_retries" in message
    assert TOKEN not in proc.stdout + proc.stderr


def test_a_rate_limit_that_ends_within_the_retries_is_waited_out(tmp_path, fake):
    fake.fail_next([(429, RETRY_AFTER), (503, None)])
    proc = run_playbook(inventory(tmp_path, fake, retries=3))

    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc)["changed"] == 1
    assert [r.status for r in fake.requests[:3]] == [429, 503, 200]
    assert fake.requests[1].at - fake.requests[0].at >= RETRY_AFTER - 0.05
    assert [(r["name"], r["type"], r["content"]) for r in fake.records("example.com")] == [
        ("n8n.example.com", "A", TARGET4)]
