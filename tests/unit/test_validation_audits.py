"""Reading the audit tools' output: Lynis's report file, ssh-audit's JSON, sslyze's compliance verdict."""

import json

import pytest

from orchestrator.validation.audits import parse_lynis_report, parse_ssh_audit, parse_sslyze_compliance
from tests.conftest import ROOT

DATA = ROOT / "tests/unit/data"

# sslyze 6.3's console output (tail) for a server that is not compliant, and for one that is.
SSLYZE_NOT_COMPLIANT = """\
 * Elliptic Curve Key Exchange:
       Supported curves:                  X25519, prime256v1, secp384r1

 COMPLIANCE AGAINST TLS CONFIGURATION
 ------------------------------------

    Checking results against Mozilla's "intermediate" configuration. See https://ssl-config.mozilla.org/ for more details.

    n8n.sandbox.test:32768: FAILED - Not compliant.
        * certificate_path_validation: Certificate path validation failed for CN=n8n.sandbox.test.
        * maximum_certificate_lifespan: Certificate life span is 1826 days, should be less than 366.

"""
SSLYZE_COMPLIANT = """\
 COMPLIANCE AGAINST TLS CONFIGURATION
 ------------------------------------

    Checking results against Mozilla's "intermediate" configuration. See https://ssl-config.mozilla.org/ for more details.

    n8n.example.com:443: OK - Compliant.

"""


def test_lynis_report_gives_the_index_warnings_and_suggestions():
    report = parse_lynis_report((DATA / "lynis-report.dat").read_text())
    assert report.hardening_index == 67
    assert [w.split("|")[0] for w in report.warnings] == ["NETW-2705", "FIRE-4512"]
    assert len(report.suggestions) == 3


def test_lynis_report_without_an_index():
    assert parse_lynis_report("report_version_major=1\nhardening_index=\n").hardening_index is None


def test_ssh_audit_counts_fail_and_warn_notes_like_its_text_output():
    result = parse_ssh_audit(json.loads((DATA / "ssh-audit-debian13.json").read_text()))
    assert (result.fail, result.warn) == (1, 3)
    assert result.failures == [("key ecdsa-sha2-nistp256: using elliptic curves that are suspected as being "
                                "backdoored by the U.S. National Security Agency")]
    assert "kex curve25519-sha256: does not provide protection against post-quantum attacks" in result.warnings
    assert result.banner.startswith("SSH-2.0-OpenSSH_10.0")


def test_ssh_audit_counts_cves_as_failures():
    data = {"kex": [], "key": [], "enc": [], "mac": [], "cves": [{"name": "CVE-2023-38408", "cvssv2": 9.8,
                                                                  "description": "remote code execution"}]}
    result = parse_ssh_audit(data)
    assert result.fail == 1 and result.failures == ["CVE-2023-38408: remote code execution"]


def test_sslyze_not_compliant_with_its_reasons():
    result = parse_sslyze_compliance(SSLYZE_NOT_COMPLIANT)
    assert result.compliant is False
    assert result.issues == {
        "certificate_path_validation": "Certificate path validation failed for CN=n8n.sandbox.test.",
        "maximum_certificate_lifespan": "Certificate life span is 1826 days, should be less than 366.",
    }


def test_sslyze_real_output_of_a_proxy_offering_extra_curves():
    """sslyze 6.3.1 against the sandbox proxy before its catch-all TLS server got the site's curves."""
    result = parse_sslyze_compliance((DATA / "sslyze-not-compliant.txt").read_text())
    assert result.compliant is False
    assert result.issues == {"tls_curves": "TLS curves {'secp521r1', 'X448'} are supported, but should be rejected."}


def test_sslyze_compliant():
    result = parse_sslyze_compliance(SSLYZE_COMPLIANT)
    assert result.compliant is True and result.issues == {}


def test_sslyze_output_without_a_verdict_is_an_error():
    with pytest.raises(ValueError, match="no compliance verdict"):
        parse_sslyze_compliance("Could not connect to n8n.example.com:443: connection refused\n")


# -- Lynis suggestions left and why (lynis_left.yml) ---------------------------------------------

