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


# The security audits run only when the request asks for them (validation.audit): one of them skipped, e.g.
# because its tool is missing on the controller, is a check asked for and not made.
ASKED_FOR = ("audit.",)


def not_made(findings: list[Finding]) -> list[Finding]:
    """Checks the request asked for that were skipped."""
    return [f for f in findings if f.status == "skipped" and f.check_id.startswith(ASKED_FOR)]


def _named(f: Finding) -> str:
    return f"{f.check_id}" + (f" on {f.host}" if f.host else "") + (f": {f.evidence}" if f.evidence else "")


def verdict(findings: list[Finding]) -> tuple[str, str]:
    """(succeeded|degraded|failed, one-line reason) from the findings' statuses and severities."""
    bad = problems(findings)
    passed = sum(f.status == "passed" for f in findings)
    skipped = not_made(findings)
    if not bad and skipped:
        return "degraded", (f"{len(skipped)} check(s) asked for were skipped of {len(findings)}; "
                            f"first: {_named(skipped[0])}")
    if not bad:
        return "succeeded", f"{passed} check(s) passed"
    blocking = [f for f in bad if f.severity in BLOCKING]
    worst = min(bad, key=lambda f: SEVERITIES.index(f.severity) if f.severity in SEVERITIES else 9)
    status = "failed" if blocking else "degraded"
    counted = f"{len(blocking)} critical/high" if blocking else f"{len(bad)} medium/low"
    also = f"; {len(skipped)} asked for were skipped ({skipped[0].check_id})" if skipped else ""
    return status, f"{counted} check(s) failed of {len(findings)}; first: {_named(worst)}{also}"
