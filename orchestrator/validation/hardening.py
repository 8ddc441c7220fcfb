"""The hardening controls of base_server's security levels, and how to check each on a host (testinfra).

The role writes MANIFEST: the level in force and, per control, `applied`, `skipped` (wanted, not possible on
this host: `reason` says why) or `off`. The suites (validation/suites/test_hardening.py, Molecule's verify) check
the applied controls and skip the others with the manifest's reason: what a container cannot do is reported,
never failed and never faked. Names are the role's `<concern>` words (base_server_<name>_enabled).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MANIFEST = "/etc/ansible/facts.d/base_server.fact"
PQ_KEX = ("mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com")


@dataclass(frozen=True)
class Control:
    name: str  # the <concern> word
    title: str  # "Core dumps are off"
    lynis_tests: tuple[str, ...]  # the Lynis tests it answers
    check: Callable[[Any], None]  # takes a testinfra host, raises AssertionError with a clear message


def read_manifest(host) -> dict:
    """The role's manifest, or {} when the role never ran on this host (or wrote no manifest)."""
    f = host.file(MANIFEST)
    if not f.exists:
        return {}
    try:
        data = json.loads(f.content_string)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def skipped_controls(manifest: dict) -> dict[str, str]:
    """Control -> why, for the controls the manifest records as skipped (wanted, not possible on this host)."""
    return {name: (c or {}).get("reason", "") for name, c in sorted((manifest.get("controls") or {}).items())
            if (c or {}).get("state") == "skipped"}


# -- helpers -------------------------------------------------------------------------------------

def _sshd(host) -> dict[str, str]:
    out = host.check_output("sshd -T")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def _mount_options(host, path: str) -> set[str]:
    run = host.run(f"findmnt -n -o OPTIONS {path}")
    assert run.rc == 0, f"{path} is not a mount of its own"
    return set(run.stdout.strip().split(","))


def _installed(host, *packages: str) -> None:
    missing = [p for p in packages if not host.package(p).is_installed]
    assert not missing, f"not installed: {', '.join(missing)}"


def _timer_on(host, unit: str) -> None:
    svc = host.service(unit)
    assert svc.is_enabled, f"{unit} is not enabled"
    assert svc.is_running, f"{unit} is not active"


def _uncommented(host, path: str, key: str) -> list[str]:
    content = host.file(path).content_string
    return [line.split()[1] for line in content.splitlines()
            if re.match(rf"^{key}\s+\S", line)]


# -- the checks ----------------------------------------------------------------------------------

def check_ssh_crypto(host) -> None:
    s = _sshd(host)
    kex = s.get("kexalgorithms", "").split(",")
    classic = [k for k in kex if k not in PQ_KEX]
    assert kex and not classic, f"sshd offers key exchange without post-quantum protection: {', '.join(classic)}"
    if "requiredrsasize" in s:
        assert int(s["requiredrsasize"]) >= 3072, f"RequiredRSASize is {s['requiredrsasize']}, below 3072"
    weak = host.run("awk '!/^#/ && $5 < 3071' /etc/ssh/moduli | wc -l").stdout.strip()
    assert weak in ("", "0"), f"/etc/ssh/moduli still holds {weak} group(s) under 3071 bits"


def check_patch_tooling(host) -> None:
    _installed(host, "apt-show-versions", "apt-listchanges", "needrestart", "debsums")
    assert not host.package("apt-listbugs").is_installed, "apt-listbugs is installed (it breaks unattended apt runs)"
    conf = host.file("/etc/needrestart/conf.d/50-base-server.conf")
    assert conf.exists and "'l'" in conf.content_string, "needrestart may restart services during apt runs"


def check_login_defs(host) -> None:
    for key in ("UMASK", "PASS_MAX_DAYS", "PASS_MIN_DAYS", "SHA_CRYPT_MIN_ROUNDS", "SHA_CRYPT_MAX_ROUNDS"):
        values = _uncommented(host, "/etc/login.defs", key)
        assert len(values) == 1, f"/etc/login.defs sets {key} {len(values)} times (expected once)"
    umask = _uncommented(host, "/etc/login.defs", "UMASK")[0]
    assert int(umask, 8) & 0o022 == 0o022, f"UMASK {umask} lets the group or others write new files"


def check_pwquality(host) -> None:
    _installed(host, "libpam-pwquality")
    pam = host.file("/etc/pam.d/common-password").content_string
    assert re.search(r"^password\s+\S+\s+pam_pwquality\.so", pam, re.MULTILINE), "pam_pwquality is not in common-password"
    conf = host.file("/etc/security/pwquality.conf.d/50-base-server.conf").content_string
    m = re.search(r"^minlen\s*=\s*(\d+)", conf, re.MULTILINE)
    assert m and int(m[1]) >= 12, "pwquality minlen is not set to 12 or more"


