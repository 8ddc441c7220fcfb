"""One place that knows the run's secret values and masks them in anything logged, stored or sent out."""

from __future__ import annotations

import re
from typing import Any

MASK = "********"

# Common shapes of secrets, masked even when the run does not know the value.
_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
    re.compile(r"\b(sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9]{20,})"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWTs
    re.compile(r"(?i)((?:password|passwd|secret|token|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"),
]
# A string whose lowercase form holds none of these cannot match any of _PATTERNS (a quick test first).
_TRIGGERS = ("private key", "sk-", "eyj", "password", "passwd", "secret", "token", "api")
_SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key)$")  # a key naming a secret: db_password


class Redactor:
    def __init__(self, secrets: list[str] | None = None):
        self._secrets: list[str] = []  # longest first, so a secret containing another is masked whole
        for s in secrets or []:
            self.add(s)

    def add(self, value: Any) -> None:
        # Short values would mask ordinary words; they are not worth a secret's name anyway.
        if isinstance(value, str) and len(value) >= 6 and value not in self._secrets:
            self._secrets = sorted([*self._secrets, value], key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        # Most text (task names, paths, hosts) holds none of the patterns' words: skip the regular expressions.
        lowered = value.lower()
        if not any(word in lowered for word in _TRIGGERS):
            return value
        for pattern in _PATTERNS:
            if pattern.groups == 2:
                value = pattern.sub(lambda m: m.group(1) + MASK, value)
            else:
                value = pattern.sub(MASK, value)
        return value

    def data(self, value: Any, *, keys: bool = False) -> Any:
        """Redact every string inside nested dicts and lists. keys=True: also mask a string whose key names a
        secret (`db_password: ...`), as text() does in `key: value` text; other values (true, 3600) are kept,
        so that redacted JSON stays JSON."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: MASK if keys and isinstance(v, str) and v and _SECRET_KEY.search(str(k))
                    else self.data(v, keys=keys) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v, keys=keys) for v in value]
        return value
