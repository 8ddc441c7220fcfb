"""Security audits: Lynis on each host, ssh-audit of its SSH port, TLS scan of each HTTPS endpoint (sslyze)."""

from __future__ import annotations

import json

import pytest

from orchestrator.validation import audits, hardening


@pytest.mark.severity("medium")
def test_lynis_hardening_index(host, settings, metric):
    """Lynis's hardening index reaches the threshold."""
    if not host.exists("lynis"):
        install = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis"
        # A stale package list (404s) is the usual reason an install fails: refresh it once and retry.
        done = host.run(install)
        if done.rc != 0:
            done = host.run(f"apt-get update -q && {install}")
        assert done.rc == 0, f"cannot install lynis: {done.stderr.strip().splitlines()[-1:] or ''}"
    run = host.run("lynis audit system --quick --no-colors")
    assert run.rc == 0, f"lynis audit failed (rc {run.rc}): {run.stderr.strip()[:200]}"
    report = audits.parse_lynis_report(host.file(audits.LYNIS_REPORT).content_string)
    assert report.hardening_index is not None, f"no hardening_index in {audits.LYNIS_REPORT}"
    floor = settings["lynis_min_index"]
    ok = report.hardening_index >= floor
    # Every suggestion left is stored with why (lynis_left.yml), `unexplained` when the table has none.
    detail = audits.lynis_detail(report, audits.load_lynis_left(), hardening.read_manifest(host))
    metric("lynis.hardening_index", host.backend.host, report.hardening_index, threshold=floor, passed=ok,
           detail=json.dumps(detail))
    assert ok, f"Lynis hardening index {report.hardening_index}, below {floor} " \
               f"({len(report.warnings)} warning(s), {len(report.suggestions)} suggestion(s))"


@pytest.mark.severity("medium")
def test_ssh_audit(host_info, settings, metric):
    """ssh-audit finds no more [fail] and [warn] items than allowed."""
    where = f"{host_info['address']}:{host_info['ssh_port']}"
    result = audits.parse_ssh_audit(audits.run_ssh_audit(host_info["address"], host_info["ssh_port"]))
    max_fail, max_warn = settings["ssh_audit_max_fail"], settings["ssh_audit_max_warn"]
    metric("ssh_audit.fail", where, result.fail, threshold=max_fail, passed=result.fail <= max_fail,
           detail=json.dumps(result.failures))
    metric("ssh_audit.warn", where, result.warn, threshold=max_warn, passed=result.warn <= max_warn,
           detail=json.dumps(result.warnings))
    assert result.fail <= max_fail, f"{result.fail} fail(s), over {max_fail}: {'; '.join(result.failures)[:300]}"
    assert result.warn <= max_warn, f"{result.warn} warning(s), over {max_warn}: {'; '.join(result.warnings)[:300]}"


@pytest.mark.severity("medium")
def test_tls_mozilla_profile(target, settings, metric, ca_file):
    """The HTTPS endpoint complies with Mozilla's TLS profile (intermediate by default), scanned by sslyze."""
    profile = settings["tls_profile"]
    if audits.sslyze_executable() is None:
        pytest.skip("sslyze is not installed on the controller (scripts/install-audit-tools.sh)")
    out = audits.run_sslyze(target["hostname"], target["https_port"], _address(target), profile, ca_file)
    result = audits.parse_sslyze_compliance(out)
    reasons = "; ".join(f"{k}: {v}" for k, v in result.issues.items())
    metric(f"tls.mozilla_{profile}", target["hostname"], 1 if result.compliant else 0, passed=result.compliant,
           text_value="compliant" if result.compliant else "not compliant", detail=reasons)
    assert result.compliant, f"not compliant with Mozilla {profile}: {reasons[:400]}"


def _address(target) -> str:
    """sslyze wants an IP address to connect to (the name is only the SNI)."""
    import socket
    return socket.getaddrinfo(target["connect"], target["https_port"], proto=socket.IPPROTO_TCP)[0][4][0]
