"""nginx_proxy after converge: real ACME certificates from pebble, proxying, headers, websockets, renewal,
the self-signed fallback, and (last) the fail-closed path. Runs inside the instance (testinfra)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

NAMES = ["n8n.sandbox.test", "supabase.sandbox.test", "studio.sandbox.test"]
BROKEN = "broken.sandbox.test"
ROOT = "/root/pebble-root.pem"
SCENARIO = Path(__file__).resolve().parents[1]


def curl(host, name, path="/", *args):
    cmd = f"curl -sS --max-time 10 --cacert {ROOT} --resolve {name}:443:127.0.0.1 {' '.join(args)} https://{name}{path}"
    return host.run(cmd)


def test_nginx_runs_with_a_valid_configuration(host):
    assert host.service("nginx").is_running
    assert host.service("nginx").is_enabled
    assert host.run("nginx -t").rc == 0


def test_port_80_redirects_to_https_but_serves_acme_challenges(host):
    out = host.check_output("curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: n8n.sandbox.test' "
                            "http://127.0.0.1/some/path?x=1")
    assert out == "301 https://n8n.sandbox.test/some/path?x=1"
    host.check_output("echo probe > /var/www/acme/.well-known/acme-challenge/molecule-probe")
    out = host.check_output("curl -sS -w ' %{http_code}' -H 'Host: n8n.sandbox.test' "
                            "http://127.0.0.1/.well-known/acme-challenge/molecule-probe")
    assert out.split() == ["probe", "200"]


@pytest.mark.parametrize("name", NAMES)
def test_certificate_is_issued_by_pebble_for_the_name(host, name):
    cert = host.check_output(
        f"echo | openssl s_client -connect 127.0.0.1:443 -servername {name} 2>/dev/null "
        "| openssl x509 -noout -issuer -ext subjectAltName"
    )
    assert "Pebble Intermediate CA" in cert
    assert f"DNS:{name}" in cert
    # The chain verifies against pebble's root, for this host name (curl checks both).
    result = curl(host, name, "/", "-o /dev/null -w '%{http_code} %{ssl_verify_result}'")
    assert result.rc == 0, result.stderr
    assert result.stdout == "200 0"


def test_tls_is_mozilla_intermediate(host):
    base = "openssl s_client -connect 127.0.0.1:443 -servername n8n.sandbox.test </dev/null"
    assert host.run(f"{base} -tls1_2").rc == 0
    assert host.run(f"{base} -tls1_3").rc == 0
    assert host.run(f"{base} -tls1_1").rc != 0
    assert host.run(f"{base} -tls1_2 -cipher AES128-SHA").rc != 0  # no RSA key exchange, no CBC


def test_security_headers(host):
    headers = curl(host, "n8n.sandbox.test", "/", "-o /dev/null -D -").stdout.lower()
    assert "strict-transport-security: max-age=63072000" in headers
    assert "x-content-type-options: nosniff" in headers
    assert "x-frame-options: sameorigin" in headers
    assert headers.count("x-frame-options") == 1  # the upstream's own copy is hidden
    assert "referrer-policy: strict-origin-when-cross-origin" in headers
    assert "permissions-policy: camera=()" in headers
    assert "server: nginx\r\n" in headers  # no version


@pytest.mark.parametrize("name,port", [("n8n.sandbox.test", 5678), ("supabase.sandbox.test", 8000),
                                       ("studio.sandbox.test", 8000)])
def test_proxying_reaches_the_upstream_with_forwarded_headers(host, name, port):
    seen = json.loads(curl(host, name, "/api/x?y=1", "-H 'X-Forwarded-For: 192.0.2.7'").stdout)
    assert seen["port"] == port
    assert seen["path"] == "/api/x?y=1"
    h = seen["headers"]
    assert h["host"] == name
    assert h["x-forwarded-host"] == name
    assert h["x-forwarded-proto"] == "https"
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "192.0.2.7, 127.0.0.1"


@pytest.mark.parametrize("name,path", [("n8n.sandbox.test", "/rest/push?pushRef=abc"),
                                       ("n8n.sandbox.test", "/"),
                                       ("supabase.sandbox.test", "/realtime/v1/websocket?apikey=k")])
def test_websocket_upgrade_gets_101(host, name, path):
    r = curl(host, name, path, "--http1.1 -i -o - -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
             "-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='")
    first = r.stdout.splitlines()[0] if r.stdout else r.stderr
    assert first.startswith("HTTP/1.1 101"), first
    assert "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in r.stdout  # the upstream's handshake answer came through


def test_n8n_push_path_is_not_gzipped_nor_buffered(host):
    conf = host.file("/etc/nginx/sites-available/aidevops-proxy-n8n.conf").content_string
    block = conf.split("location /rest/push {", 1)[1].split("}", 1)[0]
    assert "gzip off;" in block and "proxy_buffering off;" in block
    assert "proxy_read_timeout 3600s;" in block


def test_unknown_names_are_refused(host):
    assert host.run("echo | openssl s_client -connect 127.0.0.1:443 -servername other.sandbox.test").rc != 0
    assert host.run("curl -sS -H 'Host: other.sandbox.test' http://127.0.0.1/").rc != 0  # 444: closed


def test_renewal_is_set_up(host):
    timer = host.service("certbot.timer")
    assert timer.is_enabled and timer.is_running
    hook = host.file("/etc/letsencrypt/renewal-hooks/deploy/aidevops-nginx-reload")
    assert hook.mode & 0o111 and "systemctl reload nginx" in hook.content_string
    dropin = host.file("/etc/systemd/system/certbot.service.d/aidevops-acme-ca.conf").content_string
    assert "REQUESTS_CA_BUNDLE=/etc/letsencrypt/aidevops-acme-ca.pem" in dropin
    assert "REQUESTS_CA_BUNDLE=/etc/letsencrypt/aidevops-acme-ca.pem" in host.check_output(
        "systemctl show certbot.service -p Environment")
    for name in NAMES:
        conf = host.file(f"/etc/letsencrypt/renewal/{name}.conf").content_string
        assert "server = https://aidevops-molecule-np-acme:14000/dir" in conf
        assert "authenticator = webroot" in conf


def served_serial(host, name="n8n.sandbox.test"):
    return host.check_output(f"echo | openssl s_client -connect 127.0.0.1:443 -servername {name} 2>/dev/null "
                             "| openssl x509 -noout -serial")


def test_renewal_works_against_pebble_and_reloads_nginx(host):
    # What certbot.timer runs (certbot renew), with certbot.service's environment, forced for one lineage:
    # a real new certificate from pebble, then the deploy hook reloads nginx, which serves it.
    before = served_serial(host)
    env = host.check_output("systemctl show certbot.service -p Environment --value")
    r = host.run(f"systemd-run --wait --pipe --quiet -p 'Environment={env}' "
                 "certbot renew --force-renewal --no-random-sleep-on-renew --cert-name n8n.sandbox.test")
    assert r.rc == 0, r.stdout + r.stderr
    host.run("sleep 1")
    assert served_serial(host) != before


def test_broken_name_falls_back_to_a_self_signed_certificate(host):
    cert = host.check_output(
        f"echo | openssl s_client -connect 127.0.0.1:443 -servername {BROKEN} 2>/dev/null "
        "| openssl x509 -noout -issuer -subject -ext subjectAltName"
    )
    assert f"issuer=CN={BROKEN}" in cert.replace(" ", "") and f"DNS:{BROKEN}" in cert
    assert not host.file(f"/etc/letsencrypt/live/{BROKEN}").exists


def test_issuance_failure_fails_clearly():
    """Without the fallback, the run stops with one message naming the host and certbot's error."""
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(SCENARIO.parents[1] / "roles"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "fail_closed.yml"),
         "-e", "nginx_proxy_allow_self_signed=false"],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "ACME issuance failed for failclosed.sandbox.test" in out, out[-3000:]
    assert "failclosed.sandbox.test:" in out and "Detail:" in out, out[-3000:]
