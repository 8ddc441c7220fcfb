"""nginx_proxy, per public hostname, seen from the controller: TLS, certificate, redirect, headers, speed."""

from __future__ import annotations

import json
import ssl

import pytest

from orchestrator.validation import probes

AGENT = "nginx_proxy"  # its host checks run on the hosts the proxy is placed on
# What roles/nginx_proxy/templates/snippets/security-headers.conf.j2 sends with every answer.
SECURITY_HEADERS = ("strict-transport-security", "x-content-type-options", "x-frame-options", "referrer-policy",
                    "permissions-policy")


@pytest.mark.severity("high")
def test_nginx_running(host):
    """nginx is running and its configuration is valid."""
    assert host.service("nginx").is_running, "nginx is not running"
    check = host.run("nginx -t")
    assert check.rc == 0, f"nginx -t fails: {check.stderr.strip().splitlines()[-1:] or ''}"


@pytest.mark.severity("critical")
def test_certificate_valid(target, ca_file):
    """HTTPS with SNI: the certificate names the host and chains to the configured CA."""
    try:
        probes.request(target, "/", ca_file=ca_file)
    except ssl.SSLCertVerificationError as exc:
        seen = probes.cert_info(_unverified_cert(target))
        assert False, f"certificate not valid: {exc.verify_message}; it names {', '.join(seen.names)}, " \
                      f"issued by {seen.issuer}"


@pytest.mark.severity("high")
def test_certificate_days_left(target, settings, metric):
    """The certificate stays valid for more than the threshold (days)."""
    info = probes.cert_info(_unverified_cert(target))
    days, floor = round(info.days_left, 1), settings["cert_min_days"]
    metric("tls.cert_days_left", target["hostname"], days, unit="days", threshold=floor, passed=days >= floor,
           detail=json.dumps({"issuer": info.issuer, "not_after": info.not_after.isoformat(), "names": info.names}))
    assert days >= floor, f"certificate expires in {days} days ({info.not_after:%Y-%m-%d}), below {floor}"


@pytest.mark.severity("high")
def test_http_redirects_to_https(target):
    """Plain HTTP answers with a permanent redirect (301/308) to the same path over HTTPS."""
    r = probes.request(target, "/aidevops-check?x=1", tls=False)
    assert r.status in (301, 308), f"http://{target['hostname']}/ answered {r.status}, not 301/308"
    location = r.headers.get("location", "")
    assert location == f"https://{target['hostname']}/aidevops-check?x=1", f"redirects to {location!r}"


@pytest.mark.severity("medium")
def test_security_headers(target, ca_file):
    """HSTS (a year or more), nosniff, frame options, referrer and permissions policies are sent."""
    r = probes.request(target, "/", ca_file=ca_file)
    missing = [h for h in SECURITY_HEADERS if h not in r.headers]
    assert not missing, f"missing header(s): {', '.join(missing)}"
    max_age = r.headers["strict-transport-security"].split("max-age=")[-1].split(";")[0].strip()
    assert max_age.isdigit() and int(max_age) >= 31536000, f"HSTS max-age is {max_age!r}, under a year"


@pytest.mark.severity("medium")
def test_response_time(target, settings, metric, ca_file):
    """The service's health URL answers within the threshold (ms)."""
    url = f"https://{target['hostname']}{target['health']}"
    r = probes.request(target, target["health"], ca_file=ca_file)
    ms, ceiling = round(r.elapsed_ms, 1), settings["response_ms_max"]
    metric("http.response_ms", url, ms, unit="ms", threshold=ceiling, passed=ms <= ceiling,
           detail=f"HTTP {r.status}")
    assert ms <= ceiling, f"{url} took {ms} ms, above {ceiling} ms"


def _unverified_cert(target) -> bytes:
    """The certificate the server presents for the name, trusted or not (to say what is wrong with it)."""
    return probes.request(target, "/", verify=False).cert_der
