"""Findings and figures as the validator hands them to the run store, and what they mean for the run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUSES = ("passed", "failed", "error", "skipped")
BLOCKING = ("critical", "high")  # a failed check of these fails the run; lower ones degrade it


@dataclass
class Finding:
    check_id: str
    host: str | None
    status: str
    severity: str
    title: str = ""
    evidence: str = ""
    agent: str | None = None


@dataclass
class Metric:
    name: str
    target: str | None
    value: float | None
    unit: str = ""
    threshold: float | None = None
    passed: bool | None = None
    detail: str = ""
    text_value: str | None = None


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"findings": [asdict(f) for f in self.findings], "metrics": [asdict(m) for m in self.metrics]}


def problems(findings: list[Finding]) -> list[Finding]:
    """Checks that did not pass: failed ones, and errors (a check that could not run proves nothing)."""
    return [f for f in findings if f.status in ("failed", "error")]


def verdict(findings: list[Finding]) -> tuple[str, str]:
    """(succeeded|degraded|failed, one-line reason) from the findings' statuses and severities."""
    bad = problems(findings)
    passed = sum(f.status == "passed" for f in findings)
    if not bad:
        return "succeeded", f"{passed} check(s) passed"
    blocking = [f for f in bad if f.severity in BLOCKING]
    worst = min(bad, key=lambda f: SEVERITIES.index(f.severity) if f.severity in SEVERITIES else 9)
    first = f"{worst.check_id}" + (f" on {worst.host}" if worst.host else "") + (
        f": {worst.evidence}" if worst.evidence else "")
    status = "failed" if blocking else "degraded"
    counted = f"{len(blocking)} critical/high" if blocking else f"{len(bad)} medium/low"
    return status, f"{counted} check(s) failed of {len(findings)}; first: {first}"