def check_pam_tmpdir(host) -> None:
    _installed(host, "libpam-tmpdir")
    pam = host.file("/etc/pam.d/common-session").content_string
    assert re.search(r"^session\s+\S+\s+pam_tmpdir\.so", pam, re.MULTILINE), "pam_tmpdir is not in common-session"


def check_core_dumps(host) -> None:
    # pam_limits applies these at login; the `*` wildcard does not cover root, which needs its own line.
    limits = host.run("cat /etc/security/limits.conf /etc/security/limits.d/*.conf 2>/dev/null").stdout
    for who in ("*", "root"):
        assert re.search(rf"^{re.escape(who)}\s+hard\s+core\s+0\s*$", limits, re.MULTILINE), \
            f"pam_limits lets {who!r} dump core (no 'hard core 0')"
    conf = host.file("/etc/systemd/coredump.conf.d/50-base-server.conf").content_string
    assert "Storage=none" in conf and "ProcessSizeMax=0" in conf, "systemd-coredump may keep core dumps"


def check_banners(host) -> None:
    for path in ("/etc/issue", "/etc/issue.net"):
        text = host.file(path).content_string
        assert re.search(r"authori[sz]ed", text, re.IGNORECASE), f"{path} carries no legal notice"
        assert not re.search(r"\\[rsmvnlo]|Debian|Ubuntu", text), f"{path} tells the OS or its version"
    assert _sshd(host).get("banner") == "/etc/issue.net", "sshd shows no banner"


def check_shell_timeout(host) -> None:
    out = host.run("bash -lc 'readonly -p' 2>/dev/null").stdout
    m = re.search(r'TMOUT="?(\d+)', out)
    assert m, "TMOUT is not set readonly in login shells"
    assert 0 < int(m[1]) <= 3600, f"TMOUT is {m[1]} s"


def check_cron_restrict(host) -> None:
    for path in ("/etc/cron.allow", "/etc/at.allow"):
        f = host.file(path)
        assert f.exists, f"{path} is missing (then every user may use it)"
        assert f.content_string.split() == ["root"], f"{path} lets others than root in"
        assert f.user == "root" and f.mode & 0o077 == 0, f"{path} is readable by others than root"
    for path in ("/etc/crontab", "/etc/cron.d", "/etc/cron.daily"):
        f = host.file(path)
        if f.exists:
            assert f.mode & 0o077 == 0, f"{path} is open to others than root (mode {oct(f.mode)})"


def check_kernel_modules(host) -> None:
    conf = host.file("/etc/modprobe.d/base-server-blacklist.conf").content_string
    for module in ("usb-storage", "dccp", "sctp", "rds", "tipc"):
        assert f"install {module} /bin/false" in conf, f"{module} may be loaded"
    assert "vfat" not in conf, "vfat is blacklisted (the UEFI system partition needs it)"


def check_usb_guard(host) -> None:
    _installed(host, "usbguard")
    conf = host.file("/etc/usbguard/usbguard-daemon.conf").content_string
    for setting in ("ImplicitPolicyTarget=block", "InsertedDevicePolicy=apply-policy"):
        assert re.search(rf"^{setting}$", conf, re.MULTILINE), f"USBGuard is not set to {setting}"
    assert host.file("/etc/usbguard/rules.conf").exists, "USBGuard has no policy of the devices present"
    assert host.service("usbguard").is_running, "the USBGuard daemon is not running"


def check_accounting(host) -> None:
    _installed(host, "acct", "sysstat")
    assert "true" in host.check_output("grep -E '^ENABLED=' /etc/default/sysstat"), "sysstat does not collect"
    assert host.service("sysstat").is_enabled, "sysstat is not enabled"
    assert host.service("acct").is_running, "process accounting (acct) is not running"


def check_file_integrity(host) -> None:
    _installed(host, "aide", "aide-common")
    assert host.file("/var/lib/aide/aide.db").exists, "AIDE has no baseline database"
    assert host.service("dailyaidecheck.timer").is_enabled, "the daily AIDE check is not scheduled"
    excludes = host.file("/etc/aide/aide.conf.d/99_base_server_excludes").content_string
    assert "!/var/lib/docker" in excludes, "AIDE would scan /var/lib/docker"
    assert re.search(r"^Checksums = sha512", host.file("/etc/aide/aide.conf").content_string, re.MULTILINE), \
        "AIDE does not checksum with SHA-512"


def check_rootkit_scan(host) -> None:
    _installed(host, "rkhunter")
    assert host.file("/var/lib/rkhunter/db/rkhunter.dat").exists, "rkhunter has no baseline (--propupd)"
    _timer_on(host, "base-server-rkhunter.timer")
    conf = host.file("/etc/rkhunter.conf.local").content_string
    assert "UPDATE_MIRRORS=0" in conf and 'WEB_CMD=""' in conf, "rkhunter may download updates"


