"""Certificates near expiry: the validator's measured days left (`tls.cert_days_left`, one per public host name)
turned into `cert_expiring` alerts, for the run log and the notifications.

The finding `nginx_proxy.certificate_days_left` fails below `validation.cert_min_days`; the alert comes
earlier, below `validation.cert_alert_days`, so that someone hears of a renewal that keeps failing while the
certificate still works.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from orchestrator.validation.findings import Metric

CERT_METRIC = "tls.cert_days_left"
KIND = "cert_expiring"


@dataclass(frozen=True)
class Expiring:
    hostname: str
    days_left: float
    not_after: str  # ISO date, or "" when the figure came without it
    severity: str  # high: below cert_min_days (the check fails too) or expired; warning: below cert_alert_days

    @property
    def message(self) -> str:
        when = f" ({self.not_after[:10]})" if self.not_after else ""
        if self.days_left < 0:
            return f"the certificate of {self.hostname} expired {abs(self.days_left):.0f} day(s) ago{when}"
        return f"the certificate of {self.hostname} expires in {self.days_left:.0f} day(s){when}"


def expiring(metrics: list[Metric], alert_days: int, min_days: int) -> list[Expiring]:
    """Each measured certificate with fewer than `alert_days` days left."""
    found = []
    for m in metrics:
        if m.name != CERT_METRIC or m.value is None or m.value >= alert_days:
            continue
        try:
            not_after = str(json.loads(m.detail or "{}").get("not_after") or "")
        except (ValueError, AttributeError):
            not_after = ""
        severity = "high" if m.value < min(min_days, alert_days) or m.value < 0 else "warning"
        found.append(Expiring(m.target or "?", float(m.value), not_after, severity))
    return found
