"""A loopback server that speaks the Cloudflare v4 API's wire format, for the zones and DNS records calls.

The `cloudflare` SDK (and the dns role's module, which uses it) is pointed at it with `base_url`; nothing
else differs from production. What it implements, as Cloudflare does:

* the envelope ``{"success", "errors": [{"code", "message"}], "messages", "result", "result_info"}``;
* ``Authorization: Bearer <token>`` (otherwise HTTP 401, code 10000 "Authentication error");
* ``GET /zones`` (``name`` filter, pagination), ``GET /zones/{id}``;
* ``GET /zones/{id}/dns_records`` with ``name``/``name.exact``, ``type``, ``content``/``content.exact``,
  ``comment``/``comment.exact``, ``page``/``per_page`` and ``result_info``; a page past the end is empty;
* ``POST`` (an identical record is HTTP 400, code 81058 "An identical record already exists."; a CNAME next
  to other records at the same name is code 81053), ``GET``/``PUT``/``PATCH``/``DELETE`` of one record;
* names given relative or as ``@`` are stored fully qualified; proxied records get ``ttl: 1`` (automatic);
  CAA records are written with ``data`` ({flags, tag, value}) and read back with ``content`` as well;
* ``rate_limit(n)``: the next n requests get HTTP 429, code 971, with ``Retry-After: 0``;
* ``fail_next([(status, retry_after), ...])``: the next requests get those answers in turn (429 with
  ``Retry-After`` as Cloudflare sends it, or a 5xx as its edge does: code 10000-range envelope).

Every request and response is recorded (``requests``, ``response_bodies``) so tests can check what was
called and that the token never comes back in a body.

Run standalone (Molecule's prepare step does): ``python -m tests.fakes.cloudflare_api --token T
--zone example.com --port-file PORTFILE``; it listens on 127.0.0.1 only and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import copy
import json
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/client/v4"
PROXIABLE = {"A", "AAAA", "CNAME"}
RECORD_TYPES = {"A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Request:
    method: str
    path: str  # without the /client/v4 prefix
    query: dict[str, str]
    body: object
    authorized: bool
    status: int = 0
    at: float = field(default_factory=time.monotonic)  # when it arrived: tests measure the client's waits


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class FakeCloudflare:
    """The server's state. Use as a context manager, or start()/stop()."""

    token: str = "fake-cloudflare-token"
    zones: tuple[str, ...] = ("example.com",)
    requests: list[Request] = field(default_factory=list)
    response_bodies: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.RLock()
        self._rate_limited = 0
        self._scripted: list[tuple[int, float | None]] = []
        self._zones: dict[str, dict] = {}
        self._records: dict[str, dict[str, dict]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for name in self.zones:
            self.add_zone(name)

    # --- control -------------------------------------------------------------------------------------
    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-cloudflare", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    def rate_limit(self, count: int) -> None:
        """The next `count` requests are answered with HTTP 429 and Retry-After: 0."""
        with self._lock:
            self._rate_limited = count

    def fail_next(self, answers: list[tuple[int, float | None]]) -> None:
        """The next requests get these (HTTP status, Retry-After seconds or None) answers, one each, in order."""
        with self._lock:
            self._scripted = list(answers)

    def add_zone(self, name: str) -> str:
        with self._lock:
            zone_id = uuid.uuid4().hex
            self._zones[zone_id] = {
                "id": zone_id, "name": name, "status": "active", "paused": False, "type": "full",
                "development_mode": 0, "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
                "original_name_servers": None, "original_registrar": None, "original_dnshost": None,
                "created_on": _now(), "modified_on": _now(), "activated_on": _now(),
                "meta": {"step": 4, "custom_certificate_quota": 0, "page_rule_quota": 3,
                         "phishing_detected": False},
                "owner": {"id": None, "type": "user", "email": None},
                "account": {"id": "0" * 32, "name": "fake account"},
                "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
                "plan": {"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0,
                         "currency": "USD", "frequency": "", "is_subscribed": False, "can_subscribe": False,
                         "legacy_id": "free", "legacy_discount": False, "externally_managed": False},
            }
            self._records[zone_id] = {}
            return zone_id

    def zone_id(self, name: str) -> str:
        return next(z["id"] for z in self._zones.values() if z["name"] == name)

    def add_record(self, zone: str, **fields) -> dict:
        """Put a record straight into the zone (as if made in the dashboard); returns it."""
        with self._lock:
            zone_id = self.zone_id(zone)
            return copy.deepcopy(self._create(zone_id, fields, check_duplicate=False))

    def records(self, zone: str) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._records[self.zone_id(zone)].values()))

    def writes(self) -> list[Request]:
        """The requests that would change something (POST/PUT/PATCH/DELETE), rate-limited ones included."""
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    # --- API -----------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], body: object, headers) -> tuple[int, dict, dict]:
        """(HTTP status, JSON envelope, extra headers) for one request."""
        auth = headers.get("Authorization", "")
        req = Request(method, path, query, body, authorized=auth == f"Bearer {self.token}")
        with self._lock:
            self.requests.append(req)
            if self._scripted:
                status, retry_after = self._scripted.pop(0)
                req.status = status
                message = ("Please wait and consider throttling your request speed" if status == 429
                           else "Internal server error")
                code = 971 if status == 429 else 10000 + status
                extra = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
                return status, _envelope(None, errors=[{"code": code, "message": message}]), extra
            if self._rate_limited > 0:
                self._rate_limited -= 1
                req.status = 429
                return 429, _envelope(None, errors=[{"code": 971, "message": "Please wait and consider "
                                                      "throttling your request speed"}]), {"Retry-After": "0"}
            if not req.authorized:
                req.status = 401
                return 401, _envelope(None, errors=[{"code": 10000, "message": "Authentication error"}]), {}
            try:
                status, envelope = self._route(method, path.rstrip("/"), query, body)
            except ApiError as exc:
                status, envelope = exc.status, _envelope(None, errors=[{"code": exc.code, "message": exc.message}])
            req.status = status
            return status, envelope, {}

    def _route(self, method, path, query, body):
        parts = [p for p in path.split("/") if p]
        if parts == ["zones"] and method == "GET":
            zones = [z for z in self._zones.values() if "name" not in query or z["name"] == query["name"]]
            return _paged(zones, query, default_per_page=20)
        if len(parts) >= 2 and parts[0] == "zones":
            zone_id = parts[1]
            if zone_id not in self._zones:
                raise ApiError(404, 7003, f"Could not route to /zones/{zone_id}, perhaps your object "
                                          "identifier is invalid?")
            if len(parts) == 2 and method == "GET":
                return 200, _envelope(copy.deepcopy(self._zones[zone_id]))
            if len(parts) == 3 and parts[2] == "dns_records":
                if method == "GET":
                    return _paged(self._filter(zone_id, query), query, default_per_page=100)
                if method == "POST":
                    return 200, _envelope(copy.deepcopy(self._create(zone_id, _require_object(body))))
            if len(parts) == 4 and parts[2] == "dns_records":
                records = self._records[zone_id]
                if parts[3] not in records:
                    raise ApiError(404, 81044, "Record does not exist.")
                if method == "GET":
                    return 200, _envelope(copy.deepcopy(records[parts[3]]))
                if method in ("PUT", "PATCH"):
                    rec = self._update(zone_id, parts[3], _require_object(body), replace=method == "PUT")
                    return 200, _envelope(copy.deepcopy(rec))
                if method == "DELETE":
                    del records[parts[3]]
                    return 200, _envelope({"id": parts[3]})
        raise ApiError(400, 7000, "No route for that URI")

    def _filter(self, zone_id, query) -> list[dict]:
        out = []
        for rec in self._records[zone_id].values():
            if (name := query.get("name.exact", query.get("name"))) is not None and rec["name"] != name.lower():
                continue
            if "type" in query and rec["type"] != query["type"]:
                continue
            if (content := query.get("content.exact", query.get("content"))) is not None and rec["content"] != content:
                continue
            if (comment := query.get("comment.exact", query.get("comment"))) is not None and rec["comment"] != comment:
                continue
            out.append(rec)
        return [copy.deepcopy(r) for r in out]

    def _normalise(self, zone_id, fields, base=None) -> dict:
        rec = dict(base or {})
        rec.update({k: v for k, v in fields.items() if k in
                    ("name", "type", "content", "ttl", "proxied", "comment", "tags", "data", "priority")})
        zone = self._zones[zone_id]["name"]
        for key in ("name", "type", "ttl"):
            if rec.get(key) in (None, ""):
                raise ApiError(400, 1004, f"DNS Validation Error: {key} is required")
        rec["type"] = str(rec["type"]).upper()
        if rec["type"] not in RECORD_TYPES:
            raise ApiError(400, 1004, f"DNS Validation Error: unsupported record type {rec['type']}")
        name = str(rec["name"]).lower().rstrip(".")
        if name == "@":
            name = zone
        elif name != zone and not name.endswith("." + zone):
            name = f"{name}.{zone}"
        rec["name"] = name
        if rec["type"] == "CAA":
            data = rec.get("data")
            if not isinstance(data, dict) or not {"flags", "tag", "value"} <= set(data):
                raise ApiError(400, 1004, "DNS Validation Error: CAA records need data.flags, data.tag, data.value")
            rec["data"] = {"flags": int(data["flags"]), "tag": data["tag"], "value": data["value"]}
            rec["content"] = f'{int(data["flags"])} {data["tag"]} "{data["value"]}"'
        elif not rec.get("content"):
            raise ApiError(400, 9005, "Content for DNS record is invalid")
        ttl = int(rec["ttl"])
        if ttl != 1 and not 60 <= ttl <= 86400:
            raise ApiError(400, 9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
        proxiable = rec["type"] in PROXIABLE
        proxied = bool(rec.get("proxied", False))
        if proxied and not proxiable:
            raise ApiError(400, 9004, f"This record type cannot be proxied: {rec['type']}")
        rec.update(proxiable=proxiable, proxied=proxied, ttl=1 if proxied else ttl)
        rec.setdefault("comment", None)
        rec.setdefault("tags", [])
        return rec

    def _conflicts(self, zone_id, rec, ignore_id=None):
        for other in self._records[zone_id].values():
            if other["id"] == ignore_id or other["name"] != rec["name"]:
                continue
            if other["type"] == rec["type"] and other["content"] == rec["content"]:
                raise ApiError(400, 81058, "An identical record already exists.")
            if "CNAME" in (other["type"], rec["type"]):
                raise ApiError(400, 81053, "An A, AAAA, or CNAME record with that host already exists.")

    def _create(self, zone_id, fields, check_duplicate=True) -> dict:
        rec = self._normalise(zone_id, fields)
        if check_duplicate:
            self._conflicts(zone_id, rec)
        now = _now()
        rec.update(id=uuid.uuid4().hex, zone_id=zone_id, zone_name=self._zones[zone_id]["name"], settings={},
                   meta={}, created_on=now, modified_on=now)
        if rec["comment"] is not None:
            rec["comment_modified_on"] = now
        self._records[zone_id][rec["id"]] = rec
        return rec

    def _update(self, zone_id, record_id, fields, replace) -> dict:
        old = self._records[zone_id][record_id]
        keep = {k: old[k] for k in ("id", "zone_id", "zone_name", "settings", "meta", "created_on")}
        base = dict(keep) if replace else dict(old)
        if replace:
            base.pop("comment", None)
        rec = self._normalise(zone_id, fields, base=base)
        self._conflicts(zone_id, rec, ignore_id=record_id)
        rec.update(keep, modified_on=_now())
        if rec.get("comment") != old.get("comment"):
            rec["comment_modified_on"] = rec["modified_on"]
        self._records[zone_id][record_id] = rec
        return rec


def _require_object(body) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, 9207, "Request body is invalid.")
    return body