def _measured():
    """Lynis on a sandbox host after base_server (tests/unit/data: measured, not written by hand)."""
    return parse_lynis_report((DATA / "lynis-report-sandbox-base_server.dat").read_text())


def test_every_suggestion_left_has_a_reason_or_is_shown_unexplained():
    from orchestrator.validation import audits

    report = _measured()
    assert report.hardening_index == 71 and report.warnings == []
    left = audits.suggestions_left(report, audits.load_lynis_left())
    assert len(left) == len(report.suggestions) == 42  # none hidden
    by_test = {}
    for item in left:
        by_test.setdefault(item["test"], []).append(item)
    assert by_test["KRNL-6000"][0]["reason"] == "container" and "Docker" in by_test["KRNL-6000"][0]["why"]
    assert by_test["ACCT-9628"][0]["reason"] == "container"  # auditd
    assert by_test["DEB-0810"][0]["reason"] == "service"  # apt-listbugs
    assert by_test["FILE-6310"][0]["reason"] == "operator"  # partitions
    # SSH-7408 is explained per sshd option, by the first word of its details.
    ssh = {i["text"].split("(")[1].split()[0]: i["reason"] for i in by_test["SSH-7408"]}
    assert ssh == {"AllowTcpForwarding": "operator", "MaxSessions": "service", "Port": "operator",
                   "TCPKeepAlive": "operator"}
    # What a control of the role should answer is not explained away: it is shown as such.
    assert by_test["DEB-0280"][0] == {"test": "DEB-0280", "reason": "unexplained", "why": "",
                                      "text": "Install libpam-tmpdir to set $TMP and $TMPDIR for PAM sessions"}


def test_a_suggestion_without_details_is_explained_by_the_first_word_of_its_text():
    """HTTP-6710 (measured on the e2e stack): the proxy's TLS profile is explained; a weak protocol or no HTTPS
    at all, the same test id, stays unexplained."""
    from orchestrator.validation import audits

    texts = ["Change the HTTPS and SSL settings for enhanced protection of sensitive data and privacy",
             "Disable weak protocol in nginx configuration",
             "Add HTTPS to nginx virtual hosts for enhanced protection of sensitive data and privacy"]
    report = parse_lynis_report("".join(f"suggestion[]=HTTP-6710|{text}|-|-|\n" for text in texts))
    reasons = [item["reason"] for item in audits.suggestions_left(report, audits.load_lynis_left())]
    assert reasons == ["operator", "unexplained", "unexplained"]


def test_the_table_of_reasons_is_well_formed_and_ships_with_the_package(tmp_path):
    import tomllib

    from orchestrator.validation import audits

    table = audits.load_lynis_left()
    assert table and {e["reason"] for e in table.values()} <= set(audits.LEFT_REASONS)
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "validation/lynis_left.yml" in data["orchestrator"]
    bad = tmp_path / "left.yml"
    bad.write_text("KRNL-6000: {reason: kernel, why: x}\n")
    with pytest.raises(ValueError, match="KRNL-6000: expected {reason: container|service|operator"):
        audits.load_lynis_left(bad)


def test_the_stored_detail_holds_warnings_suggestions_and_the_roles_manifest():
    from orchestrator.validation import audits

    report = parse_lynis_report((DATA / "lynis-report.dat").read_text())
    manifest = {"security_level": "hardened", "controls": {
        "core_dumps": {"state": "applied"},
        "proc_hidepid": {"state": "skipped", "reason": "a container cannot remount /proc"},
        "remote_syslog": {"state": "off", "reason": "base_server_remote_syslog_target is empty"}}}
    detail = audits.lynis_detail(report, {"NETW-2705": {"reason": "operator", "why": "x"}}, manifest)
    assert [w["test"] for w in detail["warnings"]] == ["NETW-2705", "FIRE-4512"]
    assert len(detail["suggestions"]) == 3
    assert (detail["security_level"], detail["controls_skipped"]) == (
        "hardened", {"proc_hidepid": "a container cannot remount /proc"})
    assert audits.lynis_detail(report, {}, {})["security_level"] is None  # the role wrote no manifest
