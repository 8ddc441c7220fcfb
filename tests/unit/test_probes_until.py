"""probes.request_until: a request repeated while the application starts, against a real local HTTP server."""

import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orchestrator.validation import probes
from tests.fakes.https_server import certificate, serve_https


class Starting(BaseHTTPRequestHandler):
    """Answers like n8n while it starts: its HTML starting page (200), or 404 (`starting`), until `ready_at`;
    then `then` in JSON."""

    ready_at = 0.0
    then = 200
    starting = 404
    calls = 0

    def do_POST(self):
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ready = time.monotonic() >= self.ready_at
        body = b'{"data":{}}' if ready else b"n8n is starting up. Please wait"
        self.send_response(self.then if ready else self.starting)
        self.send_header("Content-Type", "application/json" if ready else "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Starting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Starting.calls, Starting.starting = 0, 404
    yield {"hostname": "n8n.sandbox.test", "connect": "127.0.0.1", "http_port": httpd.server_address[1]}
    httpd.shutdown()
    httpd.server_close()


def test_a_login_route_that_appears_after_a_few_seconds_is_waited_for(server):
    Starting.ready_at, Starting.then = time.monotonic() + 1.5, 200
    r = probes.request_until(server, "/rest/login", tls=False, method="POST", body=b"{}", interval=0.3,
                             wait_seconds=10)
    assert r.status == 200 and Starting.calls >= 3


def test_a_refused_login_is_an_answer_and_not_retried(server):
    Starting.ready_at, Starting.then = 0.0, 401
    r = probes.request_until(server, "/rest/login", tls=False, method="POST", body=b"{}", interval=0.3)
    assert r.status == 401 and Starting.calls == 1


def test_the_wait_is_bounded_and_gives_the_last_answer(server):
    Starting.ready_at = time.monotonic() + 60
    t0 = time.monotonic()
    r = probes.request_until(server, "/rest/login", tls=False, method="POST", body=b"{}", interval=0.3,
                             wait_seconds=1.2)
    assert r.status == 404 and time.monotonic() - t0 < 5


def test_nothing_listening_is_one_error_after_the_wait():
    endpoint = {"hostname": "n8n.sandbox.test", "connect": "127.0.0.1", "http_port": 1}
    with pytest.raises(ConnectionError, match="did not answer within 1s"):
        probes.request_until(endpoint, "/healthz/readiness", tls=False, interval=0.2, wait_seconds=1)


def test_n8n_starting_page_is_not_taken_for_its_login(server):
    Starting.ready_at, Starting.then, Starting.starting = time.monotonic() + 1.5, 401, 200
    r = probes.request_until(server, "/rest/login", tls=False, method="POST", body=b"{}", interval=0.3,
                             wait_seconds=10, settled=probes.answered_json)
    assert r.status == 401 and r.headers["content-type"] == "application/json" and Starting.calls >= 3


def test_a_certificate_that_does_not_verify_is_raised_at_once(tmp_path):
    """The proxy serving a certificate for another name fails each HTTPS check at once, instead of being waited
    for as if the application were starting (it made one e2e validate take 4 minutes)."""
    cert, key = certificate(tmp_path, ["wrong.example"])
    t0 = time.monotonic()
    with serve_https(Starting, cert, key) as port:
        endpoint = {"hostname": "n8n.sandbox.test", "connect": "127.0.0.1", "https_port": port}
        with pytest.raises(ssl.SSLCertVerificationError, match="n8n.sandbox.test"):
            probes.request_until(endpoint, "/healthz/readiness", ca_file=str(cert), interval=0.2, wait_seconds=30)
    assert time.monotonic() - t0 < 5
