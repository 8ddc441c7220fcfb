"""Security audit tools and how to read them: Lynis on the host, ssh-audit and sslyze from the controller.

The runners return the tools' raw output; the parsers turn it into figures. The suites (test_audit.py) compare
the figures with the request's thresholds and record them as metrics.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.validation.hardening import skipped_controls

LYNIS_REPORT = "/var/log/lynis-report.dat"
# Why a Lynis suggestion is left on a host the roles manage (lynis_left.yml, shipped with the package).
LYNIS_LEFT = Path(__file__).with_name("lynis_left.yml")
LEFT_REASONS = {"container": "not applicable in a container", "service": "conflicts with a service",
                "operator": "operator's choice"}
UNEXPLAINED = "unexplained"
# sslyze pins cryptography<47, older than the one ansible-core gets here: it lives in a venv of its own
# (scripts/install-audit-tools.sh), found on PATH, beside this interpreter or in the tools cache.
SSLYZE_VENV = Path.home() / ".cache/aidevops/tools/sslyze"


# -- Lynis ---------------------------------------------------------------------------------------

@dataclass
class LynisReport:
    hardening_index: int | None
    warnings: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)


def parse_lynis_report(text: str) -> LynisReport:
    """/var/log/lynis-report.dat: key=value lines; warning[]= and suggestion[]= repeat (TEST-ID|text|...)."""
    index, warnings, suggestions = None, [], []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "hardening_index" and value.strip().isdigit():
            index = int(value.strip())
        elif key == "warning[]":
            warnings.append(value.strip())
        elif key == "suggestion[]":
            suggestions.append(value.strip())
    return LynisReport(index, warnings, suggestions)


def lynis_entry(raw: str) -> tuple[str, str, str]:
    """(test id, text, details) of one warning[]= or suggestion[]= value: TEST-ID|text|details|solution;
    details is "" when Lynis gave none ("-")."""
    test, text, details = ([*raw.split("|"), "", ""])[:3]
    details = details.strip()
    return test.strip(), text.strip(), "" if details == "-" else details


def _shown(text: str, details: str) -> str:
    return f"{text} ({details})" if details else text


def load_lynis_left(path: Path = LYNIS_LEFT) -> dict[str, dict[str, str]]:
    """Test id -> {reason, why}; a reason outside LEFT_REASONS is a mistake in the table, said loudly."""
    import yaml  # the suites' interpreter has it (ansible's dependency); kept out of the module's import cost

    table = yaml.safe_load(path.read_text()) or {}
    for test, entry in table.items():
        if not isinstance(entry, dict) or entry.get("reason") not in LEFT_REASONS or not entry.get("why"):
            raise ValueError(f"{path.name}: {test}: expected {{reason: {'|'.join(LEFT_REASONS)}, why: ...}}")
    return table


def suggestions_left(report: LynisReport, table: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """Every suggestion with why it is left: the table's reason, else `unexplained` (shown, never hidden)."""
    out = []
    for raw in report.suggestions:
        test, text, details = lynis_entry(raw)
        # `TEST:Word` explains one suggestion of a test whose details name what it is about (SSH-7408's option),
        # or, with no details, whose text starts with Word (HTTP-6710 has three texts and no details).
        word = (details or text).split()[0] if (details or text) else ""
        known = table.get(f"{test}:{word}") or table.get(test) or {}
        out.append({"test": test, "text": _shown(text, details), "reason": known.get("reason", UNEXPLAINED),
                    "why": known.get("why", "")})
    return out


def lynis_detail(report: LynisReport, table: dict[str, dict[str, str]], manifest: dict | None = None) -> dict:
    """What the run store keeps of one host's audit (the lynis.hardening_index metric's detail): its warnings,
    every suggestion left with its reason, and the security level the role's manifest says is applied."""
    manifest = manifest or {}
    return {
        "warnings": [{"test": test, "text": _shown(text, details)}
                     for test, text, details in map(lynis_entry, report.warnings)],
        "suggestions": suggestions_left(report, table),
        "security_level": manifest.get("security_level"),
        "controls_skipped": skipped_controls(manifest),
    }


# -- ssh-audit -----------------------------------------------------------------------------------

