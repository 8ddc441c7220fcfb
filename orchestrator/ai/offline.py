"""The offline provider: deterministic rules that need no key and no network.

It is the default, and the answer every other provider falls back to: the strategy rule of the plan,
no tactical changes (the roles' defaults and the inventory stand), a failure analyser that knows the
common signatures, and optimization notes read from the run's own figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RETRY, RETRY_WITH_VARIABLES, SKIP, ABORT = "retry", "retry_with_variables", "skip", "abort"
ACTIONS = (RETRY, RETRY_WITH_VARIABLES, SKIP, ABORT)


@dataclass(frozen=True)
class Signature:
    name: str
    pattern: re.Pattern
    action: str
    backoff: int  # seconds before the first retry; later ones wait longer (run/backoff.py)
    reason: str


# Matched on the failed events' module, message and stderr, first match wins (most specific first).
SIGNATURES = (
    Signature("disk_full", re.compile(r"No space left on device|disk (is )?full|ENOSPC", re.IGNORECASE), ABORT, 0,
              "the disk is full: free space on the host (logs, docker images) and run again"),
    Signature("apt_lock", re.compile(
        r"Could not get lock|Unable to acquire the dpkg frontend lock|dpkg was interrupted|"
        r"is another process using it|Failed to lock apt for exclusive operation|/var/lib/dpkg/lock", re.IGNORECASE),
        RETRY, 30, "apt/dpkg is locked by another process (often unattended-upgrades): wait and retry"),
    # Before "unreachable": certbot's own "Connection refused" is the CA's, not the host's SSH.
    Signature("acme_down", re.compile(
        r"ACME issuance failed.*(Connection refused|Connection reset|timed out|Failed to establish a new connection|"
        r"Max retries exceeded|Service Unavailable)", re.IGNORECASE | re.DOTALL),
        RETRY, 60, "the ACME CA does not answer: wait and retry once (nginx_proxy_allow_self_signed serves a "
        "self-signed certificate meanwhile)"),
    Signature("unreachable", re.compile(
        r"UNREACHABLE|Failed to connect to the host via ssh|Connection timed out|Connection refused|"
        r"No route to host|Connection reset by peer|kex_exchange_identification", re.IGNORECASE),
        RETRY, 20, "the host was unreachable over SSH: wait and retry"),
    Signature("port_in_use", re.compile(
        r"Address already in use|bind\(\) to \S+ failed \(98|port is already allocated|port \d+ is taken by",
        re.IGNORECASE), ABORT, 0, "a port the service needs is taken by another process: free it and run again"),
    Signature("dns_not_resolvable", re.compile(
        r"NXDOMAIN|Temporary failure in name resolution|Could not resolve host|Name or service not known|"
        r"DNS problem|no valid A records|SERVFAIL", re.IGNORECASE),
        RETRY, 60, "a name does not resolve yet (DNS propagation): wait and retry"),
    Signature("acme_failure", re.compile(
        r"urn:ietf:params:acme:error|Some challenges have failed|certbot\b.*(failed|error)|"
        r"acme\b.*(challenge|order|account|directory).*(fail|error|refused)", re.IGNORECASE),
        RETRY, 60, "ACME issuance failed (often DNS or port 80 not ready yet): wait and retry once"),
    Signature("docker_down", re.compile(
        r"Cannot connect to the Docker daemon|docker\.sock|Is the docker daemon running|"
        r"Error connecting: Error while fetching server API version", re.IGNORECASE),
        RETRY, 15, "the Docker daemon was not running: retry (the phase's Docker preflight starts "
        "a stopped daemon)"),
)


def match_signature(failures: list[dict[str, Any]]) -> Signature | None:
    text = "\n".join(" ".join(str(f.get(k) or "") for k in ("kind", "action", "message", "stderr"))
                     for f in failures)
    return next((s for s in SIGNATURES if s.pattern.search(text)), None)


def strategic(strategy: str, max_parallel: int, reason: str) -> dict[str, Any]:
    return {"strategy": strategy, "max_parallel": max_parallel, "reason": reason, "confidence": 1.0}


def tactical() -> dict[str, Any]:
    return {"variables": {}, "reason": "offline: no changes; the roles' defaults and the inventory stand",
            "confidence": 1.0}


def recovery(failures: list[dict[str, Any]], attempt: int) -> dict[str, Any]:
    sig = match_signature(failures)
    if sig is None:
        return {"action": ABORT, "variables": {}, "backoff_seconds": 0, "confidence": 0.5,
                "reason": "offline: no known failure signature; nothing safe to try automatically"}
    if sig.action == RETRY and attempt > 1 and sig.name in ("acme_failure", "acme_down"):
        return {"action": ABORT, "variables": {}, "backoff_seconds": 0, "confidence": 0.6,
                "reason": f"offline: {sig.name} again after a retry; needs a look (DNS records, port 80)"}
    # The signature's base wait: the orchestrator grows it with each attempt (run/backoff.py).
    return {"action": sig.action, "variables": {}, "backoff_seconds": sig.backoff,
            "confidence": 0.8, "reason": f"offline: {sig.name}: {sig.reason}"}


def optimization(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Notes for next time from this run's phases: failures, recoveries, the slowest phase."""
    suggestions = []
    for p in phases:
        if p.get("status") in ("failed", "skipped"):
            suggestions.append({"area": p["phase"], "suggestion": f"{p['phase']} {p['status']}: "
                                f"{(p.get('reason') or '')[:200]}", "reason": "fix before the next run"})
        if p.get("recovered"):
            suggestions.append({"area": p["phase"], "suggestion": f"{p['phase']} needed a recovery "
                                f"({p['recovered']}); set it in the inventory", "reason": "avoid the retry"})
    timed = [p for p in phases if p.get("duration")]
    if timed:
        slow = max(timed, key=lambda p: p["duration"])
        suggestions.append({"area": slow["phase"], "suggestion": f"slowest phase: {slow['phase']} "
                            f"({slow['duration']:.0f}s)", "reason": "where a faster run would start"})
    return {"suggestions": suggestions, "reason": "offline: read from this run's phases", "confidence": 1.0}