def check_compilers(host) -> None:
    out = host.run(r"find /usr/bin -maxdepth 1 -type f \( -name as -o -name '*-linux-gnu-as' -o -name 'gcc*' "
                   r"-o -name '*-linux-gnu-gcc-*' -o -name 'g++*' -o -name cc -o -name 'clang*' \) -perm /o+rx").stdout
    open_ = out.split()
    assert not open_, f"compilers usable by everyone: {', '.join(open_)}"


def check_tmp_noexec(host) -> None:
    for path, wanted in (("/tmp", {"noexec", "nosuid", "nodev"}), ("/dev/shm", {"noexec", "nosuid", "nodev"}),
                         ("/dev", {"noexec", "nosuid"})):
        missing = wanted - _mount_options(host, path)
        assert not missing, f"{path} is mounted without {', '.join(sorted(missing))}"


def check_proc_hidepid(host) -> None:
    opts = _mount_options(host, "/proc")
    assert opts & {"hidepid=2", "hidepid=invisible"}, f"/proc is mounted without hidepid ({','.join(sorted(opts))})"


def check_remote_syslog(host) -> None:
    assert host.service("rsyslog").is_running, "rsyslog is not running"
    conf = host.file("/etc/rsyslog.d/90-base-server-remote.conf")
    assert conf.exists and "omfwd" in conf.content_string, "rsyslog forwards nothing"


CONTROLS: dict[str, Control] = {c.name: c for c in (
    Control("ssh_crypto", "sshd offers post-quantum key exchange only and no weak groups", ("SSH-7408",),
            check_ssh_crypto),
    Control("patch_tooling", "Patch management tools are installed", ("PKGS-7394", "DEB-0831", "PKGS-7370"),
            check_patch_tooling),
    Control("login_defs", "login.defs sets the umask, password ageing and hashing rounds",
            ("AUTH-9230", "AUTH-9286", "AUTH-9328"), check_login_defs),
    Control("pwquality", "New passwords are checked for strength", ("AUTH-9262",), check_pwquality),
    Control("pam_tmpdir", "Each login gets a private TMPDIR", ("DEB-0280",), check_pam_tmpdir),
    Control("core_dumps", "Core dumps are off", ("KRNL-5820",), check_core_dumps),
    Control("banners", "Logins show a legal notice", ("BANN-7126", "BANN-7130"), check_banners),
    Control("shell_timeout", "Idle shells end (readonly TMOUT)", ("SHLL-6220",), check_shell_timeout),
    Control("cron_restrict", "Only root may use cron and at", ("SCHD-7704", "FILE-7524"), check_cron_restrict),
    Control("kernel_modules", "Unneeded kernel modules cannot be loaded", ("USB-1000", "STRG-1846", "NETW-3200"),
            check_kernel_modules),
    Control("usb_guard", "USB devices plugged in later are blocked (USBGuard)", ("USB-3000",), check_usb_guard),
    Control("accounting", "Process accounting and sysstat run", ("ACCT-9622", "ACCT-9626"), check_accounting),
    Control("file_integrity", "AIDE has a baseline and a daily check", ("FINT-4350", "FINT-4402"), check_file_integrity),
    Control("rootkit_scan", "rkhunter has a baseline and a daily scan", ("HRDN-7230",), check_rootkit_scan),
    Control("compilers", "Compilers are usable by root only", ("HRDN-7222",), check_compilers),
    Control("tmp_noexec", "/tmp, /dev/shm and /dev are noexec, nosuid (and nodev but /dev)", ("FILE-6374",), check_tmp_noexec),
    Control("proc_hidepid", "Users see only their own processes (/proc hidepid)", ("FILE-6344",),
            check_proc_hidepid),
    Control("remote_syslog", "Logs are forwarded to a remote syslog server", ("LOGG-2154",), check_remote_syslog),
)}


def verify(host, name: str) -> str | None:
    """Check one control as the manifest says it stands: None when checked (AssertionError when it fails), or
    why it was not checked (skipped with the role's reason, off at this level, or no manifest)."""
    manifest = read_manifest(host)
    if not manifest:
        return f"no hardening manifest ({MANIFEST}): base_server has not run here"
    entry = (manifest.get("controls") or {}).get(name)
    if entry is None:
        return f"the manifest does not list {name}"
    state = entry.get("state")
    if state == "applied":
        CONTROLS[name].check(host)
        return None
    if state == "skipped":
        return entry.get("reason") or "skipped by the role"
    return f"off at level {manifest.get('security_level', '?')}" + \
        (f" ({entry['reason']})" if entry.get("reason") else "")
