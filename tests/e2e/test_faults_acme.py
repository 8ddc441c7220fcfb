"""Fault: the ACME CA is down while a certificate must be issued (issue 12, item 4).

The host cannot reach the sandbox CA (its connections to pebble's port are refused, as when the CA is down)
and n8n's certificate is gone, so nginx_proxy must issue one. With nginx_proxy_allow_self_signed (the sandbox
inventory sets it) the run ends degraded and serves a self-signed certificate; without it the phase fails
with one clear message, retried once by the offline analyser. Afterwards the CA is reachable again and the
real certificate is issued back (the other e2e modules share the host).
"""

from pathlib import Path

import pytest

from tests.e2e.conftest import DOMAIN, on_host
from tests.e2e.test_faults_host import phases, run

pytestmark = pytest.mark.integration
N8N = f"n8n.{DOMAIN}"
REFUSE_CA = "OUTPUT -p tcp --dport 14000 -j REJECT --reject-with tcp-reset"


def served_issuer(host) -> str:
    out = on_host(host, f"echo | openssl s_client -connect 127.0.0.1:443 -servername {N8N} 2>/dev/null "
                        "| openssl x509 -noout -issuer")
    return out.stdout.strip()


@pytest.fixture(scope="module")
def ca_down(stack, first_run):
    inv, _, host = stack
    assert first_run.returncode == 0, first_run.stdout[-6000:]
    settings = Path(inv) / "group_vars/all/nginx_proxy.yml"
    kept = settings.read_text()
    on_host(host, f"iptables -I {REFUSE_CA} && (certbot delete --cert-name {N8N} --non-interactive || true)")
    try:
        yield inv, host, settings
    finally:
        settings.write_text(kept)
        on_host(host, f"iptables -D {REFUSE_CA}", check=False)
        back, _, _ = run(inv, "--only", "nginx_proxy")
        assert back.returncode == 0, back.stdout[-4000:]
        assert "Pebble" in served_issuer(host)


def test_ca_down_with_self_signed_allowed_ends_degraded_and_serves_https(ca_down):
    inv, host, _ = ca_down
    r, shown, _ = run(inv, "--only", "nginx_proxy")
    assert r.returncode == 3, r.stdout[-4000:] + r.stderr[-2000:]
    proxy = phases(shown)["nginx_proxy"]
    assert proxy["status"] == "degraded" and N8N in proxy["reason"] and "Connection refused" in proxy["reason"]
    assert f"issuer=CN={N8N}" in served_issuer(host)  # self-signed, for the name
    code = on_host(host, f"curl -sk -o /dev/null -w '%{{http_code}}' --resolve {N8N}:443:127.0.0.1 "
                         f"https://{N8N}/healthz").stdout
    assert code == "200"


def test_ca_down_without_self_signed_fails_clearly_after_one_retry(ca_down):
    inv, _, settings = ca_down
    settings.write_text(settings.read_text().replace("nginx_proxy_allow_self_signed: true",
                                                     "nginx_proxy_allow_self_signed: false"))
    r, shown, _ = run(inv, "--only", "nginx_proxy")
    assert r.returncode == 1, r.stdout[-4000:] + r.stderr[-2000:]
    proxy = phases(shown)["nginx_proxy"]
    assert proxy["status"] == "failed"
    assert f"ACME issuance failed for {N8N}" in proxy["reason"] and "Connection refused" in proxy["reason"]
    assert "set nginx_proxy_allow_self_signed: true" in proxy["reason"]
    # The offline analyser names the CA (not SSH), retries once, then stops.
    assert "recovery 1/2 by offline: retry - offline: acme_down" in r.stdout
    assert "recovery 2/2 by offline: abort" in r.stdout
