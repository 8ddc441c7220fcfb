"""The dns role's Cloudflare module, with the real `cloudflare` SDK against a loopback fake of the v4 API."""

import importlib.util
import json
import sys

import pytest

from tests.conftest import ROOT
from tests.fakes.cloudflare_api import FakeCloudflare

pytest.importorskip("cloudflare", reason="the dns role's Cloudflare provider needs the cloudflare SDK")

MODULE_PATH = ROOT / "roles/dns/library/aidevops_cloudflare_dns.py"
TOKEN = "cf-test-token-3f9d1c0b7a"
ZONE = "example.com"
MARK = "managed by aidevops"


def _load_module():
    spec = importlib.util.spec_from_file_location("aidevops_cloudflare_dns", MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


cf = _load_module()


@pytest.fixture
def fake():
    with FakeCloudflare(token=TOKEN, zones=(ZONE, "other.org")) as server:
        yield server
    # the token is a request header only: it must never come back in a response
    assert not any(TOKEN in body for body in server.response_bodies)


def params(fake, records, **kw):
    p = {"api_token": TOKEN, "zone": ZONE, "records": records, "base_url": fake.base_url, "max_retries": 2,
         "timeout": 10.0, "ttl": 300, "proxied": False, "state": "present", "comment": MARK, "adopt": False,
         "per_page": 500}
    p.update(kw)
    return p


SERVICES = [
    {"name": "n8n", "type": "A", "value": "203.0.113.10"},
    {"name": "supabase.example.com", "type": "A", "value": "203.0.113.10"},
    {"name": "studio.example.com.", "type": "AAAA", "value": "2001:db8:0:0::10", "ttl": 600},
    {"name": "@", "type": "CAA", "value": "0 issue letsencrypt.org"},
    {"name": "_acme-hint", "type": "TXT", "value": "hello world"},
]


def summary(fake, zone=ZONE):
    return sorted((r["name"], r["type"], r["content"], r["ttl"], r["proxied"], r["comment"]) for r in fake.records(zone))


def test_names_and_values_are_normalised():
    wanted = cf.wanted_records(SERVICES, ZONE)
    assert [(w.name, w.type, w.content, w.ttl) for w in wanted] == [
        ("n8n.example.com", "A", "203.0.113.10", 300),
        ("supabase.example.com", "A", "203.0.113.10", 300),
        ("studio.example.com", "AAAA", "2001:db8::10", 600),
        ("example.com", "CAA", '0 issue "letsencrypt.org"', 300),
        ("_acme-hint.example.com", "TXT", "hello world", 300),
    ]
    with pytest.raises(cf.DnsError, match="not in the zone"):
        cf.wanted_records([{"name": "n8n.example.org.", "type": "A", "value": "192.0.2.1"}], ZONE)
    with pytest.raises(cf.DnsError, match="not an IPv4 address"):
        cf.wanted_records([{"name": "n8n", "type": "A", "value": "2001:db8::1"}], ZONE)
    proxied = cf.wanted_records([{"name": "n8n", "type": "A", "value": "192.0.2.1", "proxied": True}], ZONE)
    assert (proxied[0].ttl, proxied[0].proxied) == (1, True)  # Cloudflare: proxied means automatic TTL


def test_create_then_second_pass_writes_nothing(fake):
    first = cf.run(params(fake, SERVICES))
    assert first["changed"] is True
    assert [c["action"] for c in first["changes"]] == ["create"] * 5
    assert summary(fake) == sorted([
        ("n8n.example.com", "A", "203.0.113.10", 300, False, MARK),
        ("supabase.example.com", "A", "203.0.113.10", 300, False, MARK),
        ("studio.example.com", "AAAA", "2001:db8::10", 600, False, MARK),
        ("example.com", "CAA", '0 issue "letsencrypt.org"', 300, False, MARK),
        ("_acme-hint.example.com", "TXT", "hello world", 300, False, MARK),
    ])
    assert {(r["name"], r["type"]) for r in first["records"]} == {
        ("n8n.example.com", "A"), ("supabase.example.com", "A"), ("studio.example.com", "AAAA"),
        ("example.com", "CAA"), ("_acme-hint.example.com", "TXT")}
    writes_before = len(fake.writes())

    second = cf.run(params(fake, SERVICES))
    assert second["changed"] is False
    assert second["changes"] == []
    assert len(fake.writes()) == writes_before  # only reads
    assert TOKEN not in json.dumps(first) + json.dumps(second)


def test_changed_content_ttl_and_proxied_are_updated_in_place(fake):
    cf.run(params(fake, SERVICES[:2]))
    ids = {r["name"]: r["id"] for r in fake.records(ZONE)}
    result = cf.run(params(fake, [
        {"name": "n8n", "type": "A", "value": "203.0.113.20"},  # new address
        {"name": "supabase", "type": "A", "value": "203.0.113.10", "ttl": 3600},  # new TTL
    ]))
    assert sorted((c["action"], c["name"]) for c in result["changes"]) == [
        ("update", "n8n.example.com"), ("update", "supabase.example.com")]
    records = {r["name"]: r for r in fake.records(ZONE)}
    assert {n: r["id"] for n, r in records.items()} == ids  # same records, not delete + create
    assert (records["n8n.example.com"]["content"], records["supabase.example.com"]["ttl"]) == ("203.0.113.20", 3600)
    assert [r.method for r in fake.writes()][-2:] == ["PATCH", "PATCH"]

    cf.run(params(fake, [{"name": "n8n", "type": "A", "value": "203.0.113.20", "proxied": True}]))
    n8n = next(r for r in fake.records(ZONE) if r["name"] == "n8n.example.com")
    assert (n8n["proxied"], n8n["ttl"]) == (True, 1)
    again = cf.run(params(fake, [{"name": "n8n", "type": "A", "value": "203.0.113.20", "proxied": True}]))
    assert again["changed"] is False


def test_an_unmarked_record_is_a_conflict_and_nothing_is_written(fake):
    hand_made = fake.add_record(ZONE, name="n8n", type="A", content="198.51.100.7", ttl=120)
    writes_before = len(fake.writes())
    with pytest.raises(cf.ConflictError) as err:
        cf.run(params(fake, SERVICES[:2]))
    assert "n8n.example.com A 198.51.100.7" in str(err.value)
    assert "adopt" in str(err.value)
    assert len(fake.writes()) == writes_before  # supabase was not created either: all or nothing
    assert fake.records(ZONE) == [hand_made]

    # a CNAME someone made at a name that needs an A record is in the way too
    fake.add_record(ZONE, name="studio", type="CNAME", content="elsewhere.example.net", ttl=300)
    with pytest.raises(cf.ConflictError, match="studio.example.com CNAME"):
        cf.run(params(fake, [{"name": "studio", "type": "A", "value": "203.0.113.10"}]))

    adopted = cf.run(params(fake, SERVICES[:2], adopt=True))
    assert [(c["action"], c["id"]) for c in adopted["changes"]] == [
        ("update", hand_made["id"]), ("create", adopted["changes"][1]["id"])]
    n8n = next(r for r in fake.records(ZONE) if r["name"] == "n8n.example.com")
    assert (n8n["id"], n8n["content"], n8n["comment"]) == (hand_made["id"], "203.0.113.10", MARK)


def test_pagination_reads_every_page(fake):
    for i in range(120):
        fake.add_record(ZONE, name=f"host{i:03d}", type="A", content=f"192.0.2.{i}", ttl=300, comment=MARK)
    fake.add_record(ZONE, name="late", type="TXT", content="owned by someone else", ttl=300)  # on page 3
    dns = cf.CloudflareDns.connect(TOKEN, ZONE, base_url=fake.base_url, max_retries=0, per_page=50)
    assert len(dns.list_records()) == 121
    pages = [r.query.get("page", "1") for r in fake.requests if r.path.endswith("/dns_records")]
    assert pages == ["1", "2", "3", "4"]  # the SDK stops at the first empty page
    assert all(r.query.get("per_page") == "50" for r in fake.requests if r.path.endswith("/dns_records"))

    # records on the last page are seen: the last managed one is kept, the unmarked one is a conflict
    result = cf.run(params(fake, [{"name": "host119", "type": "A", "value": "192.0.2.119"}], per_page=50))
    assert result["changed"] is False
    with pytest.raises(cf.ConflictError, match="late.example.com TXT"):
        cf.run(params(fake, [{"name": "late", "type": "TXT", "value": "mine"}], per_page=50))


def test_an_identical_record_made_meanwhile_counts_as_present(fake):
    dns = cf.CloudflareDns.connect(TOKEN, ZONE, base_url=fake.base_url, max_retries=0)
    wanted = cf.wanted_records(SERVICES[:1], ZONE)
    plan = dns.plan(wanted)
    assert [c.action for c in plan.changes] == ["create"]
    # another run creates the same record between our read and our write
    twin = fake.add_record(ZONE, name="n8n", type="A", content="203.0.113.10", ttl=300, comment=MARK)
    done = dns.apply(plan)
    posts = [r for r in fake.requests if r.method == "POST"]
    assert posts[-1].status == 400  # Cloudflare said 81058
    assert [(c.action, c.id) for c in done] == [("exists", twin["id"])]
    assert len(fake.records(ZONE)) == 1

    # meanwhile-made and unmarked: a conflict, not silently taken over
    plan = dns.plan(cf.wanted_records([{"name": "studio", "type": "A", "value": "203.0.113.10"}], ZONE))
    fake.add_record(ZONE, name="studio", type="A", content="203.0.113.10", ttl=300)
    with pytest.raises(cf.ConflictError, match="appeared meanwhile"):
        dns.apply(plan)


def test_rate_limited_requests_are_retried_by_the_sdk(fake):
    fake.rate_limit(2)
    result = cf.run(params(fake, SERVICES[:1], max_retries=3))
    assert result["changed"] is True
    assert [r.status for r in fake.requests[:3]] == [429, 429, 200]
    assert len(fake.records(ZONE)) == 1

    fake.rate_limit(5)
    with pytest.raises(cf.DnsError, match=r"HTTP 429.*971"):
        cf.run(params(fake, SERVICES[:1], max_retries=1))


def test_check_mode_writes_nothing_and_shows_the_diff(fake):
    cf.run(params(fake, SERVICES[:1]))
    writes_before = len(fake.writes())
    result = cf.run(params(fake, [{"name": "n8n", "type": "A", "value": "203.0.113.99"},
                                  {"name": "studio", "type": "A", "value": "203.0.113.99"}]), check_mode=True)
    assert len(fake.writes()) == writes_before
    assert result["changed"] is True
    assert sorted(c["action"] for c in result["changes"]) == ["create", "update"]
    assert result["diff"]["before"] == "n8n.example.com. 300 IN A 203.0.113.10 ; managed by aidevops\n"
    assert result["diff"]["after"] == (
        "n8n.example.com. 300 IN A 203.0.113.99 ; managed by aidevops\n"
        "studio.example.com. 300 IN A 203.0.113.99 ; managed by aidevops\n")
    assert summary(fake)[0][2] == "203.0.113.10"


def test_absent_removes_only_managed_records(fake):
    cf.run(params(fake, SERVICES))
    foreign_txt = fake.add_record(ZONE, name="_acme-hint", type="TXT", content="keep me", ttl=300)
    foreign_a = fake.add_record(ZONE, name="other", type="A", content="192.0.2.50", ttl=300, comment="by hand")
    absent = [{"name": "n8n", "type": "A"}, {"name": "supabase", "type": "A", "value": "203.0.113.10"},
              {"name": "_acme-hint", "type": "TXT"}, {"name": "other", "type": "A"},
              {"name": "studio", "type": "AAAA", "value": "2001:db8::99"}]  # another value: not deleted
    result = cf.run(params(fake, absent, state="absent"))
    assert sorted((c["action"], c["name"], c["type"]) for c in result["changes"]) == [
        ("delete", "_acme-hint.example.com", "TXT"), ("delete", "n8n.example.com", "A"),
        ("delete", "supabase.example.com", "A")]
    assert sorted(u["id"] for u in result["unmanaged"]) == sorted([foreign_txt["id"], foreign_a["id"]])
    left = {(r["name"], r["type"], r["content"]) for r in fake.records(ZONE)}
    assert left == {("studio.example.com", "AAAA", "2001:db8::10"), ("example.com", "CAA", '0 issue "letsencrypt.org"'),
                    ("_acme-hint.example.com", "TXT", "keep me"), ("other.example.com", "A", "192.0.2.50")}
    assert cf.run(params(fake, absent, state="absent"))["changed"] is False


def test_fewer_values_delete_the_extra_managed_records(fake):
    cf.run(params(fake, [{"name": "n8n", "type": "A", "value": "203.0.113.10"},
                         {"name": "n8n", "type": "A", "value": "203.0.113.11"}]))
    assert len(fake.records(ZONE)) == 2
    result = cf.run(params(fake, [{"name": "n8n", "type": "A", "value": "203.0.113.11"}]))
    assert [c["action"] for c in result["changes"]] == ["delete"]
    assert [r["content"] for r in fake.records(ZONE)] == ["203.0.113.11"]


def test_bad_token_and_unknown_zone_fail_clearly(fake):
    with pytest.raises(cf.DnsError, match=r"HTTP 401.*10000: Authentication error") as err:
        cf.run(params(fake, SERVICES[:1], api_token="wrong-token"))
    assert "wrong-token" not in str(err.value)
    with pytest.raises(cf.DnsError, match="zone example.net not found"):
        cf.run(params(fake, SERVICES[:1], zone="example.net"))
    # with a known zone id the zone is not looked up
    seen = len(fake.requests)
    cf.run(params(fake, SERVICES[:1], zone_id=fake.zone_id(ZONE)))
    assert not any(r.path == "/zones" for r in fake.requests[seen:])


def test_the_role_derives_the_records_it_hands_to_the_module():
    """roles/dns/filter_plugins: the request's services and host names become the module's records."""
    spec = importlib.util.spec_from_file_location("dns_records_filters", ROOT / "roles/dns/filter_plugins/dns_records.py")
    filters = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(filters)

    names = filters.dns_service_hostnames(["n8n", "supabase"], "example.com", {"studio": "Admin.Example.com."})
    assert names == ["n8n.example.com", "supabase.example.com", "admin.example.com"]
    assert filters.dns_service_hostnames(["n8n"], "example.com") == ["n8n.example.com"]
    records = filters.dns_default_records(names[:1], "203.0.113.10", "2001:db8::10", "letsencrypt.org")
    assert records == [{"name": "n8n.example.com", "type": "A", "value": "203.0.113.10"},
                       {"name": "n8n.example.com", "type": "AAAA", "value": "2001:db8::10"},
                       {"name": "n8n.example.com", "type": "CAA", "value": '0 issue "letsencrypt.org"'}]
    assert filters.dns_default_records(names[:1], "", "", "", state="absent") == [
        {"name": "n8n.example.com", "type": t} for t in ("A", "AAAA", "CAA")]
    # private, loopback and documentation addresses are never published as the host's address
    assert filters.dns_global_address(["127.0.0.1", "10.0.0.5", "198.51.100.1", "host.example", "8.8.8.8"]) == "8.8.8.8"
    assert filters.dns_global_address(["fd00::1", "2606:4700::1111"], 6) == "2606:4700::1111"

    # what the module accepts, and the same record set the module computes
    normalised = filters.dns_records(records + [{"name": "www", "type": "cname", "value": "N8N.example.com."}],
                                     "example.com", 300, False)
    assert normalised[-1] == {"name": "www.example.com", "type": "CNAME", "value": "n8n.example.com", "ttl": 300,
                              "proxied": False}
    wanted = cf.wanted_records(normalised, "example.com")
    assert [(w.name, w.type, w.content) for w in wanted] == [(r["name"], r["type"], r["value"]) for r in normalised]
    with pytest.raises(Exception, match="not in the zone"):
        filters.dns_records([{"name": "n8n.example.org.", "type": "A", "value": "192.0.2.1"}], "example.com")
    with pytest.raises(Exception, match="unknown keys: content"):
        filters.dns_records([{"name": "n8n", "type": "A", "content": "192.0.2.1"}], "example.com")
