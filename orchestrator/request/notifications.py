"""The request's `notifications:` section: which events are sent to the channels in the vault
(`aidevops_notify_urls`, see orchestrator/notify.py), and how long the end of a run waits for them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from orchestrator.request.fields import Section

SEVERITIES = ("info", "warning", "high")  # of an alert, lowest first


class NotificationSettings(Section):
    succeeded: bool = Field(True, description="Send when a run succeeded. On by default: when only failures are "
                            "sent, a broken channel or a schedule that stopped looks the same as all being well.")
    degraded: bool = Field(True, description="Send when a run was degraded (exit 3): it did its work with a "
                                             "fallback or a medium/low finding.")
    failed: bool = Field(True, description="Send when a run failed (exit 1).")
    cancelled: bool = Field(False, description="Send when a run was cancelled (exit 130); off: whoever cancelled "
                                               "it knows.")
    alerts: bool = Field(True, description="Send the alerts a run raises: drill_failed, backup_stale, "
                                           "backup_failed, drift_found, upgrade_rolled_back, cert_expiring.")
    alert_min_severity: Literal["info", "warning", "high"] = Field(
        "info", description="Send only alerts at least this severe: info, warning or high.")
    timeout: int = Field(10, ge=1, le=300, json_schema_extra={"unit": "seconds"},
                         description="Seconds the end of a run waits for its notifications to go out; a channel "
                                     "still sending then is left behind with a warning in the run log.")

    def wants_run(self, status: str) -> bool:
        return bool(getattr(self, status, False)) if status in ("succeeded", "degraded", "failed",
                                                                  "cancelled") else False

    def wants_alert(self, severity: str) -> bool:
        rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1  # unknown: loud
        return self.alerts and rank >= SEVERITIES.index(self.alert_min_severity)
