"""The dns role through ansible-playbook: against the loopback Cloudflare fake, and against a real BIND."""

import base64
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, write
from tests.fakes.cloudflare_api import FakeCloudflare

pytestmark = pytest.mark.integration

TOKEN = "cf-integration-token-8c1e2f"
TARGET4, TARGET6 = "203.0.113.10", "2001:db8::10"


def run_playbook(inventory: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_STDOUT_CALLBACK="default", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("CLOUDFLARE_API_TOKEN", None)
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory / "hosts.yml"),
         str(ROOT / "playbooks/dns.yml"), *args],
        check=False, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def recap(proc: subprocess.CompletedProcess) -> dict:
    match = re.search(r"^localhost\s+:\s+(.*)$", proc.stdout, re.MULTILINE)
    assert match, proc.stdout + proc.stderr
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def ok(proc: subprocess.CompletedProcess, changed: int) -> None:
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert recap(proc)["changed"] == changed, proc.stdout[-4000:]


def make_inventory(tmp_path: Path, request: str, settings: str) -> Path:
    inv = tmp_path / "inv"
    write(inv / "hosts.yml", "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                             f"      ansible_python_interpreter: {sys.executable}\n")
    write(inv / "group_vars/all/aidevops.yml", request)
    write(inv / "group_vars/all/dns.yml", settings)
    return inv


# --- Cloudflare (the real SDK against the loopback fake) ---------------------------------------------------
@pytest.fixture
def cloudflare_fake():
    pytest.importorskip("cloudflare", reason="the Cloudflare provider needs the cloudflare SDK on the controller")
    with FakeCloudflare(token=TOKEN, zones=("example.com",)) as fake:
        yield fake
    assert not any(TOKEN in body for body in fake.response_bodies)


@pytest.fixture
def cloudflare_inventory(tmp_path, cloudflare_fake):
    return make_inventory(tmp_path, """\
aidevops:
  domain: example.com
  services: [n8n, supabase]
  dns: {provider: cloudflare}
  hostnames: {studio: admin.example.com}
""", f"""\
dns_target_ipv4: {TARGET4}
dns_target_ipv6: "{TARGET6}"
dns_caa_issuer: letsencrypt.org
dns_cloudflare_api_token: {TOKEN}
dns_cloudflare_base_url: {cloudflare_fake.base_url}
dns_cloudflare_max_retries: 3
""")


def cf_records(fake):
    return sorted((r["name"], r["type"], r["content"], r["ttl"], r["comment"]) for r in fake.records("example.com"))


def test_cloudflare_check_apply_idempotent(cloudflare_fake, cloudflare_inventory):
    names = ["n8n.example.com", "supabase.example.com", "admin.example.com"]

    planned = run_playbook(cloudflare_inventory, "--check", "--diff")
    ok(planned, changed=1)
    for name in names:
        assert f"+{name}. 300 IN A {TARGET4} ; managed by aidevops" in planned.stdout
        assert f"+{name}. 300 IN AAAA {TARGET6} ; managed by aidevops" in planned.stdout
    assert cloudflare_fake.writes() == []  # check mode read the zone only

    cloudflare_fake.rate_limit(1)  # the SDK retries it
    first = run_playbook(cloudflare_inventory, "--diff")
    ok(first, changed=1)
    mark = "managed by aidevops"
    assert cf_records(cloudflare_fake) == sorted(
        [(n, "A", TARGET4, 300, mark) for n in names] + [(n, "AAAA", TARGET6, 300, mark) for n in names]
        + [(n, "CAA", '0 issue "letsencrypt.org"', 300, mark) for n in names])
    writes = len(cloudflare_fake.writes())
    assert writes == 9  # one POST per record
    assert [r.status for r in cloudflare_fake.requests if r.status == 429] == [429]  # retried by the SDK

    second = run_playbook(cloudflare_inventory, "--diff")
    ok(second, changed=0)
    assert len(cloudflare_fake.writes()) == writes

    moved = run_playbook(cloudflare_inventory, "--check", "--diff", "-e", "dns_target_ipv4=203.0.113.20")
    ok(moved, changed=1)
    assert f"-n8n.example.com. 300 IN A {TARGET4} ; managed by aidevops" in moved.stdout
    assert "+n8n.example.com. 300 IN A 203.0.113.20 ; managed by aidevops" in moved.stdout
    assert len(cloudflare_fake.writes()) == writes

    for proc in (planned, first, second, moved):
        assert TOKEN not in proc.stdout + proc.stderr


def test_cloudflare_unmarked_record_stops_the_run(cloudflare_fake, cloudflare_inventory):
    cloudflare_fake.add_record("example.com", name="n8n", type="A", content="198.51.100.7", ttl=120)
    proc = run_playbook(cloudflare_inventory, "-v")
    assert proc.returncode != 0
    assert "n8n.example.com A 198.51.100.7" in proc.stdout
    assert "dns_cloudflare_adopt" in proc.stdout
    assert cloudflare_fake.writes() == []
    assert TOKEN not in proc.stdout + proc.stderr

    adopted = run_playbook(cloudflare_inventory, "-e", "dns_cloudflare_adopt=true")
    ok(adopted, changed=1)
    n8n = [r for r in cf_records(cloudflare_fake) if r[:2] == ("n8n.example.com", "A")]
    assert n8n == [("n8n.example.com", "A", TARGET4, 300, "managed by aidevops")]

    gone = run_playbook(cloudflare_inventory, "-e", "dns_state=absent")
    ok(gone, changed=1)
    assert cloudflare_fake.records("example.com") == []


# --- RFC 2136 against a real BIND on 127.0.0.1 -------------------------------------------------------------
ZONE = "sandbox.test"
KEY = "aidevops-test"


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (named listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


@pytest.fixture
def bind_server(tmp_path):
    named = shutil.which("named") or next((p for p in ("/usr/sbin/named", "/usr/local/sbin/named")
                                           if os.access(p, os.X_OK)), None)
    if named is None:
        pytest.skip("BIND's named is not installed (apt-get install bind9 bind9-utils)")
    dns_query = pytest.importorskip("dns.query", reason="the rfc2136 provider needs dnspython on the controller")
    import dns.message

    work = tmp_path / "named"
    work.mkdir()
    port, secret = free_port(), base64.b64encode(secrets.token_bytes(32)).decode()
    write(work / f"{ZONE}.zone", f"""\
$TTL 300
@ IN SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 300
@ IN NS ns1.{ZONE}.
ns1 IN A 127.0.0.1
""")
    conf = write(work / "named.conf", f"""\
options {{
  directory "{work}";
  pid-file "{work}/named.pid";
  session-keyfile "{work}/session.key";
  managed-keys-directory "{work}";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
  notify no;
}};
controls {{ }};
key "{KEY}" {{ algorithm hmac-sha256; secret "{secret}"; }};
zone "{ZONE}" {{ type primary; file "{work}/{ZONE}.zone"; update-policy {{ grant {KEY} zonesub ANY; }}; }};
""")
    with open(work / "named.log", "w") as log:
        proc = subprocess.Popen([named, "-g", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    query = dns.message.make_query(f"ns1.{ZONE}", "A")
                    if dns_query.tcp(query, "127.0.0.1", port=port, timeout=1).answer:
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("named did not start:\n" + (work / "named.log").read_text())
                time.sleep(0.2)
            yield {"port": port, "secret": secret, "log": work / "named.log"}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def lookup(port: int, name: str, rtype: str) -> list[str]:
    import dns.message
    import dns.query

    answer = dns.query.tcp(dns.message.make_query(name, rtype), "127.0.0.1", port=port, timeout=5)
    return sorted(rd.to_text() for rrset in answer.answer if rrset.rdtype == dns.rdatatype.from_text(rtype)
                  for rd in rrset)


def test_rfc2136_against_bind(tmp_path, bind_server):
    port = bind_server["port"]
    inv = make_inventory(tmp_path, f"""\
aidevops:
  domain: {ZONE}
  services: [n8n, supabase]
  dns: {{provider: rfc2136}}
""", f"""\
dns_target_ipv4: {TARGET4}
dns_target_ipv6: "{TARGET6}"
dns_caa_issuer: letsencrypt.org
dns_extra_records:
  - {{name: www, type: CNAME, value: n8n.{ZONE}}}
  - {{name: "@", type: TXT, value: "v=spf1 -all"}}
  - {{name: "@", type: TXT, value: hello world}}
dns_rfc2136_server: 127.0.0.1
dns_rfc2136_port: {port}
dns_rfc2136_key_name: {KEY}
dns_rfc2136_key_secret: "{bind_server['secret']}"
dns_rfc2136_key_algorithm: hmac-sha256
""")
    names = [f"n8n.{ZONE}", f"supabase.{ZONE}", f"studio.{ZONE}"]

    planned = run_playbook(inv, "--check", "--diff")
    ok(planned, changed=1)
    assert f"n8n.{ZONE} A: (none) -> {TARGET4}" in planned.stdout
    assert all(lookup(port, name, "A") == [] for name in names)  # nothing sent

    first = run_playbook(inv)
    ok(first, changed=1)
    for name in names:
        assert lookup(port, name, "A") == [TARGET4]
        assert lookup(port, name, "AAAA") == [TARGET6]
        assert lookup(port, name, "CAA") == ['0 issue "letsencrypt.org"']
    assert lookup(port, f"www.{ZONE}", "CNAME") == [f"n8n.{ZONE}."]
    assert lookup(port, ZONE, "TXT") == ['"hello world"', '"v=spf1 -all"']

    second = run_playbook(inv)
    ok(second, changed=0)
    assert "ok: [localhost] => (item=n8n.sandbox.test 300 A 203.0.113.10)" in second.stdout

    moved = run_playbook(inv, "-e", "dns_target_ipv4=203.0.113.20", "-e", "dns_ttl=600")
    ok(moved, changed=1)
    assert lookup(port, f"n8n.{ZONE}", "A") == ["203.0.113.20"]

    gone = run_playbook(inv, "-e", "dns_state=absent")
    ok(gone, changed=1)
    assert all(lookup(port, name, "A") == [] for name in names)
    assert lookup(port, f"ns1.{ZONE}", "A") == ["127.0.0.1"]  # the rest of the zone is untouched
    for proc in (planned, first, second, moved, gone):
        assert bind_server["secret"] not in proc.stdout + proc.stderr
