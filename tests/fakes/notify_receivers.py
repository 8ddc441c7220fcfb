"""Loopback receivers for notifications, as Apprise's real plugins reach them: an HTTP webhook (Apprise's
`json://` plugin) and an SMTP server (aiosmtpd; Apprise's `mailto://` plugin, plain SMTP with a login).
Both listen on 127.0.0.1 only and are stopped by the `with` block that started them."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Webhook:
    """Records every POST's JSON body; answers `status` (200, or 500 to play a broken receiver)."""

    def __init__(self, status: int = 200):
        self.status, self.received = status, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append({"path": self.path, "json": json.loads(body or b"{}")})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def texts(self) -> list[str]:
        return [f"{r['json'].get('title', '')}\n{r['json'].get('message', '')}" for r in self.received]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An SMTP server that offers AUTH over plain SMTP, accepts one login (user/password), refuses others,
    and keeps every message."""

    def __init__(self, user: str = "notifier", password: str = "smtp-Passw0rd-42"):
        self.user, self.password, self.messages, self.logins = user, password, [], []
        self.port = free_port()
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and \
                (auth_data.login.decode(), auth_data.password.decode()) == (self.user, self.password)
            outer.logins.append(ok)
            return AuthResult(success=ok)

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticate,
                                     auth_require_tls=False)

    def url(self, to: str = "ops@example.com") -> str:
        return (f"mailto://{self.user}:{self.password}@127.0.0.1:{self.port}"
                f"?from=aidevops@example.com&to={to}")

    def texts(self) -> list[str]:
        return [f"{m['subject']}\n{m.get_body(('plain',)).get_content()}".replace("\r\n", "\n") for m in self.messages]

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
