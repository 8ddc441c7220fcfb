"""Looking at a host from the controller, as a visitor would: HTTP(S) requests with SNI, certificates, a port scan."""

from __future__ import annotations

import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes
    elapsed_ms: float
    cert_der: bytes | None = None
    raw_head: str = ""
    set_cookies: list[str] = field(default_factory=list)


def tls_context(ca_file: str | Path | None, verify: bool = True) -> ssl.SSLContext:
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else ssl.create_default_context()


def request(endpoint: dict, path: str = "/", *, tls: bool = True, ca_file: str | None = None, verify: bool = True,
            method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b"",
            timeout: float = 20, read_body: bool = True) -> Response:
    """One HTTP/1.1 request to the endpoint's hostname (Host and SNI) at its connect address and port."""
    name = endpoint["hostname"]
    port = endpoint["https_port"] if tls else endpoint["http_port"]
    lines = [f"{method} {path} HTTP/1.1", f"Host: {name}", "User-Agent: aidevops-validator"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    if not any(k.lower() == "connection" for k in headers or {}):
        lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    t0 = time.monotonic()
    with socket.create_connection((endpoint["connect"], port), timeout=timeout) as raw:
        sock = tls_context(ca_file, verify).wrap_socket(raw, server_hostname=name) if tls else raw
        try:
            der = sock.getpeercert(binary_form=True) if tls else None
            sock.sendall(data)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
            elapsed = (time.monotonic() - t0) * 1000
            head, _, rest = buf.partition(b"\r\n\r\n")
            head_lines = head.decode("latin-1").split("\r\n")
            if not head_lines[0].startswith("HTTP/"):
                raise ConnectionError(f"not an HTTP answer: {head_lines[0][:80]!r}")
            status = int(head_lines[0].split(" ", 2)[1])
            hdrs, cookies = {}, []
            for line in head_lines[1:]:
                k, _, v = line.partition(":")
                hdrs[k.strip().lower()] = v.strip()
                if k.strip().lower() == "set-cookie":
                    cookies.append(v.strip())
            chunked = "chunked" in hdrs.get("transfer-encoding", "").lower()
            # Without a length the body ends when the server closes (we asked for Connection: close).
            length = int(hdrs.get("content-length") or 0) if not chunked and "content-length" in hdrs else None
            while read_body and status not in (101, 204, 304) and method != "HEAD" \
                    and (length is None or len(rest) < length):
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    break  # a server that neither sends a length nor closes: keep what came
                if not chunk:
                    break
                rest += chunk
            body = _dechunk(rest) if chunked and read_body else rest
            return Response(status, hdrs, body, elapsed, der, head.decode("latin-1"), cookies)
        finally:
            if tls:
                sock.close()


def _dechunk(data: bytes) -> bytes:
    """The body of a chunked transfer (RFC 9112 7.1), as far as it arrived."""
    out, pos = b"", 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            return out
        size = int(data[pos:end].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return out
        out += data[end + 2:end + 2 + size]
        pos = end + 2 + size + 2


# What an application answers while it starts behind the proxy: not there yet (404: n8n's REST routes come a
# few seconds after /healthz), the proxy finding no upstream (502), or not ready (503, 504).
STARTING = frozenset({404, 502, 503, 504})


def answered_json(r: Response) -> bool:
    """An application's API answered (any status, in JSON): not a starting page (n8n's is HTML with 200), a 404
    of routes not there yet, or the proxy."""
    return r.status not in STARTING and "json" in r.headers.get("content-type", "")


def request_until(endpoint: dict, path: str = "/", *, settled=lambda r: r.status not in STARTING,
                  wait_seconds: float = 60, interval: float = 2, **kwargs) -> Response:
    """The request, repeated while the application is still starting (`settled` says when it is not), for at
    most wait_seconds: the last answer. A refused or reset connection counts as starting until the end; a
    certificate that does not verify is raised at once (waiting would not change it)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            r = request(endpoint, path, **kwargs)
            if settled(r) or time.monotonic() >= deadline:
                return r
        except ssl.SSLCertVerificationError:
            raise  # a certificate that does not verify is the answer, not an application still starting
        except (ConnectionError, TimeoutError, ssl.SSLError) as exc:
            if time.monotonic() >= deadline:
                raise ConnectionError(f"{path} did not answer within {wait_seconds:.0f}s: {exc}") from exc
        time.sleep(interval)


@dataclass
class CertInfo:
    names: list[str]
    issuer: str
    not_after: datetime

    @property
    def days_left(self) -> float:
        return (self.not_after - datetime.now(UTC)).total_seconds() / 86400


def cert_info(der: bytes) -> CertInfo:
    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    issuer = ", ".join(a.value for a in cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)) or \
        cert.issuer.rfc4514_string()
    return CertInfo(list(names), str(issuer), cert.not_valid_after_utc)


def open_ports(address: str, ports: list[int], timeout: float = 1.5, workers: int = 256) -> list[int]:
    """TCP connect scan: the ports that accept a connection. Filtered ports (dropped by the firewall) time out."""
    def probe(port: int) -> int | None:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return port
        except OSError:
            return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sorted(p for p in pool.map(probe, ports) if p is not None)
