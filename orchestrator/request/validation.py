"""The request's `validation:` section: thresholds the figures are compared with, the CA that certificates must
chain to, and whether the (slow) security audits run.

Checked like the rest of the request: an unknown key or a value of the wrong kind is one error line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ValidationSettings:
    audit: bool = True  # Lynis, ssh-audit and the TLS scan (`aidevops validate --no-audit` turns them off)
    lynis_min_index: int = 75  # Lynis hardening index (0-100) of a hardened VM; a container cannot reach it
    ssh_audit_max_fail: int = 0  # ssh-audit [fail] lines allowed
    ssh_audit_max_warn: int = 5  # ssh-audit [warn] lines allowed (advice, e.g. no post-quantum key exchange)
    tls_profile: str = "intermediate"  # Mozilla profile the TLS scan checks against
    cert_min_days: int = 14  # certificates must stay valid this many days more
    response_ms_max: int = 1500  # response time of each public endpoint
    mem_min_available_mb: int = 256
    disk_min_free_pct: int = 15
    load_max_per_core: float = 2.0
    ca_file: str | None = None  # PEM file of the CA certificates must chain to (default: the system trust store)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def ca_path(self, inventory: Path) -> Path | None:
        """ca_file, relative to the inventory folder unless absolute."""
        if not self.ca_file:
            return None
        path = Path(self.ca_file).expanduser()
        return path if path.is_absolute() else inventory / path


_INTS = {"lynis_min_index": (0, 100), "ssh_audit_max_fail": (0, 1000), "ssh_audit_max_warn": (0, 1000),
         "cert_min_days": (0, 3650), "response_ms_max": (1, 600_000), "mem_min_available_mb": (0, 10_000_000),
         "disk_min_free_pct": (0, 100)}
PROFILES = ("modern", "intermediate", "old")


def parse_validation(data: Any, fail: Callable[..., Exception]) -> ValidationSettings:
    """The settings from the request's `validation` mapping; `fail(key, message, hint)` builds the error."""
    if data is None:
        return ValidationSettings()
    if not isinstance(data, dict):
        raise fail("aidevops.validation", f"expected a mapping, got {type(data).__name__}")
    known = set(ValidationSettings.__dataclass_fields__)
    for key in data:
        if key not in known:
            raise fail(f"aidevops.validation.{key}", "unknown key", f"expected one of {', '.join(sorted(known))}")
    for key, (low, high) in _INTS.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
            raise fail(f"aidevops.validation.{key}", f"expected a whole number from {low} to {high}, got {value!r}")
    load = data.get("load_max_per_core")
    if load is not None and (isinstance(load, bool) or not isinstance(load, (int, float)) or load <= 0):
        raise fail("aidevops.validation.load_max_per_core", f"expected a positive number, got {load!r}")
    if "audit" in data and not isinstance(data["audit"], bool):
        raise fail("aidevops.validation.audit", f"expected true or false, got {data['audit']!r}")
    if data.get("tls_profile") is not None and data["tls_profile"] not in PROFILES:
        raise fail("aidevops.validation.tls_profile", f"unknown profile {data['tls_profile']!r}",
                   f"expected one of {', '.join(PROFILES)}")
    ca = data.get("ca_file")
    if ca is not None and (not isinstance(ca, str) or not ca.strip()):
        raise fail("aidevops.validation.ca_file", f"expected the path of a PEM file, got {ca!r}")
    values = {k: v for k, v in data.items() if v is not None}
    if "load_max_per_core" in values:
        values["load_max_per_core"] = float(values["load_max_per_core"])
    return ValidationSettings(**values)
