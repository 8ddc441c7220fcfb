"""Where notifications go: the Apprise URLs kept in the inventory's vault, and sending one message to them.

Apprise speaks to Slack, e-mail, ntfy, Matrix, Telegram, generic JSON webhooks and many more, one URL per
channel (https://github.com/caronc/apprise/wiki). Those URLs carry tokens and passwords, so they live in an
encrypted vault file of the inventory (`group_vars/all/vault*.yml`), under one key:

    aidevops_notify_urls:
      - "ntfys://ntfy.example.com/ops"                  # every event the request's notifications: enable
      - url: "mailto://user:pass@smtp.example.com?to=ops@example.com"
        tags: [failed, alert]                           # only failed runs and alerts

Which events go out at all is the request's `notifications:` section; a channel's tags narrow it further.
A URL is checked with Apprise when the inventory is read, and is never printed: a channel is named by its
private form (Apprise's `url(privacy=True)`, passwords and path tokens hidden), e.g. `json hooks.example.com/x`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from orchestrator import vault
from orchestrator.errors import BadInput
from orchestrator.redact import Redactor

VAULT_KEY = "aidevops_notify_urls"
ALERT_KINDS = ("drill_failed", "backup_stale", "backup_failed", "drift_found", "upgrade_rolled_back",
               "cert_expiring")
RUN_EVENTS = ("succeeded", "degraded", "failed", "cancelled")
TAGS = (*RUN_EVENTS, "alert", *ALERT_KINDS)  # what a channel's tags may name
_TOKEN_MIN = 12  # path parts at least this long are treated as tokens and masked wherever they appear
_SECRET_PARAM = re.compile(r"(token|key|secret|pass|auth)", re.IGNORECASE)


@dataclass(frozen=True)
class Channel:
    url: str  # a secret: never printed
    name: str  # the URL with its secrets hidden, fit to show
    tags: tuple[str, ...] = ()  # empty: every event the request enables

    def wants(self, event_tags: tuple[str, ...]) -> bool:
        return not self.tags or bool(set(self.tags) & set(event_tags))

    def secrets(self) -> list[str]:
        """The URL and the parts of it that may be tokens, so the run's redactor masks them even when a
        channel's error message quotes only a piece of the URL."""
        parts = urlsplit(self.url)
        found = [self.url]
        if parts.password:
            found.append(unquote(parts.password))
        found += [unquote(p) for p in parts.path.split("/") if len(p) >= _TOKEN_MIN]
        found += [v for k, v in parse_qsl(parts.query) if _SECRET_PARAM.search(k) and len(v) >= 6]
        if parts.username and len(parts.username) >= _TOKEN_MIN:
            found.append(unquote(parts.username))
        return found


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    ok: bool
    error: str = ""  # why it failed, from Apprise's log; may quote the URL: redact before showing


def load_channels(inventory: Path) -> list[Channel]:
    """The channels of the inventory's vault (none when the key is absent), each URL checked with Apprise."""
    channels: list[Channel] = []
    folder = Path(inventory) / "group_vars" / "all"
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        encrypted = path.read_text(errors="replace").startswith("$ANSIBLE_VAULT")
        if not encrypted:
            if re.search(rf"^{VAULT_KEY}\s*:", path.read_text(errors="replace"), re.MULTILINE):
                raise BadInput(f"{VAULT_KEY}: the notification URLs hold tokens, and this file is not encrypted",
                               where=str(path), hint=f"move them to a vault file: ansible-vault edit "
                                                     f"{folder / 'vault.yml'}")
            continue
        try:
            data = vault.read_vars(path, Path(inventory))
        except Exception:  # noqa: BLE001, S112 - preflight and RunSession report an unreadable vault file
            continue
        if VAULT_KEY in data:
            channels += _parse(data[VAULT_KEY], str(path))
    return channels


def _parse(value: Any, where: str) -> list[Channel]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{VAULT_KEY}: expected a list of Apprise URLs, got {type(value).__name__}", where=where,
                       hint='e.g. aidevops_notify_urls: ["ntfys://ntfy.example.com/ops"]')
    channels = []
    for i, item in enumerate(value):
        key = f"{VAULT_KEY}[{i}]"
        tags: list[Any] = []
        if isinstance(item, dict):
            unknown = set(item) - {"url", "tags"}
            if unknown or "url" not in item:
                raise BadInput(f"{key}: expected a URL, or a mapping with url and tags", where=where,
                               hint=f"unknown key {min(map(str, unknown))}" if unknown else "url is missing")
            item, tags = item["url"], item.get("tags") or []
            if not isinstance(tags, list) or any(t not in TAGS for t in tags):
                raise BadInput(f"{key}.tags: expected a list of event names", where=where,
                               hint=f"each one of {', '.join(TAGS)}")
        if not isinstance(item, str) or not item.strip():
            raise BadInput(f"{key}: expected an Apprise URL as text, got {type(item).__name__}", where=where)
        plugin, complaint = _plugin(item)
        if plugin is None:  # never quote the URL: it holds a token
            scheme = item.split("://", 1)[0] if "://" in item else "?"
            why = Redactor(Channel(item, "").secrets()).text(complaint)[:120]
            raise BadInput(f"{key}: Apprise cannot use this URL (scheme {scheme[:20]!r}{': ' + why if why else ''})",
                           where=where, hint="see https://github.com/caronc/apprise/wiki for each service's URL")
        channels.append(Channel(item, _name(item, plugin), tuple(tags)))
    return channels


def _name(url: str, plugin) -> str:
    """Apprise's private form of the URL (passwords hidden), without the query of its defaults
    (retry=0&wait=0.5...), with the tokens of the path hidden too, and written `scheme host/path`: the whole URL
    is a vault value, so the run's redactor would mask a name spelt exactly like it."""
    name = plugin.url(privacy=True).split("?", 1)[0].replace("://", " ", 1)
    return Redactor(Channel(url, "").secrets()[1:]).text(name)


def _plugin(url: str):
    """(Apprise's plugin for the URL or None, the first thing Apprise said about it)."""
    import apprise

    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:  # kept off the terminal
        plugin = apprise.Apprise.instantiate(url)
    lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
    return plugin, (lines[0] if lines else "")


def send(channels: list[Channel], title: str, body: str, *, notify_type: str = "info") -> list[Delivery]:
    """Send one message to each channel, one after the other (each bounded by its own socket timeouts,
    Apprise's `cto`/`rto` URL options, 4 s by default)."""
    return [_send_one(channel, title, body, notify_type) for channel in channels]


def _send_one(channel: Channel, title: str, body: str, notify_type: str) -> Delivery:
    import apprise

    # Apprise logs why a send failed; captured here so it is neither lost nor printed on the terminal.
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        try:
            plugin = apprise.Apprise.instantiate(channel.url)
            ok = plugin is not None and bool(plugin.notify(body=body, title=title, notify_type=notify_type,
                                                           body_format=apprise.NotifyFormat.TEXT))
            error = "" if ok else "Apprise cannot use this URL" if plugin is None else ""
        except Exception as exc:  # noqa: BLE001 - a plugin's bug must not end the run
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if not ok and not error:
            lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
            error = lines[-1] if lines else "Apprise reported a failure"
    return Delivery(channel, ok, error[:300])
