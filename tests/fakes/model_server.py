"""What the fake model APIs (anthropic_api.py, openai_api.py) share: a loopback HTTP server, a script of
planned replies, and the record of every request.

A test plans what the "model" answers, in order, with `fake.reply(...)` (or `fake.handler = fn` to answer
from the request itself: `fn(body) -> Reply`):

* ``tool_call(data)``: the forced tool called with `data` (any JSON value; OpenAI: a str is sent as the
  raw, possibly malformed, arguments string);
* ``text_answer(text)``: a plain text answer, no tool call;
* ``refusal(text)``: the model declines;
* ``error(status, retry_after=)``: an HTTP error with the API's own error envelope;
* any of them with ``delay=`` seconds before the answer (to make the client time out).

With nothing planned the server answers HTTP 400 "no reply planned", which the SDKs do not retry, so a
test that forgot a reply fails at once. Every request is kept in `requests` (headers, parsed body, the
status answered) so a test can check what was sent: the prompt, the headers, that no secret leaked.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Reply:
    tool_input: Any = None  # the forced tool's input / arguments
    text: str | None = None  # a text answer (no tool call)
    refusal: str | None = None  # the model's refusal text
    status: int = 200  # an HTTP error status when not 200
    message: str | None = None  # the error's message (a default per status otherwise)
    retry_after: float | None = None  # the retry-after header of an error, seconds
    delay: float = 0.0  # seconds before answering
    usage: dict[str, int] = field(default_factory=dict)  # usage fields to report instead of the estimate
    finish: str | None = None  # stop_reason / finish_reason instead of the usual one
    has_tool_input: bool = False  # tool_input was given (it may be None on purpose)


def tool_call(data: Any, *, delay: float = 0.0, usage: dict[str, int] | None = None,
              finish: str | None = None) -> Reply:
    return Reply(tool_input=data, has_tool_input=True, delay=delay, usage=usage or {}, finish=finish)


def text_answer(text: str, *, delay: float = 0.0, finish: str | None = None) -> Reply:
    return Reply(text=text, delay=delay, finish=finish)


def refusal(text: str = "I can't help with that.", *, delay: float = 0.0) -> Reply:
    return Reply(refusal=text, delay=delay)


def error(status: int, *, retry_after: float | None = None, message: str | None = None,
          delay: float = 0.0) -> Reply:
    return Reply(status=status, retry_after=retry_after, message=message, delay=delay)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON body (None when empty or not JSON)
    text: str  # the body as received
    status: int = 0  # what the fake answered
    request_id: str = ""


class FakeModelServer:
    """Start/stop like the other fakes: a context manager, or start()/stop()."""

    name = "fake-model-api"
    api_key = "fake-model-key"

    def __init__(self, api_key: str | None = None, *, handler: Callable[[Any], Reply] | None = None):
        if api_key is not None:
            self.api_key = api_key
        self.handler = handler
        self.requests: list[Received] = []
        self.handler_errors: list[Exception] = []
        self._planned: deque[Reply] = deque()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._prefixes: set[str] = set()  # prompt prefixes seen, for the cache token counts

    # --- control -------------------------------------------------------------------------------------
    def start(self) -> str:
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"fake": self, "server_version": self.name})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # a short poll interval: stop() (shutdown) waits for the serve loop to notice
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self.name,
                                        daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()  # wakes the replies still waiting out their delay
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
        raise NotImplementedError

    def reply(self, *replies: Reply) -> None:
        """Plan the next answers, in order."""
        with self._lock:
            self._planned.extend(replies)

    @property
    def planned(self) -> int:
        with self._lock:
            return len(self._planned)

    @property
    def last(self) -> Received:
        return self.requests[-1]

    def sent_anywhere(self, secret: str) -> bool:
        """Whether `secret` appeared in any request body received."""
        return any(secret in r.text for r in self.requests)

    # --- one request -----------------------------------------------------------------------------------
    def _next_reply(self, body: Any) -> Reply:
        with self._lock:
            if self._planned:
                return self._planned.popleft()
        if self.handler is not None:
            return self.handler(body)
        return error(400, message="fake: no reply planned for this request")

    def _cache_tokens(self, prefix: str, cacheable: bool) -> tuple[int, int]:
        """(read, written): a prefix seen before is read from the cache, a new one written to it."""
        if not cacheable:
            return 0, 0
        tokens = _tokens(prefix)
        with self._lock:
            if prefix in self._prefixes:
                return tokens, 0
            self._prefixes.add(prefix)
            return 0, tokens

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, dict]:
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        received = Received(method, path, headers, body, text, request_id=self._request_id())
        with self._lock:
            self.requests.append(received)
        try:
            status, payload, extra = self.respond(received)
        except Exception as exc:  # noqa: BLE001  (a test's handler failed: say so, 400 is not retried)
            self.handler_errors.append(exc)
            status, payload, extra = self._error(received, 400, f"fake: the reply handler failed: {exc!r}")
        received.status = status
        return status, payload, extra

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # --- per API ---------------------------------------------------------------------------------------
    def respond(self, received: Received) -> tuple[int, dict, dict]:
        raise NotImplementedError

    def _error(self, received: Received, status: int, message: str | None = None) -> tuple[int, dict, dict]:
        raise NotImplementedError

    def _request_id(self) -> str:
        return uuid.uuid4().hex


def _tokens(text: str) -> int:
    """A rough token count (4 characters a token), enough for plausible usage numbers."""
    return max(1, len(text) // 4)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeModelServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.fake.handle(self.command, self.path.split("?", 1)[0], headers, raw)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timed out) meanwhile
            self.close_connection = True

    do_GET = do_POST = _serve