@dataclass
class SshAudit:
    fail: int
    warn: int
    failures: list[str]  # "key ecdsa-sha2-nistp256: using elliptic curves ..."
    warnings: list[str]
    banner: str = ""


def parse_ssh_audit(data: dict) -> SshAudit:
    """ssh-audit -j: each algorithm's notes.fail / notes.warn entry is one [fail] / [warn] line; a CVE is a fail."""
    failures, warnings = [], []
    for kind in ("kex", "key", "enc", "mac"):
        for algo in data.get(kind) or []:
            notes = algo.get("notes") or {}
            failures += [f"{kind} {algo.get('algorithm')}: {n}" for n in notes.get("fail") or []]
            warnings += [f"{kind} {algo.get('algorithm')}: {n}" for n in notes.get("warn") or []]
    for cve in data.get("cves") or []:
        failures.append(f"{cve.get('name')}: {cve.get('description', '')}".strip())
    banner = (data.get("banner") or {}).get("raw") or ""
    return SshAudit(len(failures), len(warnings), failures, warnings, banner)


def run_ssh_audit(address: str, port: int, timeout: int = 60) -> dict:
    """ssh-audit's JSON for ADDRESS:PORT. One connection: the rate test would open dozens, which fail2ban bans."""
    exe = shutil.which("ssh-audit") or str(Path(sys.executable).parent / "ssh-audit")
    if not Path(exe).exists():
        raise RuntimeError("ssh-audit is not installed on the controller (pip install 'ssh-audit>=3.9')")
    proc = subprocess.run([exe, "-j", "--skip-rate-test", "-p", str(port), address], check=False, capture_output=True,
                          text=True, timeout=timeout)
    # Exit codes 0-3 are its verdicts (good, warn, fail); anything else, or no JSON, means it could not audit.
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"ssh-audit exited {proc.returncode}: "
                           f"{(proc.stdout or proc.stderr).strip().splitlines()[-1:] or ''}") from None


# -- sslyze --------------------------------------------------------------------------------------

@dataclass
class TlsCompliance:
    compliant: bool
    issues: dict[str, str]  # criterion -> why


_COMPLIANCE = re.compile(r"^\s+(?P<server>\S.*?): (?P<verdict>OK - Compliant|FAILED - Not compliant)\.", re.MULTILINE)
_ISSUE = re.compile(r"^\s+\* (?P<criterion>[\w.-]+): (?P<why>.*)$")


def parse_sslyze_compliance(stdout: str) -> TlsCompliance:
    """The 'Compliance against TLS configuration' section of sslyze's console output.

    sslyze's JSON output holds the scan but not this verdict, which its CLI computes and prints."""
    section = stdout.partition("COMPLIANCE AGAINST")[2] or stdout.partition("Compliance against")[2]
    match = _COMPLIANCE.search(section)
    if not match:
        tail = [line.strip() for line in stdout.strip().splitlines()[-3:]]
        raise ValueError(f"no compliance verdict in sslyze's output: {' / '.join(tail)}")
    issues = {}
    for line in section[match.end():].splitlines()[1:]:
        m = _ISSUE.match(line)
        if m:
            issues[m["criterion"]] = m["why"].strip()
        elif line.strip():
            break
    return TlsCompliance(match["verdict"].startswith("OK"), issues)


def sslyze_executable() -> str | None:
    for candidate in (shutil.which("sslyze"), Path(sys.executable).parent / "sslyze", SSLYZE_VENV / "bin/sslyze"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def run_sslyze(hostname: str, port: int, address: str, profile: str, ca_file: Path | None,
               timeout: int = 300) -> str:
    """sslyze's console output for HOSTNAME (SNI) at ADDRESS:PORT, checked against Mozilla's PROFILE."""
    exe = sslyze_executable()
    if exe is None:
        raise RuntimeError("sslyze is not installed on the controller (scripts/install-audit-tools.sh)")
    cmd = [exe, f"--mozilla_config={profile}", f"{hostname}:{port}{{{address}}}"]
    if ca_file:
        cmd.insert(1, f"--certinfo_ca_file={ca_file}")
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=env)
    return proc.stdout + proc.stderr