def _envelope(result, errors=(), result_info=None) -> dict:
    env = {"success": not errors, "errors": list(errors), "messages": [], "result": result}
    if result_info is not None:
        env["result_info"] = result_info
    return env


def _paged(items: list, query: dict, default_per_page: int):
    try:
        page = int(query.get("page", 1))
        per_page = int(query.get("per_page", default_per_page))
    except ValueError:
        raise ApiError(400, 1004, "page and per_page must be numbers") from None
    if page < 1 or not 5 <= per_page <= 5_000_000:
        raise ApiError(400, 1004, "page must be at least 1 and per_page between 5 and 5000000")
    total = len(items)
    chunk = items[(page - 1) * per_page: page * per_page]
    info = {"page": page, "per_page": per_page, "count": len(chunk), "total_count": total,
            "total_pages": max(1, -(-total // per_page))}
    return 200, _envelope(chunk, result_info=info)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeCloudflare
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    server_version = "cloudflare"

    def log_message(self, *args):  # quiet
        pass

    def _serve(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = url.path
        if not path.startswith(API_PREFIX):
            status, envelope, extra = 404, _envelope(None, errors=[{"code": 7000, "message": "No route for that URI"}]), {}
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = "<invalid json>"
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            status, envelope, extra = self.fake.handle(self.command, path[len(API_PREFIX):], query, body,
                                                       self.headers)
        data = json.dumps(envelope).encode()
        self.fake.response_bodies.append(data.decode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake Cloudflare v4 API on 127.0.0.1 (for tests).")
    parser.add_argument("--token", required=True)
    parser.add_argument("--zone", action="append", required=True, help="a zone to serve (repeatable)")
    parser.add_argument("--port-file", type=Path, required=True, help="written with the port once listening")
    args = parser.parse_args(argv)
    fake = FakeCloudflare(token=args.token, zones=tuple(args.zone))
    fake.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(fake.port))
    tmp.replace(args.port_file)
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
