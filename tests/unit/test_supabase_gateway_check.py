"""The validator's Supabase gateway checks against a loopback HTTPS server that answers as Supabase's Kong does
(kong.yml: key-auth on /auth/v1/, basic-auth on the dashboard), since no Supabase image can be run here.

A healthy gateway refuses without credentials (401) and answers 200 with JSON with them; a gateway that lets
everyone in, a route missing, or the service behind it down must each fail the check that a user would read.
"""

import base64
import json
from http.server import BaseHTTPRequestHandler

import pytest

from orchestrator.agents import services
from orchestrator.validation.suites import test_supabase as suite
from orchestrator.validation.suites.conftest import auth_headers
from orchestrator.validation.targets import health_auth
from tests.fakes.https_server import certificate, serve_https

ANON = "anon-key-for-the-check"
DASHBOARD = ("supabase", "dash-Pa55word")
SECRETS = {"supabase_anon_key": ANON, "supabase_dashboard_username": DASHBOARD[0],
           "supabase_dashboard_password": DASHBOARD[1]}


class Kong(BaseHTTPRequestHandler):
    """What supabase's kong.yml makes Kong answer on the two health routes; `behaviour` breaks it on purpose."""

    behaviour = "healthy"

    def do_GET(self):
        b = type(self).behaviour
        if self.path == "/auth/v1/health":
            if b == "open" or self.headers.get("apikey") == ANON:
                if b == "upstream down":
                    return self._send(502, {"message": "An invalid response was received from the upstream server"})
                return self._send(200, {"version": "v2.177.0", "name": "GoTrue",
                                        "description": "GoTrue is a user registration and authentication API"},
                                  chunked=True)
            why = "Invalid authentication credentials" if self.headers.get("apikey") else "No API key found in request"
            return self._send(401, {"message": why})
        if self.path == "/api/platform/profile" and b != "route missing":
            basic = "Basic " + base64.b64encode(":".join(DASHBOARD).encode()).decode()
            if self.headers.get("Authorization") == basic:
                return self._send(200, {"id": 1, "primary_email": "admin@example.com"})
            return self._send(401, {"message": "Unauthorized"}, {"WWW-Authenticate": 'Basic realm="kong"'})
        return self._send(404, {"message": "no Route matched with those values"})

    def _send(self, status, body, headers=None, chunked=False):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = len(data) // 2
            for part in (data[:half], data[half:]):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(tmp_path):
    """A loopback HTTPS gateway for supabase.example.com and studio.example.com; (targets, ca_file)."""
    names = ["supabase.example.com", "studio.example.com"]
    cert, key = certificate(tmp_path, names)
    sites = {s.name: s for s in services()["supabase"].sites}
    with serve_https(Kong, cert, key) as port:
        targets = {name: {"hostname": f"{sub}.example.com", "connect": "127.0.0.1", "https_port": port,
                          "http_port": 0, "health": sites[name].health_path, "health_auth": health_auth(sites[name])}
                   for name, sub in (("supabase", "supabase"), ("studio", "studio"))}
        Kong.behaviour = "healthy"
        yield targets, str(cert)


def test_the_declaration_asks_for_the_anon_key_on_the_api_and_basic_auth_on_studio():
    sites = {s.name: s for s in services()["supabase"].sites}
    assert health_auth(sites["supabase"]) == {"scheme": "apikey", "header": "apikey", "secret": "supabase_anon_key"}
    assert health_auth(sites["studio"]) == {"scheme": "basic", "user_secret": "supabase_dashboard_username",
                                            "password_secret": "supabase_dashboard_password"}


@pytest.mark.parametrize("site", ["supabase", "studio"])
def test_a_healthy_gateway_passes_both_checks(gateway, site):
    targets, ca = gateway
    suite.test_gateway_refuses_without_credentials(targets[site], ca, {})
    suite.test_healthy_through_gateway(targets[site], ca, SECRETS, {})


def test_a_gateway_that_lets_everyone_in_fails_the_refusal_check(gateway):
    targets, ca = gateway
    Kong.behaviour = "open"
    with pytest.raises(AssertionError, match="without credentials answered 200, not 401"):
        suite.test_gateway_refuses_without_credentials(targets["supabase"], ca, {})


def test_the_service_behind_the_gateway_down_fails_the_health_check(gateway):
    targets, ca = gateway
    Kong.behaviour = "upstream down"
    suite.test_gateway_refuses_without_credentials(targets["supabase"], ca, {})  # Kong itself still checks keys
    with pytest.raises(AssertionError, match="answered 502"):
        suite.test_healthy_through_gateway(targets["supabase"], ca, SECRETS, {})


def test_a_route_missing_from_kong_fails_both(gateway):
    targets, ca = gateway
    Kong.behaviour = "route missing"
    with pytest.raises(AssertionError, match="answered 404, not 401"):
        suite.test_gateway_refuses_without_credentials(targets["studio"], ca, {})
    with pytest.raises(AssertionError, match="answered 404"):
        suite.test_healthy_through_gateway(targets["studio"], ca, SECRETS, {})


def test_a_wrong_key_is_refused_like_none(gateway):
    targets, ca = gateway
    with pytest.raises(AssertionError, match="answered 401"):
        suite.test_healthy_through_gateway(targets["supabase"], ca, {**SECRETS, "supabase_anon_key": "wrong"}, {})


def test_where_supabase_is_only_rendered_its_gateway_checks_say_so_instead_of_failing(gateway):
    """supabase_state: rendered on a host (no images to run): the proxy answers 502 for it, which is expected,
    so both gateway checks are skipped with why, on that host only."""
    targets, ca = gateway
    Kong.behaviour = "upstream down"
    config = {"rendered": {"supabase": {"db-1": "/opt/aidevops/supabase"}}}
    with pytest.raises(pytest.skip.Exception, match="supabase is only rendered on db-1"):
        suite.test_healthy_through_gateway({**targets["supabase"], "host": "db-1"}, ca, SECRETS, config)
    with pytest.raises(AssertionError, match="answered 502"):  # the same site served by another host: checked
        suite.test_healthy_through_gateway({**targets["supabase"], "host": "db-2"}, ca, SECRETS, config)


def test_a_key_missing_from_the_vault_fails_with_its_name():
    with pytest.raises(pytest.fail.Exception, match="supabase_anon_key is not in the inventory's vault"):
        auth_headers({"scheme": "apikey", "header": "apikey", "secret": "supabase_anon_key"}, {})
