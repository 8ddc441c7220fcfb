"""The whole stack on a fresh sandbox host: DNS in BIND, n8n behind nginx with a certificate issued by pebble.

One `aidevops run` of the sandbox request (base_server, dns, n8n, nginx_proxy), then what a user checks
from outside: https://n8n.<domain> through the published 443 with SNI, the certificate, the redirect,
a websocket upgrade, the DNS record. (The re-run that changes nothing is test_faults_reboot's, after a reboot.)
"""

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import dns.message
import dns.query
import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e.conftest import DOMAIN, aidevops

pytestmark = pytest.mark.integration
N8N = f"n8n.{DOMAIN}"
PHASES = ("base_server", "dns", "n8n", "nginx_proxy")


def shown(inv, run_id: str | None = None) -> dict:
    """`runs show --json` of RUN_ID, or of the latest run."""
    return json.loads(aidevops("runs", "show", *([run_id] if run_id else []), "--inventory", str(inv), "--json").stdout)


def tls_request(port: int, request: bytes, cafile: Path) -> tuple[bytes, dict]:
    """Send REQUEST over TLS to 127.0.0.1:PORT with SNI n8n.<domain>, verifying against CAFILE."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname=N8N) as tls:
            cert = tls.getpeercert()
            tls.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
            # Read the rest of a small body if Content-Length says so.
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                body += chunk
            return head + b"\r\n\r\n" + body, cert


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {N8N}\r\n{extra}Connection: close\r\n\r\n".encode()


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_first_run_deploys_the_stack(stack, first_run):
    inv, box, host = stack
    assert first_run.returncode == 0, first_run.stdout[-6000:] + first_run.stderr[-2000:]
    phases = {p["phase"]: p["status"] for p in shown(inv, first_run.run_id)["phases"]}
    assert all(phases[p] == "succeeded" for p in PHASES), phases


def test_n8n_answers_over_https_with_a_certificate_from_the_sandbox_ca(stack):
    inv, box, host = stack
    root = inv / ".aidevops/sandbox/pebble-root.pem"
    response, cert = tls_request(host.https_port, get("/healthz"), root)
    assert status(response) == 200, response[:500]
    assert b'"status":"ok"' in response
    names = [v for kind, v in cert["subjectAltName"] if kind == "DNS"]
    assert N8N in names
    issuer = dict(x[0] for x in cert["issuer"])
    assert "Pebble" in issuer.get("commonName", "")
    headers = response.split(b"\r\n\r\n")[0].lower()
    assert b"strict-transport-security: max-age=" in headers


def test_plain_http_redirects_to_https(stack):
    inv, box, host = stack
    with socket.create_connection(("127.0.0.1", host.http_port), timeout=30) as s:
        s.sendall(get("/some/path"))
        head = s.recv(65536)
    assert status(head) == 301
    assert f"location: https://{N8N}/some/path".encode() in head.lower()


def test_the_editor_push_websocket_is_upgraded(stack):
    inv, box, host = stack
    root = inv / ".aidevops/sandbox/pebble-root.pem"
    secrets = vault_values(inv)
    email = yaml.safe_load((ROOT / "inventories/sandbox/group_vars/all/aidevops.yml").read_text())["aidevops"]["admin_email"]
    body = json.dumps({"emailOrLdapLoginId": email, "password": secrets["n8n_owner_password"]}).encode()
    login = (f"POST /rest/login HTTP/1.1\r\nHost: {N8N}\r\nContent-Type: application/json\r\n"
             f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    response, _ = tls_request(host.https_port, login, root)
    assert status(response) == 200, response[:500]
    cookie = next(line.split(b":", 1)[1].split(b";")[0].strip().decode()
                  for line in response.split(b"\r\n") if line.lower().startswith(b"set-cookie: n8n-auth="))
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = get("/rest/push?pushRef=e2etest",
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nOrigin: https://{N8N}\r\nCookie: {cookie}\r\n")
    upgrade = upgrade.replace(b"Connection: close\r\n", b"")
    response, _ = tls_request(host.https_port, upgrade, root)
    assert status(response) == 101, response[:500]


def test_the_dns_record_exists_in_bind(stack):
    inv, box, host = stack
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    port = hosts["all"]["vars"]["aidevops_sandbox_dns_published_port"]
    answer = dns.query.tcp(dns.message.make_query(N8N, "A"), "127.0.0.1", port=port, timeout=10)
    addresses = [item.address for rrset in answer.answer for item in rrset]
    assert addresses == [host.address]


def vault_values(inv: Path) -> dict:
    path = inv / "group_vars/all/vault_n8n.yml"
    text = path.read_text()
    if text.startswith("$ANSIBLE_VAULT"):
        text = subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "view",
                               "--vault-password-file", str(inv / ".vault-pass"), str(path)],
                              capture_output=True, text=True, check=True).stdout
    return yaml.safe_load(text)
