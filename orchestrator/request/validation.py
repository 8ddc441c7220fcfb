"""The request's `validation:` section: thresholds the figures are compared with, the CA that certificates must
chain to, and whether the (slow) security audits run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from orchestrator.request.fields import FilePath, Section


class ValidationSettings(Section):
    audit: bool = Field(True, description="Run Lynis, ssh-audit and the TLS scan (a few minutes); "
                                          "`aidevops validate --no-audit` skips them once.")
    drill: bool = Field(True, description="Run the restore drill of every deployed service with backups: its "
                                          "latest snapshot into scratch containers on the host, checked, removed.")
    backup_max_age_hours: float = Field(26, gt=0, le=24 * 400, description="The latest backup may be this old "
                                        "(a daily timer plus slack); older, or a failed drill, is a high finding.")
    lynis_min_index: int = Field(75, ge=0, le=100, description="Lynis hardening index a host must reach. A "
                                 "hardened VM reaches about 90; a container cannot.")
    ssh_audit_max_fail: int = Field(0, ge=0, le=1000, description="ssh-audit [fail] items allowed on the SSH port.")
    ssh_audit_max_warn: int = Field(5, ge=0, le=1000, description="ssh-audit [warn] items allowed (advice, e.g. a "
                                    "key exchange without post-quantum protection kept for older clients).")
    tls_profile: Literal["modern", "intermediate", "old"] = Field(
        "intermediate", description="Mozilla TLS profile every HTTPS endpoint must comply with.")
    cert_min_days: int = Field(14, ge=0, le=3650, description="Certificates must stay valid this many days more.")
    cert_alert_days: int = Field(21, ge=0, le=3650, description="A certificate with fewer days left raises a "
                                 "cert_expiring alert (notified; see notifications). certbot renews 30 days "
                                 "before expiry, so below 21 renewal has been failing for over a week.")
    response_ms_max: int = Field(1500, ge=1, le=600_000, description="Response time of each public endpoint "
                                 "(its health URL), in milliseconds.")
    mem_min_available_mb: int = Field(256, ge=0, le=10_000_000, description="Free memory a host must have, in MB.")
    disk_min_free_pct: int = Field(15, ge=0, le=100, description="Free space on / a host must have, in percent.")
    load_max_per_core: float = Field(2.0, gt=0, le=1000, description="5-minute load average per CPU core allowed.")
    ca_file: FilePath | None = Field(None, description="PEM file of the CA the certificates must chain to, relative "
                                     "to the inventory or absolute (default: the system trust store).")

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def ca_path(self, inventory: Path) -> Path | None:
        """ca_file, relative to the inventory folder unless absolute."""
        if not self.ca_file:
            return None
        path = Path(self.ca_file).expanduser()
        return path if path.is_absolute() else inventory / path
